#include "kernel/trace/ring_buffer.h"

#include <cstring>
#include <unordered_set>

#include <fmt/format.h>

namespace netdbg {

RingBufferLayout::RingBufferLayout(Kernel& k) : cpu(k.target(), "ring_buffer_per_cpu") {
    Target& t = k.target();
    StructLayout tb(t, "trace_buffer");
    tb_buffers = tb.require("buffers");
    tb_subbuf_order = tb.find("subbuf_order");
    c_cpu = cpu.require("cpu");
    c_nr_pages = cpu.require("nr_pages");
    c_pages = cpu.require("pages");
    c_head_page = cpu.require("head_page");
    c_tail_page = cpu.require("tail_page");
    c_commit_page = cpu.require("commit_page");
    c_reader_page = cpu.require("reader_page");
    c_entries = cpu.require("entries");
    c_overrun = cpu.require("overrun");
    c_commit_overrun = cpu.require("commit_overrun");
    c_entries_bytes = cpu.require("entries_bytes");
    c_dropped_events = cpu.require("dropped_events");
    c_read = cpu.require("read");
    c_read_bytes = cpu.find("read_bytes");
    c_lost_events = cpu.find("lost_events");
    c_record_disabled = cpu.find("record_disabled");
    for (const MemberInfo& m : {c_cpu, c_nr_pages, c_pages, c_head_page, c_tail_page, c_commit_page, c_reader_page,
                                c_entries, c_overrun, c_commit_overrun, c_entries_bytes, c_dropped_events, c_read})
        cpu_span.add(m);
    if (c_read_bytes) cpu_span.add(*c_read_bytes);

    StructLayout bp(t, "buffer_page");
    bp_list = bp.require("list");
    bp_write = bp.require("write");
    bp_read = bp.require("read");
    bp_entries = bp.require("entries");
    bp_page = bp.require("page");
    for (const MemberInfo& m : {bp_list, bp_write, bp_read, bp_entries, bp_page}) bp_span.add(m);

    StructLayout dp(t, "buffer_data_page");
    dp_time_stamp = dp.offset("time_stamp");
    dp_commit = dp.offset("commit");
    dp_data = dp.offset("data");
}

namespace {

std::uint32_t word_at(const std::vector<std::uint8_t>& b, std::size_t off) {
    std::uint32_t v;
    std::memcpy(&v, b.data() + off, sizeof v);
    return v;
}

// rb_fix_abs_ts(): an absolute stamp keeps 59 bits; the top ones come from
// the time before it.
std::uint64_t fix_abs_ts(std::uint64_t abs, std::uint64_t before) {
    constexpr std::uint64_t msb = 0xfULL << 59;
    if (before & msb) {
        abs |= before & msb;
        if (abs < before) abs += 1ULL << 59;
    }
    return abs;
}

}  // namespace

std::uint32_t decode_data_page(const RingPage& p, std::uint32_t page_index, std::uint32_t from, CpuRing& out) {
    const std::size_t data = 16;  // buffer_data_page.data (checked against the layout by the caller)
    std::uint32_t commit = p.commit_bytes;
    if (data + commit > p.bytes.size()) {
        out.problems.push_back(fmt::format("page {:016x}: commit {} is past the page ({} bytes of data)", p.data,
                                           commit, p.bytes.size() - data));
        commit = static_cast<std::uint32_t>(p.bytes.size() - data);
    }
    std::uint64_t ts = p.time_stamp;
    std::uint32_t off = 0;
    while (off + 4 <= commit) {
        std::uint32_t hdr = word_at(p.bytes, data + off);
        std::uint32_t type_len = hdr & 0x1f, delta = hdr >> 5;
        std::uint32_t len = 0, payload = 0, payload_size = 0;
        auto arg = [&]() -> std::optional<std::uint32_t> {
            if (off + 8 > commit) return std::nullopt;
            return word_at(p.bytes, data + off + 4);
        };
        auto past = [&](std::uint64_t want) {
            out.problems.push_back(fmt::format("page {:016x}: record at +{:#x} (type_len {}) needs {} bytes, "
                                               "past the page's commit {}",
                                               p.data, off, type_len, want, commit));
        };
        if (type_len == kRingPadding) {
            if (delta == 0) break;  // rb_null_event(): the rest of the page is empty
            auto a = arg();
            if (!a || std::uint64_t{off} + *a + 4 > commit) {
                past(a ? std::uint64_t{*a} + 4 : 8);
                break;
            }
            ++out.paddings;
            len = *a + 4;
        } else if (type_len == kRingTimeExtend || type_len == kRingTimeStamp) {
            auto a = arg();
            if (!a) {
                past(8);
                break;
            }
            std::uint64_t v = (std::uint64_t{*a} << kRingTsShift) + delta;
            if (type_len == kRingTimeExtend) {
                ts += v;
                ++out.time_extends;
            } else {
                ts = fix_abs_ts(v, ts);
                ++out.time_stamps;
            }
            len = 8;
        } else {
            if (type_len == 0) {
                // rb_event_data_length(): array[0] counts itself, the data follows it.
                auto a = arg();
                if (!a || *a < 4 || std::uint64_t{off} + *a + 4 > commit) {
                    past(a ? std::uint64_t{*a} + 4 : 8);
                    break;
                }
                len = *a + 4;
                payload = off + 8;
                payload_size = *a - 4;
            } else {
                len = 4 + type_len * 4;
                if (off + len > commit) {
                    past(len);
                    break;
                }
                payload = off + 4;
                payload_size = type_len * 4;
            }
            ts += delta;
            if (off >= from)
                out.records.push_back({ts, page_index, static_cast<std::uint32_t>(data + payload), payload_size});
        }
        off += len;
    }
    return std::min(off, commit);
}

namespace {

constexpr addr_t kPageFlagMask = 3;  // RB_FLAG_MASK
constexpr addr_t kPageHead = 1;      // RB_PAGE_HEAD
constexpr addr_t kPageUpdate = 2;    // RB_PAGE_UPDATE

struct BufferPage {
    addr_t addr = 0;
    addr_t next = 0;  // list.next with its flag bits
    addr_t data = 0;
    std::uint32_t read = 0;
};

std::optional<BufferPage> read_bpage(Kernel& k, addr_t addr) {
    const RingBufferLayout& L = k.get<RingBufferLayout>();
    auto o = Object::read(k.mem(), addr, L.bp_span.end, L.bp_span.begin);
    if (!o) return std::nullopt;
    return BufferPage{addr, o->u64(L.bp_list.offset), o->u64(L.bp_page.offset),
                      static_cast<std::uint32_t>(o->uint(L.bp_read.offset, L.bp_read.size))};
}

RingPage read_page(Kernel& k, const BufferPage& bp, CpuRing& ring) {
    const RingBufferLayout& L = k.get<RingBufferLayout>();
    RingPage p;
    p.bpage = bp.addr;
    p.data = bp.data;
    p.read = bp.read;
    p.bytes.resize(ring.page_size);
    if (!bp.data || !k.mem().read(bp.data, p.bytes.data(), p.bytes.size())) {
        ring.problems.push_back(fmt::format("page {:016x} (buffer_page {:016x}) is unreadable (excluded from the dump?)",
                                            bp.data, bp.addr));
        p.bytes.clear();
        return p;
    }
    p.readable = true;
    std::memcpy(&p.time_stamp, p.bytes.data() + L.dp_time_stamp, sizeof p.time_stamp);
    std::uint64_t commit;
    std::memcpy(&commit, p.bytes.data() + L.dp_commit, sizeof commit);
    p.commit_bytes = static_cast<std::uint32_t>(commit & kRingWriteMask);
    return p;
}

void add_page(Kernel& k, CpuRing& ring, RingPage p, std::uint32_t from) {
    auto index = static_cast<std::uint32_t>(ring.pages.size());
    ring.pages.push_back(std::move(p));
    RingPage& q = ring.pages.back();
    if (q.readable) q.valid = decode_data_page(q, index, from, ring);
}

}  // namespace

namespace {

// The page the writer will overwrite next, i.e. the oldest: the one the
// link flagged HEAD (or UPDATE, while a writer moves it) points at
// (rb_set_head_page()). cpu_buffer->head_page is only a hint.
std::optional<addr_t> find_head(Kernel& k, addr_t start, std::uint64_t nr_pages, std::size_t max_pages,
                                CpuRing& ring) {
    addr_t cur = start;
    std::unordered_set<addr_t> seen;
    std::size_t bound = std::min<std::size_t>(max_pages, nr_pages + 2);
    for (std::size_t i = 0; i < bound; ++i) {
        k.check_interrupt();
        auto bp = read_bpage(k, cur);
        if (!bp) {
            ring.problems.push_back(fmt::format("buffer_page {:016x} is unreadable: page ring broken", cur));
            return std::nullopt;
        }
        if (bp->next & (kPageHead | kPageUpdate)) return bp->next & ~kPageFlagMask;
        if (!seen.insert(cur).second) break;
        cur = bp->next & ~kPageFlagMask;
        if (cur == start) break;
    }
    return std::nullopt;
}

}  // namespace

std::vector<CpuRing> read_ring_buffers(Kernel& k, addr_t trace_buffer, std::size_t max_pages) {
    const RingBufferLayout& L = k.get<RingBufferLayout>();
    if (L.dp_data != 16) throw LayoutError(fmt::format("buffer_data_page.data is at {}, not 16", L.dp_data));
    Memory& mem = k.mem();
    auto buffers = mem.read_u64(trace_buffer + L.tb_buffers.offset);
    if (!buffers) throw Error(fmt::format("trace_buffer {:016x} is unreadable", trace_buffer));
    std::size_t page_size = L.page_size;
    if (L.tb_subbuf_order) {
        auto order = mem.read_u32(trace_buffer + L.tb_subbuf_order->offset);
        if (!order) throw Error(fmt::format("trace_buffer {:016x} is unreadable", trace_buffer));
        if (*order > 10)  // MAX_PAGE_ORDER
            throw Error(fmt::format("trace_buffer {:016x}: subbuf_order {} is out of range", trace_buffer, *order));
        page_size <<= *order;
    }
    std::vector<CpuRing> out;
    int ncpu = k.target().cpu_count();
    for (int cpu = 0; cpu < ncpu; ++cpu) {
        k.check_interrupt();
        auto cb = mem.read_u64(*buffers + 8 * static_cast<addr_t>(cpu));
        if (!cb || !*cb) continue;
        CpuRing ring;
        ring.cpu = cpu;
        ring.cpu_buffer = *cb;
        ring.page_size = page_size;
        auto o = Object::read(mem, *cb, L.cpu_span.end, L.cpu_span.begin);
        if (!o) {
            ring.problems.push_back(fmt::format("ring_buffer_per_cpu {:016x} is unreadable", *cb));
            out.push_back(std::move(ring));
            continue;
        }
        ring.nr_pages = o->u64(L.c_nr_pages.offset);
        ring.entries = o->u64(L.c_entries.offset);
        ring.overrun = o->u64(L.c_overrun.offset);
        ring.commit_overrun = o->u64(L.c_commit_overrun.offset);
        ring.entries_bytes = o->u64(L.c_entries_bytes.offset);
        ring.dropped_events = o->u64(L.c_dropped_events.offset);
        ring.read = o->u64(L.c_read.offset);
        if (L.c_read_bytes) ring.read_bytes = o->u64(L.c_read_bytes->offset);
        addr_t head_hint = o->u64(L.c_head_page.offset);
        addr_t commit_page = o->u64(L.c_commit_page.offset);
        addr_t reader_page = o->u64(L.c_reader_page.offset);

        // 1. The reader page: outside the ring, read from bpage->read on.
        if (auto rp = read_bpage(k, reader_page)) {
            RingPage p = read_page(k, *rp, ring);
            p.reader = true;
            p.commit = reader_page == commit_page;
            std::uint32_t from = p.read;
            add_page(k, ring, std::move(p), from);
        } else {
            ring.problems.push_back(fmt::format("reader page {:016x} is unreadable", reader_page));
        }
        if (reader_page == commit_page) {  // the writer is on the reader page: nothing in the ring
            out.push_back(std::move(ring));
            continue;
        }
        // 2. The ring, from HEAD to the commit page.
        auto head = find_head(k, head_hint, ring.nr_pages, max_pages, ring);
        if (!head) {
            ring.problems.push_back(fmt::format("no page is flagged HEAD in the ring of {} pages; reading from "
                                                "head_page {:016x}",
                                                ring.nr_pages, head_hint));
            head = head_hint;
        }
        addr_t cur = *head;
        std::unordered_set<addr_t> seen;
        std::size_t bound = std::min<std::size_t>(max_pages, ring.nr_pages + 1);
        bool reached = false, broke = false;
        for (std::size_t i = 0; i < bound; ++i) {
            k.check_interrupt();
            if (!seen.insert(cur).second) {
                ring.problems.push_back(fmt::format("page list loops back to buffer_page {:016x} after {} pages "
                                                    "without reaching the commit page {:016x}",
                                                    cur, i, commit_page));
                broke = true;
                break;
            }
            auto bp = read_bpage(k, cur);
            if (!bp) {
                ring.problems.push_back(fmt::format("buffer_page {:016x} is unreadable: page ring broken", cur));
                broke = true;
                break;
            }
            RingPage p = read_page(k, *bp, ring);
            p.commit = cur == commit_page;
            add_page(k, ring, std::move(p), 0);
            if (cur == commit_page) {
                reached = true;
                break;
            }
            cur = bp->next & ~kPageFlagMask;
        }
        if (!reached && !broke)
            ring.problems.push_back(fmt::format("the commit page {:016x} is not within {} pages of the head",
                                                commit_page, bound));
        out.push_back(std::move(ring));
    }
    return out;
}

}  // namespace netdbg
