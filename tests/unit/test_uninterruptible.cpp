// BlockerFinder through the `uninterruptible` command: attribution of D
// tasks to mutexes, chains, deadlocks and the --since/--for/--all filters.
#include <gtest/gtest.h>

#include "core/error.h"
#include "fake_kernel.h"
#include "core/json.h"
#include "kernel/sched/runqueue.h"

using namespace netdbg;
using namespace netdbg::test;
using nlohmann::ordered_json;

namespace {

constexpr std::uint64_t kSec = 1000000000ULL;

const ordered_json* task_by_pid(const ordered_json& j, int pid) {
    for (const auto& t : j["tasks"])
        if (t["pid"] == pid) return &t;
    return nullptr;
}

std::vector<int> task_pids(const ordered_json& j) {
    std::vector<int> out;
    for (const auto& t : j["tasks"]) out.push_back(t["pid"]);
    return out;
}

std::vector<int> chain_pids(const ordered_json& chain) {
    std::vector<int> out;
    for (const auto& n : chain) out.push_back(n["pid"]);
    return out;
}

using Scenario = SchedScenario;

}  // namespace

TEST(Uninterruptible, TasksBlockedOnAMutexAreAttributedWithItsOwner) {
    Scenario s;
    addr_t owner = s.task(10, 100, TASK_INTERRUPTIBLE);
    addr_t a = s.task(11, 200);
    addr_t b = s.task(12, 300);
    addr_t io = s.task(13, 150);
    s.fk.set_owner(kRtnlMutex, owner);
    s.fk.block_on_mutex(a, kRtnlMutex);
    s.fk.block_on_mutex(b, kRtnlMutex, "rtnl_net_lock");
    s.fk.put_frames(io, 0, {"__schedule", "schedule", "io_schedule", "folio_wait_bit_common", "filemap_fault"});
    int rc = -1;
    ordered_json j = s.fk.run_json("uninterruptible", {}, &rc);
    EXPECT_EQ(rc, 0);
    EXPECT_EQ(j["now_ns"], 1000 * kSec);
    EXPECT_EQ(j["now"], "1000.000000");
    EXPECT_EQ(j["d_state_count"], 3);
    EXPECT_EQ(j["task_count"], 1 + 4 + 1);  // init_task, 4 processes, swapper/1
    EXPECT_EQ(task_pids(j), (std::vector<int>{13, 11, 12}));  // oldest first
    const ordered_json* ta = task_by_pid(j, 11);
    ASSERT_NE(ta, nullptr);
    EXPECT_EQ((*ta)["wait_function"], "rtnl_lock");
    EXPECT_EQ((*ta)["blocker"]["kind"], "mutex");
    EXPECT_EQ((*ta)["blocker"]["object"], hex(kRtnlMutex));
    EXPECT_EQ((*ta)["blocker"]["name"], "rtnl_mutex");
    EXPECT_EQ((*ta)["blocker"]["owner"], hex(owner));
    EXPECT_EQ((*ta)["blocker"]["owner_pid"], 10);
    EXPECT_EQ((*ta)["blocker"]["owner_comm"], "t10");
    EXPECT_EQ((*task_by_pid(j, 12))["blocker"]["owner_pid"], 10);
    EXPECT_EQ((*task_by_pid(j, 12))["wait_function"], "rtnl_net_lock");
    const ordered_json* tio = task_by_pid(j, 13);
    EXPECT_TRUE((*tio)["blocker"].is_null());
    EXPECT_EQ((*tio)["wait_function"], "folio_wait_bit_common");
    EXPECT_TRUE(j["chains"].empty());
    EXPECT_TRUE(j["deadlocks"].empty());
    EXPECT_TRUE(j["problems"].empty());

    std::string text = s.fk.run("uninterruptible", {});
    EXPECT_EQ(text.substr(0, text.find('\n')), "3 of 6 tasks in D state; 3 shown; now 1000.000000");
    EXPECT_NE(text.find("rtnl_mutex (10 t10)"), std::string::npos) << text;
}

