// read_rcu_state() and the RCU waits through BlockerFinder: synchronize_rcu()
// (rcu_synchronize on the waiter's stack) and rcu_barrier()
// (rcu_state.barrier_completion), their holders (CPUs that have not reported
// a quiescent state, preempted readers), and a damaged rcu_node tree.
#include <gtest/gtest.h>

#include <algorithm>

#include <fmt/format.h>

#include "core/kernel.h"
#include "fake_kernel.h"
#include "kernel/rcu/rcu.h"
#include "kernel/rcu/rcu_wait.h"
#include "kernel/sched/snapshot.h"
#include "kernel/sched/stack.h"
#include "kernel/waits/finder.h"

using namespace netdbg;
using namespace netdbg::test;

namespace {

constexpr addr_t kRcuState = 0xffffffff83000000ULL;
constexpr addr_t kRcuVars = 0xffffffff83010000ULL;  // rcu_num_nodes, rcu_num_lvls, tick_nsec, gp_state_names
constexpr addr_t kRcuData = 0x2d000ULL;             // per-CPU symbol
constexpr std::size_t kNodeSize = 0x1000;           // one rcu_node per page: one can be made unreadable
constexpr std::size_t kBarrierCompletion = 0x40a8;
constexpr std::uint64_t kJiffiesNow = 0x100004000ULL;  // FakeKernel's jiffies

void add_rcu_layouts(FakeTarget& t) {
    t.add_struct("completion", 32, {{"done", 0, 4}, {"wait", 8, 24}});
    t.add_struct("swait_queue_head", 24, {{"lock", 0, 4}, {"task_list", 8, 16}});
    t.add_struct("swait_queue", 24, {{"task", 0, 8}, {"task_list", 8, 16}});
    t.add_struct("callback_head", 16, {{"next", 0, 8}, {"func", 8, 8}});
    t.add_struct("rcu_synchronize", 48, {{"head", 0, 16}, {"completion", 16, 32}});
    // 6.1's member offsets in a node padded to a page.
    t.add_struct("rcu_node", kNodeSize,
                 {{"lock", 0, 4},
                  {"gp_seq", 8, 8},
                  {"qsmask", 32, 8},
                  {"grpmask", 104, 8},
                  {"grplo", 112, 4},
                  {"grphi", 116, 4},
                  {"grpnum", 120, 1},
                  {"level", 121, 1},
                  {"parent", 128, 8},
                  {"blkd_tasks", 136, 16},
                  {"gp_tasks", 152, 8},
                  {"exp_tasks", 160, 8}});
    t.add_struct("rcu_state", 0x4200,
                 {{"node", 0, 4 * kNodeSize},
                  {"level", 0x4000, 32},
                  {"gp_seq", 0x4040, 8},
                  {"gp_kthread", 0x4050, 8},
                  {"gp_state", 0x4058, 2},
                  {"barrier_mutex", 0x4080, 32},
                  {"barrier_cpu_count", 0x40a0, 4},
                  {"barrier_completion", kBarrierCompletion, 32},
                  {"barrier_sequence", 0x40c8, 8},
                  {"gp_start", 0x4100, 8}});
    t.add_struct("rcu_segcblist", 120, {{"head", 0, 8}, {"tails", 8, 32}, {"len", 72, 8}});
    t.add_struct("rcu_data", 0x380, {{"gp_seq", 0, 8}, {"cblist", 0x78, 120}, {"barrier_head", 0x120, 16}});
    t.add_members("task_struct", {{"rcu_node_entry", 0x200, 16}, {"rcu_blocked_node", 0x210, 8}});
}

// Four CPUs; a two-level tree: root 0, leaf 1 (CPUs 0-1), leaf 2 (CPUs
// 2-3). Grace period 746 (gp_seq 2985) started 10 s ago (HZ 250); CPU 2
// (running `hog`) and CPU 3 (idle) have not reported a quiescent state;
// on leaf 2, `reader` blocks the grace period and `late`, queued after
// it started, does not.
struct RcuScenario {
    FakeKernel fk{4};
    ImageBuilder& img = fk.img;
    FakeTarget& t = fk.target;
    addr_t hog, reader, late, gpk, waiter;
    addr_t wakeme;

