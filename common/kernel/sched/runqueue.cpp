#include "kernel/sched/runqueue.h"

#include <cmath>
#include <cstdlib>

#include <fmt/format.h>

namespace netdbg {

RunQueueLayout::RunQueueLayout(Kernel& k) : s(k.target(), "rq") {
    curr = s.require("curr");
    idle = s.require("idle");
    clock = s.require("clock");
    nr_running = s.find("nr_running");
    runqueues = k.symbol("runqueues");
    span.add(curr);
    span.add(idle);
    span.add(clock);
    if (nr_running) span.add(*nr_running);
}

std::optional<RunQueue> read_runqueue(Kernel& k, int cpu) {
    const RunQueueLayout& L = k.get<RunQueueLayout>();
    auto off = k.target().per_cpu_offset(cpu);
    if (!off) return std::nullopt;
    addr_t rq = L.runqueues + *off;
    auto o = Object::read(k.mem(), rq, L.span.end, L.span.begin);
    if (!o) return std::nullopt;
    RunQueue r{cpu, rq, o->u64(L.curr.offset), o->u64(L.idle.offset), o->u64(L.clock.offset), std::nullopt};
    if (L.nr_running) r.nr_running = static_cast<std::uint32_t>(o->uint(L.nr_running->offset, L.nr_running->size));
    return r;
}

std::vector<RunQueue> runqueues(Kernel& k) {
    std::vector<RunQueue> out;
    int n = k.target().cpu_count();
    for (int cpu = 0; cpu < n; ++cpu)
        if (auto r = read_runqueue(k, cpu)) out.push_back(*r);
    return out;
}

std::uint64_t dump_now_ns(Kernel& k) {
    std::uint64_t now = 0;
    for (const RunQueue& rq : runqueues(k)) now = std::max(now, rq.clock);
    return now;
}

int running_on(Kernel& k, addr_t task) {
    for (const RunQueue& rq : runqueues(k))
        if (rq.curr == task) return rq.cpu;
    return -1;
}

std::string format_timestamp(std::uint64_t ns) {
    return fmt::format("{}.{:06}", ns / 1000000000ULL, (ns % 1000000000ULL) / 1000);
}

std::string format_duration(std::uint64_t ns) {
    if (ns < 1000000ULL) return fmt::format("{}us", ns / 1000);
    if (ns < 1000000000ULL) return fmt::format("{}ms", ns / 1000000);
    return fmt::format("{:.3f}s", static_cast<double>(ns) / 1e9);
}

namespace {
double parse_number(const std::string& text, std::size_t& used) {
    const char* begin = text.c_str();
    char* end = nullptr;
    double v = std::strtod(begin, &end);
    used = static_cast<std::size_t>(end - begin);
    if (used == 0 || !std::isfinite(v) || v < 0) throw Error(fmt::format("not a time: '{}'", text));
    return v;
}
}  // namespace

std::uint64_t parse_duration(const std::string& text) {
    std::size_t used = 0;
    double v = parse_number(text, used);
    std::string unit = text.substr(used);
    double scale;
    if (unit.empty() || unit == "s") scale = 1e9;
    else if (unit == "ms") scale = 1e6;
    else if (unit == "us") scale = 1e3;
    else if (unit == "m" || unit == "min") scale = 60e9;
    else if (unit == "h") scale = 3600e9;
    else throw Error(fmt::format("not a duration: '{}' (use 10s, 500ms, 2m)", text));
    if (v * scale >= 1.8e19) throw Error(fmt::format("duration out of range: '{}'", text));
    return static_cast<std::uint64_t>(v * scale + 0.5);
}

std::uint64_t parse_timestamp(const std::string& text) {
    std::size_t used = 0;
    double v = parse_number(text, used);
    if (used != text.size()) throw Error(fmt::format("not a timestamp in seconds: '{}'", text));
    if (v * 1e9 >= 1.8e19) throw Error(fmt::format("timestamp out of range: '{}'", text));
    return static_cast<std::uint64_t>(v * 1e9 + 0.5);
}

}  // namespace netdbg
