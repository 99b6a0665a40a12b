// struct rw_semaphore (kernel/locking/rwsem.c): the count word (writer bit,
// waiters and handoff flags, reader count), the owner word (the writer, or
// the last reader to take it with the reader-owned bit), and the waiters in
// queue order from wait_list (struct rwsem_waiter, with their R/W type).
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

struct RwsemLayout {
    explicit RwsemLayout(Kernel& k);
    StructLayout s;
    MemberInfo count, owner, wait_list;
    // struct rwsem_waiter
    std::size_t waiter_list = 0, waiter_task = 0, waiter_type = 0;
    std::int64_t waiting_for_read = 1;  // enum rwsem_waiter_type RWSEM_WAITING_FOR_READ
};

struct RwsemWaiter {
    addr_t task = 0;
    bool read = false;
};

struct RwsemState {
    addr_t addr = 0;
    std::string name;
    std::uint64_t count = 0, owner_word = 0;
    bool writer_locked() const { return count & RWSEM_WRITER_LOCKED; }
    std::uint64_t readers() const { return count >> RWSEM_READER_SHIFT; }
    bool reader_owned() const { return owner_word & RWSEM_READER_OWNED; }
    addr_t owner() const { return owner_word & ~RWSEM_OWNER_FLAGS; }
    std::vector<RwsemWaiter> waiters;  // queue order
    ListWalk walk;
};

RwsemState read_rwsem(Kernel& k, addr_t addr, std::size_t max = 100000);
// "WRITER|WAITERS|HANDOFF" or "-"
std::string rwsem_count_flags(std::uint64_t count);
// The blocker record of an rwsem: the writer is the holder; readers are not
// recorded (the owner word keeps the last one to take it), so they are
// counted, and the last reader is shown as a candidate.
Blocker rwsem_blocker(const Snapshot& s, const RwsemState& r, addr_t waiter_task);
// The reader of rwsem waits (rwsem_down_read_slowpath() and
// rwsem_down_write_slowpath()'s struct rwsem_waiter).
std::unique_ptr<WaitReader> rwsem_wait_reader(const Snapshot& s);

}  // namespace netdbg
