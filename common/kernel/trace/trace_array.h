// kernel/trace/trace.c: the trace instances (struct trace_array): the
// top-level one, global_trace, and the named ones of instances/, all on
// ftrace_trace_arrays; each one's ring buffer and trace clock.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/kernel.h"

namespace netdbg {

struct TraceArrayLayout {
    explicit TraceArrayLayout(Kernel& k);
    MemberInfo list, name, array_buffer, clock_id;
    std::size_t ab_buffer = 0;    // array_buffer.buffer
    std::size_t tb_clock = 0;     // trace_buffer.clock
    std::optional<addr_t> trace_arrays, global_trace, trace_clocks;
    std::size_t nr_clocks = 0;
};

struct TraceInstance {
    addr_t tr = 0;
    std::string name;      // "" for the top-level instance
    addr_t buffer = 0;     // struct trace_buffer
    int clock_id = -1;
    std::string clock;     // "local", "global", ... ("" when unknown)
    addr_t clock_func = 0; // trace_buffer.clock
    bool top() const { return name.empty(); }
};

// Every instance, the top-level one first; unreadable ones end the walk
// with a problem line.
std::vector<TraceInstance> trace_instances(Kernel& k, std::vector<std::string>& problems, std::size_t max = 1000);

}  // namespace netdbg
