// PREEMPT_RT's mutexes and rwsems (rt_mutex_base, rwbase_rt) through
// uninterruptible and lockowner: the same answers as the classic layouts.
#include <gtest/gtest.h>

#include "core/json.h"
#include "fake_waits.h"

using namespace netdbg;
using namespace netdbg::test;
using nlohmann::ordered_json;

namespace {

struct Rt {
    SchedScenario s;
    FakeRtLocks rt{s.fk};
    FakeKernel& fk = s.fk;
};

}  // namespace

TEST(RtMutex, OwnerAndWaitersFromTheRtMutexBase) {
    Rt t;
    addr_t m = t.rt.new_mutex("rt_lock");
    addr_t owner = t.s.task(10, 100, TASK_INTERRUPTIBLE);
    t.rt.set_owner(m + FakeRtLocks::kMutexBase, owner);
    t.rt.block_on(t.s.task(11, 200), m, {"mutex_lock", "a_func"});
    t.rt.block_on(t.s.task(12, 300), m, {"mutex_lock", "b_func"});
    ordered_json j = t.fk.run_json("uninterruptible", {"--group"});
    for (int pid : {11, 12}) {
        const auto& b = task_by_pid(j, pid)["blocker"];
        EXPECT_EQ(b["kind"], "mutex") << b.dump();
        EXPECT_EQ(b["object"], hex(m));
        EXPECT_EQ(b["owner_pid"], 10);
        EXPECT_EQ(b["mutex"]["flags"], "WAITERS");
    }
    ordered_json lo = t.fk.run_json("lockowner", {"rt_lock"});
    EXPECT_EQ(lo["owner"]["pid"], 10);
    EXPECT_EQ(pids_of(lo["waiters"]), (std::vector<int>{11, 12}));
}

TEST(RtRwsem, WriterAndModesFromTheCalls) {
    Rt t;
    addr_t sem = t.rt.new_rwsem("rt_rwsem");
    addr_t base = sem + FakeRtLocks::kRwsemBase;
    addr_t holder = t.s.task(20, 100, TASK_INTERRUPTIBLE);
    t.rt.set_readers(sem, 1u << 30);  // WRITER_BIAS: write-locked
    t.rt.set_owner(base, holder);
    t.rt.block_on(t.s.task(21, 200), base, {"rwbase_read_lock", "down_read", "r_func"});
    t.rt.block_on(t.s.task(22, 300), base, {"rwbase_write_lock", "down_write", "w_func"});
    ordered_json j = t.fk.run_json("uninterruptible", {});
    const auto& r = task_by_pid(j, 21)["blocker"];
    EXPECT_EQ(r["kind"], "rwsem") << r.dump();
    EXPECT_EQ(r["mode"], "R");
    EXPECT_EQ(pids_of(r["holders"]), (std::vector<int>{20}));
    EXPECT_EQ(task_by_pid(j, 22)["blocker"]["mode"], "W");
    ordered_json lo = t.fk.run_json("lockowner", {"rt_rwsem"});
    EXPECT_EQ(lo["kind"], "rwsem");
    EXPECT_EQ(lo["owner"]["pid"], 20);
    ASSERT_EQ(lo["waiters"].size(), 2u);
    EXPECT_EQ(lo["waiters"][0]["mode"], "R");
    EXPECT_EQ(lo["waiters"][1]["mode"], "W");
}

TEST(RtRwsem, ReadersCounted) {
    Rt t;
    addr_t sem = t.rt.new_rwsem("rt_rwsem_r");
    addr_t base = sem + FakeRtLocks::kRwsemBase;
    addr_t writer = t.s.task(31, 300);
    // A writer took the rtmutex and waits for 2 readers to leave: READER_BIAS
    // subtracted, the readers count left (rwbase_write_lock()).
    t.rt.set_readers(sem, 2);
    t.rt.set_owner(base, writer);
    t.rt.block_on(t.s.task(32, 400), base, {"rwbase_read_lock", "down_read", "r_func"});
    ordered_json j = t.fk.run_json("uninterruptible", {});
    const auto& b = task_by_pid(j, 32)["blocker"];
    EXPECT_EQ(b["kind"], "rwsem") << b.dump();
    EXPECT_EQ(b["rwsem"]["readers"], 2);
    EXPECT_EQ(b["rwsem"]["waiters"][0]["pid"], 31);  // the pending writer first, then the rt_mutex tree
    EXPECT_NE(b["holder"].get<std::string>().find("held by 2 readers, which PREEMPT_RT's rwbase_rt does not record; the writer t31 (pid 31) holds its rt_mutex and waits for them to leave"), std::string::npos) << b.dump();
}

TEST(RtMutex, ALoopingTreeIsAFindingNotAHang) {
    Rt t;
    addr_t m = t.rt.new_mutex("rt_loop");
    t.rt.set_owner(m, t.s.task(40, 100, TASK_INTERRUPTIBLE));
    addr_t w1 = t.rt.block_on(t.s.task(41, 200), m, {"mutex_lock", "a_func"});
    addr_t w2 = t.rt.block_on(t.s.task(42, 300), m, {"mutex_lock", "b_func"});
    t.fk.img.u64(w2 + 8, w1);  // w2's right child points back to w1
    ordered_json lo = t.fk.run_json("lockowner", {"rt_loop"});
    ASSERT_FALSE(lo["findings"].empty()) << lo.dump();
    EXPECT_EQ(lo["findings"][0]["kind"], "loop");
}

TEST(RtMutex, AnRwsemsRtMutexIsNotAMutex) {
    // The same rt_mutex_waiter shape under both: the calls decide.
    Rt t;
    addr_t sem = t.rt.new_rwsem("rt_rwsem2");
    addr_t base = sem + FakeRtLocks::kRwsemBase;
    t.rt.set_readers(sem, 1u << 30);
    t.rt.set_owner(base, t.s.task(50, 100, TASK_INTERRUPTIBLE));
    t.rt.block_on(t.s.task(51, 200), base, {"rwbase_write_lock", "down_write", "w_func"});
    ordered_json j = t.fk.run_json("uninterruptible", {});
    EXPECT_EQ(task_by_pid(j, 51)["blocker"]["kind"], "rwsem");
}
