// kernel/time/timer.c: the per-CPU timer wheels (timer_bases[NR_BASES],
// each with vectors[WHEEL_SIZE] hlist buckets) and the timers pending on
// them; jiffies and HZ. Also the fault-tolerant hlist walk the wheel
// buckets (and workqueue's busy_hash) need, and slab poison recognition.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/kernel.h"

namespace netdbg {

// ---- slab poison (include/linux/poison.h) -------------------------------
// POISON_FREE (0x6b) fills a freed object of a SLAB_POISON cache, with
// POISON_END (0xa5) as its last byte; 0xec is the "freed" fill of the
// project's scenarios and of some drivers. A word made only of one of these
// bytes (0x6b words may end in 0xa5) never is a valid pointer or work data.
bool is_poison_word(std::uint64_t w);
// The poison byte (0x6b or 0xec) of the first poisoned 8-byte word of
// [p, p + len), or 0 when there is none.
std::uint8_t poison_byte(const std::uint8_t* p, std::size_t len);

// ---- hlist --------------------------------------------------------------
struct HlistFinding {
    enum Kind { Loop, BadPprev, Unreadable, Poison, Truncated } kind;
    std::size_t index = 0;  // entry number, 0 = head->first
    addr_t node = 0;
    addr_t expected = 0, actual = 0;
    bool slab_poison = false;  // Poison: slab poison rather than LIST_POISON
    std::string describe() const;
};

struct HlistWalk {
    std::size_t count = 0;
    bool complete = false;  // reached a NULL next with no finding
    std::vector<HlistFinding> findings;
};

// Visits each node of the hlist whose struct hlist_head is at head, in
// order, checking node->pprev == &previous->next (or &head->first), with
// loop detection (no node is visited twice), stopping at unreadable, LIST_POISON or slab
// poison links and after max entries. A node whose pprev is poisoned is
// still visited (its next decides whether the walk goes on).
HlistWalk walk_hlist(Kernel& k, addr_t head, std::size_t max, const std::function<bool(addr_t node)>& visit);

// ---- timers -------------------------------------------------------------
struct TimerLayout {
    explicit TimerLayout(Kernel& k);
    StructLayout s;
    MemberInfo entry, expires, function, flags;
    Span span;
};

struct TimerBaseLayout {
    explicit TimerBaseLayout(Kernel& k);
    addr_t timer_bases = 0;  // per-CPU symbol: struct timer_base [NR_BASES]
    std::size_t nr_bases = 0, base_size = 0;
    MemberInfo vectors, clk;
    std::size_t wheel_size = 0;  // hlist heads in vectors[]
};

struct PendingTimer {
    int cpu = 0;
    int base = 0;             // index into the CPU's timer_bases[]
    std::size_t bucket = 0;   // index into vectors[]
    addr_t timer = 0;         // struct timer_list *
    addr_t function = 0;
    std::uint64_t expires = 0;
    std::uint32_t flags = 0;
    bool poisoned = false;    // the timer's memory holds slab poison: freed
    bool readable = true;
};

struct TimerWheelProblem {
    int cpu = 0, base = 0;
    std::size_t bucket = 0;
    std::string text;
};

struct TimerWalk {
    std::vector<PendingTimer> timers;
    std::vector<TimerWheelProblem> problems;
};

// Every timer queued on the wheels of every CPU, CPU by CPU, base by base,
// bucket by bucket. At most max timers per bucket.
TimerWalk for_each_pending_timer(Kernel& k, std::size_t max = 100000);

// include/linux/timer.h: the bits of timer_list.flags (preprocessor
// constants, unchanged since 4.15; not in the debug info).
constexpr std::uint32_t TIMER_CPUMASK = 0x0003ffff;
constexpr std::uint32_t TIMER_DEFERRABLE = 0x00080000;
constexpr std::uint32_t TIMER_PINNED = 0x00100000;
constexpr std::uint32_t TIMER_IRQSAFE = 0x00200000;

// jiffies at the dump (jiffies_64, else jiffies).
std::optional<std::uint64_t> read_jiffies(Kernel& k);
// HZ from tick_nsec (NSEC_PER_SEC / HZ, set by the NTP code), if known.
std::optional<unsigned> kernel_hz(Kernel& k);

}  // namespace netdbg