    RcuScenario() {
        add_rcu_layouts(t);
        t.map(kRcuState, 0x5000);
        t.add_symbol("rcu_state", kRcuState, std::string("struct rcu_state"));
        t.map(kRcuVars, 0x1000);
        t.add_symbol("rcu_num_nodes", kRcuVars, std::string("int"));
        t.add_symbol("rcu_num_lvls", kRcuVars + 4, std::string("int"));
        t.add_symbol("tick_nsec", kRcuVars + 8, std::string("unsigned long"));
        t.add_symbol("gp_state_names", kRcuVars + 0x100, std::string("const char * const [9]"), 9);
        img.u64(kRcuVars + 8, 4000000);  // HZ 250
        const char* names[] = {"RCU_GP_IDLE", "RCU_GP_WAIT_GPS", "RCU_GP_DONE_GPS", "RCU_GP_ONOFF", "RCU_GP_INIT",
                               "RCU_GP_WAIT_FQS", "RCU_GP_DOING_FQS", "RCU_GP_CLEANUP", "RCU_GP_CLEANED"};
        for (int i = 0; i < 9; ++i) {
            addr_t s = kRcuVars + 0x200 + 0x20 * i;
            img.str(s, names[i]);
            img.u64(kRcuVars + 0x100 + 8 * i, s);
        }
        t.add_symbol("rcu_data", kRcuData, std::string("struct rcu_data"));
        for (int c = 0; c < 4; ++c) t.map(rdp(c), 0x400);
        wakeme = fk.func("wakeme_after_rcu");

        set_counts(3, 2);
        set_gp_seq(2985);
        st("gp_start", kJiffiesNow - 2500);
        st("gp_state", 5);
        node(0, 0, 0, 3, 0b10);
        node(1, 1, 0, 1, 0);
        node(2, 1, 2, 3, 0b11);

        hog = fk.add_process({.pid = 93, .comm = "hog", .cpu = 2});
        fk.set_curr(2, hog);
        reader = fk.add_process({.pid = 95, .comm = "reader", .state = TASK_INTERRUPTIBLE, .cpu = 2});
        late = fk.add_process({.pid = 96, .comm = "late", .state = TASK_INTERRUPTIBLE, .cpu = 3});
        gpk = fk.add_process({.pid = 15, .comm = "rcu_preempt", .state = TASK_INTERRUPTIBLE, .flags = kPF_KTHREAD});
        st("gp_kthread", gpk);
        block_reader(2, late);    // newest first: list_add() at the head
        block_reader(2, reader);  // (added second, moved to the tail below)
        // blkd_tasks: head -> late -> reader; gp_tasks = reader
        addr_t head = nodeaddr(2) + 136;
        img.list_init(head);
        img.list_add_tail(late + 0x200, head);
        img.list_add_tail(reader + 0x200, head);
        img.write(nodeaddr(2), "rcu_node", "gp_tasks", reader + 0x200);
        waiter = fk.add_process({.pid = 101, .comm = "syncer", .state = TASK_UNINTERRUPTIBLE, .cpu = 1});
    }

    addr_t rdp(int cpu) const { return kRcuData + kPerCpuBase + 0x100000ULL * cpu; }
    addr_t nodeaddr(int i) const { return kRcuState + kNodeSize * i; }
    void st(const std::string& m, std::uint64_t v) { img.write(kRcuState, "rcu_state", m, v); }
    void set_counts(int nodes, int lvls) {
        t.poke_as<std::int32_t>(kRcuVars, nodes);
        t.poke_as<std::int32_t>(kRcuVars + 4, lvls);
    }
    void set_gp_seq(std::uint64_t gp) {
        st("gp_seq", gp);
        for (int i = 0; i < 3; ++i) img.write(nodeaddr(i), "rcu_node", "gp_seq", gp);
    }
    void node(int i, int level, int lo, int hi, std::uint64_t qsmask) {
        addr_t n = nodeaddr(i);
        img.write(n, "rcu_node", "level", level);
        img.write(n, "rcu_node", "grplo", lo);
        img.write(n, "rcu_node", "grphi", hi);
        img.write(n, "rcu_node", "qsmask", qsmask);
        img.write(n, "rcu_node", "parent", i ? nodeaddr(0) : 0);
        img.list_init(n + 136);
    }
    void block_reader(int i, addr_t task) { img.write(task, "task_struct", "rcu_blocked_node", nodeaddr(i)); }

