// read_mutex, resolve_mutex_argument, and the rtnlowner / lockowner reports.
#include <gtest/gtest.h>

#include "core/error.h"
#include "fake_kernel.h"
#include "core/json.h"
#include "core/kernel.h"
#include "kernel/locking/mutex.h"

using namespace netdbg;
using namespace netdbg::test;
using nlohmann::ordered_json;

namespace {

constexpr std::uint64_t kSec = 1000000000ULL;

// rtnl_mutex held by `ip` (pid 50); waiters w1 (pid 61), w2 (62), w3 (63)
// queued in that order; CPU clocks 300 s and 250 s.
struct RtnlScenario {
    FakeKernel fk{2};
    addr_t owner, w1, w2, w3;
    addr_t m = kRtnlMutex;
    RtnlScenario() {
        owner = fk.add_process({.pid = 50, .comm = "ip", .state = TASK_INTERRUPTIBLE, .cpu = 1,
                                .last_arrival = 90 * kSec});
        fk.put_frames(owner, 0, {"__schedule", "schedule", "schedule_timeout", "msleep", "rtnl_newlink"});
        w1 = fk.add_process({.pid = 61, .comm = "w1", .cpu = 0, .last_arrival = 200 * kSec});
        w2 = fk.add_process({.pid = 62, .comm = "w2", .cpu = 1, .last_arrival = 100 * kSec});
        w3 = fk.add_process({.pid = 63, .comm = "w3", .cpu = 0, .last_arrival = 150 * kSec});
        fk.set_owner(m, owner);
        fk.block_on_mutex(w1, m, "rtnl_lock");
        fk.block_on_mutex(w2, m, "rtnl_lock");
        fk.block_on_mutex(w3, m, "rtnl_net_lock");
        fk.set_clock(0, 300 * kSec);
        fk.set_clock(1, 250 * kSec);
    }
    std::size_t node(addr_t task) {
        return fk.sp_of(task) + FakeKernel::kWaiterOffset + fk.img.offset("mutex_waiter", "list");
    }
};

std::vector<int> waiter_pids(const ordered_json& j) {
    std::vector<int> out;
    for (const auto& w : j["waiters"]) out.push_back(w["pid"].is_null() ? -1 : w["pid"].get<int>());
    return out;
}

std::string error_of(FakeKernel& fk, const std::string& cmd, const std::vector<std::string>& args) {
    try {
        fk.run(cmd, args);
    } catch (const Error& e) {
        return e.what();
    }
    return "(no netdbg::Error)";
}

}  // namespace

TEST(Mutex, OwnerAndFlagsDecoded) {
    RtnlScenario s;
    s.fk.set_owner(s.m, s.owner, MUTEX_FLAG_WAITERS | MUTEX_FLAG_HANDOFF);
    Kernel k(s.fk.target);
    MutexState m = read_mutex(k, s.m);
    EXPECT_EQ(m.addr, kRtnlMutex);
    EXPECT_EQ(m.owner, s.owner);
    EXPECT_EQ(m.flags, MUTEX_FLAG_WAITERS | MUTEX_FLAG_HANDOFF);
    EXPECT_EQ(m.name, "rtnl_mutex");
    EXPECT_EQ(mutex_flag_names(m.flags), "WAITERS|HANDOFF");
    EXPECT_EQ(mutex_flag_names(0), "-");
    EXPECT_EQ(mutex_flag_names(MUTEX_FLAG_PICKUP), "PICKUP");
}

TEST(Mutex, WaitersInQueueOrder) {
    RtnlScenario s;
    Kernel k(s.fk.target);
    MutexState m = read_mutex(k, s.m);
    EXPECT_EQ(m.waiters, (std::vector<addr_t>{s.w1, s.w2, s.w3}));
    EXPECT_TRUE(m.walk.complete);
    EXPECT_TRUE(m.walk.findings.empty());
}

TEST(Mutex, UnreadableMutexThrows) {
    FakeKernel fk(1);
    Kernel k(fk.target);
    EXPECT_THROW(read_mutex(k, 0xdeadbeef), Error);
}

TEST(Mutex, LoopInWaitListIsAFindingNotAHang) {
    RtnlScenario s;
    s.fk.img.u64(s.node(s.w3), s.node(s.w2));  // w3->next = w2
    Kernel k(s.fk.target);
    MutexState m = read_mutex(k, s.m);
    ASSERT_FALSE(m.walk.findings.empty());
    EXPECT_EQ(m.walk.findings.back().fault, ListFault::Loop);
    EXPECT_EQ(m.waiters, (std::vector<addr_t>{s.w1, s.w2, s.w3}));

    int rc = -1;
    ordered_json j = s.fk.run_json("rtnlowner", {}, &rc);
    EXPECT_EQ(rc, 1);
    ASSERT_FALSE(j["findings"].empty());
    EXPECT_EQ(j["findings"].back()["kind"], "loop");
    EXPECT_EQ(waiter_pids(j), (std::vector<int>{61, 62, 63}));
    EXPECT_NE(j["verdict"].get<std::string>().find("wait_list damaged"), std::string::npos) << j["verdict"];
}

