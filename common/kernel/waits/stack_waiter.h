// The waiter records the kernel's sleeping primitives put on the sleeper's
// own stack: struct mutex_waiter, rwsem_waiter and semaphore_waiter ({list,
// task}), struct swait_queue ({task, task_list}) of completions, struct
// wait_queue_entry ({private = task, entry}) of wait queues. All have a task
// pointer and a list node linked into the object's wait list, so a word equal
// to the task inside the wait function's frame, whose list node is linked
// consistently, leads to the list's head: the first node on the ring that is
// not itself such a record on some task's stack.
#pragma once

#include <optional>
#include <vector>

#include "kernel/waits/blocker.h"

namespace netdbg {

struct WaiterShape {
    std::size_t task = 0;  // offset of the task pointer in the record
    std::size_t list = 0;  // offset of the list_head in the record
};

struct StackWaiter {
    addr_t waiter = 0;  // the record, on the task's stack
    addr_t node = 0;    // its list_head
    addr_t head = 0;    // the wait list's head, in the object waited on
};

// Every record of this shape in the site's frame, in stack order.
std::vector<StackWaiter> stack_waiters(Kernel& k, const Snapshot& s, const WaitSite& site, WaiterShape shape);

// The tasks named by the records on the wait list at head, in queue order,
// and the walk (its findings); at most max.
struct WaitList {
    std::vector<addr_t> tasks;
    std::vector<addr_t> waiters;  // the records
    ListWalk walk;
};
WaitList read_wait_list(Kernel& k, addr_t head, WaiterShape shape, std::size_t max = 100000);

}  // namespace netdbg
