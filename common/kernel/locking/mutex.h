// struct mutex (kernel/locking/mutex.c): owner with its flag bits, and the
// waiters in queue order from wait_list (struct mutex_waiter). On PREEMPT_RT
// a mutex is an rt_mutex_base (kernel/locking/rtmutex_api.c): the owner and
// its HAS_WAITERS bit live there, and the waiters in priority order.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/kernel.h"
#include "kernel/lib/list.h"
#include "kernel/waits/blocker.h"

namespace netdbg {

// kernel/locking/mutex.c: low bits of mutex->owner.
constexpr std::uint64_t MUTEX_FLAG_WAITERS = 0x01;
constexpr std::uint64_t MUTEX_FLAG_HANDOFF = 0x02;
constexpr std::uint64_t MUTEX_FLAG_PICKUP = 0x04;
constexpr std::uint64_t MUTEX_FLAGS = 0x07;

struct MutexLayout {
    explicit MutexLayout(Kernel& k);
    StructLayout s;
    MemberInfo owner;                     // PREEMPT_RT: rtmutex.owner, from the mutex
    std::optional<MemberInfo> wait_list;  // absent on PREEMPT_RT
    std::optional<std::size_t> rtmutex;   // PREEMPT_RT: the rt_mutex_base it is built on
    bool owner_has_flags = true;          // false before 4.10 (owner pointer + count)
    // struct mutex_waiter
    std::size_t waiter_list = 0, waiter_task = 0;
};

struct MutexState {
    addr_t addr = 0;
    std::string name;     // "rtnl_mutex", "nd_chain_mutex [nd_rtnl_stuck]", or ""
    addr_t owner = 0;     // task_struct, flags stripped
    std::uint64_t flags = 0;
    std::vector<addr_t> waiters;  // task_structs, queue order
    ListWalk walk;                // the wait_list walk and its findings
};

// Reads a mutex and walks its waiters (at most max).
MutexState read_mutex(Kernel& k, addr_t addr, std::size_t max = 100000);
std::string mutex_flag_names(std::uint64_t flags);  // "WAITERS|HANDOFF" or "-"

// The blocker record of a mutex: its owner is the holder.
Blocker mutex_blocker(const MutexState& m);
// The reader of mutex waits (__mutex_lock_common()'s struct mutex_waiter).
std::unique_ptr<WaitReader> mutex_wait_reader(const Snapshot& s);

}  // namespace netdbg
