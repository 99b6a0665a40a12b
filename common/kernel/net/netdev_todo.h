// Devices being unregistered (net/core/dev.c). netdev_run_todo() moves
// net_todo_list onto a `LIST_HEAD(list)` local on its own stack (devices
// linked through net_device.todo_list), marks each NETREG_UNREGISTERED and
// waits in netdev_wait_allrefs_any() until one of them has a usage count of
// 1, sleeping in msleep() and rcu_barrier() in a loop and printing
// "unregister_netdevice: waiting for %s to become free. Usage count = %d".
// Who holds the leaked references is recorded only with a ref_tracker
// (CONFIG_NET_DEV_REFCNT_TRACKER).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/kernel.h"
#include "kernel/lib/list.h"
#include "kernel/waits/blocker.h"

namespace netdbg {

// The members netdev_refcnt_read() reads.
struct NetdevRefLayout {
    explicit NetdevRefLayout(Kernel& k);
    std::optional<MemberInfo> pcpu_refcnt, dev_refcnt;  // CONFIG_PCPU_DEV_REFCNT: pcpu_refcnt, else dev_refcnt
};

struct NetdevTodoLayout {
    explicit NetdevTodoLayout(Kernel& k);
    MemberInfo name, ifindex, todo_list, reg_state;
    // dev->refcnt_tracker.list, and struct ref_tracker's head and
    // alloc_stack_handle (CONFIG_NET_DEV_REFCNT_TRACKER).
    std::optional<std::size_t> tracker_list, tracker_head, tracker_alloc;
    std::int64_t unregistering = 0, unregistered = 0;             // enum netdev_reg_state
    std::vector<std::pair<std::int64_t, std::string>> reg_states;  // NETREG_* by value
    std::optional<addr_t> net_todo_list;
    // The devices net_set_todo() queued and netdev_run_todo() has not freed:
    // the global dev_unreg_count (6.6+), else struct net's own count.
    std::optional<addr_t> dev_unreg_count;
    std::optional<MemberInfo> net_dev_unreg_count;
    // pernet_ops_rwsem and struct rw_semaphore's count (not on PREEMPT_RT).
    std::optional<addr_t> pernet_ops_rwsem;
    std::optional<MemberInfo> rwsem_count;
};

// False only when the kernel's counts prove no device is between
// net_set_todo() and its free, so nobody can wait in netdev_run_todo():
// the global count is 0; or, with per-namespace counts, every namespace on
// net_namespace_list counts 0 and pernet_ops_rwsem is free (cleanup_net()
// unregisters a dying namespace's devices after taking it off the list,
// holding pernet_ops_rwsem). True when anything is unreadable or missing.
bool devices_may_be_unregistering(Kernel& k);

// The usage count netdev_refcnt_read() computes: the sum over possible
// CPUs of *per_cpu_ptr(dev->pcpu_refcnt, cpu) when pcpu_refcnt exists and
// is set, else refcount_read(&dev->dev_refcnt). nullopt when unreadable
// or the kernel has neither; LayoutError without struct net_device.
std::optional<std::int64_t> netdev_usage_count(Kernel& k, addr_t dev);

// "NETREG_UNREGISTERED", or the number.
std::string netdev_reg_state_name(Kernel& k, std::int64_t state);

struct UnregisteringDevice {
    addr_t dev = 0;
    std::string name;
    int ifindex = 0;
    std::int64_t reg_state = 0;
    std::optional<std::int64_t> usage;   // netdev_usage_count()
    std::optional<std::size_t> tracked;  // entries on refcnt_tracker.list, with a ref_tracker
    std::vector<std::uint32_t> tracker_stacks;  // their allocation stack depot handles (the first few)
};

// The device at dev when it is a net_device being unregistered
// (NETREG_UNREGISTERING or NETREG_UNREGISTERED, printable name); nullopt
// otherwise.
std::optional<UnregisteringDevice> read_unregistering_device(Kernel& k, addr_t dev);

struct TodoList {
    addr_t head = 0;
    std::vector<UnregisteringDevice> devices;
    ListWalk walk;
    std::vector<std::string> findings;
};

// The devices on a todo list (a list_head linking net_device.todo_list), at
// most max; nullopt when it is empty or its first entry is not a device
// being unregistered.
std::optional<TodoList> read_todo_list(Kernel& k, addr_t head, std::size_t max = 10000);

// The reader of device unregister waits (netdev_run_todo()'s todo list).
std::unique_ptr<WaitReader> netdev_unregister_wait_reader(const Snapshot& s);

// The todo list on the stack of task t when it waits in netdev_run_todo()
// (in that frame or in netdev_wait_allrefs_any()'s), proven as the wait
// reader proves it; nullopt otherwise.
std::optional<TodoList> task_todo_list(const Snapshot& s, const Task& t, const StackWords& stack,
                                       const CallChain& chain);

struct UnregisterWaiter {
    addr_t task = 0;
    // task->start_time (CLOCK_MONOTONIC ns): the wait began after it.
    std::optional<std::uint64_t> task_start_ns;
    TodoList list;
};

// Every task of the snapshot waiting for devices to be freed, with its todo
// list: the D-state tasks whose stack just above the saved stack pointer
// holds a return address into netdev_run_todo() or
// netdev_wait_allrefs_any() (a cheap filter: no unwinding of the others),
// then proven by the list on the stack. At most max.
std::vector<UnregisterWaiter> find_unregister_waiters(const Snapshot& s, std::size_t max = 1000);

}  // namespace netdbg
