#include <gtest/gtest.h>

#include "core/error.h"
#include "fake_kernel.h"
#include "core/kernel.h"
#include "kernel/sched/runqueue.h"
#include "kernel/sched/task.h"

using namespace netdbg;
using namespace netdbg::test;

namespace {

std::vector<int> pids(const TaskWalk& w) {
    std::vector<int> out;
    for (const Task& t : w.tasks) out.push_back(t.pid);
    return out;
}

bool has_problem(const TaskWalk& w, const std::string& needle) {
    for (const auto& p : w.problems)
        if (p.find(needle) != std::string::npos) return true;
    return false;
}

std::string problems(const TaskWalk& w) {
    std::string s;
    for (const auto& p : w.problems) s += p + "\n";
    return s;
}

// init_task, pid 1, pid 100 with threads 101 and 102, pid 200; 3 CPUs.
struct Processes {
    explicit Processes(FakeKernel& k) {
        init = k.add_process({.pid = 1, .comm = "systemd", .state = TASK_INTERRUPTIBLE, .cpu = 1});
        p100 = k.add_process({.pid = 100, .comm = "ip", .state = TASK_UNINTERRUPTIBLE, .cpu = 2,
                              .last_arrival = 123456789});
        t101 = k.add_thread(p100, {.pid = 101, .comm = "ip-worker", .cpu = 0});
        t102 = k.add_thread(p100, {.pid = 102, .comm = "ip-worker2", .cpu = 1});
        p200 = k.add_process({.pid = 200, .comm = "sshd"});
    }
    addr_t init, p100, t101, t102, p200;
};

class TaskWalkTest : public ::testing::TestWithParam<Layout> {};

}  // namespace

TEST_P(TaskWalkTest, FindsEveryProcessThreadAndIdleTaskInOrder) {
    FakeKernel fk(3, GetParam());
    Processes p(fk);
    Kernel k(fk.target);
    TaskWalk w = for_each_task(k);
    EXPECT_TRUE(w.problems.empty()) << problems(w);
    EXPECT_EQ(pids(w), (std::vector<int>{0, 1, 100, 101, 102, 200, 0, 0}));
    ASSERT_EQ(w.tasks.size(), 8u);
    EXPECT_EQ(w.tasks[0].addr, fk.init_task);
    EXPECT_TRUE(w.tasks[0].idle_task);
    EXPECT_EQ(w.tasks[6].addr, fk.idle[1]);
    EXPECT_EQ(w.tasks[6].comm, "swapper/1");
    EXPECT_TRUE(w.tasks[6].idle_task);
    EXPECT_EQ(w.tasks[7].addr, fk.idle[2]);
    EXPECT_EQ(w.tasks[7].cpu, 2);
    for (std::size_t i = 1; i < 6; ++i) EXPECT_FALSE(w.tasks[i].idle_task) << i;
    EXPECT_EQ(w.tasks[3].tgid, 100);
    EXPECT_EQ(w.tasks[4].comm, "ip-worker2");
}

TEST_P(TaskWalkTest, ReadsTaskFields) {
    FakeKernel fk(3, GetParam());
    Processes p(fk);
    Kernel k(fk.target);
    auto t = read_task(k, p.p100);
    ASSERT_TRUE(t);
    EXPECT_EQ(t->addr, p.p100);
    EXPECT_EQ(t->pid, 100);
    EXPECT_EQ(t->tgid, 100);
    EXPECT_EQ(t->comm, "ip");
    EXPECT_EQ(t->state, TASK_UNINTERRUPTIBLE);
    EXPECT_EQ(t->cpu, 2);
    EXPECT_EQ(t->last_arrival, 123456789u);
    EXPECT_EQ(t->stack, fk.stack_of(p.p100));
    EXPECT_EQ(t->sp, fk.stack_of(p.p100) + fk.target.thread_size() - 0x400);
    ASSERT_TRUE(t->last_switch_time);
    EXPECT_EQ(*t->last_switch_time, 0x100000000ULL + 100);
    EXPECT_FALSE(read_task(k, 0xdeadbeef));
}

TEST_P(TaskWalkTest, StateWiderThan32BitsOnlyWithEightByteState) {
    // The legacy `long state` is read with its 8 bytes, __state with 4:
    // garbage in the next 4 bytes must not leak into __state.
    FakeKernel fk(1, GetParam());
    addr_t t = fk.add_process({.pid = 5, .comm = "x", .state = TASK_UNINTERRUPTIBLE});
    const char* name = fk.img.has("task_struct", "__state") ? "__state" : "state";
    MemberInfo m = fk.img.member("task_struct", name);
    if (m.size == 4) fk.img.target().poke_as<std::uint32_t>(t + m.offset + 4, 0xffffffff);
    Kernel k(fk.target);
    EXPECT_EQ(read_task(k, t)->state, TASK_UNINTERRUPTIBLE);
}

