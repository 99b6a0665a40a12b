// struct rw_semaphore (kernel/locking/rwsem.c): the count word (writer bit,
// waiters and handoff flags, reader count), the owner word (the writer, or
// the last reader to take it with the reader-owned bit), and the waiters in
// queue order from wait_list (struct rwsem_waiter, with their R/W type).
// On PREEMPT_RT an rw_semaphore is a struct rwbase_rt (kernel/locking/
// rwbase_rt.c): `readers` (READER_BIAS while no writer, else the readers a
// writer waits for, WRITER_BIAS once it holds it) and an rt_mutex_base whose
// owner is the writer and whose waiter tree holds the blocked tasks.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/kernel.h"
#include "kernel/lib/list.h"
#include "kernel/waits/blocker.h"

namespace netdbg {

// kernel/locking/rwsem.c: the count and owner bits (since 5.3).
constexpr std::uint64_t RWSEM_WRITER_LOCKED = 1ull << 0;
constexpr std::uint64_t RWSEM_FLAG_WAITERS = 1ull << 1;
constexpr std::uint64_t RWSEM_FLAG_HANDOFF = 1ull << 2;
constexpr unsigned RWSEM_READER_SHIFT = 8;
constexpr std::uint64_t RWSEM_READER_OWNED = 1ull << 0;
constexpr std::uint64_t RWSEM_NONSPINNABLE = 1ull << 1;
constexpr std::uint64_t RWSEM_OWNER_FLAGS = 0x7;

// kernel/locking/rwbase_rt.c
constexpr std::uint32_t RWBASE_READER_BIAS = 1u << 31;
constexpr std::uint32_t RWBASE_WRITER_BIAS = 1u << 30;

struct RwsemLayout {
    explicit RwsemLayout(Kernel& k);
    StructLayout s;
    MemberInfo count, owner, wait_list;
    // PREEMPT_RT: rwbase_rt's readers word and its rt_mutex_base.
    std::optional<std::size_t> rt_readers, rtmutex;
    // struct rwsem_waiter
    std::size_t waiter_list = 0, waiter_task = 0, waiter_type = 0;
    std::int64_t waiting_for_read = 1;  // enum rwsem_waiter_type RWSEM_WAITING_FOR_READ
};

struct RwsemWaiter {
    addr_t task = 0;
    std::optional<bool> read;  // unknown on PREEMPT_RT: the rt_mutex waiter does not say
};

struct RwsemState {
    addr_t addr = 0;
    std::string name;
    std::uint64_t count = 0, owner_word = 0;  // PREEMPT_RT: readers word, rtmutex.owner
    bool rt = false;
    // PREEMPT_RT: held for write once rwbase_write_lock() has set
    // WRITER_BIAS; before that the writer holds the rt_mutex and waits for
    // the readers still counted to leave (__rwbase_write_trylock()).
    bool writer_locked() const {
        return rt ? count == RWBASE_WRITER_BIAS && owner() : (count & RWSEM_WRITER_LOCKED);
    }
    bool writer_pending() const { return rt && !(count & RWBASE_READER_BIAS) && count != RWBASE_WRITER_BIAS && owner(); }
    bool has_waiters() const { return rt ? (owner_word & 1) : (count & RWSEM_FLAG_WAITERS); }
    std::uint64_t readers() const {
        if (!rt) return count >> RWSEM_READER_SHIFT;
        if (count & RWBASE_READER_BIAS) return count - RWBASE_READER_BIAS;
        return count == RWBASE_WRITER_BIAS ? 0 : count;  // the readers a writer waits for
    }
    bool reader_owned() const { return !rt && (owner_word & RWSEM_READER_OWNED); }
    addr_t owner() const { return owner_word & ~RWSEM_OWNER_FLAGS; }
    std::vector<RwsemWaiter> waiters;  // queue order; PREEMPT_RT: a pending writer first
    ListWalk walk;
};

RwsemState read_rwsem(Kernel& k, addr_t addr, std::size_t max = 100000);
// "WRITER|WAITERS|HANDOFF" or "-"; PREEMPT_RT: "READER_BIAS|HAS_WAITERS"...
std::string rwsem_count_flags(const RwsemState& r);
// The blocker record of an rwsem: the writer is the holder; readers are not
// recorded (the owner word keeps the last one to take it), so they are
// counted, and the last reader is shown as a candidate.
Blocker rwsem_blocker(const Snapshot& s, const RwsemState& r, addr_t waiter_task);
// The reader of rwsem waits (rwsem_down_read_slowpath() and
// rwsem_down_write_slowpath()'s struct rwsem_waiter).
std::unique_ptr<WaitReader> rwsem_wait_reader(const Snapshot& s);

}  // namespace netdbg
