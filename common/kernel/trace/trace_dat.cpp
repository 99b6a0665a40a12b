#include "kernel/trace/trace_dat.h"

#include <algorithm>
#include <cstring>
#include <fstream>
#include <map>

#include <fmt/format.h>

#include "core/error.h"

namespace netdbg {

namespace {

class Writer {
public:
    void bytes(const void* p, std::size_t n) {
        auto c = static_cast<const char*>(p);
        buf_.insert(buf_.end(), c, c + n);
    }
    template <class T>
    void num(T v) {
        bytes(&v, sizeof v);  // little endian host, little endian file
    }
    void str0(const std::string& s) { bytes(s.c_str(), s.size() + 1); }
    void sized8(const std::string& s) {
        num<std::uint64_t>(s.size());
        bytes(s.data(), s.size());
    }
    void sized4(const std::string& s) {
        num<std::uint32_t>(static_cast<std::uint32_t>(s.size()));
        bytes(s.data(), s.size());
    }
    void align(std::size_t a) { buf_.resize((buf_.size() + a - 1) / a * a, 0); }
    std::size_t size() const { return buf_.size(); }
    void patch64(std::size_t at, std::uint64_t v) { std::memcpy(buf_.data() + at, &v, sizeof v); }
    const std::vector<char>& data() const { return buf_; }

private:
    std::vector<char> buf_;
};

// tracecmd's option ids (trace-cmd.h: TRACECMD_OPTION_*).
constexpr std::uint16_t kOptionDone = 0, kOptionTraceClock = 4;

}  // namespace

TraceDatStats write_trace_dat(const std::string& path, const TraceDatInput& in) {
    const EventFormats& f = *in.formats;
    Writer w;
    w.bytes("\x17\x08\x44tracing", 10);
    w.str0("6");
    w.num<std::uint8_t>(0);  // little endian
    w.num<std::uint8_t>(8);  // sizeof(long)
    w.num<std::uint32_t>(static_cast<std::uint32_t>(in.page_size));
    w.str0("header_page");
    w.sized8(header_page_text(in.page_size));
    w.str0("header_event");
    w.sized8(header_event_text());

    std::vector<const EventFormat*> ftrace;
    std::map<std::string, std::vector<const EventFormat*>> systems;
    for (const EventFormat& e : f.events) {
        if (!e.fields_known) continue;
        (e.system == "ftrace" ? ftrace : systems[e.system]).push_back(&e);
    }
    w.num<std::uint32_t>(static_cast<std::uint32_t>(ftrace.size()));
    for (const EventFormat* e : ftrace) w.sized8(format_text(f, *e));
    w.num<std::uint32_t>(static_cast<std::uint32_t>(systems.size()));
    for (const auto& [sys, events] : systems) {
        w.str0(sys);
        w.num<std::uint32_t>(static_cast<std::uint32_t>(events.size()));
        for (const EventFormat* e : events) w.sized8(format_text(f, *e));
    }
    w.sized4(in.kallsyms);
    w.sized4("");  // printk formats
    std::string cmdlines;
    std::vector<std::pair<int, std::string>> comms(in.comms.begin(), in.comms.end());
    std::sort(comms.begin(), comms.end());
    for (const auto& [pid, comm] : comms) cmdlines += fmt::format("{} {}\n", pid, comm);
    w.sized8(cmdlines);
    w.num<std::uint32_t>(static_cast<std::uint32_t>(in.cpus));

    w.bytes("options  ", 10);
    std::string clocks;
    for (const std::string& c : in.clocks) clocks += (clocks.empty() ? "" : " ") + (c == in.clock ? "[" + c + "]" : c);
    if (clocks.empty()) clocks = "[" + in.clock + "]";
    clocks += "\n";
    w.num<std::uint16_t>(kOptionTraceClock);
    w.num<std::uint32_t>(static_cast<std::uint32_t>(clocks.size() + 1));
    w.str0(clocks);
    w.num<std::uint16_t>(kOptionDone);

    w.bytes("flyrecord", 10);
    std::size_t table = w.size();
    for (int c = 0; c < in.cpus; ++c) {
        w.num<std::uint64_t>(0);
        w.num<std::uint64_t>(0);
    }
    TraceDatStats st;
    std::map<int, const CpuRing*> by_cpu;
    for (const CpuRing& r : *in.rings) by_cpu[r.cpu] = &r;
    for (int c = 0; c < in.cpus; ++c) {
        w.align(in.page_size);
        std::size_t start = w.size();
        if (auto it = by_cpu.find(c); it != by_cpu.end()) {
            for (const RingPage& p : it->second->pages) {
                if (!p.readable || p.valid == 0 || p.read) continue;  // consumed reader pages are left out
                std::vector<char> page(p.bytes.begin(), p.bytes.end());
                std::uint64_t commit = p.valid;  // the page as far as it decoded cleanly, no flag bits
                std::memcpy(page.data() + 8, &commit, sizeof commit);
                w.bytes(page.data(), page.size());
                ++st.pages;
            }
        }
        w.patch64(table + 16 * static_cast<std::size_t>(c), start);
        w.patch64(table + 16 * static_cast<std::size_t>(c) + 8, w.size() - start);
    }
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    if (!out) throw Error(fmt::format("cannot write {}: {}", path, std::strerror(errno)));
    out.write(w.data().data(), static_cast<std::streamsize>(w.size()));
    out.close();
    if (!out) throw Error(fmt::format("writing {} failed: {}", path, std::strerror(errno)));
    st.bytes = w.size();
    return st;
}

}  // namespace netdbg