TEST(Mutex, BadPrevInWaitListIsAFinding) {
    RtnlScenario s;
    s.fk.img.u64(s.node(s.w2) + 8, 0xffff888077777770ULL);
    int rc = -1;
    ordered_json j = s.fk.run_json("rtnlowner", {}, &rc);
    EXPECT_EQ(rc, 1);
    ASSERT_EQ(j["findings"].size(), 1u);
    EXPECT_EQ(j["findings"][0]["kind"], "bad_prev");
    EXPECT_NE(j["findings"][0]["text"].get<std::string>().find("ffff888077777770"), std::string::npos);
    EXPECT_EQ(waiter_pids(j), (std::vector<int>{61, 62, 63}));
    std::string text = s.fk.run("rtnlowner", {});
    EXPECT_NE(text.find("FINDING: wait_list bad prev"), std::string::npos) << text;
}

TEST(Mutex, UnreadableWaiterNodeIsAFinding) {
    RtnlScenario s;
    s.fk.img.u64(s.node(s.w1), 0xffff8880dead0008ULL);
    int rc = -1;
    ordered_json j = s.fk.run_json("rtnlowner", {}, &rc);
    EXPECT_EQ(rc, 1);
    EXPECT_EQ(j["findings"][0]["kind"], "unreadable");
    EXPECT_EQ(waiter_pids(j), (std::vector<int>{61}));
}

// ------------------------------------------------------------- rtnlowner

TEST(Rtnlowner, OwnerWaitersAndHeldFor) {
    RtnlScenario s;
    int rc = -1;
    ordered_json j = s.fk.run_json("rtnlowner", {}, &rc);
    EXPECT_EQ(rc, 0);
    EXPECT_EQ(j["command"], "rtnlowner");
    EXPECT_EQ(j["now_ns"], 300 * kSec);
    EXPECT_EQ(j["mutex"]["address"], hex(kRtnlMutex));
    EXPECT_EQ(j["mutex"]["name"], "rtnl_mutex");
    EXPECT_EQ(j["mutex"]["owner"], hex(s.owner));
    EXPECT_EQ(j["mutex"]["flags"], "WAITERS");
    EXPECT_EQ(j["mutex"]["waiter_count"], 3);
    EXPECT_EQ(j["owner"]["pid"], 50);
    EXPECT_EQ(j["owner"]["comm"], "ip");
    EXPECT_EQ(j["owner"]["state"], "IN");
    EXPECT_EQ(j["owner"]["wait_function"], "msleep");
    EXPECT_EQ(waiter_pids(j), (std::vector<int>{61, 62, 63}));
    EXPECT_EQ(j["waiters"][0]["wait_function"], "rtnl_lock");
    EXPECT_EQ(j["waiters"][2]["wait_function"], "rtnl_net_lock");
    EXPECT_EQ(j["waiters"][1]["state"], "UN");
    EXPECT_EQ(j["waiters"][1]["since_last_arrival_ns"], 200 * kSec);
    // now - the oldest waiter's (w2) last_arrival
    EXPECT_EQ(j["held_for_at_least_ns"], (300 - 100) * kSec);
    EXPECT_TRUE(j["findings"].empty());
    std::string v = j["verdict"];
    EXPECT_NE(v.find("rtnl_mutex held by ip (pid 50, IN in msleep, until a timer expires) for >= 200.000s; 3 waiters"), std::string::npos)
        << v;

    std::string text = s.fk.run("rtnlowner", {});
    EXPECT_EQ(text.substr(0, text.find('\n')), v);
}

TEST(Rtnlowner, KworkerOwnerShowsItsWorkFunction) {
    RtnlScenario s;
    s.fk.img.write_str(s.owner, "task_struct", "comm", "kworker/1:2");
    s.fk.make_kworker(s.owner, "linkwatch_event", "events");
    ordered_json j = s.fk.run_json("rtnlowner", {});
    EXPECT_EQ(j["owner"]["comm"], "kworker/1:2");
    ASSERT_TRUE(j["owner"].contains("work")) << j["owner"].dump(2);
    EXPECT_EQ(j["owner"]["work"]["function"], "linkwatch_event");
    EXPECT_EQ(j["owner"]["work"]["workqueue"], "events");
    EXPECT_NE(j["verdict"].get<std::string>().find("(pid 50, running linkwatch_event)"), std::string::npos)
        << j["verdict"];
}

