// Printing event records with libtraceevent (the library of trace-cmd and
// perf): each event's format text, as the kernel would print it, parsed by
// tep_parse_event(), then tep_print_event() for the event's fields. The one
// place that talks to the C library.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/target.h"
#include "kernel/trace/trace_events.h"

namespace netdbg {

class EventPrinter {
public:
    EventPrinter(const EventFormats& formats, int cpus, std::size_t page_size);
    ~EventPrinter();
    EventPrinter(const EventPrinter&) = delete;
    EventPrinter& operator=(const EventPrinter&) = delete;

    // Events whose format libtraceevent could not parse: "sched:foo (id 12): ...".
    const std::vector<std::string>& problems() const { return problems_; }
    bool parsed(int id) const;

    void add_comm(int pid, const std::string& comm);
    // The symbol of an address the records hold, for %ps/%pS: libtraceevent
    // asks a resolver (tep_set_function_resolver()) for each address it
    // prints; its own table would bound a function by the next one
    // registered, and the last one by nothing.
    void add_address(addr_t addr, const SymbolInfo& sym);

    // The event's fields as its print format prints them ("prev_comm=...").
    std::string info(int cpu, std::uint64_t ts, std::span<const std::uint8_t> payload);

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
    std::vector<std::string> problems_;
};

// The latency column of the kernel's trace output ("d.s2."), from
// trace_entry.flags and .preempt_count (trace_print_lat_fmt()).
std::string latency_flags(std::uint8_t flags, std::uint8_t preempt_count);

}  // namespace netdbg
