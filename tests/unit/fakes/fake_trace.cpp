#include "fake_trace.h"

#include <cstring>

namespace netdbg::test {

void PageWriter::word(std::uint32_t w) {
    auto p = reinterpret_cast<const std::uint8_t*>(&w);
    bytes.insert(bytes.end(), p, p + 4);
}

void PageWriter::event(std::uint32_t delta, const std::vector<std::uint8_t>& payload, bool long_form) {
    std::vector<std::uint8_t> data = payload;
    data.resize((data.size() + 3) / 4 * 4, 0);
    if (!long_form && data.size() <= 112) {
        word(static_cast<std::uint32_t>(data.size() / 4) | delta << 5);
    } else {
        word(delta << 5);
        word(static_cast<std::uint32_t>(data.size() + 4));
    }
    bytes.insert(bytes.end(), data.begin(), data.end());
}

void PageWriter::time_extend(std::uint64_t delta) {
    word(30u | static_cast<std::uint32_t>(delta & ((1u << 27) - 1)) << 5);
    word(static_cast<std::uint32_t>(delta >> 27));
}

void PageWriter::time_stamp(std::uint64_t abs) {
    word(31u | static_cast<std::uint32_t>(abs & ((1u << 27) - 1)) << 5);
    word(static_cast<std::uint32_t>(abs >> 27));
}

void PageWriter::padding(std::uint32_t n) {
    word(29u | 1u << 5);
    word(n);
    bytes.resize(bytes.size() + n - 4, 0);
}

namespace {

std::vector<std::uint8_t> entry(std::uint16_t id, int pid, std::uint8_t flags, std::uint8_t pc) {
    std::vector<std::uint8_t> v(8);
    std::memcpy(v.data(), &id, 2);
    v[2] = flags;
    v[3] = pc;
    std::memcpy(v.data() + 4, &pid, 4);
    return v;
}

template <class T>
void append(std::vector<std::uint8_t>& v, T x) {
    auto p = reinterpret_cast<const std::uint8_t*>(&x);
    v.insert(v.end(), p, p + sizeof x);
}

}  // namespace

std::vector<std::uint8_t> tick_event(int pid, std::uint32_t value, std::uint64_t func, std::uint8_t flags,
                                     std::uint8_t pc) {
    auto v = entry(kTickId, pid, flags, pc);
    append(v, value);
    append(v, std::uint32_t{0});
    append(v, func);
    return v;
}

std::vector<std::uint8_t> work_start_event(int pid, std::uint64_t work, std::uint64_t func) {
    auto v = entry(kWorkStartId, pid, 0, 0);
    append(v, work);
    append(v, func);
    return v;
}

FakeTrace::FakeTrace(int ncpu, int npages) : pages(npages) {
    // 6.1 layouts (pahole on Debian's 6.1.0-56-cloud-amd64 vmlinux).
    t.add_struct("trace_buffer", 192, {{"cpus", 4, 4}, {"buffers", 64, 8}, {"clock", 88, 8}});
    t.add_struct("ring_buffer_per_cpu", 480,
                 {{"cpu", 0, 4}, {"record_disabled", 4, 4}, {"nr_pages", 40, 8}, {"pages", 56, 8},
                  {"head_page", 64, 8}, {"tail_page", 72, 8}, {"commit_page", 80, 8}, {"reader_page", 88, 8},
                  {"lost_events", 96, 8}, {"entries_bytes", 120, 8}, {"entries", 128, 8}, {"overrun", 136, 8},
                  {"commit_overrun", 144, 8}, {"dropped_events", 152, 8}, {"read", 216, 8}, {"read_bytes", 224, 8}});
    t.add_struct("buffer_page", 56,
                 {{"list", 0, 16}, {"write", 16, 8}, {"read", 24, 4}, {"entries", 32, 8}, {"real_end", 40, 8},
                  {"page", 48, 8}});
    t.add_struct("buffer_data_page", 16, {{"time_stamp", 0, 8}, {"commit", 8, 8}, {"data", 16, 0}});
    t.add_struct("trace_array", 256, {{"list", 0, 16}, {"name", 16, 8}, {"array_buffer", 24, 40}, {"clock_id", 200, 4}});
    t.add_struct("array_buffer", 40, {{"tr", 0, 8}, {"buffer", 8, 8}});
    t.add_struct("trace_event_call", 144,
                 {{"list", 0, 16}, {"class", 16, 8}, {"name", 24, 8}, {"event", 32, 48}, {"print_fmt", 80, 8},
                  {"data", 104, 8}, {"flags", 112, 4}});
    t.add_struct("trace_event", 48, {{"type", 32, 4}});
    t.add_struct("trace_event_class", 72, {{"system", 0, 8}, {"get_fields", 40, 8}, {"fields", 48, 16}});
    t.add_struct("ftrace_event_field", 56,
                 {{"link", 0, 16}, {"name", 16, 8}, {"type", 24, 8}, {"filter_type", 32, 4}, {"offset", 36, 4},
                  {"size", 40, 4}, {"is_signed", 44, 4}, {"len", 48, 4}});
    t.add_struct("tracepoint", 72, {{"name", 0, 8}});
    t.add_struct("trace_entry", 8, {{"type", 0, 2}, {"flags", 2, 1}, {"preempt_count", 3, 1}, {"pid", 4, 4}});
    t.add_struct("saved_cmdlines_buffer", 131096,
                 {{"map_pid_to_cmdline", 0, 131076}, {"map_cmdline_to_pid", 131080, 8}, {"cmdline_num", 131088, 4},
                  {"saved_cmdlines", 131096, 0}});
    t.add_enum("TRACE_EVENT_FL_TRACEPOINT", 0x200);
    std::vector<addr_t> pcpu;
    for (int c = 0; c < ncpu; ++c) pcpu.push_back(0x10000ULL * static_cast<addr_t>(c));
    t.set_cpus(pcpu);
    t.add_symbol("nd_tick_fn", tick_fn);
    t.add_symbol("nd_stall_fn", work_fn);
    t.add_symbol("_stext", 0xffffffff81000000ULL);
    t.add_symbol("_etext", 0xffffffff81400000ULL);
    t.add_symbol("trace_clock_global", 0xffffffff81300000ULL);

    // global_trace on ftrace_trace_arrays, its clock "global" (trace_clocks[1]).
    addr_t arrays = img.alloc(16);
    t.add_symbol("ftrace_trace_arrays", arrays);
    global_trace = img.alloc("trace_array");
    t.add_symbol("global_trace", global_trace);
    img.list_init(arrays);
    img.list_add_tail(global_trace, arrays);
    addr_t clocks = img.alloc(24 * 10);
    t.add_symbol("trace_clocks", clocks, std::nullopt, 10);
    const char* names[] = {"local", "global"};
    for (int i = 0; i < 2; ++i) {
        addr_t s = img.alloc(16);
        img.str(s, names[i]);
        img.u64(clocks + 24 * static_cast<addr_t>(i), 0xffffffff81300000ULL - 0x100 + 0x100 * static_cast<addr_t>(i));
        img.u64(clocks + 24 * static_cast<addr_t>(i) + 8, s);
    }
    img.write(global_trace, "trace_array", "clock_id", 1);
    trace_buffer = img.alloc("trace_buffer");
    img.u64(global_trace + img.offset("trace_array", "array_buffer") + 8, trace_buffer);
    img.write(trace_buffer, "trace_buffer", "cpus", static_cast<std::uint64_t>(ncpu));
    img.write(trace_buffer, "trace_buffer", "clock", 0xffffffff81300000ULL);
    buffers = img.alloc(8 * static_cast<std::size_t>(ncpu));
    img.write(trace_buffer, "trace_buffer", "buffers", buffers);

    cpu.resize(static_cast<std::size_t>(ncpu));
    for (int c = 0; c < ncpu; ++c) {
        Cpu& C = cpu[static_cast<std::size_t>(c)];
        C.cpu_buffer = img.alloc("ring_buffer_per_cpu");
        img.u64(buffers + 8 * static_cast<addr_t>(c), C.cpu_buffer);
        img.write(C.cpu_buffer, "ring_buffer_per_cpu", "cpu", static_cast<std::uint64_t>(c));
        img.write(C.cpu_buffer, "ring_buffer_per_cpu", "nr_pages", static_cast<std::uint64_t>(npages));
        auto bpage = [&]() {
            addr_t b = img.alloc("buffer_page");
            addr_t d = img.alloc(4096, 4096);
            img.write(b, "buffer_page", "page", d);
            return std::pair{b, d};
        };
        auto [rb, rd] = bpage();
        C.reader = rb;
        C.reader_data = rd;
        img.link(rb, rb, rb);
        for (int i = 0; i < npages; ++i) {
            auto [b, d] = bpage();
            C.bpage.push_back(b);
            C.data.push_back(d);
        }
        for (int i = 0; i < npages; ++i)
            img.link(C.bpage[static_cast<std::size_t>(i)], C.bpage[static_cast<std::size_t>((i + 1) % npages)],
                     C.bpage[static_cast<std::size_t>((i + npages - 1) % npages)]);
        img.write(C.cpu_buffer, "ring_buffer_per_cpu", "pages", C.bpage[0]);
        img.write(C.cpu_buffer, "ring_buffer_per_cpu", "reader_page", rb);
        set_head(c, 0);
        set_commit(c, npages - 1);
    }

    // Two events: test:nd_tick (a tracepoint) and workqueue:workqueue_execute_start.
    addr_t events = img.alloc(16);
    t.add_symbol("ftrace_events", events);
    img.list_init(events);
    addr_t common = img.alloc(16);
    t.add_symbol("ftrace_common_fields", common);
    img.list_init(common);
    auto str = [&](const std::string& s) {
        addr_t a = img.alloc(s.size() + 1, 8);
        img.str(a, s);
        return a;
    };
    // trace_define_field() adds at the head: the list runs last field first.
    auto field = [&](addr_t head, const char* type, const char* name, int off, int size, int sign) {
        addr_t f = img.alloc("ftrace_event_field");
        img.write(f, "ftrace_event_field", "name", str(name));
        img.write(f, "ftrace_event_field", "type", str(type));
        img.write(f, "ftrace_event_field", "offset", static_cast<std::uint64_t>(off));
        img.write(f, "ftrace_event_field", "size", static_cast<std::uint64_t>(size));
        img.write(f, "ftrace_event_field", "is_signed", static_cast<std::uint64_t>(sign));
        addr_t first = img.u64(head);
        img.link(f, first, head);
        img.u64(first + 8, f);
        img.u64(head, f);
    };
    field(common, "unsigned short", "common_type", 0, 2, 0);
    field(common, "unsigned char", "common_flags", 2, 1, 0);
    field(common, "unsigned char", "common_preempt_count", 3, 1, 0);
    field(common, "int", "common_pid", 4, 4, 1);
    auto event = [&](const char* system, const char* name, int id, const char* fmt, bool tracepoint) {
        addr_t cl = img.alloc("trace_event_class");
        img.write(cl, "trace_event_class", "system", str(system));
        img.list_init(cl + img.offset("trace_event_class", "fields"));
        addr_t call = img.alloc("trace_event_call");
        img.write(call, "trace_event_call", "class", cl);
        if (tracepoint) {
            addr_t tp = img.alloc("tracepoint");
            img.write(tp, "tracepoint", "name", str(name));
            img.write(call, "trace_event_call", "name", tp);
            img.write(call, "trace_event_call", "flags", 0x200);
        } else {
            img.write(call, "trace_event_call", "name", str(name));
        }
        img.write(call + img.offset("trace_event_call", "event"), "trace_event", "type", static_cast<std::uint64_t>(id));
        img.write(call, "trace_event_call", "print_fmt", str(fmt));
        img.list_add_tail(call, events);
        return cl + img.offset("trace_event_class", "fields");
    };
    addr_t tick = event("test", "nd_tick", kTickId, "\"value=%u func=%ps\", REC->value, (void *)REC->func", true);
    field(tick, "unsigned int", "value", 8, 4, 0);
    field(tick, "unsigned long", "func", 16, 8, 0);
    addr_t ws = event("workqueue", "workqueue_execute_start", kWorkStartId,
                      "\"work struct %p: function %ps\", REC->work, REC->function", false);
    field(ws, "void *", "work", 8, 8, 0);
    field(ws, "void *", "function", 16, 8, 0);

    // savedcmd with room for 8 comms.
    saved_ = img.alloc(131096 + 8 * 16);  // with the flexible saved_cmdlines[] of 8 comms
    t.add_symbol("savedcmd", img.alloc(8));
    img.u64(t.symbol_address("savedcmd").value(), saved_);
    addr_t map = img.alloc(8 * 4);
    for (int i = 0; i < 8; ++i) t.poke_as<std::uint32_t>(map + 4 * static_cast<addr_t>(i), UINT32_MAX);
    img.write(saved_, "saved_cmdlines_buffer", "map_cmdline_to_pid", map);
    img.write(saved_, "saved_cmdlines_buffer", "cmdline_num", 8);
}

void FakeTrace::page(int c, int i, std::uint64_t ts, const PageWriter& w) {
    Cpu& C = cpu[static_cast<std::size_t>(c)];
    addr_t d = i < 0 ? C.reader_data : C.data[static_cast<std::size_t>(i)];
    img.u64(d, ts);
    img.u64(d + 8, w.bytes.size());
    t.poke(d + 16, w.bytes.data(), w.bytes.size());
}

void FakeTrace::set_head(int c, int i) {
    Cpu& C = cpu[static_cast<std::size_t>(c)];
    for (std::size_t j = 0; j < C.bpage.size(); ++j) img.u64(C.bpage[j], img.u64(C.bpage[j]) & ~addr_t{3});
    std::size_t prev = (static_cast<std::size_t>(i) + C.bpage.size() - 1) % C.bpage.size();
    img.u64(C.bpage[prev], C.bpage[static_cast<std::size_t>(i)] | 1);
    img.write(C.cpu_buffer, "ring_buffer_per_cpu", "head_page", C.bpage[static_cast<std::size_t>(i)]);
}

void FakeTrace::set_commit(int c, int i) {
    Cpu& C = cpu[static_cast<std::size_t>(c)];
    addr_t p = i < 0 ? C.reader : C.bpage[static_cast<std::size_t>(i)];
    img.write(C.cpu_buffer, "ring_buffer_per_cpu", "commit_page", p);
    img.write(C.cpu_buffer, "ring_buffer_per_cpu", "tail_page", p);
}

void FakeTrace::set_counters(int c, std::uint64_t entries, std::uint64_t overrun) {
    Cpu& C = cpu[static_cast<std::size_t>(c)];
    img.write(C.cpu_buffer, "ring_buffer_per_cpu", "entries", entries);
    img.write(C.cpu_buffer, "ring_buffer_per_cpu", "overrun", overrun);
}

void FakeTrace::add_comm(int pid, const char* comm) {
    addr_t map = img.read(saved_, "saved_cmdlines_buffer", "map_cmdline_to_pid");
    t.poke_as<std::uint32_t>(map + 4 * ncmd_, static_cast<std::uint32_t>(pid));
    img.str(saved_ + 131096 + 16 * ncmd_, comm);
    ++ncmd_;
}

}  // namespace netdbg::test
