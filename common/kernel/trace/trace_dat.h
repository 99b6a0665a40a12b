// trace-cmd's trace.dat, version 6 (trace-cmd.dat.v6(5)): the headers, the
// event formats, kallsyms, saved cmdlines, the trace clock option and each
// CPU's ring buffer pages as flyrecord data, so that `trace-cmd report` and
// KernelShark read a dump's trace.
#pragma once

#include <string>
#include <unordered_map>
#include <vector>

#include "kernel/trace/ring_buffer.h"
#include "kernel/trace/trace_events.h"

namespace netdbg {

struct TraceDatInput {
    const EventFormats* formats = nullptr;
    const std::vector<CpuRing>* rings = nullptr;
    int cpus = 0;                  // CPUs of the machine; CPUs without a ring get no data
    std::size_t page_size = 4096;
    std::string clock;             // "global"
    std::vector<std::string> clocks;  // every clock name, for the option's text
    std::string kallsyms;          // "ffffffff81234560 T name\n", module symbols with "\t[mod]"
    std::unordered_map<int, std::string> comms;
};

struct TraceDatStats {
    std::size_t bytes = 0, pages = 0;
};

// Throws Error when the file cannot be written.
TraceDatStats write_trace_dat(const std::string& path, const TraceDatInput& in);

}  // namespace netdbg
