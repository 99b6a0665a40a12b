// The wait kinds beyond the mutex through `uninterruptible` and `lockowner`:
// rwsems (write- and reader-held), semaphores, completions and flush_work,
// each proven by the object's own state, and the wrong answers netdbg once
// gave (an rwsem's or a semaphore's waiters grouped under a made-up mutex).
#include <gtest/gtest.h>

#include "core/error.h"
#include "core/json.h"
#include "fake_waits.h"

using namespace netdbg;
using namespace netdbg::test;
using nlohmann::ordered_json;

namespace {

struct Waits {
    SchedScenario s;
    FakeWaits w{s.fk};
    FakeKernel& fk = s.fk;
};

}  // namespace

TEST(RwsemWait, WriteHeldWithReaderAndWriterWaiting) {
    Waits t;
    addr_t sem = t.w.new_rwsem("big_rwsem");
    addr_t holder = t.s.task(10, 100, TASK_INTERRUPTIBLE);
    addr_t r = t.s.task(11, 200);
    addr_t wr = t.s.task(12, 300);
    t.w.rwsem_write_locked(sem, holder);
    t.w.block_on_rwsem(r, sem, true);
    t.w.block_on_rwsem(wr, sem, false);
    ordered_json j = t.fk.run_json("uninterruptible", {});
    for (int pid : {11, 12}) {
        const auto& b = task_by_pid(j, pid)["blocker"];
        EXPECT_EQ(b["kind"], "rwsem") << b.dump();
        EXPECT_EQ(b["object"], hex(sem));
        EXPECT_EQ(b["name"], "big_rwsem");
        EXPECT_EQ(b["mode"], pid == 11 ? "R" : "W");
        EXPECT_EQ(pids_of(b["holders"]), (std::vector<int>{10}));
        EXPECT_EQ(b["holders"][0]["role"], "writer");
        EXPECT_EQ(b["rwsem"]["count_flags"], "WRITER|WAITERS");
    }
    std::string text = t.fk.run("uninterruptible", {"--group"});
    EXPECT_NE(text.find("rwsem big_rwsem (" + hex(sem).substr(2) + ") held by t10 (pid 10, IN) [writer]: 2 waiters"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("MODE"), std::string::npos) << text;

    ordered_json lo = t.fk.run_json("lockowner", {"big_rwsem"});
    EXPECT_EQ(lo["kind"], "rwsem");
    EXPECT_EQ(lo["owner"]["pid"], 10);
    EXPECT_EQ(pids_of(lo["waiters"]), (std::vector<int>{11, 12}));
    EXPECT_EQ(lo["waiters"][0]["mode"], "R");
    EXPECT_EQ(lo["waiters"][1]["mode"], "W");
    EXPECT_EQ(lo["verdict"].get<std::string>().rfind("big_rwsem held for write by t10 (pid 10, IN)", 0), 0u)
        << lo["verdict"];
}

TEST(RwsemWait, ReaderHeldNamesNoHolderButTheCountAndTheLastReaderAsCandidate) {
    Waits t;
    addr_t sem = t.w.new_rwsem("read_rwsem");
    t.s.task(20, 100, TASK_INTERRUPTIBLE);
    addr_t r2 = t.s.task(21, 110, TASK_INTERRUPTIBLE);
    addr_t wr = t.s.task(22, 300);
    t.w.rwsem_read_locked(sem, 2, r2);
    t.w.block_on_rwsem(wr, sem, false);
    ordered_json j = t.fk.run_json("uninterruptible", {});
    const auto& b = task_by_pid(j, 22)["blocker"];
    EXPECT_EQ(b["kind"], "rwsem");
    EXPECT_TRUE(b["holders"].empty()) << b.dump();
    EXPECT_EQ(b["rwsem"]["readers"], 2);
    EXPECT_EQ(b["rwsem"]["reader_owned"], true);
    EXPECT_EQ(pids_of(b["candidates"]), (std::vector<int>{21}));
    EXPECT_NE(b["holder"].get<std::string>().find("held by 2 readers"), std::string::npos);
    // No chain through a candidate.
    EXPECT_TRUE(j["chains"].empty());
    std::string lo = t.fk.run("lockowner", {"read_rwsem"});
    EXPECT_NE(lo.find("CANDIDATE: t21 (pid 21): last reader"), std::string::npos) << lo;
    EXPECT_EQ(lo.find("OWNER: PID"), std::string::npos) << lo;
}

TEST(RwsemWait, NeverAMutexAtTheRwsemPlusEight) {
    // What netdbg once answered: the waiters of a write-held rwsem grouped
    // under a "mutex" at <rwsem>+0x8 (rwsem_waiter and mutex_waiter both
    // start with {list, task}). Even when the frames say __mutex_lock, the
    // head is not a mutex: its "owner" word (the rwsem's owner) has no
    // WAITERS bit, and the symbol is typed struct rw_semaphore.
    Waits t;
    addr_t sem = t.w.new_rwsem("tricky_rwsem");
    addr_t holder = t.s.task(30, 100, TASK_INTERRUPTIBLE);
    addr_t wr = t.s.task(31, 300);
    t.w.rwsem_write_locked(sem, holder);
    t.w.block_on_rwsem(wr, sem, false);
    t.fk.put_frames(wr, 0x18, {"__mutex_lock.constprop.0"});  // as if it were in a mutex slowpath
    ordered_json j = t.fk.run_json("uninterruptible", {});
    const auto& b = task_by_pid(j, 31)["blocker"];
    EXPECT_TRUE(b.is_null() || b["kind"] != "mutex") << b.dump();
    std::string text = t.fk.run("uninterruptible", {"--group"});
    EXPECT_EQ(text.find("tricky_rwsem+0x8"), std::string::npos) << text;
}

TEST(RwsemWait, NoWaitersFlagNoAttribution) {
    // A queued waiter means RWSEM_FLAG_WAITERS is set; a count without it
    // is not the rwsem the task waits on.
    Waits t;
    addr_t sem = t.w.new_rwsem("flagless_rwsem");
    addr_t holder = t.s.task(40, 100, TASK_INTERRUPTIBLE);
    addr_t wr = t.s.task(41, 300);
    t.w.rwsem_write_locked(sem, holder);
    t.w.block_on_rwsem(wr, sem, false);
    t.fk.img.write(sem, "rw_semaphore", "count", 1);  // WRITER, no WAITERS
    ordered_json j = t.fk.run_json("uninterruptible", {});
    EXPECT_TRUE(task_by_pid(j, 41)["blocker"].is_null()) << j.dump(1);
}

TEST(SemaphoreWait, NoHolderRecordedAndNotANeighbouringMutex) {
    Waits t;
    // A mutex symbol right before the semaphore: the old finder named the
    // semaphore's waiters after it ("<mutex>+0x8", "not held").
    t.fk.new_mutex("neighbour_mutex");
    addr_t sem = t.w.new_semaphore("the_sem", 0);
    t.s.task(50, 100, TASK_INTERRUPTIBLE);
    addr_t w1 = t.s.task(51, 200);
    addr_t w2 = t.s.task(52, 300);
    t.w.block_on_semaphore(w1, sem);
    t.w.block_on_semaphore(w2, sem);
    ordered_json j = t.fk.run_json("uninterruptible", {});
    for (int pid : {51, 52}) {
        const auto& b = task_by_pid(j, pid)["blocker"];
        EXPECT_EQ(b["kind"], "semaphore") << b.dump();
        EXPECT_EQ(b["name"], "the_sem");
        EXPECT_TRUE(b["holders"].empty());
        EXPECT_TRUE(b["candidates"].empty());
        EXPECT_NE(b["holder"].get<std::string>().find("records no holder"), std::string::npos);
        EXPECT_EQ(pids_of(b["semaphore"]["waiters"]), (std::vector<int>{51, 52}));
    }
    std::string text = t.fk.run("uninterruptible", {"--group"});
    EXPECT_EQ(text.find("neighbour_mutex"), std::string::npos) << text;
    ordered_json lo = t.fk.run_json("lockowner", {"the_sem"});
    EXPECT_EQ(lo["kind"], "semaphore");
    EXPECT_TRUE(lo["owner"].is_null());
    EXPECT_EQ(pids_of(lo["waiters"]), (std::vector<int>{51, 52}));
}

TEST(SemaphoreWait, ACountAboveZeroIsNotWhatATaskWaitsOn) {
    Waits t;
    addr_t sem = t.w.new_semaphore("free_sem", 1);
    addr_t w1 = t.s.task(53, 200);
    t.w.block_on_semaphore(w1, sem);
    ordered_json j = t.fk.run_json("uninterruptible", {});
    EXPECT_TRUE(task_by_pid(j, 53)["blocker"].is_null()) << j.dump(1);
}

TEST(CompletionWait, BareCompletion) {
    Waits t;
    addr_t c = t.w.new_completion("never_done");
    addr_t w1 = t.s.task(60, 200);
    t.w.block_on_completion(w1, c);
    ordered_json j = t.fk.run_json("uninterruptible", {"--group"});
    const auto& b = task_by_pid(j, 60)["blocker"];
    EXPECT_EQ(b["kind"], "completion");
    EXPECT_EQ(b["object"], hex(c));
    EXPECT_EQ(b["name"], "never_done");
    EXPECT_EQ(b["completion"]["done"], 0);
    EXPECT_TRUE(b["holders"].empty());
}

TEST(CompletionWait, NotOnTheCompletionsListNotAttributed) {
    Waits t;
    addr_t c = t.w.new_completion("other_done");
    addr_t w1 = t.s.task(61, 200);
    t.w.block_on_completion(w1, c);
    t.fk.img.list_init(c + 16);  // the swait list no longer holds it
    ordered_json j = t.fk.run_json("uninterruptible", {});
    EXPECT_TRUE(task_by_pid(j, 61)["blocker"].is_null()) << j.dump(1);
}

TEST(FlushWorkWait, ChainGoesIntoTheWorkersOwnWait) {
    // flusher -> flush_work(work) -> kworker running it -> mutex -> holder
    Waits t;
    addr_t holder = t.s.task(70, 100, TASK_INTERRUPTIBLE);
    addr_t kw = t.s.task(71, 200);
    addr_t flusher = t.s.task(72, 300);
    addr_t m = t.fk.new_mutex("reset_mutex");
    t.fk.set_owner(m, holder);
    auto f = t.w.flush_running_work(flusher, kw, "foo_reset_task", "foo_wq");
    t.fk.block_on_mutex(kw, m, "foo_reset_task");
    ordered_json j = t.fk.run_json("uninterruptible", {"--group"});
    const auto& b = task_by_pid(j, 72)["blocker"];
    EXPECT_EQ(b["kind"], "flush_work") << b.dump();
    EXPECT_EQ(b["object"], hex(f.work));
    EXPECT_EQ(b["flush_work"]["function"], "foo_reset_task");
    EXPECT_EQ(b["flush_work"]["workqueue"], "foo_wq");
    EXPECT_EQ(b["flush_work"]["running"], true);
    EXPECT_EQ(b["flush_work"]["barrier"], hex(f.barrier));
    EXPECT_EQ(pids_of(b["holders"]), (std::vector<int>{71}));
    ASSERT_EQ(j["chains"].size(), 1u) << j.dump(1);
    EXPECT_EQ(pids_of(j["chains"][0]), (std::vector<int>{72, 71}));
    EXPECT_EQ(j["chains"][0][0]["waits_for"]["kind"], "flush_work");
    EXPECT_EQ(j["chains"][0][1]["waits_for"]["kind"], "mutex");
    std::string text = t.fk.run("uninterruptible", {"--group"});
    EXPECT_NE(text.find("t72 (pid 72) -> flush_work foo_reset_task -> t71 (pid 71) -> mutex reset_mutex -> t70 (pid 70, IN)"),
              std::string::npos)
        << text;
    std::string dot = t.fk.run("uninterruptible", {"--graph"});
    EXPECT_NE(dot.find("shape=component"), std::string::npos) << dot;
}

TEST(FlushWorkWait, ABarrierThatNamesAnotherTaskIsNotAFlush) {
    Waits t;
    addr_t kw = t.s.task(81, 200);
    addr_t flusher = t.s.task(82, 300);
    auto f = t.w.flush_running_work(flusher, kw, "foo_reset_task", "foo_wq");
    t.fk.img.write(f.barrier, "wq_barrier", "task", kw);
    ordered_json j = t.fk.run_json("uninterruptible", {});
    const auto& b = task_by_pid(j, 82)["blocker"];
    EXPECT_EQ(b["kind"], "completion") << b.dump();  // still the completion it sleeps on
}

TEST(Lockowner, TypeFlagForAnAddress) {
    Waits t;
    addr_t sem = t.w.new_rwsem("addr_rwsem");
    t.fk.target.remove_symbol("addr_rwsem");
    ordered_json j = t.fk.run_json("lockowner", {hex(sem), "-t", "rwsem"});
    EXPECT_EQ(j["kind"], "rwsem");
    try {
        t.fk.run("lockowner", {hex(sem), "-t", "spinlock"});
        FAIL() << "no error";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("-t takes mutex, rwsem or semaphore"), std::string::npos) << e.what();
    }
}
