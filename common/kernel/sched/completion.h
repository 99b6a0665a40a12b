// struct completion (include/linux/completion.h, kernel/sched/completion.c):
// `done` and the swait queue of waiters (struct swait_queue {task,
// task_list} on each waiter's stack, linked into wait.task_list).
// A completion is often part of something bigger: flush_work()'s
// struct wq_barrier, synchronize_rcu()'s struct rcu_synchronize,
// rcu_state.barrier_completion. The readers of those (CompletionUser)
// recognise their completion and answer with their own kind.
#pragma once

#include <memory>
#include <optional>
#include <vector>

#include "core/kernel.h"
#include "kernel/waits/blocker.h"
#include "kernel/waits/stack_waiter.h"

namespace netdbg {

struct CompletionLayout {
    explicit CompletionLayout(Kernel& k);
    MemberInfo done;
    std::size_t task_list = 0;  // completion.wait.task_list
    WaiterShape waiter;         // struct swait_queue
};

struct CompletionState {
    addr_t addr = 0;
    std::string name;
    std::uint32_t done = 0;
    WaitList waiters;
};

CompletionState read_completion(Kernel& k, addr_t addr, std::size_t max = 100000);

// A completion waited on at `site`, already proven to hold the task.
struct CompletionWait {
    const WaitSite& site;
    const CompletionState& completion;
};

class CompletionUser {
public:
    virtual ~CompletionUser() = default;
    // The blocker, when this completion is one of this reader's objects.
    virtual std::optional<Blocker> find(const CompletionWait& w) = 0;
};

// The reader of completion waits (do_wait_for_common()'s swait_queue);
// a completion none of `users` claims is a plain completion.
std::unique_ptr<WaitReader> completion_wait_reader(const Snapshot& s,
                                                   std::vector<std::unique_ptr<CompletionUser>> users);

}  // namespace netdbg
