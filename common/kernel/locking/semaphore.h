// struct semaphore (kernel/locking/semaphore.c): count and the waiters in
// queue order from wait_list (struct semaphore_waiter {list, task, up},
// private to semaphore.c, described only by the debug info). The kernel
// records no holder; newer kernels keep `last_holder` (hung-task blocker
// tracking), shown as a candidate when present.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/kernel.h"
#include "kernel/waits/blocker.h"
#include "kernel/waits/stack_waiter.h"

namespace netdbg {

struct SemaphoreLayout {
    explicit SemaphoreLayout(Kernel& k);
    StructLayout s;
    MemberInfo count, wait_list;
    std::optional<MemberInfo> last_holder;
    WaiterShape waiter;  // struct semaphore_waiter
};

struct SemaphoreState {
    addr_t addr = 0;
    std::string name;
    std::uint32_t count = 0;
    std::optional<addr_t> last_holder;
    WaitList waiters;
};

SemaphoreState read_semaphore(Kernel& k, addr_t addr, std::size_t max = 100000);
Blocker semaphore_blocker(const Snapshot& s, const SemaphoreState& sem);
// The reader of semaphore waits (__down_common()'s struct semaphore_waiter).
std::unique_ptr<WaitReader> semaphore_wait_reader(const Snapshot& s);

}  // namespace netdbg
