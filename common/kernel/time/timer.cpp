#include "kernel/time/timer.h"

#include <cmath>
#include <cstring>
#include <unordered_set>

#include <fmt/format.h>

#include "kernel/lib/list.h"

namespace netdbg {

// ---------------------------------------------------------------- poison

namespace {
constexpr std::uint8_t kPoisonFree = 0x6b;  // POISON_FREE
constexpr std::uint8_t kPoisonEnd = 0xa5;   // POISON_END
constexpr std::uint8_t kPoisonEc = 0xec;
}  // namespace

bool is_poison_word(std::uint64_t w) {
    auto fill = [&](std::uint8_t b, bool end_ok) {
        for (int i = 0; i < 8; ++i) {
            auto byte = static_cast<std::uint8_t>(w >> (8 * i));
            if (byte == b) continue;
            if (end_ok && i == 7 && byte == kPoisonEnd) continue;  // the object's last byte
            return false;
        }
        return true;
    };
    return fill(kPoisonFree, true) || fill(kPoisonEc, false);
}

std::uint8_t poison_byte(const std::uint8_t* p, std::size_t len) {
    for (std::size_t i = 0; i + 8 <= len; i += 8) {
        std::uint64_t w;
        std::memcpy(&w, p + i, 8);
        if (is_poison_word(w)) return static_cast<std::uint8_t>(w);
    }
    return 0;
}

// ---------------------------------------------------------------- hlist

std::string HlistFinding::describe() const {
    switch (kind) {
        case Loop: return fmt::format("loop: entry {} ({:016x}) was seen before", index, node);
        case BadPprev:
            return fmt::format("bad pprev: entry {} at {:016x}: pprev is {:016x}, expected {:016x}", index, node,
                               actual, expected);
        case Unreadable: return fmt::format("unreadable: entry {} at {:016x}", index, node);
        case Poison:
            return fmt::format("poison: entry {} at {:016x} links to {:016x} ({})", index, node, actual,
                               slab_poison ? "freed memory" : "deleted entry still linked");
        case Truncated: return fmt::format("truncated: stopped after {} entries (--max)", index);
    }
    return "?";
}

HlistWalk walk_hlist(Kernel& k, addr_t head, std::size_t max, const std::function<bool(addr_t)>& visit) {
    Memory& mem = k.mem();
    HlistWalk w;
    auto first = mem.read_u64(head);
    if (!first) {
        w.findings.push_back({HlistFinding::Unreadable, 0, head});
        return w;
    }
    addr_t node = *first, expected_pprev = head;
    // Buckets are short: a set of the nodes seen stops a loop before any
    // node is visited twice (bounded by max).
    std::unordered_set<addr_t> seen;
    for (std::size_t index = 0;; ++index) {
        if (node == 0) {
            w.complete = w.findings.empty();
            return w;
        }
        if (is_list_poison(k, node) || is_poison_word(node)) {
            w.findings.push_back({HlistFinding::Poison, index ? index - 1 : 0, expected_pprev, 0, node});
            w.findings.back().slab_poison = is_poison_word(node);
            return w;
        }
        if (index >= max) {
            w.findings.push_back({HlistFinding::Truncated, index, node});
            return w;
        }
        if (!seen.insert(node).second) {
            w.findings.push_back({HlistFinding::Loop, index, node});
            return w;
        }
        addr_t links[2];
        if (!mem.read(node, links, sizeof links)) {
            w.findings.push_back({HlistFinding::Unreadable, index, node});
            return w;
        }
        if (links[1] != expected_pprev)
            w.findings.push_back({HlistFinding::BadPprev, index, node, expected_pprev, links[1]});
        ++w.count;
        if (!visit(node)) return w;
        if ((index & 0xfff) == 0xfff) k.check_interrupt();
        expected_pprev = node;  // &node->next: next is the first member
        node = links[0];
    }
}

// ---------------------------------------------------------------- timers

TimerLayout::TimerLayout(Kernel& k) : s(k.target(), "timer_list") {
    entry = s.require("entry");
    expires = s.require("expires");
    function = s.require("function");
    flags = s.require("flags");
    for (const MemberInfo& m : {entry, expires, function, flags}) span.add(m);
}

TimerBaseLayout::TimerBaseLayout(Kernel& k) {
    Target& t = k.target();
    StructLayout b(t, "timer_base");
    base_size = b.size();
    vectors = b.require("vectors");
    clk = b.require("clk");
    wheel_size = vectors.size / 8;
    timer_bases = k.symbol("timer_bases");
    // NR_BASES: the array's length (2 with NO_HZ_COMMON before 6.9, 3 after).
    if (auto n = t.array_length("timer_bases")) nr_bases = *n;
    if (!nr_bases) nr_bases = 1;
}

namespace {
void read_bucket(Kernel& k, int cpu, int base, std::size_t bucket, addr_t head, std::size_t max, TimerWalk& out) {
    const TimerLayout& T = k.get<TimerLayout>();
    HlistWalk w = walk_hlist(k, head, max, [&](addr_t node) {
        PendingTimer p;
        p.cpu = cpu;
        p.base = base;
        p.bucket = bucket;
        p.timer = node - T.entry.offset;
        if (auto o = Object::read(k.mem(), p.timer, T.span.end, T.span.begin)) {
            p.expires = o->u64(T.expires.offset);
            p.function = o->u64(T.function.offset);
            p.flags = static_cast<std::uint32_t>(o->uint(T.flags.offset, T.flags.size));
            p.poisoned = poison_byte(o->data(T.span.begin, T.span.end - T.span.begin), T.span.end - T.span.begin) != 0;
        } else {
            p.readable = false;
        }
        out.timers.push_back(p);
        return true;
    });
    for (const HlistFinding& f : w.findings) out.problems.push_back({cpu, base, bucket, f.describe()});
}
}  // namespace

TimerWalk for_each_pending_timer(Kernel& k, std::size_t max) {
    const TimerBaseLayout& L = k.get<TimerBaseLayout>();
    TimerWalk out;
    int n = k.target().cpu_count();
    for (int cpu = 0; cpu < n; ++cpu) {
        auto off = k.target().per_cpu_offset(cpu);
        if (!off) continue;
        for (std::size_t b = 0; b < L.nr_bases; ++b) {
            k.check_interrupt();
            addr_t base = L.timer_bases + *off + b * L.base_size;
            auto vec = Object::read(k.mem(), base, L.vectors.offset + L.vectors.size, L.vectors.offset);
            if (!vec) {
                out.problems.push_back({cpu, static_cast<int>(b), 0,
                                        fmt::format("timer_bases[{}] at {:016x}: unreadable", b, base)});
                continue;
            }
            for (std::size_t i = 0; i < L.wheel_size; ++i) {
                std::size_t off_i = L.vectors.offset + 8 * i;
                if (!vec->u64(off_i)) continue;
                read_bucket(k, cpu, static_cast<int>(b), i, base + off_i, max, out);
            }
        }
    }
    return out;
}

std::optional<std::uint64_t> read_jiffies(Kernel& k) {
    for (const char* name : {"jiffies_64", "jiffies"})
        if (auto a = k.try_symbol(name))
            if (auto v = k.mem().read_u64(*a)) return v;
    return std::nullopt;
}

std::optional<unsigned> kernel_hz(Kernel& k) {
    auto a = k.try_symbol("tick_nsec");
    if (!a) return std::nullopt;
    auto v = k.mem().read_u64(*a);
    if (!v || *v < 100000 || *v > 100000000) return std::nullopt;  // 10 Hz .. 10 kHz
    return static_cast<unsigned>(std::lround(1e9 / static_cast<double>(*v)));
}

}  // namespace netdbg