INSTANTIATE_TEST_SUITE_P(Layouts, TaskWalkTest, ::testing::Values(Layout::Linux61, Layout::Legacy),
                         [](const auto& info) { return info.param == Layout::Linux61 ? "Linux61" : "Legacy"; });

TEST(TaskLayout, RenamedMembers) {
    FakeKernel modern(1, Layout::Linux61);
    FakeKernel legacy(1, Layout::Legacy);
    Kernel km(modern.target), kl(legacy.target);
    const TaskLayout& m = km.get<TaskLayout>();
    const TaskLayout& l = kl.get<TaskLayout>();
    EXPECT_EQ(m.state.offset, 0x30u);
    EXPECT_EQ(m.state.size, 4u);
    EXPECT_EQ(l.state.offset, 0x10u);
    EXPECT_EQ(l.state.size, 8u);
    EXPECT_EQ(m.cpu.offset, 0x10u + 0x14u);  // thread_info.cpu
    EXPECT_EQ(l.cpu.offset, 0x2cu);          // task_struct.cpu
    EXPECT_TRUE(m.thread_node);
    EXPECT_FALSE(m.thread_group);
    EXPECT_EQ(m.signal_thread_head, 0x10u);
    EXPECT_FALSE(l.thread_node);
    EXPECT_TRUE(l.thread_group);
    ASSERT_TRUE(m.kthread_ptr);
    EXPECT_EQ(m.kthread_ptr->offset, 0x1d0u);  // worker_private
    ASSERT_TRUE(l.kthread_ptr);
    EXPECT_EQ(l.kthread_ptr->offset, 0x1d8u);  // set_child_tid
    EXPECT_EQ(m.thread_sp, 0x500u + 0x18u);
}

namespace {
std::string layout_error(FakeKernel& fk) {
    Kernel k(fk.target);
    try {
        k.get<TaskLayout>();
    } catch (const LayoutError& e) {
        return e.what();
    }
    return "(no LayoutError)";
}
}  // namespace

TEST(TaskLayout, MissingMemberIsNamed) {
    FakeKernel fk(1);
    fk.target.remove_member("task_struct", "comm");
    std::string msg = layout_error(fk);
    EXPECT_NE(msg.find("task_struct"), std::string::npos) << msg;
    EXPECT_NE(msg.find("'comm'"), std::string::npos) << msg;
}

TEST(TaskLayout, MissingStateNamesBothSpellings) {
    FakeKernel fk(1);
    fk.target.remove_member("task_struct", "__state");
    std::string msg = layout_error(fk);
    EXPECT_NE(msg.find("__state"), std::string::npos) << msg;
    EXPECT_NE(msg.find("'state'"), std::string::npos) << msg;
}

TEST(TaskLayout, MissingCpuNamesThreadInfoCpu) {
    FakeKernel fk(1);
    fk.target.remove_member("thread_info", "cpu");
    std::string msg = layout_error(fk);
    EXPECT_NE(msg.find("thread_info"), std::string::npos) << msg;
    EXPECT_NE(msg.find("'cpu'"), std::string::npos) << msg;
}

TEST(TaskLayout, MissingThreadListNamesBoth) {
    FakeKernel fk(1);
    fk.target.remove_member("task_struct", "thread_node");
    std::string msg = layout_error(fk);
    EXPECT_NE(msg.find("thread_node"), std::string::npos) << msg;
    EXPECT_NE(msg.find("thread_group"), std::string::npos) << msg;
}

TEST(TaskLayout, MissingTypeIsNamed) {
    FakeKernel fk(1);
    fk.target.remove_type("thread_struct");
    std::string msg = layout_error(fk);
    EXPECT_NE(msg.find("thread_struct"), std::string::npos) << msg;
}

TEST(TaskWalk, LoopInTasksListIsReportedWithoutHang) {
    FakeKernel fk(1);
    Processes p(fk);
    std::size_t tasks = fk.img.offset("task_struct", "tasks");
    fk.img.u64(p.p200 + tasks, p.init + tasks);  // sshd->next = systemd
    Kernel k(fk.target);
    TaskWalk w = for_each_task(k);
    EXPECT_TRUE(has_problem(w, "init_task.tasks: loop")) << problems(w);
    EXPECT_EQ(pids(w), (std::vector<int>{0, 1, 100, 101, 102, 200}));
}