TEST(Uninterruptible, LegacyLayoutAttributesToo) {
    FakeKernel fk(1, Layout::Legacy);
    fk.set_clock(0, 50 * kSec);
    addr_t owner = fk.add_process({.pid = 2, .comm = "owner", .state = TASK_INTERRUPTIBLE});
    addr_t leader = fk.add_process({.pid = 3, .comm = "proc", .state = TASK_INTERRUPTIBLE});
    addr_t th = fk.add_thread(leader, {.pid = 4, .comm = "proc-thr", .last_arrival = 5 * kSec});
    fk.set_owner(kRtnlMutex, owner);
    fk.block_on_mutex(th, kRtnlMutex);
    ordered_json j = fk.run_json("uninterruptible", {});
    ASSERT_EQ(task_pids(j), (std::vector<int>{4}));
    EXPECT_EQ(j["tasks"][0]["tgid"], 3);
    EXPECT_EQ(j["tasks"][0]["blocker"]["owner_pid"], 2);
}

TEST(Uninterruptible, OwnAddressOnStackButNotInWaitListIsNotAttributed) {
    Scenario s;
    addr_t owner = s.task(10, 100, TASK_INTERRUPTIBLE);
    addr_t real = s.task(11, 200);
    addr_t stale = s.task(12, 300);
    addr_t poisoned = s.task(13, 400);
    s.fk.set_owner(kRtnlMutex, owner);
    s.fk.block_on_mutex(real, kRtnlMutex);
    addr_t head = kRtnlMutex + s.fk.img.offset("mutex", "wait_list");
    std::size_t list = s.fk.img.offset("mutex_waiter", "list");
    // A stale waiter from an earlier mutex_lock(): names the task and points
    // at the mutex, but the mutex's wait_list does not hold it.
    addr_t w = s.fk.sp_of(stale) + FakeKernel::kWaiterOffset;
    s.fk.img.write(w, "mutex_waiter", "task", stale);
    s.fk.img.link(w + list, head, head);
    s.fk.put_frames(stale, 0, {"__schedule", "schedule", "io_schedule", "blk_mq_get_tag"});
    // A list_del()ed waiter: LIST_POISON1/2.
    addr_t p = s.fk.sp_of(poisoned) + FakeKernel::kWaiterOffset;
    s.fk.img.write(p, "mutex_waiter", "task", poisoned);
    s.fk.img.link(p + list, 0xdead000000000100ULL, 0xdead000000000122ULL);
    ordered_json j = s.fk.run_json("uninterruptible", {});
    EXPECT_EQ(task_pids(j), (std::vector<int>{11, 12, 13}));
    EXPECT_EQ((*task_by_pid(j, 11))["blocker"]["owner_pid"], 10);
    EXPECT_TRUE((*task_by_pid(j, 12))["blocker"].is_null()) << j.dump(1);
    EXPECT_EQ((*task_by_pid(j, 12))["wait_function"], "blk_mq_get_tag");
    EXPECT_TRUE((*task_by_pid(j, 13))["blocker"].is_null());
}

TEST(Uninterruptible, WaiterOfAnotherTaskIsNotAttributed) {
    // Task b's stack holds b's address, at the spot of a waiter whose list
    // node is a real waiter's node of a (different) task a: the mutex's
    // wait list holds a, not b, so b is not attributed.
    Scenario s;
    addr_t owner = s.task(10, 100, TASK_INTERRUPTIBLE);
    addr_t a = s.task(11, 200);
    addr_t b = s.task(12, 300);
    s.fk.set_owner(kRtnlMutex, owner);
    s.fk.block_on_mutex(a, kRtnlMutex);
    addr_t wa = s.fk.sp_of(a) + FakeKernel::kWaiterOffset;
    addr_t wb = s.fk.sp_of(b) + FakeKernel::kWaiterOffset;
    s.fk.img.write(wb, "mutex_waiter", "task", b);
    std::size_t list = s.fk.img.offset("mutex_waiter", "list");
    // b's "waiter" node copies a's links, so next->prev != node: rejected.
    s.fk.img.link(wb + list, s.fk.img.u64(wa + list), s.fk.img.u64(wa + list + 8));
    ordered_json j = s.fk.run_json("uninterruptible", {});
    EXPECT_FALSE((*task_by_pid(j, 11))["blocker"].is_null());
    EXPECT_TRUE((*task_by_pid(j, 12))["blocker"].is_null());
}

