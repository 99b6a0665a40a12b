// kernel/trace/ring_buffer.c: one CPU's ring buffer (struct
// ring_buffer_per_cpu) read the way a non-consuming iterator reads it
// (rb_iter_reset(), rb_advance_iter()): the unread part of the reader page,
// then the ring from the page flagged HEAD up to the commit page. Each data
// page is decoded record by record (rb_event_length()), with time extends
// and absolute time stamps applied and padding skipped.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/kernel.h"

namespace netdbg {

struct RingBufferLayout {
    explicit RingBufferLayout(Kernel& k);
    // struct trace_buffer; subbuf_order on 6.8+ (ring_buffer_subbuf_order_set()):
    // its data pages are sub-buffers of PAGE_SIZE << subbuf_order
    MemberInfo tb_buffers;
    std::optional<MemberInfo> tb_subbuf_order;
    // struct ring_buffer_per_cpu
    StructLayout cpu;
    MemberInfo c_cpu, c_nr_pages, c_pages, c_head_page, c_tail_page, c_commit_page, c_reader_page, c_entries,
        c_overrun, c_commit_overrun, c_entries_bytes, c_dropped_events, c_read;
    std::optional<MemberInfo> c_read_bytes, c_lost_events, c_record_disabled;
    Span cpu_span;
    // struct buffer_page
    MemberInfo bp_list, bp_write, bp_read, bp_entries, bp_page;
    Span bp_span;
    // struct buffer_data_page
    std::size_t dp_time_stamp = 0, dp_commit = 0, dp_data = 16;
    std::size_t page_size = 4096;  // PAGE_SIZE
};

// include/linux/ring_buffer.h: enum ring_buffer_type.
enum RingType : std::uint32_t {
    kRingPadding = 29,
    kRingTimeExtend = 30,
    kRingTimeStamp = 31,
};
constexpr std::uint32_t kRingWriteMask = 0xfffff;  // RB_WRITE_MASK: the low 20 bits of commit and write
constexpr unsigned kRingTsShift = 27;              // TS_SHIFT

// One data record: its time stamp, where its payload lies, and which page.
struct RingRecord {
    std::uint64_t ts = 0;
    std::uint32_t page = 0;    // index in CpuRing::pages
    std::uint32_t offset = 0;  // of the payload, from the start of the data page
    std::uint32_t size = 0;    // payload bytes
};

struct RingPage {
    addr_t bpage = 0;  // struct buffer_page
    addr_t data = 0;   // struct buffer_data_page
    bool reader = false, commit = false;
    bool readable = false;
    std::uint64_t time_stamp = 0;
    std::uint32_t commit_bytes = 0;  // local_read(&page->commit) & RB_WRITE_MASK
    std::uint32_t read = 0;          // bpage->read (reader page only)
    std::uint32_t valid = 0;         // data bytes that decoded cleanly (<= commit_bytes)
    std::vector<std::uint8_t> bytes; // the whole data page
};

struct CpuRing {
    int cpu = 0;
    addr_t cpu_buffer = 0;
    std::uint64_t nr_pages = 0;
    std::size_t page_size = 4096;  // of a data page (a sub-buffer)
    // The buffer's counters (what per_cpu/cpuN/stats prints).
    std::uint64_t entries = 0, overrun = 0, commit_overrun = 0, entries_bytes = 0, dropped_events = 0, read = 0,
                  read_bytes = 0;
    std::vector<RingPage> pages;  // in read order
    std::vector<RingRecord> records;
    std::uint64_t paddings = 0, time_extends = 0, time_stamps = 0;
    std::vector<std::string> problems;  // "page 0x...: ...": the rest was read

    std::span<const std::uint8_t> payload(const RingRecord& r) const {
        return {pages[r.page].bytes.data() + r.offset, r.size};
    }
    // ring_buffer_entries_cpu(): what the buffer says it holds.
    std::uint64_t unread_entries() const { return entries - (overrun + read); }
};

// The per-CPU ring buffers of a struct trace_buffer, CPU order; CPUs with
// no buffer are left out. max_pages bounds each CPU's page walk.
std::vector<CpuRing> read_ring_buffers(Kernel& k, addr_t trace_buffer, std::size_t max_pages = 1 << 16);

// Decodes one data page's records, for read_ring_buffers() and the tests.
// Records at offsets below `from` (consumed) are decoded for their time but
// not returned. Stops with a problem at a record that runs past `commit`.
// Returns the data bytes decoded cleanly.
std::uint32_t decode_data_page(const RingPage& p, std::uint32_t page_index, std::uint32_t from, CpuRing& out);

}  // namespace netdbg