TEST(TaskWalk, UnreadableLeaderIsReported) {
    FakeKernel fk(1);
    Processes p(fk);
    std::size_t tasks = fk.img.offset("task_struct", "tasks");
    fk.img.u64(p.p100 + tasks, 0xffff8880dead0000ULL + tasks);  // ip->next: unmapped
    Kernel k(fk.target);
    TaskWalk w = for_each_task(k);
    EXPECT_TRUE(has_problem(w, "init_task.tasks: unreadable")) << problems(w);
    EXPECT_EQ(pids(w), (std::vector<int>{0, 1, 100, 101, 102}));
}

TEST(TaskWalk, LeaderWhoseTaskStructIsUnreadable) {
    FakeKernel fk(1);
    Processes p(fk);
    // The list node is readable but the rest of the task is not: place
    // the node on a page of its own and unmap the task's first page.
    addr_t ghost_page = fk.img.alloc(8192, 4096);
    std::size_t tasks = fk.img.offset("task_struct", "tasks");
    addr_t ghost = ghost_page + 4096 - tasks;  // node at the start of the 2nd page
    fk.img.list_add_tail(ghost + tasks, fk.init_task + tasks);
    fk.target.unmap(ghost_page, 4096);
    Kernel k(fk.target);
    TaskWalk w = for_each_task(k);
    EXPECT_TRUE(has_problem(w, "unreadable")) << problems(w);
    EXPECT_EQ(pids(w), (std::vector<int>{0, 1, 100, 101, 102, 200}));
}

TEST(TaskWalk, LoopInThreadListIsReported) {
    FakeKernel fk(1);
    Processes p(fk);
    std::size_t node = fk.img.offset("task_struct", "thread_node");
    fk.img.u64(p.t102 + node, p.t101 + node);  // t102->next = t101, never back to the head
    Kernel k(fk.target);
    TaskWalk w = for_each_task(k);
    EXPECT_TRUE(has_problem(w, "threads of pid 100: loop")) << problems(w);
    EXPECT_EQ(pids(w), (std::vector<int>{0, 1, 100, 101, 102, 200}));
}

TEST(TaskWalk, ExitedLeaderWithoutSignalIsSkippedQuietly) {
    FakeKernel fk(1);
    Processes p(fk);
    fk.img.write(p.p100, "task_struct", "signal", 0);
    Kernel k(fk.target);
    TaskWalk w = for_each_task(k);
    EXPECT_TRUE(w.problems.empty()) << problems(w);
    EXPECT_EQ(pids(w), (std::vector<int>{0, 1, 100, 200}));
}

TEST(TaskWalk, InterruptStopsTheWalk) {
    FakeKernel fk(1);
    Processes p(fk);
    fk.target.interrupt_after(1);
    Kernel k(fk.target);
    EXPECT_THROW(for_each_task(k), Interrupted);
}

TEST(TaskIndex, FindsByAddress) {
    FakeKernel fk(2);
    Processes p(fk);
    Kernel k(fk.target);
    TaskWalk w = for_each_task(k);
    TaskIndex idx(w.tasks);
    ASSERT_NE(idx.find(p.t102), nullptr);
    EXPECT_EQ(idx.find(p.t102)->pid, 102);
    EXPECT_EQ(idx.find(fk.idle[1])->comm, "swapper/1");
    EXPECT_EQ(idx.find(p.t102 + 8), nullptr);
}

TEST(RunQueues, ClockCurrAndNow) {
    FakeKernel fk(3);
    Processes p(fk);
    fk.set_clock(0, 500);
    fk.set_clock(1, 9000);
    fk.set_clock(2, 700);
    fk.set_curr(2, p.p200);
    Kernel k(fk.target);
    auto rqs = runqueues(k);
    ASSERT_EQ(rqs.size(), 3u);
    EXPECT_EQ(rqs[1].clock, 9000u);
    EXPECT_EQ(rqs[1].rq, fk.rq(1));
    EXPECT_EQ(rqs[2].curr, p.p200);
    EXPECT_EQ(rqs[2].idle, fk.idle[2]);
    EXPECT_EQ(dump_now_ns(k), 9000u);
    EXPECT_EQ(running_on(k, p.p200), 2);
    EXPECT_EQ(running_on(k, p.p100), -1);
}

// ------------------------------------------------------------------ states

namespace {
struct StateCase {
    std::uint64_t state, exit_state;
    char letter;
};

char letter_of(FakeKernel& fk, std::uint64_t state, std::uint64_t exit_state = 0) {
    Kernel k(fk.target);
    Task t;
    t.state = state;
    t.exit_state = exit_state;
    return k.get<TaskStates>().letter(t);
}
}  // namespace

