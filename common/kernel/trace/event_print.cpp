#include "kernel/trace/event_print.h"

#include <cstring>
#include <unordered_map>
#include <unordered_set>

#include <fmt/format.h>

extern "C" {
#include <traceevent/event-parse.h>
#include <traceevent/trace-seq.h>
}

namespace netdbg {

// Records are copied into a zeroed scratch area before libtraceevent reads
// them: it trusts a record's __data_loc offsets and lengths (16 bits each),
// so a corrupted record reads zeros past its end, never past the buffer.
constexpr std::size_t kScratch = 3 * 65536;

struct EventPrinter::Impl {
    tep_handle* tep = nullptr;
    std::unordered_set<int> parsed;
    std::vector<std::uint8_t> scratch = std::vector<std::uint8_t>(kScratch + 16, 0);
    std::size_t dirty = 0;
    std::unordered_map<addr_t, SymbolInfo> symbols;  // by the address a record holds

    // tep_func_resolver_t: the function at *addr (moved to its start).
    static char* resolve(void* priv, unsigned long long* addr, char** mod) {
        auto* m = static_cast<Impl*>(priv);
        auto it = m->symbols.find(*addr);
        if (it == m->symbols.end()) return nullptr;
        *addr -= it->second.offset;
        *mod = it->second.module.empty() ? nullptr : it->second.module.data();
        return it->second.name.data();
    }
};

EventPrinter::EventPrinter(const EventFormats& formats, int cpus, std::size_t page_size)
    : impl_(std::make_unique<Impl>()) {
    impl_->tep = tep_alloc();
    if (!impl_->tep) throw Error("libtraceevent: tep_alloc failed");
    tep_set_long_size(impl_->tep, 8);
    tep_set_page_size(impl_->tep, static_cast<int>(page_size));
    tep_set_cpus(impl_->tep, cpus);
    tep_set_file_bigendian(impl_->tep, TEP_LITTLE_ENDIAN);
    tep_set_local_bigendian(impl_->tep, TEP_LITTLE_ENDIAN);
    tep_set_function_resolver(impl_->tep, &Impl::resolve, impl_.get());
    for (const EventFormat& e : formats.events) {
        std::string text = format_text(formats, e);
        tep_errno err = tep_parse_event(impl_->tep, text.data(), text.size(), e.system.c_str());
        if (err == 0 || err == TEP_ERRNO__PARSE_EVENT_FAILED) {
            // PARSE_EVENT_FAILED: the fields parsed, the print format did not;
            // tep prints such an event's fields raw.
            impl_->parsed.insert(e.id);
            if (err == 0) continue;
        }
        char buf[128];
        tep_strerror(impl_->tep, err, buf, sizeof buf);
        problems_.push_back(fmt::format("{}:{} (id {}): libtraceevent: {}", e.system, e.name, e.id, buf));
    }
}

EventPrinter::~EventPrinter() {
    if (impl_ && impl_->tep) tep_free(impl_->tep);
}

bool EventPrinter::parsed(int id) const { return impl_->parsed.count(id) > 0; }

void EventPrinter::add_comm(int pid, const std::string& comm) { tep_register_comm(impl_->tep, comm.c_str(), pid); }

void EventPrinter::add_address(addr_t addr, const SymbolInfo& sym) { impl_->symbols[addr] = sym; }

std::string EventPrinter::info(int cpu, std::uint64_t ts, std::span<const std::uint8_t> payload) {
    Impl& m = *impl_;
    std::size_t n = std::min(payload.size(), kScratch);
    if (m.dirty > n) std::memset(m.scratch.data() + n, 0, m.dirty - n);
    std::memcpy(m.scratch.data(), payload.data(), n);
    m.dirty = n;
    tep_record rec{};
    rec.ts = ts;
    rec.size = static_cast<int>(n);
    rec.record_size = static_cast<int>(n);
    rec.data = m.scratch.data();
    rec.cpu = cpu;
    rec.locked = 1;
    trace_seq s;
    trace_seq_init(&s);
    tep_print_event(m.tep, &s, &rec, "%s", TEP_PRINT_INFO);
    trace_seq_terminate(&s);
    std::string out(s.buffer, s.len);
    trace_seq_destroy(&s);
    return out;
}

std::string latency_flags(std::uint8_t flags, std::uint8_t pc) {
    // include/linux/trace_events.h: enum trace_flag_type (6.1).
    constexpr std::uint8_t irqs_off = 0x01, irqs_nosupport = 0x02, need_resched = 0x04, hardirq = 0x08,
                           softirq = 0x10, preempt_resched = 0x20, nmi = 0x40, bh_off = 0x80;
    std::string s;
    s += (flags & irqs_off) && (flags & bh_off) ? 'D'
         : (flags & irqs_off)                   ? 'd'
         : (flags & bh_off)                     ? 'b'
         : (flags & irqs_nosupport)             ? 'X'
                                                : '.';
    bool nr = flags & need_resched, pr = flags & preempt_resched;
    s += nr && pr ? 'N' : nr ? 'n' : pr ? 'p' : '.';
    bool nm = flags & nmi, hi = flags & hardirq, so = flags & softirq;
    s += nm && hi ? 'Z' : nm ? 'z' : hi && so ? 'H' : hi ? 'h' : so ? 's' : '.';
    unsigned depth = pc & 0xf, migrate = pc >> 4;
    s += depth ? static_cast<char>(depth < 10 ? '0' + depth : 'a' + depth - 10) : '.';
    s += migrate ? static_cast<char>(migrate < 10 ? '0' + migrate : 'a' + migrate - 10) : '.';
    return s;
}

}  // namespace netdbg
