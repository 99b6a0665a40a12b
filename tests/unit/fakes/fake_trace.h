// A synthetic traced kernel for the ftrace tests and fuzz_ftrace: the
// 6.1 layouts of the tracing structures, global_trace on
// ftrace_trace_arrays with a ring buffer of `pages` data pages per CPU
// (plus the reader page), two event formats on ftrace_events and the
// saved cmdlines. Data pages are filled with page() and the record
// encoders below (kernel/trace/ring_buffer.c's event header).
#pragma once

#include <cstdint>
#include <vector>

#include "fake_target.h"

namespace netdbg::test {

// One data page's bytes after buffer_data_page's header, as the writer
// lays them out.
struct PageWriter {
    std::vector<std::uint8_t> bytes;
    void word(std::uint32_t w);
    // A data record: type_len = size / 4 when it fits (<= 112 bytes),
    // else type_len 0 with the length in array[0].
    void event(std::uint32_t delta, const std::vector<std::uint8_t>& payload, bool long_form = false);
    void time_extend(std::uint64_t delta);
    void time_stamp(std::uint64_t abs);
    void padding(std::uint32_t payload_bytes);  // a discarded event
};

// The payload of the test events: struct trace_entry, then the fields.
std::vector<std::uint8_t> tick_event(int pid, std::uint32_t value, std::uint64_t func, std::uint8_t flags = 0,
                                     std::uint8_t preempt = 0);
std::vector<std::uint8_t> work_start_event(int pid, std::uint64_t work, std::uint64_t func);

constexpr int kTickId = 42, kWorkStartId = 43;

struct FakeTrace {
    explicit FakeTrace(int cpus = 2, int pages = 4);
    FakeTarget t;
    ImageBuilder img{t};
    int pages;
    addr_t global_trace = 0, trace_buffer = 0, buffers = 0;
    addr_t tick_fn = 0xffffffff81100000ULL;   // "nd_tick_fn" in kernel text
    addr_t work_fn = 0xffffffff81200000ULL;   // "nd_stall_fn"
    struct Cpu {
        addr_t cpu_buffer = 0;
        addr_t reader = 0, reader_data = 0;
        std::vector<addr_t> bpage, data;  // the ring, in list order
    };
    std::vector<Cpu> cpu;

    // Writes data page `i` of a CPU's ring (i == -1: the reader page).
    void page(int c, int i, std::uint64_t time_stamp, const PageWriter& w);
    // The ring's HEAD flag on the link to page i, and the commit page.
    void set_head(int c, int i);
    void set_commit(int c, int i);
    void set_counters(int c, std::uint64_t entries, std::uint64_t overrun);
    void add_comm(int pid, const char* comm);

private:
    addr_t saved_ = 0;
    std::uint32_t ncmd_ = 0;
};

}  // namespace netdbg::test