TEST(TaskStates, Letters) {
    FakeKernel fk(1);
    EXPECT_EQ(letter_of(fk, TASK_RUNNING), 'R');
    EXPECT_EQ(letter_of(fk, TASK_INTERRUPTIBLE), 'S');
    EXPECT_EQ(letter_of(fk, TASK_UNINTERRUPTIBLE), 'D');
    EXPECT_EQ(letter_of(fk, TASK_STOPPED), 'T');
    EXPECT_EQ(letter_of(fk, TASK_TRACED), 't');
    EXPECT_EQ(letter_of(fk, 0, EXIT_DEAD), 'X');
    EXPECT_EQ(letter_of(fk, 0, EXIT_ZOMBIE), 'Z');
    EXPECT_EQ(letter_of(fk, TASK_PARKED), 'P');
    EXPECT_EQ(letter_of(fk, TASK_IDLE_STATE), 'I');
    EXPECT_EQ(letter_of(fk, TASK_KILLABLE), 'D');
    EXPECT_EQ(letter_of(fk, TASK_WAKEKILL | TASK_STOPPED), 'T');  // TASK_STOPPED as the kernel defines it
}

TEST(TaskStates, LettersComeFromTheDump) {
    // A kernel whose task_state_array spells D differently: the letters
    // are read, not assumed.
    FakeKernel fk(1);
    addr_t str = *fk.target.symbol_address("task_state_array") + 0x1000 + 0x20 * 2;
    fk.img.str(str, "U (uninterruptible)");
    EXPECT_EQ(letter_of(fk, TASK_UNINTERRUPTIBLE), 'U');
    EXPECT_EQ(letter_of(fk, TASK_INTERRUPTIBLE), 'S');
}

TEST(TaskStates, FallbackWithoutTaskStateArray) {
    FakeKernel fk(1);
    fk.target.remove_symbol("task_state_array");
    EXPECT_EQ(letter_of(fk, TASK_UNINTERRUPTIBLE), 'D');
    EXPECT_EQ(letter_of(fk, TASK_IDLE_STATE), 'I');
    EXPECT_EQ(letter_of(fk, 0, EXIT_ZOMBIE), 'Z');
}

TEST(TaskStates, UninterruptibleAndIdle) {
    FakeKernel fk(1);
    Kernel k(fk.target);
    const TaskStates& s = k.get<TaskStates>();
    Task d, idle, killable, zombie_d, sleeping;
    d.state = TASK_UNINTERRUPTIBLE;
    idle.state = TASK_IDLE_STATE;
    killable.state = TASK_KILLABLE;
    zombie_d.state = TASK_UNINTERRUPTIBLE;
    zombie_d.exit_state = EXIT_ZOMBIE;
    sleeping.state = TASK_INTERRUPTIBLE;
    EXPECT_TRUE(s.uninterruptible(d, false));
    EXPECT_FALSE(s.uninterruptible(idle, false));
    EXPECT_TRUE(s.uninterruptible(idle, true));
    EXPECT_TRUE(s.idle(idle));
    EXPECT_FALSE(s.idle(d));
    EXPECT_TRUE(s.uninterruptible(killable, false));
    EXPECT_FALSE(s.uninterruptible(zombie_d, true));
    EXPECT_FALSE(s.uninterruptible(sleeping, true));
}

// Linux >= 6.1 (include/linux/sched.h:__task_state_index) reports any state
// containing all TASK_IDLE bits as 'I': `(tsk_state & TASK_IDLE) == TASK_IDLE`,
// e.g. TASK_IDLE | TASK_FREEZABLE.
TEST(TaskStates, IdleWithExtraBitsIsIdleLikeTheKernelReportsIt) {
    FakeKernel fk(1);
    EXPECT_EQ(letter_of(fk, TASK_IDLE_STATE | TASK_FREEZABLE), 'I');
    Kernel k(fk.target);
    Task t;
    t.state = TASK_IDLE_STATE | TASK_FREEZABLE;
    EXPECT_FALSE(k.get<TaskStates>().uninterruptible(t, false));
}

TEST(TaskStates, StateNames) {
    EXPECT_STREQ(state_name('R'), "RU");
    EXPECT_STREQ(state_name('D'), "UN");
    EXPECT_STREQ(state_name('I'), "ID");
    EXPECT_STREQ(state_name('Z'), "ZO");
    EXPECT_STREQ(state_name('?'), "??");
}