    // do_wait_for_common()'s swait_queue at sp+0x40 queued on completion c,
    // under __schedule/schedule/schedule_timeout/__wait_for_common.
    void wait_on(addr_t task, addr_t c) {
        addr_t sp = fk.sp_of(task);
        fk.put_frames(task, 0, {"__schedule", "schedule", "schedule_timeout", "__wait_for_common"});
        addr_t q = sp + 0x40;
        img.write(q, "swait_queue", "task", task);
        addr_t head = c + 8 + 8;
        if (img.u64(head) == 0) img.list_init(head);
        img.list_add_tail(q + 8, head);
        fk.set_state(task, TASK_UNINTERRUPTIBLE);
    }

    // synchronize_rcu() -> __wait_rcu_gp(): the rcu_synchronize in the
    // caller's frame (above the return address into `caller`).
    addr_t synchronize(addr_t task, const std::string& caller = "synchronize_rcu", addr_t func = 0) {
        addr_t sp = fk.sp_of(task);
        addr_t rs = sp + 0x90;
        addr_t c = rs + 16;
        img.list_init(c + 16);
        wait_on(task, c);
        fk.put_frames(task, 0x80, {"__wait_rcu_gp", caller});
        img.u64(rs + 8, func ? func : wakeme);
        fk.put_frames(task, 0xc0, {"nd_sync_caller", "do_syscall_64"});
        return c;
    }

    // rcu_barrier() waiting on rcu_state.barrier_completion; CPU 2 has 3
    // callbacks queued, the barrier's the last.
    void barrier(addr_t task) {
        addr_t c = kRcuState + kBarrierCompletion;
        img.list_init(c + 16);
        wait_on(task, c);
        fk.put_frames(task, 0x80, {"rcu_barrier", "netdev_run_todo", "do_syscall_64"});
        st("barrier_cpu_count", 1);
        st("barrier_sequence", 9);
        addr_t r = rdp(2);
        addr_t cb1 = img.alloc(16), cb2 = img.alloc(16);
        img.u64(r + 0x78, cb1);
        img.u64(cb1, cb2);
        img.u64(cb2, r + 0x120);
        img.u64(r + 0x120, 0);
        img.u64(r + 0x78 + 72, 3);
    }

    std::optional<Blocker> find(addr_t task) {
        Kernel k(t);
        Snapshot s(k);
        const Task* tk = s.task(task);
        if (!tk) return std::nullopt;
        StackWords stack = read_stack(k, *tk);
        CallChain chain = call_chain(k, *tk, stack);
        BlockerFinder f(s);
        return f.find(*tk, stack, chain);
    }
};

bool has_line(const std::vector<std::string>& lines, const std::string& part) {
    return std::any_of(lines.begin(), lines.end(), [&](const std::string& l) { return l.find(part) != std::string::npos; });
}

std::string joined(const std::vector<std::string>& lines) {
    std::string out;
    for (const auto& l : lines) out += l + "\n";
    return out;
}

}  // namespace

TEST(Rcu, ReadsTheTree) {
    RcuScenario s;
    Kernel k(s.t);
    RcuState st = read_rcu_state(k);
    EXPECT_EQ(st.addr, kRcuState);
    EXPECT_EQ(st.gp_seq_signed(), 2985);
    EXPECT_TRUE(st.gp_in_progress());
    EXPECT_EQ(st.num_lvls, 2);
    ASSERT_EQ(st.nodes.size(), 3u);
    EXPECT_FALSE(st.nodes[0].leaf);
    EXPECT_TRUE(st.nodes[1].leaf);
    EXPECT_EQ(st.nodes[2].parent, 0);
    EXPECT_EQ(st.cpus_pending(), (std::vector<int>{2, 3}));
    auto blocked = st.blocked();
    ASSERT_EQ(blocked.size(), 2u);
    EXPECT_EQ(blocked[0].task, s.late);
    EXPECT_FALSE(blocked[0].gp);
    EXPECT_EQ(blocked[1].task, s.reader);
    EXPECT_TRUE(blocked[1].gp);
    EXPECT_FALSE(blocked[1].exp);
    EXPECT_EQ(st.gp_age_jiffies(), 2500u);
    EXPECT_EQ(st.gp_age_ns(), 10000000000ULL);
    EXPECT_EQ(rcu_gp_state_text(st), "RCU_GP_WAIT_FQS");
    EXPECT_TRUE(st.findings.empty()) << joined(st.findings);
}

