// ftrace: the kernel's trace ring buffer from a dump. Every CPU's events
// merged by time as `trace-cmd report` prints them (fields printed by
// libtraceevent from the formats the kernel itself holds), per-CPU stalls
// (how long before the dump each CPU's last event was; a work item started
// and never ended), and a trace.dat file for trace-cmd and KernelShark.
#include <algorithm>
#include <cstring>
#include <fnmatch.h>
#include <map>
#include <unordered_map>

#include <fmt/format.h>

#include "commands/commands.h"
#include "core/json.h"
#include "core/options.h"
#include "core/table.h"
#include "kernel/module/module.h"
#include "kernel/sched/runqueue.h"
#include "kernel/sched/task.h"
#include "kernel/trace/event_print.h"
#include "kernel/trace/ring_buffer.h"
#include "kernel/trace/saved_cmdlines.h"
#include "kernel/trace/trace_array.h"
#include "kernel/trace/trace_clock.h"
#include "kernel/trace/trace_dat.h"
#include "kernel/trace/trace_events.h"

namespace netdbg {

namespace {

struct Event {
    int cpu = 0;
    const CpuRing* ring = nullptr;
    const RingRecord* rec = nullptr;
    int id = -1;
    std::uint8_t flags = 0, pc = 0;
    int pid = 0;
    const EventFormat* fmt = nullptr;  // null: an id with no format
    std::span<const std::uint8_t> data() const { return ring->payload(*rec); }
};

struct Finding {
    std::string kind;  // ring, unknown_event, format
    int cpu = -1;
    std::string text;
};

// 8.607322: the kernel's trace output rounds ns to us (ns2usecs()).
std::string trace_time(std::uint64_t ns) {
    std::uint64_t us = (ns + 500) / 1000;
    return fmt::format("{:>5}.{:06}", us / 1000000, us % 1000000);
}

// The same without the padding, for verdicts and tables.
std::string seconds(std::uint64_t ns) {
    std::string t = trace_time(ns);
    return t.substr(t.find_first_not_of(' '));
}

std::optional<std::uint64_t> field_value(const Event& e, const char* name) {
    if (!e.fmt) return std::nullopt;
    for (const EventField& f : e.fmt->fields) {
        if (f.name != name) continue;
        auto d = e.data();
        if (f.offset < 0 || f.size <= 0 || f.size > 8 || static_cast<std::size_t>(f.offset + f.size) > d.size())
            return std::nullopt;
        std::uint64_t v = 0;
        std::memcpy(&v, d.data() + f.offset, static_cast<std::size_t>(f.size));
        return v;
    }
    return std::nullopt;
}

// -e SYSTEM:EVENT, globs allowed; "sched" or "sched:*" is the system,
// a bare "sched_switch" the event of any system.
bool event_selected(const std::vector<std::string>& pats, const EventFormat* f) {
    if (pats.empty()) return true;
    if (!f) return false;
    for (const std::string& p : pats) {
        auto colon = p.find(':');
        if (colon == std::string::npos) {
            if (!fnmatch(p.c_str(), f->system.c_str(), 0) || !fnmatch(p.c_str(), f->name.c_str(), 0)) return true;
        } else if (!fnmatch(p.substr(0, colon).c_str(), f->system.c_str(), 0) &&
                   !fnmatch(p.substr(colon + 1).c_str(), f->name.c_str(), 0)) {
            return true;
        }
    }
    return false;
}

std::vector<int> parse_cpus(const std::string& text, int ncpu) {
    std::vector<int> out;
    std::size_t pos = 0;
    while (pos <= text.size()) {
        auto comma = text.find(',', pos);
        std::string part = text.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
        int lo, hi;
        try {
            auto dash = part.find('-');
            lo = std::stoi(part.substr(0, dash));
            hi = dash == std::string::npos ? lo : std::stoi(part.substr(dash + 1));
        } catch (const std::exception&) {
            throw Error("ftrace: --cpu wants CPU numbers (4, 0-3, 1,3), not '" + text + "'");
        }
        if (lo < 0 || hi < lo || hi >= ncpu)
            throw Error(fmt::format("ftrace: --cpu {}: this machine has CPUs 0-{}", text, ncpu - 1));
        for (int c = lo; c <= hi; ++c) out.push_back(c);
        if (comma == std::string::npos) break;
        pos = comma + 1;
    }
    return out;
}

std::size_t parse_count(const Options& o, const char* name) {
    try {
        std::size_t n = std::stoul(o.str(name));
        if (n == 0) throw Error(fmt::format("ftrace: --{} must be at least 1", name));
        return n;
    } catch (const Error&) {
        throw;
    } catch (const std::exception&) {
        throw Error(fmt::format("ftrace: --{} wants a number, not '{}'", name, o.str(name)));
    }
}

// What a CPU's trace says about its end: its last event and, when the last
// workqueue event there is an execute_start, the work that never ended.
struct CpuEnd {
    int cpu = 0;
    std::size_t events = 0;
    const Event* first = nullptr;
    const Event* last = nullptr;
    const Event* open_work = nullptr;     // workqueue_execute_start with no end after it
    const Event* switched_out = nullptr;  // a sched_switch away from that worker after it
};

struct Context {
    Kernel& k;
    EventFormats formats;
    std::vector<CpuRing> rings;
    TraceInstance instance;
    TraceClockMap clock;
    std::uint64_t now = 0;  // the dump's now on the scheduler clock
    std::unordered_map<int, std::string> comms;
    std::unordered_map<addr_t, std::string> symbols;  // value -> "func [mod]"

