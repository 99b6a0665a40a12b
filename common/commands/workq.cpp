// workq: worker pools, pending and running work items, delayed works whose
// timers are pending, and the work items that point into a module being
// unloaded, into no code at all, or into freed memory.
#include <algorithm>
#include <map>
#include <set>
#include <tuple>

#include <fmt/format.h>

#include "commands/commands.h"
#include "core/json.h"
#include "kernel/module/module.h"
#include "core/options.h"
#include "kernel/sched/runqueue.h"
#include "core/table.h"
#include "kernel/workqueue/workqueue.h"

namespace netdbg {

namespace {

// What a work function pointer points at.
struct FuncInfo {
    addr_t addr = 0;
    std::string symbol;  // "nd_rr_reset_work_fn [nd_reset_remove]", or hex
    std::string name;    // bare symbol name, "" when unknown
    const ModuleInfo* module = nullptr;
    bool kernel_text = false;
};

struct Context {
    Kernel& k;
    ModuleIndex modules;
    std::optional<std::uint64_t> jiffies;
    std::optional<unsigned> hz;
    std::uint64_t now = 0;
    std::unordered_map<addr_t, int> running;  // task -> CPU it is current on
    const TaskStates& states;

    explicit Context(Kernel& kernel, std::size_t max)
        : k(kernel), modules(kernel, max), jiffies(read_jiffies(kernel)), hz(kernel_hz(kernel)),
          states(kernel.get<TaskStates>()) {
        for (const RunQueue& rq : runqueues(k)) {
            now = std::max(now, rq.clock);
            running.emplace(rq.curr, rq.cpu);
        }
    }