TEST(Rtnlowner, KworkerOwnerOnLegacyLayout) {
    FakeKernel fk(1, Layout::Legacy);
    addr_t o = fk.add_process({.pid = 7, .comm = "kworker/0:1"});
    fk.make_kworker(o, "addrconf_dad_work", "ipv6_addrconf");
    fk.set_owner(kRtnlMutex, o);
    ordered_json j = fk.run_json("rtnlowner", {});
    EXPECT_EQ(j["owner"]["work"]["function"], "addrconf_dad_work");
    EXPECT_EQ(j["owner"]["work"]["workqueue"], "ipv6_addrconf");
    EXPECT_EQ(j["waiters"].size(), 0u);
    EXPECT_TRUE(j["held_for_at_least_ns"].is_null());
}

TEST(Rtnlowner, RunningOwner) {
    RtnlScenario s;
    s.fk.set_curr(1, s.owner);
    ordered_json j = s.fk.run_json("rtnlowner", {});
    EXPECT_EQ(j["owner"]["running_on_cpu"], 1);
    EXPECT_EQ(j["owner"]["wait_function"], "");
    EXPECT_NE(j["verdict"].get<std::string>().find("(pid 50, running on CPU 1 for 210.000s)"), std::string::npos) << j["verdict"];
}

TEST(Rtnlowner, NoOwnerButWaitersSet) {
    RtnlScenario s;
    s.fk.set_owner(s.m, 0, MUTEX_FLAG_WAITERS);
    ordered_json j = s.fk.run_json("rtnlowner", {});
    EXPECT_TRUE(j["owner"].is_null());
    EXPECT_EQ(j["mutex"]["flags"], "WAITERS");
    EXPECT_EQ(j["verdict"], "rtnl_mutex has no owner but WAITERS is set; 3 waiters");
}

TEST(Rtnlowner, NotHeld) {
    FakeKernel fk(1);
    ordered_json j = fk.run_json("rtnlowner", {});
    EXPECT_EQ(j["verdict"], "rtnl_mutex is not held; 0 waiters");
    EXPECT_TRUE(j["owner"].is_null());
}

TEST(Rtnlowner, OwnerNotInTaskList) {
    RtnlScenario s;
    addr_t stray = s.fk.new_task({.pid = 999, .comm = "ghost"});
    s.fk.set_owner(s.m, stray, MUTEX_FLAG_WAITERS);
    ordered_json j = s.fk.run_json("rtnlowner", {});
    EXPECT_TRUE(j["owner"].is_null());
    EXPECT_NE(j["verdict"].get<std::string>().find("which is not a task in the task list"), std::string::npos);
}

TEST(Rtnlowner, OwnerCallChainWithStack) {
    RtnlScenario s;
    ordered_json j = s.fk.run_json("rtnlowner", {"-s"});
    const auto& c = j["owner"]["call_chain"];
    EXPECT_EQ(c["source"], "stack scan");
    std::vector<std::string> syms;
    for (const auto& f : c["frames"]) syms.push_back(f["symbol"]);
    EXPECT_EQ(syms, (std::vector<std::string>{"__schedule+0x25", "schedule+0x25", "schedule_timeout+0x25",
                                              "msleep+0x25", "rtnl_newlink+0x25"}));
    EXPECT_EQ(c["frames"][0]["slot"], hex(s.fk.sp_of(s.owner)));
}

TEST(Rtnlowner, RejectsArguments) {
    RtnlScenario s;
    EXPECT_NE(error_of(s.fk, "rtnlowner", {"foo"}).find("takes no arguments"), std::string::npos);
    EXPECT_NE(error_of(s.fk, "rtnlowner", {"--bogus"}).find("rtnlowner"), std::string::npos);
}

// ------------------------------------------------------------- lockowner

TEST(Lockowner, BySymbolAndByAddress) {
    RtnlScenario s;
    addr_t m2 = s.fk.new_mutex();  // heap, no symbol
    addr_t t = s.fk.add_process({.pid = 70, .comm = "t70", .last_arrival = 10 * kSec});
    s.fk.set_owner(m2, s.owner);
    s.fk.block_on_mutex(t, m2, "genl_lock");
    ordered_json a = s.fk.run_json("lockowner", {"rtnl_mutex"});
    EXPECT_EQ(a["command"], "lockowner");
    EXPECT_EQ(waiter_pids(a), (std::vector<int>{61, 62, 63}));
    for (const std::string& arg : {hex(m2), hex(m2).substr(2)}) {
        ordered_json b = s.fk.run_json("lockowner", {arg});
        EXPECT_EQ(b["mutex"]["address"], hex(m2)) << arg;
        EXPECT_EQ(b["mutex"]["name"], "");
        EXPECT_EQ(waiter_pids(b), (std::vector<int>{70}));
        EXPECT_EQ(b["waiters"][0]["wait_function"], "genl_lock");
        EXPECT_EQ(b["held_for_at_least_ns"], 290 * kSec);
        EXPECT_NE(b["verdict"].get<std::string>().find("mutex " + hex(m2).substr(2) + " held by ip"),
                  std::string::npos)
            << b["verdict"];
    }
}

