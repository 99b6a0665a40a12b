// What a D-state task waits for, without DWARF unwinding: its
// struct mutex_waiter lives on its own stack (__mutex_lock_common()), so
// scan the stack for a word equal to the task, take the enclosing waiter,
// follow its list node to the mutex's wait_list head, and accept the mutex
// only when the validated walk of that wait_list contains the task.
#pragma once

#include <optional>
#include <unordered_map>

#include "kernel/locking/mutex.h"
#include "kernel/sched/stack.h"
#include "kernel/sched/task.h"

namespace netdbg {

struct Blocker {
    addr_t mutex = 0;
    std::string name;  // lock_name() or ""
    addr_t owner = 0;  // owning task, 0 if none
    std::uint64_t flags = 0;
};

class BlockerFinder {
public:
    BlockerFinder(Kernel& k, const TaskIndex& index);
    std::optional<Blocker> find(const Task& t, const StackWords& stack);
    // Mutex states read so far, by address (each wait_list walked once).
    const MutexState* mutex(addr_t addr) const;

private:
    std::optional<addr_t> wait_list_head(addr_t node);
    bool is_waiter_node(addr_t node);

    Kernel& k_;
    const TaskIndex& index_;
    const MutexLayout& L_;
    std::size_t thread_size_;
    std::unordered_map<addr_t, addr_t> node_to_mutex_;
    std::unordered_map<addr_t, MutexState> mutexes_;
};

}  // namespace netdbg