TEST(Rcu, GpSeqIsSigned) {
    RcuScenario s;
    s.set_gp_seq(static_cast<std::uint64_t>(-300LL << 2));  // the boot value: no grace period yet
    Kernel k(s.t);
    RcuState st = read_rcu_state(k);
    EXPECT_EQ(st.gp_seq_signed(), -1200);
    EXPECT_FALSE(st.gp_in_progress());
    EXPECT_TRUE(st.cpus_pending().empty());
}

TEST(Rcu, SynchronizeRcuWaitsForTheGracePeriod) {
    RcuScenario s;
    addr_t c = s.synchronize(s.waiter);
    auto b = s.find(s.waiter);
    ASSERT_TRUE(b);
    EXPECT_EQ(b->kind, WaitKind::RcuGracePeriod);
    EXPECT_EQ(b->object, kRcuState);
    EXPECT_EQ(b->name, "gp_seq 2985");
    EXPECT_EQ(b->label(), "RCU grace period gp_seq 2985");
    ASSERT_EQ(b->holders.size(), 2u);
    EXPECT_EQ(b->holders[0].task, s.hog);
    EXPECT_EQ(b->holders[0].role, "CPU 2 has not reported a quiescent state");
    EXPECT_EQ(b->holders[0].cpu, 2);
    EXPECT_EQ(b->holders[1].task, s.reader);
    EXPECT_EQ(b->holders[1].role, "preempted RCU reader");
    EXPECT_TRUE(b->candidates.empty());
    const auto& d = b->details;
    EXPECT_TRUE(has_line(d, "grace period gp_seq 2985 in progress for 10.000s")) << joined(d);
    EXPECT_TRUE(has_line(d, "CPU 2 has not reported a quiescent state: running hog (pid 93)")) << joined(d);
    EXPECT_TRUE(has_line(d, "CPU 3 has not reported a quiescent state: idle")) << joined(d);
    EXPECT_TRUE(has_line(d, "grace-period kthread rcu_preempt (pid 15), RCU_GP_WAIT_FQS")) << joined(d);
    EXPECT_TRUE(has_line(d, "preempted RCU reader reader (pid 95) on rcu_node 2 (CPUs 2-3) blocks the grace period"));
    EXPECT_TRUE(has_line(d, "late (pid 96) on rcu_node 2 (CPUs 2-3) (queued after the grace period started"));
    EXPECT_TRUE(b->findings.empty()) << joined(b->findings);
    EXPECT_EQ(b->fields["gp_seq"], 2985);
    EXPECT_EQ(b->fields["completion"], hex(c));
    EXPECT_EQ(b->fields["gp_age_ns"], 10000000000ULL);
    ASSERT_EQ(b->fields["cpus_pending"].size(), 2u);
    EXPECT_EQ(b->fields["cpus_pending"][1]["idle"], true);
    EXPECT_EQ(b->fields["blocked_readers"][1]["pid"], 95);
}

TEST(Rcu, NoGracePeriodInProgressHasNoHolders) {
    RcuScenario s;
    s.set_gp_seq(2984);
    s.synchronize(s.waiter);
    auto b = s.find(s.waiter);
    ASSERT_TRUE(b);
    EXPECT_EQ(b->kind, WaitKind::RcuGracePeriod);
    EXPECT_EQ(b->name, "gp_seq 2984");
    // gp_tasks still names `reader` in this image, but the qsmask bits of
    // a finished grace period name nobody.
    for (const auto& h : b->holders) EXPECT_NE(h.role.find("reader"), std::string::npos);
    EXPECT_TRUE(has_line(b->details, "no grace period in progress (gp_seq 2984)")) << joined(b->details);
}