    explicit Context(Kernel& kernel) : k(kernel) {}

    std::string comm(int pid) const {
        if (pid == 0) return "<idle>";
        auto it = comms.find(pid);
        return it == comms.end() ? "<...>" : it->second;
    }
    std::string symbol(addr_t a) {
        auto it = symbols.find(a);
        if (it != symbols.end()) return it->second;
        std::string s = k.function_name(a);
        return symbols[a] = s.empty() ? fmt::format("{:#x}", a) : s;
    }
    std::optional<std::uint64_t> before_dump(const Event& e) const {
        auto t = clock.to_sched(e.cpu, e.rec->ts);
        if (!t || !now) return std::nullopt;
        return now > *t ? now - *t : 0;
    }
};

std::string event_name(const Event& e) { return e.fmt ? e.fmt->name : fmt::format("<unknown event {}>", e.id); }

std::string stall_text(Context& c, const CpuEnd& end) {
    if (!end.last) return fmt::format("CPU{}: no events", end.cpu);
    auto before = c.before_dump(*end.last);
    std::string when = !before    ? "at " + seconds(end.last->rec->ts) + " (" + c.clock.clock + " clock)"
                       : *before ? format_duration(*before) + " before the dump"
                                 : "the dump";
    if (end.open_work) {
        const Event& w = *end.open_work;
        std::string fn = c.symbol(field_value(w, "function").value_or(0));
        auto wb = c.before_dump(w);
        std::string started = wb ? format_duration(*wb) + " before the dump" : "at " + seconds(w.rec->ts);
        std::string s = fmt::format("CPU{}: workqueue_execute_start {} in {} (pid {}) {}, no execute_end", end.cpu, fn,
                                    c.comm(w.pid), w.pid, started);
        if (end.switched_out)
            s += fmt::format("; the worker switched out at {}", seconds(end.switched_out->rec->ts));
        else if (end.last == end.open_work)
            s += ": the CPU's last event";
        else
            s += fmt::format("; last event {}: {}", when, event_name(*end.last));
        return s;
    }
    return fmt::format("CPU{}: events until {}", end.cpu, when);
}

// The code addresses the events hold: kernel addresses in 8-byte fields
// that lie in kernel text or in a module, with their symbols. libtraceevent
// prints %ps from them; trace.dat carries their functions as its kallsyms.
std::map<addr_t, SymbolInfo> event_functions(Kernel& k, const std::vector<const Event*>& events) {
    std::map<addr_t, SymbolInfo> out;
    std::optional<ModuleIndex> modules;
    try {
        modules.emplace(k);
    } catch (const LayoutError&) {
        // no module list: kernel text only
    }
    std::unordered_map<addr_t, bool> seen;
    for (const Event* e : events) {
        if (!e->fmt) continue;
        auto d = e->data();
        for (const EventField& f : e->fmt->fields) {
            if (f.size != 8 || f.type.find('[') != std::string::npos || f.offset < 0 ||
                static_cast<std::size_t>(f.offset) + 8 > d.size())
                continue;
            std::uint64_t v;
            std::memcpy(&v, d.data() + f.offset, 8);
            if (v < 0xffffffff80000000ULL || !seen.emplace(v, true).second) continue;
            bool text = false;
            try {
                text = (modules && modules->find(v)) || in_kernel_text(k, v);
            } catch (const LayoutError&) {
            }
            if (!text) continue;
            if (auto sym = k.target().symbolize(v)) out[v] = *sym;
        }
    }
    return out;
}

// trace.dat's kallsyms: each function the events name, and after the last
// address they hold in it an end line, since trace-cmd's lookup
// (libtraceevent's func_bcmp()) bounds a function by the next line only.
std::string kallsyms_text(const std::map<addr_t, SymbolInfo>& addrs) {
    struct Fn {
        const SymbolInfo* sym;
        addr_t last;
    };
    std::map<addr_t, Fn> fns;
    for (const auto& [addr, sym] : addrs) {
        auto [it, fresh] = fns.try_emplace(addr - sym.offset, Fn{&sym, addr});
        if (!fresh) it->second.last = std::max(it->second.last, addr);
    }
    std::string ks;
    for (auto it = fns.begin(); it != fns.end(); ++it) {
        const SymbolInfo& sym = *it->second.sym;
        std::string mod = sym.module.empty() ? "" : "\t[" + sym.module + "]";
        ks += fmt::format("{:016x} t {}{}\n", it->first, sym.name, mod);
        addr_t end = it->second.last + 1;
        auto next = std::next(it);
        if (next == fns.end() || next->first > end) ks += fmt::format("{:016x} t {}.end{}\n", end, sym.name, mod);
    }
    return ks;
}

int run(Kernel& k, const std::vector<std::string>& args, Output& out) {
    Options o("ftrace");
    o.add()("c,cpu", "only these CPUs (4, 0-3, 1,3)", cxxopts::value<std::string>())(
        "e,event", "only events SYSTEM:EVENT (globs; repeat)", cxxopts::value<std::vector<std::string>>())(
        "since", "only events at or after this trace time (seconds)", cxxopts::value<std::string>())(
        "last", "only the last N events", cxxopts::value<std::string>())(
        "first", "only the first N events", cxxopts::value<std::string>())(
        "stalls", "per CPU: the last event, how long before the dump, work items never ended")(
        "o,output", "write a trace-cmd trace.dat file", cxxopts::value<std::string>())(
        "B,instance", "the named trace instance (default: the top one)", cxxopts::value<std::string>())(
        "max-pages", "bound of each CPU's page walk (default 65536)", cxxopts::value<std::string>())(
        "json", "JSON output");
    o.parse(args);
    if (!o.positional().empty()) throw Error("ftrace: unexpected argument '" + o.positional()[0] + "'");
    int ncpu = k.target().cpu_count();
    std::vector<int> cpu_filter;
    if (o.has("cpu")) cpu_filter = parse_cpus(o.str("cpu"), ncpu);
    std::vector<std::string> patterns;
    if (o.has("event")) patterns = o.strs("event");
    std::optional<std::uint64_t> since;
    if (o.has("since")) since = parse_timestamp(o.str("since"));
    std::optional<std::size_t> last_n, first_n;
    if (o.has("last")) last_n = parse_count(o, "last");
    if (o.has("first")) first_n = parse_count(o, "first");
    std::size_t max_pages = o.has("max-pages") ? parse_count(o, "max-pages") : 65536;

    Context c(k);
    std::vector<Finding> findings;
    std::vector<std::string> problems;
    std::vector<TraceInstance> instances = trace_instances(k, problems);
    for (const std::string& p : problems) findings.push_back({"ring", -1, p});
    std::string want = o.has("instance") ? o.str("instance") : "";
    auto inst = std::find_if(instances.begin(), instances.end(), [&](const TraceInstance& i) { return i.name == want; });
    if (inst == instances.end()) {
        std::string names;
        for (const TraceInstance& i : instances) names += (names.empty() ? "" : ", ") + (i.top() ? "(top)" : i.name);
        throw Error(want.empty() ? "ftrace: no top-level trace instance" :
                                   fmt::format("ftrace: no trace instance '{}' (instances: {})", want, names));
    }
    c.instance = *inst;
    if (!c.instance.buffer) throw Error("ftrace: the trace instance has no ring buffer (tracing never allocated it)");
    c.rings = read_ring_buffers(k, c.instance.buffer, max_pages);
    std::size_t page_size = c.rings.empty() ? k.get<RingBufferLayout>().page_size : c.rings.front().page_size;
    c.formats = read_event_formats(k);
    for (const std::string& p : c.formats.problems) findings.push_back({"format", -1, p});
    c.clock = trace_clock_map(k, c.instance.clock);
    try {
        c.now = dump_now_ns(k);
    } catch (const LayoutError&) {
        c.now = 0;  // no run queues: times are not put against the dump's now
    }

    // Comms: the saved cmdlines, then the task list for pids they miss.
    SavedCmdlines saved = read_saved_cmdlines(k);
    c.comms = saved.comm;

    // Every record, with its common fields.
    std::vector<Event> all;
    std::map<std::pair<int, int>, std::size_t> unknown;  // (cpu, id) -> records
    for (const CpuRing& r : c.rings) {
        for (const std::string& p : r.problems) findings.push_back({"ring", r.cpu, fmt::format("CPU{}: {}", r.cpu, p)});
        for (const RingRecord& rec : r.records) {
            Event e;
            e.cpu = r.cpu;
            e.ring = &r;
            e.rec = &rec;
            auto d = r.payload(rec);
            if (d.size() < 8) continue;
            e.id = d[0] | d[1] << 8;
            e.flags = d[2];
            e.pc = d[3];
            std::int32_t pid;
            std::memcpy(&pid, d.data() + 4, 4);
            e.pid = pid;
            e.fmt = c.formats.find(e.id);
            if (!e.fmt) ++unknown[{r.cpu, e.id}];
            all.push_back(e);
        }
    }
    for (const auto& [key, n] : unknown)
        findings.push_back({"unknown_event", key.first,
                            fmt::format("CPU{}: {} record{} of event id {}, which has no format", key.first, n,
                                        n == 1 ? "" : "s", key.second)});
    std::stable_sort(all.begin(), all.end(), [](const Event& a, const Event& b) { return a.rec->ts < b.rec->ts; });

    bool need_tasks = false;
    for (const Event& e : all)
        if (e.pid > 0 && !c.comms.count(e.pid)) need_tasks = true;
    if (need_tasks) {
        try {
            TaskWalk tw = for_each_task(k);
            for (const Task& t : tw.tasks)
                if (t.pid > 0 && !c.comms.count(t.pid)) c.comms[t.pid] = t.comm;
        } catch (const LayoutError&) {
            // no task layout: those pids print as <...>, as trace-cmd prints them
        }
    }

    // Per CPU: first, last, and a work item started and never ended.
    std::map<int, CpuEnd> ends;
    for (const CpuRing& r : c.rings) ends[r.cpu].cpu = r.cpu;
    for (const Event& e : all) {
        CpuEnd& end = ends[e.cpu];
        ++end.events;
        if (!end.first) end.first = &e;
        end.last = &e;
        if (!e.fmt) continue;
        if (e.fmt->system == "workqueue" && e.fmt->name == "workqueue_execute_start") {
            end.open_work = &e;
            end.switched_out = nullptr;
        } else if (e.fmt->system == "workqueue" && e.fmt->name == "workqueue_execute_end") {
            end.open_work = nullptr;
            end.switched_out = nullptr;
        } else if (end.open_work && !end.switched_out && e.fmt->system == "sched" && e.fmt->name == "sched_switch" &&
                   field_value(e, "prev_pid") == static_cast<std::uint64_t>(end.open_work->pid)) {
            end.switched_out = &e;
        }
    }

    // The events shown.
    std::vector<const Event*> shown;
    for (const Event& e : all) {
        if (!cpu_filter.empty() && std::find(cpu_filter.begin(), cpu_filter.end(), e.cpu) == cpu_filter.end()) continue;
        if (since && e.rec->ts < *since) continue;
        if (!event_selected(patterns, e.fmt)) continue;
        shown.push_back(&e);
    }
    if (first_n && shown.size() > *first_n) shown.resize(*first_n);
    if (last_n && shown.size() > *last_n) shown.erase(shown.begin(), shown.end() - static_cast<std::ptrdiff_t>(*last_n));

    std::unique_ptr<EventPrinter> printer;
    bool want_events = !o.has("stalls") || o.has("json");
    // The code addresses of the events printed, or of every event when
    // trace.dat's kallsyms need them too: symbolized once.
    std::map<addr_t, SymbolInfo> functions;
    if (want_events || o.has("output")) {
        std::vector<const Event*> every;
        if (o.has("output"))
            for (const Event& e : all) every.push_back(&e);
        functions = event_functions(k, o.has("output") ? every : shown);
        printer = std::make_unique<EventPrinter>(c.formats, ncpu, page_size);
        for (const std::string& p : printer->problems()) findings.push_back({"format", -1, p});
        for (const auto& [pid, comm] : c.comms) printer->add_comm(pid, comm);
        for (const auto& [addr, sym] : functions) printer->add_address(addr, sym);
    }

    std::optional<TraceDatStats> written;
    std::string dat_path;
    if (o.has("output")) {
        dat_path = o.str("output");
        TraceDatInput in;
        in.formats = &c.formats;
        in.rings = &c.rings;
        in.cpus = ncpu;
        in.page_size = page_size;
        in.clock = c.instance.clock.empty() ? "local" : c.instance.clock;
        in.clocks = {"local", "global", "counter", "uptime", "perf", "mono", "mono_raw", "boot", "tai", "x86-tsc"};
        in.comms = c.comms;
        in.kallsyms = kallsyms_text(functions);  // the functions the events name
        written = write_trace_dat(dat_path, in);
    }

    int status = findings.empty() ? 0 : 1;
    std::string top = c.instance.top() ? "the top instance" : "instance " + c.instance.name;
    std::vector<std::string> open;
    for (const auto& [cpu, end] : ends)
        if (end.open_work) open.push_back(stall_text(c, end));

    if (o.has("json")) {
        json j;
        j["command"] = "ftrace";
        j["instance"] = c.instance.name;
        j["trace_array"] = hex(c.instance.tr);
        j["trace_buffer"] = hex(c.instance.buffer);
        j["clock"] = c.instance.clock.empty() ? json(nullptr) : json(c.instance.clock);
        j["clock_conversion"] = c.clock.how;
        j["now_ns"] = c.now;
        j["instances"] = json::array();
        for (const TraceInstance& i : instances)
            j["instances"].push_back({{"name", i.name}, {"trace_array", hex(i.tr)}, {"clock", i.clock}});
        j["summary"] = {{"events", all.size()}, {"shown", shown.size()}, {"cpus", c.rings.size()},
                        {"formats", c.formats.events.size()}, {"findings", findings.size()}};
        j["findings"] = json::array();
        for (const Finding& f : findings)
            j["findings"].push_back({{"kind", f.kind}, {"cpu", f.cpu >= 0 ? json(f.cpu) : json(nullptr)}, {"text", f.text}});
        j["cpus"] = json::array();
        for (const CpuRing& r : c.rings) {
            const CpuEnd& end = ends[r.cpu];
            json cj = {{"cpu", r.cpu},
                       {"ring_buffer_per_cpu", hex(r.cpu_buffer)},
                       {"nr_pages", r.nr_pages},
                       {"pages_read", r.pages.size()},
                       {"entries", r.unread_entries()},
                       {"overrun", r.overrun},
                       {"commit_overrun", r.commit_overrun},
                       {"dropped_events", r.dropped_events},
                       {"read", r.read},
                       {"events", end.events},
                       {"first_ns", end.first ? json(end.first->rec->ts) : json(nullptr)},
                       {"last_ns", end.last ? json(end.last->rec->ts) : json(nullptr)}};
            auto before = end.last ? c.before_dump(*end.last) : std::nullopt;
            cj["last_before_dump_ns"] = before ? json(*before) : json(nullptr);
            cj["last_event"] = end.last ? json(event_name(*end.last)) : json(nullptr);
            if (end.open_work) {
                const Event& w = *end.open_work;
                auto fn = field_value(w, "function").value_or(0);
                auto wb = c.before_dump(w);
                cj["open_work"] = {{"ts_ns", w.rec->ts},
                                   {"before_dump_ns", wb ? json(*wb) : json(nullptr)},
                                   {"work", hex(field_value(w, "work").value_or(0))},
                                   {"function", hex(fn)},
                                   {"symbol", c.symbol(fn)},
                                   {"pid", w.pid},
                                   {"comm", c.comm(w.pid)},
                                   {"switched_out_ns", end.switched_out ? json(end.switched_out->rec->ts) : json(nullptr)},
                                   {"text", stall_text(c, end)}};
            } else {
                cj["open_work"] = nullptr;
            }
            cj["stall"] = stall_text(c, end);
            j["cpus"].push_back(cj);
        }
        j["events"] = json::array();
        if (want_events)
            for (const Event* e : shown) {
                json ej = {{"cpu", e->cpu},       {"ts_ns", e->rec->ts},
                           {"pid", e->pid},       {"comm", c.comm(e->pid)},
                           {"flags", e->flags},   {"preempt_count", e->pc},
                           {"latency", latency_flags(e->flags, e->pc)},
                           {"id", e->id},
                           {"system", e->fmt ? json(e->fmt->system) : json(nullptr)},
                           {"name", e->fmt ? json(e->fmt->name) : json(nullptr)}};
                ej["info"] = e->fmt && printer->parsed(e->id) ? json(printer->info(e->cpu, e->rec->ts, e->data()))
                                                              : json(nullptr);
                j["events"].push_back(ej);
            }
        j["output"] = written ? json({{"path", dat_path}, {"bytes", written->bytes}, {"pages", written->pages}})
                              : json(nullptr);
        write_json(out, j);
        return status;
    }

    // Verdict line.
    std::string verdict = fmt::format("{} events in {} on {} CPUs, trace clock {}", all.size(), top, c.rings.size(),
                                      c.instance.clock.empty() ? "?" : c.instance.clock);
    if (!all.empty())
        verdict += fmt::format(", {} to {}", seconds(all.front().rec->ts), seconds(all.back().rec->ts));
    if (!open.empty()) verdict += fmt::format("; {} work item{} never ended", open.size(), open.size() == 1 ? "" : "s");
    if (!findings.empty()) verdict += fmt::format("; {} finding{}", findings.size(), findings.size() == 1 ? "" : "s");
    out.write(verdict + "\n");
    for (const Finding& f : findings) out.write("  " + f.text + "\n");
    if (written)
        out.write(fmt::format("  wrote {} ({} bytes, {} pages): trace-cmd report {}\n", dat_path, written->bytes,
                              written->pages, dat_path));

    if (o.has("stalls")) {
        out.write(fmt::format("  {}; the dump's now {} (newest rq->clock)\n", c.clock.how, format_timestamp(c.now)));
        for (const auto& [cpu, end] : ends) out.write("  " + stall_text(c, end) + "\n");
        out.write("\n");
        Table t({">CPU", ">EVENTS", ">ENTRIES", ">OVERRUN", ">FIRST", ">LAST", ">BEFORE-DUMP", "LAST-EVENT"}, "  ");
        for (const CpuRing& r : c.rings) {
            const CpuEnd& end = ends[r.cpu];
            auto before = end.last ? c.before_dump(*end.last) : std::nullopt;
            t.row({std::to_string(r.cpu), std::to_string(end.events), std::to_string(r.unread_entries()),
                   std::to_string(r.overrun), end.first ? seconds(end.first->rec->ts) : "-",
                   end.last ? seconds(end.last->rec->ts) : "-", before ? format_duration(*before) : "-",
                   end.last ? event_name(*end.last) : "-"});
        }
        t.render(out);
        return status;
    }

    if (!open.empty())
        for (const std::string& s : open) out.write("  " + s + "\n");
    out.write("\n");
    std::string lines;
    for (const Event* e : shown) {
        k.check_interrupt();
        std::string info;
        if (!e->fmt)
            info = fmt::format("[UNKNOWN EVENT id {}, {} bytes]", e->id, e->rec->size);
        else if (!printer->parsed(e->id))
            info = "[FORMAT NOT PARSED]";
        else
            info = printer->info(e->cpu, e->rec->ts, e->data());
        lines += fmt::format("{:>16}-{:<7} [{:03}] {} {}: {}: {}\n", c.comm(e->pid), e->pid, e->cpu,
                             latency_flags(e->flags, e->pc), trace_time(e->rec->ts), event_name(*e), info);
        if (lines.size() > 65536) {
            out.write(lines);
            lines.clear();
        }
    }
    out.write(lines);
    return status;
}

}  // namespace

Command ftrace_command() {
    return make_command("ftrace", run);
}

}  // namespace netdbg