TEST(Lockowner, ModuleMutexName) {
    FakeKernel fk(1);
    addr_t m = fk.new_mutex();
    fk.target.add_symbol("nd_chain_mutex", m, std::string("struct mutex"), std::nullopt, "nd_rtnl_stuck");
    ordered_json j = fk.run_json("lockowner", {"nd_chain_mutex"});
    EXPECT_EQ(j["mutex"]["name"], "nd_chain_mutex [nd_rtnl_stuck]");
}

TEST(Lockowner, UnreadableAddressIsAClearError) {
    FakeKernel fk(1);
    std::string e = error_of(fk, "lockowner", {"0xdeadbeef"});
    EXPECT_NE(e.find("cannot read"), std::string::npos) << e;
    EXPECT_NE(e.find("deadbeef"), std::string::npos) << e;
}

TEST(Lockowner, NonMutexSymbolIsRefusedWithItsType) {
    FakeKernel fk(1);
    std::string e = error_of(fk, "lockowner", {"jiffies"});
    EXPECT_NE(e.find("jiffies is not a struct mutex"), std::string::npos) << e;
    EXPECT_NE(e.find("unsigned long"), std::string::npos) << e;
}

TEST(Lockowner, UnknownNameIsAClearError) {
    FakeKernel fk(1);
    std::string e = error_of(fk, "lockowner", {"no_such_lock"});
    EXPECT_NE(e.find("no_such_lock: no such symbol"), std::string::npos) << e;
}

TEST(Lockowner, ReadableNonMutexAddressIsRefused) {
    FakeKernel fk(1);
    addr_t junk = fk.img.alloc(64);  // zeros: wait_list {0, 0}
    std::string e = error_of(fk, "lockowner", {hex(junk)});
    EXPECT_NE(e.find("does not look like a struct mutex"), std::string::npos) << e;
}

TEST(Lockowner, TypedSymbolWithDamagedWaitListIsStillWalked) {
    RtnlScenario s;
    s.fk.img.u64(kRtnlMutex + s.fk.img.offset("mutex", "wait_list") + 8, 0x1234);  // head->prev garbage
    int rc = -1;
    ordered_json j = s.fk.run_json("lockowner", {"rtnl_mutex"}, &rc);
    EXPECT_EQ(rc, 1);
    EXPECT_FALSE(j["findings"].empty());
    EXPECT_EQ(waiter_pids(j), (std::vector<int>{61, 62, 63}));
}

TEST(Lockowner, Usage) {
    FakeKernel fk(1);
    EXPECT_NE(error_of(fk, "lockowner", {}).find("usage"), std::string::npos);
}

TEST(Rtnlowner, ThreadOwnerAndWaiterAreListedThroughTheirGroup) {
    RtnlScenario s;
    addr_t th = s.fk.add_thread(s.w1, {.pid = 70, .comm = "w1-thread", .cpu = 1, .last_arrival = 220 * kSec});
    s.fk.block_on_mutex(th, s.m, "rtnl_lock");
    ordered_json j = s.fk.run_json("rtnlowner", {});
    EXPECT_EQ(waiter_pids(j), (std::vector<int>{61, 62, 63, 70}));
    // A thread nobody linked is not listed, even with a pid and a stack.
    addr_t stray = s.fk.new_task({.pid = 71, .comm = "stray", .tgid = 61});
    s.fk.set_owner(s.m, stray);
    j = s.fk.run_json("rtnlowner", {});
    EXPECT_TRUE(j["owner"].is_null()) << j;
}

TEST(Rtnlowner, ReadsTheOwnerAndWaitersNotEveryTask) {
    // Over a gdbstub each page is a remote request: a lock report must not
    // depend on how many tasks the machine has.
    auto pages_read = [](int extra_tasks) {
        RtnlScenario s;
        for (int i = 0; i < extra_tasks; ++i) s.fk.add_process({.pid = 1000 + i, .comm = "idle-sleeper"});
        std::uint64_t before = s.fk.target.read_calls();
        s.fk.run_json("rtnlowner", {});
        return s.fk.target.read_calls() - before;
    };
    EXPECT_EQ(pages_read(0), pages_read(300));
}
