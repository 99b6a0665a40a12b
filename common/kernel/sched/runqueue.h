// Per-CPU struct rq (kernel/sched/sched.h): who runs where, and the dump's
// "now" as the newest rq->clock, in the same nanoseconds as
// sched_info.last_arrival.
#pragma once

#include <optional>
#include <vector>

#include "core/kernel.h"

namespace netdbg {

struct RunQueue {
    int cpu = 0;
    addr_t rq = 0;
    addr_t curr = 0;
    addr_t idle = 0;
    std::uint64_t clock = 0;
    std::optional<std::uint32_t> nr_running;  // rq->nr_running
};

struct RunQueueLayout {
    explicit RunQueueLayout(Kernel& k);
    StructLayout s;
    MemberInfo curr, idle, clock;
    std::optional<MemberInfo> nr_running;
    addr_t runqueues = 0;  // per-CPU symbol
    Span span;
};

// One CPU's run queue; nullopt when it has no per-CPU area or its rq is
// unreadable.
std::optional<RunQueue> read_runqueue(Kernel& k, int cpu);
// The readable run queues, in CPU order.
std::vector<RunQueue> runqueues(Kernel& k);
std::uint64_t dump_now_ns(Kernel& k);
// The CPU a task is current on, or -1.
int running_on(Kernel& k, addr_t task);

// 1573.221067, like dmesg and ftrace.
std::string format_timestamp(std::uint64_t ns);
// "21.903s", "512ms".
std::string format_duration(std::uint64_t ns);
// "10s", "500ms", "2m", "1.5" (seconds) -> ns; throws Error.
std::uint64_t parse_duration(const std::string& text);
// "1573.16" (seconds) -> ns; throws Error.
std::uint64_t parse_timestamp(const std::string& text);

}  // namespace netdbg
