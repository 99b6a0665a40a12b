// RCU waits: tasks sleeping on a completion that belongs to RCU.
//   synchronize_rcu() -> __wait_rcu_gp(): a struct rcu_synchronize on the
//     caller's own stack, whose callback (wakeme_after_rcu) completes it
//     after a grace period: an RCU grace period wait.
//   rcu_barrier(): rcu_state.barrier_completion, completed when every
//     CPU's barrier callback has run: an rcu_barrier wait.
// Both are held up by the current grace period: the CPUs that have not
// reported a quiescent state (their current task is the holder) and the
// readers preempted inside a read-side critical section that block it.
#pragma once

#include <memory>

#include "kernel/rcu/rcu.h"
#include "kernel/sched/completion.h"

namespace netdbg {

// The blocker of a wait for the grace period of rcu_state `st` (kind
// RcuGracePeriod, or RcuBarrier with the per-CPU callbacks).
Blocker rcu_blocker(const Snapshot& s, const RcuState& st, WaitKind kind, addr_t completion);

// The CompletionUser that recognises RCU's completions.
std::unique_ptr<CompletionUser> rcu_completion_user(const Snapshot& s);

}  // namespace netdbg