    FuncInfo func(addr_t a) {
        FuncInfo f;
        f.addr = a;
        if (!a) {
            f.symbol = "NULL";
            return f;
        }
        f.symbol = k.symbolize(a);
        f.name = k.function_name(a);
        f.module = modules.find(a);
        f.kernel_text = !f.module && in_kernel_text(k, a);
        return f;
    }
    // jiffies -> ns when HZ is known.
    std::optional<std::uint64_t> jiffies_ns(std::uint64_t j) const {
        if (!hz || !*hz) return std::nullopt;
        return j * (1000000000ULL / *hz);
    }
};

struct Finding {
    std::string kind;  // module_going, no_module, poisoned, unreadable, running_and_pending, timer_poisoned
    addr_t work = 0;
    std::string where;  // running, pending, inactive, delayed, timer
    std::string text;
    json extra = json::object();
};

struct BusyRow {
    BusyWorker w;
    std::optional<Task> task;
    FuncInfo func;
    Work work;  // the current work's memory
    const WorkerPool* pool = nullptr;
    bool also_pending = false;
};

struct PendingRow {
    QueuedWork q;
    FuncInfo func;
    const WorkerPool* pool = nullptr;
    bool also_running = false;
};

struct DelayedRow {
    DelayedWork d;
    FuncInfo func;
    std::int64_t expires_in = 0;  // jiffies (negative: overdue)
};

// The function fields of a work item's JSON object.
void add_func_json(json& j, const FuncInfo& f) {
    j["function"] = hex(f.addr);
    j["symbol"] = f.name.empty() ? json(nullptr) : json(f.name);
    j["module"] = f.module ? json(f.module->name) : json(nullptr);
    j["module_state"] = f.module ? json(f.module->state_name) : json(nullptr);
    j["kernel_text"] = f.kernel_text;
}

std::string pool_cpu(const WorkerPool* p) { return p && p->cpu >= 0 ? std::to_string(p->cpu) : "-"; }
std::string pool_id(const WorkerPool* p) { return p ? std::to_string(p->id) : "?"; }
std::string or_dash(const std::string& s) { return s.empty() ? "-" : s; }

// Findings about one work item's function and memory; `who` names the
// worker running it ("" for queued works).
void check_work(const FuncInfo& f, const Work& w, const std::string& where, const std::string& who,
                const json& extra, std::vector<Finding>& out) {
    std::string head = fmt::format("{} work {:016x} ({}){}", where, w.addr, f.symbol, who.empty() ? "" : " in " + who);
    auto add = [&](const char* kind, std::string text) {
        out.push_back({kind, w.addr, where, std::move(text), extra});
    };
    if (f.module && f.module->going)
        add("module_going", fmt::format("{}: module {} is being unloaded (state GOING)", head, f.module->name));
    else if (f.module && f.module->state_name == "UNFORMED")
        add("module_going", fmt::format("{}: module {} is UNFORMED", head, f.module->name));
    else if (!f.module && !f.kernel_text)
        add("no_module", f.addr ? fmt::format("{}: function {:016x} is in no module and not in kernel text", head, f.addr)
                                : fmt::format("{}: NULL function", head));
    if (!w.readable) {
        add("unreadable", fmt::format("{}: work memory is unreadable (freed?)", head));
    } else if (w.poison) {
        add("poisoned", fmt::format("{}: work memory holds poison {:#04x} (freed)", head, w.poison));
        out.back().extra["poison"] = fmt::format("{:#04x}", w.poison);
    }
}

std::string hung_text(const Context& c, const WorkerPool& p) {
    if (!c.jiffies || *c.jiffies < p.watchdog_ts) return "-";
    std::uint64_t j = *c.jiffies - p.watchdog_ts;
    auto ns = c.jiffies_ns(j);
    return ns ? format_duration(*ns) : fmt::format("{}j", j);
}

std::string expires_text(const Context& c, std::int64_t in) {
    std::uint64_t mag = in < 0 ? static_cast<std::uint64_t>(-in) : static_cast<std::uint64_t>(in);
    auto ns = c.jiffies_ns(mag);
    std::string t = ns ? format_duration(*ns) : fmt::format("{} jiffies", mag);
    return in < 0 ? "overdue " + t : "in " + t;
}

int run(Kernel& k, const std::vector<std::string>& args, Output& out) {
    Options o("workq");
    o.add()("pending", "pending, inactive and delayed works only")("busy", "busy workers only")(
        "func", "only work items whose function is SYM", cxxopts::value<std::string>())(
        "max", "bound for every list walk (default 100000)", cxxopts::value<std::string>())("json", "JSON output");
    o.parse(args);
    if (!o.positional().empty()) throw Error("workq: unexpected argument '" + o.positional()[0] + "'");
    std::size_t max = 100000;
    if (o.has("max")) {
        try {
            max = std::stoul(o.str("max"));
        } catch (const std::exception&) {
            throw Error("workq: --max wants a number, not '" + o.str("max") + "'");
        }
        if (max == 0) throw Error("workq: --max must be at least 1");
    }
    bool want_pending = o.has("pending") || !o.has("busy");
    bool want_busy = o.has("busy") || !o.has("pending");
    std::optional<std::string> func_filter;
    std::optional<addr_t> func_addr;
    if (o.has("func")) {
        func_filter = o.str("func");
        func_addr = k.try_symbol(*func_filter);
    }

    Context c(k, max);
    WorkqueueState st = read_workqueue_state(k, max);
    TimerWalk timers;
    if (want_pending) timers = for_each_pending_timer(k, max);
    std::vector<DelayedWork> delayed = delayed_works(k, timers);
    for (const auto& p : c.modules.problems()) st.problems.push_back(p);

    std::map<addr_t, const WorkerPool*> pools;
    for (const WorkerPool& p : st.pools) pools[p.addr] = &p;
    auto pool_of = [&](addr_t a) -> const WorkerPool* {
        auto it = pools.find(a);
        return it == pools.end() ? nullptr : it->second;
    };
    auto selected = [&](const FuncInfo& f) {
        return !func_filter || (func_addr && f.addr == *func_addr) || f.name == *func_filter;
    };

    std::set<addr_t> running_works, pending_works;
    for (const BusyWorker& b : st.busy) running_works.insert(b.current_work);
    for (const QueuedWork& q : st.pending) pending_works.insert(q.work.addr);

    std::vector<BusyRow> busy;
    for (const BusyWorker& b : st.busy) {
        BusyRow r;
        r.w = b;
        r.func = c.func(b.current_func);
        if (!selected(r.func)) continue;
        r.task = read_task(k, b.task);
        r.work = read_work(k, b.current_work);
        r.pool = pool_of(b.pool);
        r.also_pending = pending_works.count(b.current_work) > 0;
        busy.push_back(std::move(r));
    }
    std::vector<PendingRow> pending;
    for (const QueuedWork& q : st.pending) {
        PendingRow r;
        r.q = q;
        r.func = c.func(q.work.func);
        if (!selected(r.func)) continue;
        r.pool = pool_of(q.pool);
        r.also_running = running_works.count(q.work.addr) > 0;
        pending.push_back(std::move(r));
    }
    std::vector<DelayedRow> drows;
    for (const DelayedWork& d : delayed) {
        DelayedRow r;
        r.d = d;
        r.func = c.func(d.work.func);
        if (!selected(r.func)) continue;
        if (c.jiffies) r.expires_in = static_cast<std::int64_t>(d.timer.expires - *c.jiffies);
        drows.push_back(std::move(r));
    }
    std::sort(drows.begin(), drows.end(), [](const DelayedRow& a, const DelayedRow& b) {
        return a.d.timer.cpu != b.d.timer.cpu ? a.d.timer.cpu < b.d.timer.cpu : a.expires_in < b.expires_in;
    });

    // ---- findings
    std::vector<Finding> findings;
    if (want_busy) {
        for (const BusyRow& r : busy) {
            std::string who = r.task ? fmt::format("{} (pid {})", r.task->comm, r.task->pid)
                                     : fmt::format("task {:016x}", r.w.task);
            json extra = {{"worker", hex(r.w.worker)}, {"pid", r.task ? json(r.task->pid) : json(nullptr)}};
            check_work(r.func, r.work, "running", who, extra, findings);
            if (r.also_pending) {
                findings.push_back({"running_and_pending", r.w.current_work, "running",
                                    fmt::format("work {:016x} ({}) is running in {} and pending again",
                                                r.w.current_work, r.func.symbol, who),
                                    extra});
            }
        }
    }
    if (want_pending) {
        for (const PendingRow& r : pending)
            check_work(r.func, r.q.work, r.q.list == WorkList::Inactive ? "inactive" : "pending", "",
                       {{"list", work_list_name(r.q.list)}, {"pool", hex(r.q.pool)}}, findings);
        for (const DelayedRow& r : drows)
            check_work(r.func, r.d.work, "delayed", "", {{"timer", hex(r.d.timer.timer)}, {"cpu", r.d.timer.cpu}},
                       findings);
        // A freed timer is one finding; the bucket's broken links behind it
        // are its consequence, not separate problems.
        std::set<std::tuple<int, int, std::size_t>> flagged;
        for (const PendingTimer& t : timers.timers) {
            if (!t.poisoned && t.readable) continue;
            flagged.insert({t.cpu, t.base, t.bucket});
            if (func_filter) continue;
            Finding f{"timer_poisoned", 0, "timer",
                      fmt::format("timer {:016x} on CPU {}'s wheel (base {}, bucket {}) {}; the bucket's walk stops there",
                                  t.timer, t.cpu, t.base, t.bucket,
                                  t.poisoned ? "holds slab poison: a freed timer (or delayed work) is still queued"
                                             : "is unreadable")};
            f.extra = {{"timer", hex(t.timer)}, {"cpu", t.cpu}, {"base", t.base}, {"bucket", t.bucket},
                       {"function", hex(t.function)}};
            findings.push_back(std::move(f));
        }
        for (const auto& p : timers.problems)
            if (!flagged.count({p.cpu, p.base, p.bucket}))
                st.problems.push_back(
                    fmt::format("timer wheel of CPU {} base {} bucket {}: {}", p.cpu, p.base, p.bucket, p.text));
    }
    // One finding per (kind, work): a work running and pending is reported once.
    {
        std::set<std::pair<std::string, addr_t>> seen;
        std::vector<Finding> uniq;
        for (auto& f : findings)
            if (!f.work || seen.insert({f.kind, f.work}).second) uniq.push_back(std::move(f));
        findings = std::move(uniq);
    }

    std::size_t n_inactive = std::count_if(pending.begin(), pending.end(),
                                           [](const PendingRow& r) { return r.q.list == WorkList::Inactive; });

    if (o.has("json")) {
        json j;
        j["command"] = "workq";
        j["jiffies"] = c.jiffies ? json(*c.jiffies) : json(nullptr);
        j["hz"] = c.hz ? json(*c.hz) : json(nullptr);
        j["now_ns"] = c.now;
        j["filters"] = {{"pending", o.has("pending")}, {"busy", o.has("busy")},
                        {"func", func_filter ? json(*func_filter) : json(nullptr)}};
        j["summary"] = {{"pools", st.pools.size()},
                        {"workqueues", st.workqueues.size()},
                        {"pending", want_pending ? json(pending.size() - n_inactive) : json(nullptr)},
                        {"inactive", want_pending ? json(n_inactive) : json(nullptr)},
                        {"delayed", want_pending ? json(drows.size()) : json(nullptr)},
                        {"busy", want_busy ? json(busy.size()) : json(nullptr)},
                        {"findings", findings.size()}};
        j["findings"] = json::array();
        for (const Finding& f : findings) {
            json fj = {{"kind", f.kind}, {"work", f.work ? json(hex(f.work)) : json(nullptr)}, {"where", f.where},
                       {"text", f.text}};
            for (auto& [key, v] : f.extra.items()) fj[key] = v;
            j["findings"].push_back(fj);
        }
        j["pools"] = json::array();
        for (const WorkerPool& p : st.pools) {
            std::size_t np = 0, nb = 0;
            for (const QueuedWork& q : st.pending) np += q.pool == p.addr && q.list == WorkList::Worklist;
            for (const BusyWorker& b : st.busy) nb += b.pool == p.addr;
            json pj = {{"pool", hex(p.addr)},   {"id", p.id},
                       {"cpu", p.cpu >= 0 ? json(p.cpu) : json(nullptr)},
                       {"unbound", p.cpu < 0},  {"highpri", p.highpri},
                       {"nice", p.nice},        {"node", p.node},
                       {"flags", fmt::format("{:#x}", p.flags)},
                       {"nr_workers", p.nr_workers}, {"nr_idle", p.nr_idle},
                       {"nr_running", p.nr_running}, {"worklist", np},
                       {"busy", nb},            {"watchdog_ts", p.watchdog_ts}};
            std::optional<std::uint64_t> hung;
            if (c.jiffies && *c.jiffies >= p.watchdog_ts) hung = *c.jiffies - p.watchdog_ts;
            pj["since_watchdog_ts_jiffies"] = hung ? json(*hung) : json(nullptr);
            auto hung_ns = hung ? c.jiffies_ns(*hung) : std::nullopt;
            pj["since_watchdog_ts_ns"] = hung_ns ? json(*hung_ns) : json(nullptr);
            j["pools"].push_back(pj);
        }
        const WorkLayout& W = k.get<WorkLayout>();
        if (want_pending) {
            j["pending"] = json::array();
            for (const PendingRow& r : pending) {
                json pj = {{"work", hex(r.q.work.addr)}};
                add_func_json(pj, r.func);
                pj["workqueue"] = r.q.workqueue.empty() ? json(nullptr) : json(r.q.workqueue);
                pj["list"] = work_list_name(r.q.list);
                pj["pool"] = hex(r.q.pool);
                pj["pool_id"] = r.pool ? json(r.pool->id) : json(nullptr);
                pj["cpu"] = r.pool && r.pool->cpu >= 0 ? json(r.pool->cpu) : json(nullptr);
                pj["pwq"] = hex(r.q.work.pwq);
                pj["worker"] = r.q.worker ? json(hex(r.q.worker)) : json(nullptr);
                pj["data"] = hex(r.q.work.data);
                pj["flags"] = work_flags(W, r.q.work.data);
                pj["running"] = r.also_running;
                pj["poison"] = r.q.work.poison ? json(fmt::format("{:#04x}", r.q.work.poison)) : json(nullptr);
                j["pending"].push_back(pj);
            }
            j["delayed"] = json::array();
            for (const DelayedRow& r : drows) {
                json dj = {{"work", hex(r.d.work.addr)}, {"timer", hex(r.d.timer.timer)}};
                add_func_json(dj, r.func);
                dj["workqueue"] = r.d.workqueue.empty() ? json(nullptr) : json(r.d.workqueue);
                dj["wq"] = hex(r.d.wq);
                dj["cpu"] = r.d.timer.cpu;
                dj["base"] = r.d.timer.base;
                dj["bucket"] = r.d.timer.bucket;
                dj["target_cpu"] = r.d.target_cpu;
                dj["expires"] = r.d.timer.expires;
                dj["expires_in_jiffies"] = c.jiffies ? json(r.expires_in) : json(nullptr);
                auto ns = c.jiffies_ns(static_cast<std::uint64_t>(r.expires_in < 0 ? -r.expires_in : r.expires_in));
                dj["expires_in_ns"] = c.jiffies && ns ? json(r.expires_in < 0 ? -static_cast<std::int64_t>(*ns)
                                                                               : static_cast<std::int64_t>(*ns))
                                                      : json(nullptr);
                dj["timer_flags"] = fmt::format("{:#x}", r.d.timer.flags);
                dj["deferrable"] = (r.d.timer.flags & TIMER_DEFERRABLE) != 0;
                dj["data"] = hex(r.d.work.data);
                dj["poison"] = r.d.work.poison ? json(fmt::format("{:#04x}", r.d.work.poison)) : json(nullptr);
                j["delayed"].push_back(dj);
            }
        } else {
            j["pending"] = nullptr;
            j["delayed"] = nullptr;
        }
        if (want_busy) {
            j["busy"] = json::array();
            for (const BusyRow& r : busy) {
                json bj = {{"worker", hex(r.w.worker)}, {"pool", hex(r.w.pool)},
                           {"pool_id", r.pool ? json(r.pool->id) : json(nullptr)},
                           {"cpu", r.pool && r.pool->cpu >= 0 ? json(r.pool->cpu) : json(nullptr)},
                           {"task", hex(r.w.task)}};
                bj["pid"] = r.task ? json(r.task->pid) : json(nullptr);
                bj["comm"] = r.task ? json(r.task->comm) : json(nullptr);
                bj["state"] = r.task ? json(state_name(c.states.letter(*r.task))) : json(nullptr);
                auto on = c.running.find(r.w.task);
                bj["running_on_cpu"] = on != c.running.end() ? json(on->second) : json(nullptr);
                bj["last_arrival_ns"] = r.task ? json(r.task->last_arrival) : json(nullptr);
                bj["since_last_arrival_ns"] =
                    r.task ? json(c.now > r.task->last_arrival ? c.now - r.task->last_arrival : 0) : json(nullptr);
                bj["work"] = hex(r.w.current_work);
                add_func_json(bj, r.func);
                bj["workqueue"] = r.w.workqueue.empty() ? json(nullptr) : json(r.w.workqueue);
                bj["desc"] = r.w.desc;
                bj["last_active_jiffies"] = r.w.last_active ? json(*r.w.last_active) : json(nullptr);
                bj["pending"] = r.also_pending;
                bj["work_memory"] = !r.work.readable ? "unreadable" : r.work.poison ? "poisoned" : "ok";
                j["busy"].push_back(bj);
            }
        } else {
            j["busy"] = nullptr;
        }
        j["problems"] = st.problems;
        write_json(out, j);
        return findings.empty() ? 0 : 1;
    }

    // ---- text
    std::string verdict = fmt::format("workq: {} pools, {} workqueues", st.pools.size(), st.workqueues.size());
    if (want_pending)
        verdict += fmt::format("; {} pending ({} inactive), {} delayed", pending.size() - n_inactive, n_inactive,
                               drows.size());
    if (want_busy) verdict += fmt::format("; {} busy", busy.size());
    verdict += fmt::format("; {} finding{}", findings.size(), findings.size() == 1 ? "" : "s");
    if (c.jiffies) verdict += fmt::format("; jiffies {}", *c.jiffies);
    if (c.hz) verdict += fmt::format(" (HZ {})", *c.hz);
    if (func_filter) verdict += fmt::format("; function {}", *func_filter);
    out.write(verdict + "\n");
    for (const auto& p : st.problems) out.write("PROBLEM: " + p + "\n");
    if (!findings.empty()) {
        out.write("\nFINDINGS\n");
        for (const Finding& f : findings) out.write("  " + f.text + "\n");
    }
    if (want_busy) {
        out.write("\nBUSY WORKERS\n");
        if (busy.empty()) {
            out.write("  (none)\n");
        } else {
            Table t({">POOL", ">CPU", ">PID", "COMM", "TASK", "ST", ">SINCE", "WORK", "FUNCTION", "WORKQUEUE", "NOTE"});
            for (const BusyRow& r : busy) {
                std::string note = r.also_pending ? "also pending" : "";
                if (!r.work.readable) note = note.empty() ? "work unreadable" : note + ", work unreadable";
                else if (r.work.poison) note = note.empty() ? "work freed" : note + ", work freed";
                t.row({pool_id(r.pool), pool_cpu(r.pool), r.task ? std::to_string(r.task->pid) : "?",
                       r.task ? r.task->comm : "?", fmt::format("{:016x}", r.w.task),
                       r.task ? state_name(c.states.letter(*r.task)) : "??",
                       r.task ? format_duration(c.now > r.task->last_arrival ? c.now - r.task->last_arrival : 0) : "-",
                       fmt::format("{:016x}", r.w.current_work), r.func.symbol, or_dash(r.w.workqueue), or_dash(note)});
            }
            t.render(out);
        }
    }
    if (want_pending) {
        out.write("\nPENDING WORKS\n");
        if (pending.empty()) {
            out.write("  (none)\n");
        } else {
            const WorkLayout& W = k.get<WorkLayout>();
            Table t({">POOL", ">CPU", "WORK", "FUNCTION", "WORKQUEUE", "LIST", "FLAGS", "NOTE"});
            for (const PendingRow& r : pending) {
                std::string note = r.also_running ? "also running" : "";
                if (r.q.work.poison) note = note.empty() ? "work freed" : note + ", work freed";
                t.row({pool_id(r.pool), pool_cpu(r.pool), fmt::format("{:016x}", r.q.work.addr), r.func.symbol,
                       or_dash(r.q.workqueue), work_list_name(r.q.list), work_flags(W, r.q.work.data), or_dash(note)});
            }
            t.render(out);
        }
        out.write("\nDELAYED WORKS (timers on the CPUs' wheels)\n");
        if (drows.empty()) {
            out.write("  (none)\n");
        } else {
            Table t({">CPU", "WORK", "EXPIRES", "FUNCTION", "WORKQUEUE", "TIMER", "NOTE"});
            for (const DelayedRow& r : drows) {
                std::string note = r.d.timer.flags & TIMER_DEFERRABLE ? "deferrable" : "";
                if (r.d.work.poison) note = note.empty() ? "work freed" : note + ", work freed";
                t.row({std::to_string(r.d.timer.cpu), fmt::format("{:016x}", r.d.work.addr),
                       c.jiffies ? expires_text(c, r.expires_in) : std::to_string(r.d.timer.expires), r.func.symbol,
                       or_dash(r.d.workqueue), fmt::format("{:016x}", r.d.timer.timer), or_dash(note)});
            }
            t.render(out);
        }
    }
    if (want_busy && want_pending) {
        out.write("\nPOOLS\n");
        Table t({">POOL", ">CPU", "KIND", "ADDRESS", ">WORKERS", ">IDLE", ">RUNNING", ">PENDING", ">BUSY", ">LAST-START"});
        for (const WorkerPool& p : st.pools) {
            std::size_t np = 0, nb = 0;
            for (const QueuedWork& q : st.pending) np += q.pool == p.addr && q.list == WorkList::Worklist;
            for (const BusyWorker& b : st.busy) nb += b.pool == p.addr;
            t.row({std::to_string(p.id), p.cpu >= 0 ? std::to_string(p.cpu) : "-",
                   std::string(p.cpu >= 0 ? "percpu" : "unbound") + (p.highpri ? " H" : ""),
                   fmt::format("{:016x}", p.addr), std::to_string(p.nr_workers), std::to_string(p.nr_idle),
                   std::to_string(p.nr_running), std::to_string(np), std::to_string(nb), hung_text(c, p)});
        }
        t.render(out);
    }
    return findings.empty() ? 0 : 1;
}

}  // namespace

Command workq_command() {
    return make_command("workq", run);
}

}  // namespace netdbg
