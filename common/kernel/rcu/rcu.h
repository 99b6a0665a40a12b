// Tree RCU's state (kernel/rcu/tree.h): rcu_state's grace-period sequence
// and start, the rcu_node tree laid out breadth-first in rcu_state.node[]
// (per node: the CPUs or children that have not reported a quiescent state
// for the current grace period, and the tasks preempted inside a read-side
// critical section on blkd_tasks), and the per-CPU rcu_data callback lists.
// Read fault-tolerantly: a damaged node or list is a finding, not an error.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/kernel.h"

namespace netdbg {

// kernel/rcu/rcu.h: the low two bits of a gp_seq are the grace period's
// state (0: idle), the rest counts grace periods.
constexpr unsigned RCU_SEQ_CTR_SHIFT = 2;
constexpr std::uint64_t RCU_SEQ_STATE_MASK = 3;

struct RcuLayout {
    explicit RcuLayout(Kernel& k);
    addr_t rcu_state = 0;                     // the symbol
    std::size_t node = 0;                     // rcu_state.node[]
    std::size_t node_size = 0, node_max = 0;  // sizeof(struct rcu_node), the array's length
    MemberInfo gp_seq;
    std::optional<MemberInfo> gp_start, gp_state, gp_kthread, barrier_cpu_count, barrier_sequence,
        barrier_completion;
    // struct rcu_node
    MemberInfo rn_gp_seq, qsmask, grplo, grphi, level, parent, blkd_tasks, gp_tasks;
    std::optional<MemberInfo> exp_tasks;
    // task_struct.rcu_node_entry / rcu_blocked_node (CONFIG_PREEMPT_RCU only)
    std::optional<MemberInfo> task_node_entry, task_blocked_node;
    std::optional<addr_t> num_nodes, num_lvls, gp_state_names;  // symbols
    std::size_t gp_state_names_len = 0;
};

// A task on an rcu_node's blkd_tasks list: preempted (or blocked) inside an
// RCU read-side critical section.
struct RcuBlockedTask {
    addr_t task = 0;
    int node = 0;      // index in rcu_state.node[]
    bool gp = false;   // at or after gp_tasks: blocks the current normal grace period
    bool exp = false;  // at or after exp_tasks: blocks the current expedited one
};

struct RcuNode {
    int index = 0;
    addr_t addr = 0;
    std::uint64_t gp_seq = 0;
    std::uint64_t qsmask = 0;
    int grplo = 0, grphi = 0;
    int level = 0;
    int parent = -1;  // index of the parent, -1 for the root (or a bad pointer)
    bool leaf = false;
    addr_t gp_tasks = 0, exp_tasks = 0;
    std::vector<RcuBlockedTask> blocked;  // blkd_tasks order
};

struct RcuState {
    addr_t addr = 0;
    std::uint64_t gp_seq = 0;
    std::optional<std::uint64_t> gp_start;  // jiffies
    std::optional<std::uint64_t> jiffies;   // at the dump
    std::optional<unsigned> hz;
    std::optional<int> gp_state;  // rcu_state.gp_state (RCU_GP_WAIT_FQS...)
    std::string gp_state_name;    // from the kernel's gp_state_names[], or ""
    addr_t gp_kthread = 0;
    std::optional<int> barrier_cpu_count;
    std::optional<std::uint64_t> barrier_sequence;
    int num_lvls = 0;
    std::vector<RcuNode> nodes;         // the readable ones, in index order
    std::vector<std::string> findings;  // damage met in the tree

    // gp_seq starts at -300 << 2: compare as signed.
    std::int64_t gp_seq_signed() const { return static_cast<std::int64_t>(gp_seq); }
    std::uint64_t gp_seq_state() const { return gp_seq & RCU_SEQ_STATE_MASK; }
    bool gp_in_progress() const { return gp_seq_state() != 0; }
    // jiffies - gp_start, when both are known.
    std::optional<std::uint64_t> gp_age_jiffies() const;
    std::optional<std::uint64_t> gp_age_ns() const;
    // CPUs whose leaf rcu_node (initialised for this grace period) still has
    // their qsmask bit: they have not reported a quiescent state. Empty
    // when no grace period is in progress.
    std::vector<int> cpus_pending() const;
    // Every task on a blkd_tasks list, node by node.
    std::vector<RcuBlockedTask> blocked() const;
};

// Reads rcu_state and its rcu_node tree (at most max_blocked tasks per
// blkd_tasks list). Throws Error when rcu_state.gp_seq cannot be read.
RcuState read_rcu_state(Kernel& k, std::size_t max_blocked = 10000);

// "RCU_GP_WAIT_FQS" or "gp_state 5".
std::string rcu_gp_state_text(const RcuState& st);

// Per-CPU struct rcu_data: the callbacks queued on the CPU (cblist.len) and
// whether rcu_barrier()'s callback (rdp->barrier_head) is among them.
struct RcuDataLayout {
    explicit RcuDataLayout(Kernel& k);
    addr_t rcu_data = 0;      // per-CPU symbol
    std::size_t cblist_len = 0;  // rcu_data.cblist.len
    std::optional<std::size_t> cblist_head, barrier_head;  // rcu_data.cblist.head, rcu_data.barrier_head
    std::size_t head_next = 0;  // callback_head.next
};

struct RcuCpuCallbacks {
    int cpu = 0;
    addr_t rdp = 0;
    std::optional<std::int64_t> len;  // nullopt: unreadable
    // rdp->barrier_head found on the callback list (its position), not
    // found (the list ended first), or unknown (unreadable, too long).
    std::optional<bool> barrier_queued;
    std::size_t barrier_position = 0;
};

// One entry per possible CPU; looks for barrier_head when find_barrier.
// Damage (a callback list longer than its len, unreadable links) goes to
// findings. At most max_walk callbacks per CPU are followed.
std::vector<RcuCpuCallbacks> read_rcu_callbacks(Kernel& k, bool find_barrier, std::vector<std::string>& findings,
                                                std::size_t max_walk = 10000);

}  // namespace netdbg