TEST(Rcu, OnlyIdleCpusPendingGivesANote) {
    RcuScenario s;
    s.img.write(s.nodeaddr(2), "rcu_node", "qsmask", 0b10);  // CPU 3 only, idle
    s.img.write(s.nodeaddr(2), "rcu_node", "gp_tasks", 0);
    s.synchronize(s.waiter);
    auto b = s.find(s.waiter);
    ASSERT_TRUE(b);
    EXPECT_TRUE(b->holders.empty());
    EXPECT_EQ(b->holder_note, "only CPU 3 (idle or unknown) has not reported a quiescent state");
}

TEST(Rcu, RcuBarrierListsTheQueuedCallbacks) {
    RcuScenario s;
    s.barrier(s.waiter);
    auto b = s.find(s.waiter);
    ASSERT_TRUE(b);
    EXPECT_EQ(b->kind, WaitKind::RcuBarrier);
    EXPECT_EQ(b->object, kRcuState + kBarrierCompletion);
    EXPECT_EQ(b->name, "rcu_state.barrier_completion");
    EXPECT_EQ(b->label(), "rcu_barrier rcu_state.barrier_completion");
    ASSERT_EQ(b->holders.size(), 2u);
    EXPECT_EQ(b->holders[0].task, s.hog);
    const auto& d = b->details;
    EXPECT_TRUE(has_line(d, "1 barrier callback(s) not yet invoked (rcu_state.barrier_cpu_count 1)")) << joined(d);
    EXPECT_TRUE(has_line(d, "CPU 2: 3 callback(s) queued, rcu_barrier()'s among them (2 ahead of it)")) << joined(d);
    EXPECT_TRUE(has_line(d, "no callbacks queued on CPUs 0, 1, 3")) << joined(d);
    EXPECT_EQ(b->fields["barrier_cpu_count"], 1);
    ASSERT_EQ(b->fields["callbacks"].size(), 4u);
    EXPECT_EQ(b->fields["callbacks"][2]["len"], 3);
    EXPECT_EQ(b->fields["callbacks"][2]["barrier_queued"], true);
    EXPECT_EQ(b->fields["callbacks"][0]["barrier_queued"], false);
}

TEST(Rcu, BarrierWithoutGracePeriodHoldersNamesTheCpus) {
    RcuScenario s;
    s.set_gp_seq(2984);
    s.img.write(s.nodeaddr(2), "rcu_node", "gp_tasks", 0);
    s.barrier(s.waiter);
    auto b = s.find(s.waiter);
    ASSERT_TRUE(b);
    EXPECT_TRUE(b->holders.empty());
    EXPECT_EQ(b->holder_note, "rcu_barrier()'s callback is still queued on CPU 2, to run after a grace period");
}

TEST(Rcu, CallbackListLoopIsBounded) {
    RcuScenario s;
    s.barrier(s.waiter);
    addr_t r = s.rdp(2);
    addr_t cb1 = s.img.u64(r + 0x78);
    s.img.u64(s.img.u64(cb1), cb1);  // cb2 -> cb1: a loop that never reaches barrier_head
    auto b = s.find(s.waiter);
    ASSERT_TRUE(b);
    EXPECT_EQ(b->kind, WaitKind::RcuBarrier);
    EXPECT_TRUE(has_line(b->findings, "CPU 2: rcu_data.cblist goes on past")) << joined(b->findings);
    EXPECT_TRUE(b->fields["callbacks"][2]["barrier_queued"].is_null());
}

TEST(Rcu, OtherCallbackIsAPlainCompletion) {
    RcuScenario s;
    s.synchronize(s.waiter, "synchronize_rcu", s.fk.func("some_other_callback"));
    auto b = s.find(s.waiter);
    ASSERT_TRUE(b);
    EXPECT_EQ(b->kind, WaitKind::Completion);
}

TEST(Rcu, SrcuIsNotRcuState) {
    RcuScenario s;
    s.synchronize(s.waiter, "__synchronize_srcu");
    auto b = s.find(s.waiter);
    ASSERT_TRUE(b);
    EXPECT_EQ(b->kind, WaitKind::Completion);
}

