#include "kernel/trace/trace_clock.h"

#include <fmt/format.h>

namespace netdbg {

std::optional<std::uint64_t> TraceClockMap::to_sched(int cpu, std::uint64_t ts) const {
    if (!convertible) return std::nullopt;
    if (identity) return ts;
    if (cpu < 0 || static_cast<std::size_t>(cpu) >= offset.size()) return std::nullopt;
    return static_cast<std::uint64_t>(static_cast<std::int64_t>(ts) + offset[cpu]);
}

namespace {

// static_key_enabled(&__sched_clock_stable): key.enabled > 0.
std::optional<bool> sched_clock_stable(Kernel& k) {
    auto key = k.try_symbol("__sched_clock_stable");
    if (!key) return std::nullopt;
    auto enabled = k.mem().read_u32(*key);
    if (!enabled) return std::nullopt;
    return static_cast<std::int32_t>(*enabled) > 0;
}

}  // namespace

TraceClockMap trace_clock_map(Kernel& k, const std::string& clock) {
    TraceClockMap m;
    m.clock = clock;
    if (clock == "global" || clock == "perf") {
        m.convertible = m.identity = true;
        m.how = fmt::format("trace clock {} is the scheduler clock (sched_clock_cpu)", clock);
        return m;
    }
    if (clock != "local") {
        m.how = clock.empty() ? "trace clock unknown: times are not on the scheduler clock"
                              : fmt::format("trace clock {} is not the scheduler clock: times not converted", clock);
        return m;
    }
    int ncpu = k.target().cpu_count();
    auto stable = sched_clock_stable(k);
    if (stable && *stable) {
        auto sym = k.try_symbol("__sched_clock_offset");
        auto off = sym ? k.mem().read_u64(*sym) : std::nullopt;
        if (!off) {
            m.how = "trace clock local: __sched_clock_offset unreadable, times not converted";
            return m;
        }
        m.offset.assign(static_cast<std::size_t>(ncpu), static_cast<std::int64_t>(*off));
        m.convertible = true;
        m.how = "trace clock local (raw sched_clock) + __sched_clock_offset";
        return m;
    }
    auto scd = k.try_symbol("sched_clock_data");
    auto gtod_sym = k.try_symbol("__gtod_offset");
    auto gtod = gtod_sym ? k.mem().read_u64(*gtod_sym) : std::nullopt;
    if (!scd || !gtod) {
        m.how = "trace clock local: no sched_clock_data, times not converted";
        return m;
    }
    StructLayout s(k.target(), "sched_clock_data");
    std::size_t raw = s.offset("tick_raw"), tgtod = s.offset("tick_gtod");
    for (int cpu = 0; cpu < ncpu; ++cpu) {
        auto pc = k.target().per_cpu_offset(cpu);
        auto r = pc ? k.mem().read_u64(*scd + *pc + raw) : std::nullopt;
        auto g = pc ? k.mem().read_u64(*scd + *pc + tgtod) : std::nullopt;
        if (!r || !g) {
            m.how = fmt::format("trace clock local: CPU {}'s sched_clock_data unreadable, times not converted", cpu);
            m.offset.clear();
            return m;
        }
        m.offset.push_back(static_cast<std::int64_t>(*g + *gtod) - static_cast<std::int64_t>(*r));
    }
    m.convertible = true;
    m.how = "trace clock local (raw sched_clock) + each CPU's sched_clock_data offset at its last tick";
    return m;
}

}  // namespace netdbg