TEST(Uninterruptible, WaiterMissingFromTaskListDoesNotFakeAMutex) {
    // rtnl_mutex's wait_list: head -> a -> g, where g's task is not on the
    // task list (e.g. the list was damaged). a must be attributed to
    // rtnl_mutex, or to nothing -- never to a mutex made up from g's node.
    Scenario s;
    addr_t owner = s.task(10, 100, TASK_INTERRUPTIBLE);
    addr_t a = s.task(11, 200);
    addr_t g = s.fk.new_task({.pid = 12, .comm = "ghost", .last_arrival = 300 * kSec});
    s.fk.set_owner(kRtnlMutex, owner);
    s.fk.block_on_mutex(a, kRtnlMutex);
    s.fk.block_on_mutex(g, kRtnlMutex);
    ordered_json j = s.fk.run_json("uninterruptible", {});
    const ordered_json* ta = task_by_pid(j, 11);
    ASSERT_NE(ta, nullptr);
    const auto& bl = (*ta)["blocker"];
    EXPECT_TRUE(bl.is_null() || (bl["kind"] == "mutex" && bl["object"] == hex(kRtnlMutex))) << bl.dump();
    if (!bl.is_null()) {
        EXPECT_EQ(bl["owner_pid"], 10);
    }
}

TEST(Uninterruptible, GroupChain) {
    // A -> m1 -> B -> m2 -> C (C sleeps interruptibly, holding m2)
    Scenario s;
    addr_t m1 = s.fk.new_mutex("chain_m1");
    addr_t m2 = s.fk.new_mutex("chain_m2");
    addr_t c = s.task(30, 100, TASK_INTERRUPTIBLE);
    addr_t b = s.task(20, 200);
    addr_t a = s.task(10, 300);
    s.fk.set_owner(m1, b);
    s.fk.set_owner(m2, c);
    s.fk.block_on_mutex(a, m1, "a_func");
    s.fk.block_on_mutex(b, m2, "b_func");
    int rc = -1;
    ordered_json j = s.fk.run_json("uninterruptible", {"--group"}, &rc);
    EXPECT_EQ(rc, 0);
    ASSERT_EQ(j["chains"].size(), 1u) << j.dump(1);
    const auto& chain = j["chains"][0];
    EXPECT_EQ(chain_pids(chain), (std::vector<int>{10, 20}));
    EXPECT_EQ(chain[0]["waits_for"]["kind"], "mutex");
    EXPECT_EQ(chain[0]["waits_for"]["object"], hex(m1));
    EXPECT_EQ(chain[0]["waits_for"]["name"], "chain_m1");
    EXPECT_EQ(chain[0]["owner"], hex(b));
    EXPECT_EQ(chain[1]["waits_for"]["name"], "chain_m2");
    EXPECT_EQ(chain[1]["owner"], hex(c));
    EXPECT_TRUE(j["deadlocks"].empty());

    std::string text = s.fk.run("uninterruptible", {"--group"});
    EXPECT_NE(text.find("CHAINS\n  t10 (pid 10) -> mutex chain_m1 -> t20 (pid 20) -> mutex chain_m2 -> t30 (pid 30, IN)\n"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("mutex chain_m1 (" + hex(m1).substr(2) + ") held by t20 (pid 20), which waits for mutex chain_m2: 1 waiter"),
              std::string::npos)
        << text;
    EXPECT_EQ(text.find("DEADLOCK"), std::string::npos);
}

TEST(Uninterruptible, GroupDeadlock) {
    Scenario s;
    addr_t m1 = s.fk.new_mutex("dl_m1");
    addr_t m2 = s.fk.new_mutex("dl_m2");
    addr_t x = s.task(40, 100);
    addr_t y = s.task(41, 200);
    addr_t z = s.task(42, 300);  // waits for m1 too, outside the cycle
    s.fk.set_owner(m1, x);
    s.fk.set_owner(m2, y);
    s.fk.block_on_mutex(x, m2, "x_func");
    s.fk.block_on_mutex(y, m1, "y_func");
    s.fk.block_on_mutex(z, m1, "z_func");
    int rc = -1;
    ordered_json j = s.fk.run_json("uninterruptible", {"--group"}, &rc);
    EXPECT_EQ(rc, 1);
    ASSERT_EQ(j["deadlocks"].size(), 1u) << j.dump(1);
    const auto& cyc = j["deadlocks"][0];
    EXPECT_EQ(chain_pids(cyc), (std::vector<int>{40, 41}));
    EXPECT_EQ(cyc[0]["waits_for"]["name"], "dl_m2");
    EXPECT_EQ(cyc[0]["owner"], hex(y));
    EXPECT_EQ(cyc[1]["waits_for"]["name"], "dl_m1");
    EXPECT_EQ(cyc[1]["owner"], hex(x));
    // z feeds into the cycle: not a chain of its own that hides the cycle.
    for (const auto& c : j["chains"])
        for (const auto& n : c) EXPECT_NE(n["pid"], 40) << j["chains"].dump();

    std::string text = s.fk.run("uninterruptible", {"--group"});
    EXPECT_NE(text.find("; 1 DEADLOCK\n"), std::string::npos) << text;
    EXPECT_NE(text.find("DEADLOCKS\n  t40 (pid 40) -> mutex dl_m2 -> t41 (pid 41) -> mutex dl_m1 -> t40 (pid 40)"),
              std::string::npos)
        << text;
}

TEST(Uninterruptible, SinceFilterIncludesEqual) {
    Scenario s;
    s.task(1, 0);  // pid 1 at 0 s
    s.fk.img.write(s.fk.add_process({.pid = 2, .comm = "t2", .state = TASK_UNINTERRUPTIBLE}) +
                       s.fk.img.offset("task_struct", "sched_info"),
                   "sched_info", "last_arrival", 500500000000ULL);  // 500.5 s
    s.fk.add_process({.pid = 3, .comm = "t3", .state = TASK_UNINTERRUPTIBLE, .last_arrival = 500499999999ULL});
    s.fk.add_process({.pid = 4, .comm = "t4", .state = TASK_UNINTERRUPTIBLE, .last_arrival = 900 * kSec});
    ordered_json j = s.fk.run_json("uninterruptible", {"--since", "500.5"});
    EXPECT_EQ(j["filters"]["since_ns"], 500500000000ULL);
    EXPECT_EQ(task_pids(j), (std::vector<int>{2, 4}));
    EXPECT_EQ(j["d_state_count"], 4);
}

TEST(Uninterruptible, ForFilterIncludesEqual) {
    Scenario s;  // now = 1000 s
    s.fk.add_process({.pid = 1, .comm = "t1", .state = TASK_UNINTERRUPTIBLE, .last_arrival = 990 * kSec});
    s.fk.add_process({.pid = 2, .comm = "t2", .state = TASK_UNINTERRUPTIBLE, .last_arrival = 990 * kSec + 1});
    s.fk.add_process({.pid = 3, .comm = "t3", .state = TASK_UNINTERRUPTIBLE, .last_arrival = 999500 * 1000000ULL});
    ordered_json j = s.fk.run_json("uninterruptible", {"--for", "10s"});
    EXPECT_EQ(j["filters"]["for_ns"], 10 * kSec);
    EXPECT_EQ(task_pids(j), (std::vector<int>{1}));
    ordered_json k = s.fk.run_json("uninterruptible", {"--for", "500ms"});
    EXPECT_EQ(task_pids(k), (std::vector<int>{1, 2, 3}));
    ordered_json both = s.fk.run_json("uninterruptible", {"--for", "500ms", "--since", "990.000000001"});
    EXPECT_EQ(task_pids(both), (std::vector<int>{2, 3}));
}

TEST(Uninterruptible, TaskIdleExcludedUnlessAll) {
    Scenario s;
    s.task(1, 100);
    s.task(2, 50, TASK_IDLE_STATE);
    s.task(3, 60, TASK_KILLABLE);
    s.task(4, 70, TASK_INTERRUPTIBLE);
    ordered_json j = s.fk.run_json("uninterruptible", {});
    EXPECT_EQ(task_pids(j), (std::vector<int>{3, 1}));
    EXPECT_EQ(j["filters"]["all"], false);
    ordered_json all = s.fk.run_json("uninterruptible", {"--all"});
    EXPECT_EQ(task_pids(all), (std::vector<int>{2, 3, 1}));
    EXPECT_EQ(all["tasks"][0]["state"], "ID");
    std::string text = s.fk.run("uninterruptible", {"--all"});
    EXPECT_NE(text.find("3 of 6 tasks in D state (TASK_IDLE included)"), std::string::npos) << text;
}

TEST(Uninterruptible, BadArguments) {
    Scenario s;
    for (const auto& args : std::vector<std::vector<std::string>>{
             {"--for", "abc"}, {"--for", "10parsecs"}, {"--since", "12abc"}, {"stray"}}) {
        EXPECT_THROW(s.fk.run("uninterruptible", args), Error) << args[0];
    }
}

TEST(Uninterruptible, TaskListProblemsAreReported) {
    Scenario s;
    addr_t a = s.task(1, 100);
    std::size_t tasks = s.fk.img.offset("task_struct", "tasks");
    s.fk.img.u64(a + tasks, 0xffff8880dead0000ULL);
    ordered_json j = s.fk.run_json("uninterruptible", {});
    ASSERT_EQ(j["problems"].size(), 1u);
    EXPECT_NE(j["problems"][0].get<std::string>().find("unreadable"), std::string::npos);
    EXPECT_EQ(task_pids(j), (std::vector<int>{1}));
}

// ---------------------------------------------------------------- timestamps

TEST(Time, FormatTimestamp) {
    EXPECT_EQ(format_timestamp(1573221067000ULL), "1573.221067");
    EXPECT_EQ(format_timestamp(0), "0.000000");
    EXPECT_EQ(format_timestamp(999), "0.000000");
    EXPECT_EQ(format_timestamp(5000001000ULL), "5.000001");
}

TEST(Time, FormatDuration) {
    EXPECT_EQ(format_duration(999999), "999us");
    EXPECT_EQ(format_duration(512000000), "512ms");
    EXPECT_EQ(format_duration(21903000000ULL), "21.903s");
}

TEST(Time, ParseDuration) {
    EXPECT_EQ(parse_duration("500ms"), 500000000ULL);
    EXPECT_EQ(parse_duration("10s"), 10000000000ULL);
    EXPECT_EQ(parse_duration("10"), 10000000000ULL);
    EXPECT_EQ(parse_duration("1.5"), 1500000000ULL);
    EXPECT_EQ(parse_duration("2m"), 120000000000ULL);
    EXPECT_EQ(parse_duration("250us"), 250000ULL);
    EXPECT_EQ(parse_duration("1h"), 3600000000000ULL);
}

TEST(Time, ParseDurationRejectsGarbage) {
    for (const char* bad : {"", "abc", "ms", "10 s", "10sec", "-5s", "nan", "inf", "5ms5"})
        EXPECT_THROW(parse_duration(bad), Error) << "'" << bad << "'";
}

TEST(Time, ParseDurationRejectsOverflow) {
    // 1e30 s does not fit in 64-bit nanoseconds: an error, not a wrapped value.
    EXPECT_THROW(parse_duration("1e30s"), Error);
    EXPECT_THROW(parse_duration("100000000000s"), Error);
}

TEST(Time, ParseTimestamp) {
    EXPECT_EQ(parse_timestamp("1573.16"), 1573160000000ULL);
    EXPECT_EQ(parse_timestamp("1573.221067"), 1573221067000ULL);
    EXPECT_EQ(parse_timestamp("0"), 0u);
    for (const char* bad : {"", "x", "12abc", "1573.16s", "-1"})
        EXPECT_THROW(parse_timestamp(bad), Error) << "'" << bad << "'";
}