TEST(Rcu, RcuSynchronizeOnAnotherStackIsNotOurs) {
    RcuScenario s;
    // The completion the waiter sleeps on lies on another task's stack.
    addr_t other = s.fk.add_process({.pid = 120, .comm = "other", .state = TASK_INTERRUPTIBLE});
    addr_t rs = s.fk.sp_of(other) + 0x200;
    addr_t c = rs + 16;
    s.img.u64(rs + 8, s.wakeme);
    s.img.list_init(c + 16);
    s.wait_on(s.waiter, c);
    s.fk.put_frames(s.waiter, 0x80, {"__wait_rcu_gp", "synchronize_rcu", "do_syscall_64"});
    auto b = s.find(s.waiter);
    ASSERT_TRUE(b);
    EXPECT_EQ(b->kind, WaitKind::Completion);
}

TEST(Rcu, UnreadableNodeIsAFinding) {
    RcuScenario s;
    s.synchronize(s.waiter);
    s.t.unmap(s.nodeaddr(2), kNodeSize);
    auto b = s.find(s.waiter);
    ASSERT_TRUE(b);
    EXPECT_EQ(b->kind, WaitKind::RcuGracePeriod);
    EXPECT_TRUE(has_line(b->findings, fmt::format("rcu_node 2 at {:016x}: unreadable", s.nodeaddr(2))))
        << joined(b->findings);
    EXPECT_TRUE(b->holders.empty());  // its CPUs and readers are unknown
}

TEST(Rcu, UnreadableRcuStateStillNamesTheWait) {
    RcuScenario s;
    s.synchronize(s.waiter);
    s.t.unmap(kRcuState + 0x4000, 0x1000);  // gp_seq and the rest of rcu_state past node[]
    {
        Kernel k(s.t);
        EXPECT_THROW(read_rcu_state(k), Error);
    }
    auto b = s.find(s.waiter);
    ASSERT_TRUE(b);
    EXPECT_EQ(b->kind, WaitKind::RcuGracePeriod);
    EXPECT_EQ(b->object, kRcuState);
    EXPECT_TRUE(b->holders.empty());
    EXPECT_EQ(b->holder_note, "rcu_state is unreadable: the grace period's holders are unknown");
    EXPECT_TRUE(has_line(b->findings, "gp_seq unreadable")) << joined(b->findings);
}

TEST(Rcu, BlockedListLoopIsBoundedAndReported) {
    RcuScenario s;
    s.synchronize(s.waiter);
    // reader -> late: a loop that never returns to the head.
    s.img.u64(s.reader + 0x200, s.late + 0x200);
    auto b = s.find(s.waiter);
    ASSERT_TRUE(b);
    EXPECT_TRUE(has_line(b->findings, "rcu_node 2 blkd_tasks: ")) << joined(b->findings);
}

TEST(Rcu, BadParentAndNodeCountAreFindings) {
    RcuScenario s;
    s.set_counts(1000, 2);  // beyond rcu_state.node[4]
    s.img.write(s.nodeaddr(1), "rcu_node", "parent", 0xffff888000001234ULL);
    Kernel k(s.t);
    RcuState st = read_rcu_state(k);
    EXPECT_TRUE(has_line(st.findings, "rcu_num_nodes is 1000, outside rcu_state.node[4]; 4 read")) << joined(st.findings);
    EXPECT_TRUE(has_line(st.findings, "rcu_node 1: parent ffff888000001234 is not an earlier rcu_node"))
        << joined(st.findings);
    EXPECT_EQ(st.nodes.size(), 4u);
}

TEST(Rcu, QsmaskBeyondGrphiIsAFinding) {
    RcuScenario s;
    s.img.write(s.nodeaddr(1), "rcu_node", "qsmask", 0b1100);  // CPUs 2, 3 on a leaf of CPUs 0-1
    Kernel k(s.t);
    RcuState st = read_rcu_state(k);
    EXPECT_TRUE(has_line(st.findings, "rcu_node 1: qsmask 0xc has bits beyond CPU 1 (grphi)")) << joined(st.findings);
    EXPECT_EQ(st.cpus_pending(), (std::vector<int>{2, 3}));
}

TEST(Rcu, MissingLayoutMakesTheReaderInactive) {
    RcuScenario s;
    s.t.remove_type("rcu_node");
    s.synchronize(s.waiter);
    auto b = s.find(s.waiter);
    ASSERT_TRUE(b);
    EXPECT_EQ(b->kind, WaitKind::Completion);
}
