// struct rt_mutex_base (kernel/locking/rtmutex.c), what PREEMPT_RT builds
// its sleeping locks on: struct mutex is { rt_mutex_base rtmutex }, an
// rw_semaphore's rwbase_rt has one. The owner word's bit 0 is
// RT_MUTEX_HAS_WAITERS; the waiters are struct rt_mutex_waiter in an rbtree
// ordered by priority (`waiters`, an rb_root_cached), linked through
// `tree_entry` (6.1) or `tree.entry` (later, and 6.1.y backports), each with
// its task and the lock it waits for.
#pragma once

#include <optional>
#include <vector>

#include "core/kernel.h"
#include "kernel/lib/list.h"
#include "kernel/waits/blocker.h"

namespace netdbg {

constexpr std::uint64_t RT_MUTEX_HAS_WAITERS = 1;

struct RtMutexLayout {
    explicit RtMutexLayout(Kernel& k);
    StructLayout s;
    MemberInfo owner, waiters;  // waiters: rb_root_cached, rb_root first
    // struct rt_mutex_waiter
    std::size_t waiter_node = 0;  // its rb_node in the lock's tree
    std::size_t waiter_task = 0, waiter_lock = 0;
    std::optional<std::size_t> waiter_prio;
};

struct RtMutexWaiter {
    addr_t waiter = 0;
    addr_t task = 0;
    std::optional<int> prio;
};

struct RtMutexState {
    addr_t base = 0;
    addr_t owner = 0;
    bool has_waiters = false;
    std::vector<RtMutexWaiter> waiters;  // in the tree's order: the top waiter first
    ListWalk walk;                       // count and findings of the tree walk
};

// What kind of lock an rt_mutex wait at `site` is for, from the functions
// the wait was called through (the waiter record does not say): mutex_lock*
// for a mutex, down_read*/down_write*/rwbase_* for an rwsem (with its mode).
enum class RtLockUser { Mutex, RwSemRead, RwSemWrite, Other };
RtLockUser rt_lock_user(Kernel& k, const CallChain& chain, std::size_t from_frame);

// rt_mutex_slowlock() and the functions it is inlined into, where the
// struct rt_mutex_waiter lives.
bool is_rt_mutex_wait_function(std::string_view fn);

// The task's rt_mutex_waiter in the site's frame, when the rt_mutex_base it
// names holds it in its waiter tree and has RT_MUTEX_HAS_WAITERS set.
struct RtWait {
    addr_t waiter = 0;
    addr_t base = 0;  // the rt_mutex_base waited on
};
std::optional<RtWait> rt_mutex_wait(Kernel& k, const WaitSite& site);

// Reads the rt_mutex_base at base and its waiter tree (at most max nodes;
// a node seen twice or unreadable ends the walk with a finding).
RtMutexState read_rt_mutex(Kernel& k, addr_t base, std::size_t max = 100000);

}  // namespace netdbg
