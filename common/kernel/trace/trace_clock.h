// kernel/trace/trace_clock.c and kernel/sched/clock.c: how a trace clock's
// time relates to the scheduler's clock (rq->clock, local_clock(), printk),
// the clock `uninterruptible` and `workq` print, so that times line up
// across commands.
//   global, perf: sched_clock_cpu() / local_clock(), the same clock.
//   local: raw sched_clock(); local_clock() adds __sched_clock_offset when
//     sched_clock is stable, else each CPU's sched_clock_data
//     (tick_gtod + __gtod_offset - tick_raw at its last tick).
//   others (counter, uptime, mono, boot, ...): not convertible here.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/kernel.h"

namespace netdbg {

struct TraceClockMap {
    std::string clock;
    bool convertible = false;
    bool identity = false;              // global, perf
    std::vector<std::int64_t> offset;   // local: per CPU, ns to add
    std::string how;                    // one line: how the times were converted, or why not

    // The time on the scheduler's clock, or nullopt when not convertible.
    std::optional<std::uint64_t> to_sched(int cpu, std::uint64_t ts) const;
};

TraceClockMap trace_clock_map(Kernel& k, const std::string& clock);

}  // namespace netdbg
