#include "kernel/trace/trace_array.h"

#include <fmt/format.h>

#include "kernel/lib/list.h"

namespace netdbg {

TraceArrayLayout::TraceArrayLayout(Kernel& k) {
    Target& t = k.target();
    StructLayout tr(t, "trace_array");
    list = tr.require("list");
    name = tr.require("name");
    array_buffer = tr.require("array_buffer");
    clock_id = tr.require("clock_id");
    ab_buffer = StructLayout(t, "array_buffer").offset("buffer");
    tb_clock = StructLayout(t, "trace_buffer").offset("clock");
    trace_arrays = k.try_symbol("ftrace_trace_arrays");
    global_trace = k.try_symbol("global_trace");
    trace_clocks = k.try_symbol("trace_clocks");
    if (trace_clocks) nr_clocks = t.array_length("trace_clocks").value_or(0);
}

namespace {

// The name of a trace clock function (kernel/trace/trace.c: trace_clocks[]).
std::string clock_of_function(const std::string& fn) {
    static const std::pair<const char*, const char*> names[] = {
        {"trace_clock_local", "local"},        {"trace_clock_global", "global"},
        {"trace_clock_counter", "counter"},    {"trace_clock_jiffies", "uptime"},
        {"trace_clock", "perf"},               {"ktime_get_mono_fast_ns", "mono"},
        {"ktime_get_raw_fast_ns", "mono_raw"}, {"ktime_get_boot_fast_ns", "boot"},
        {"ktime_get_tai_fast_ns", "tai"},      {"trace_clock_x86_tsc", "x86-tsc"},
    };
    for (auto [f, n] : names)
        if (fn == f) return n;
    return "";
}

std::optional<TraceInstance> read_instance(Kernel& k, addr_t tr) {
    const TraceArrayLayout& L = k.get<TraceArrayLayout>();
    Memory& mem = k.mem();
    auto name = mem.read_u64(tr + L.name.offset);
    auto buffer = mem.read_u64(tr + L.array_buffer.offset + L.ab_buffer);
    auto clock_id = mem.read_u32(tr + L.clock_id.offset);
    if (!name || !buffer || !clock_id) return std::nullopt;
    TraceInstance in;
    in.tr = tr;
    if (*name) in.name = mem.read_cstring(*name, 256).value_or("?");
    in.buffer = *buffer;
    in.clock_id = static_cast<std::int32_t>(*clock_id);
    if (*buffer) in.clock_func = mem.read_u64(*buffer + L.tb_clock).value_or(0);
    // trace_clocks[] is an array of { func, name, in_ns }: the entry whose
    // func is the buffer's clock gives the name the kernel shows.
    constexpr std::size_t stride = 24;
    if (L.trace_clocks && in.clock_id >= 0 && static_cast<std::size_t>(in.clock_id) < L.nr_clocks) {
        addr_t e = *L.trace_clocks + stride * static_cast<addr_t>(in.clock_id);
        auto func = mem.read_u64(e);
        auto cname = mem.read_u64(e + 8);
        if (func && cname && *func == in.clock_func) in.clock = mem.read_cstring(*cname, 32).value_or("");
    }
    if (in.clock.empty() && in.clock_func) in.clock = clock_of_function(k.function_name(in.clock_func));
    return in;
}

}  // namespace

std::vector<TraceInstance> trace_instances(Kernel& k, std::vector<std::string>& problems, std::size_t max) {
    const TraceArrayLayout& L = k.get<TraceArrayLayout>();
    std::vector<TraceInstance> out;
    if (!L.trace_arrays) {
        if (!L.global_trace) throw Error("no ftrace_trace_arrays or global_trace: this kernel has no tracing");
        if (auto in = read_instance(k, *L.global_trace)) out.push_back(*in);
        else problems.push_back(fmt::format("global_trace {:016x} is unreadable", *L.global_trace));
        return out;
    }
    ListWalk w = walk_list(k, *L.trace_arrays, max, [&](addr_t node) {
        addr_t tr = node - L.list.offset;
        if (auto in = read_instance(k, tr)) out.push_back(*in);
        else problems.push_back(fmt::format("trace_array {:016x} is unreadable", tr));
        return true;
    });
    for (const ListFinding& f : w.findings) problems.push_back("ftrace_trace_arrays: " + f.describe());
    std::stable_partition(out.begin(), out.end(), [](const TraceInstance& i) { return i.top(); });
    return out;
}

}  // namespace netdbg
