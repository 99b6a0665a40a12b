// cpus: what every CPU is doing, for how long, and what it holds: the task
// current on it (rq->curr), how long it has run without a switch, its
// context (preempt count, IRQs, the stack it is on), the soft-lockup
// watchdog's view, the locks its task holds that others wait for, whether
// it holds up the RCU grace period, its run queue and backlog lengths, and
// its call chain unwound from the registers the dump saved.
#include <algorithm>
#include <map>

#include <fmt/format.h>

#include "commands/chain_view.h"
#include "commands/commands.h"
#include "core/options.h"
#include "core/table.h"
#include "kernel/net/softnet.h"
#include "kernel/rcu/rcu.h"
#include "kernel/sched/preempt.h"
#include "kernel/sched/snapshot.h"
#include "kernel/waits/finder.h"
#include "kernel/watchdog/watchdog.h"

namespace netdbg {

namespace {

// A lock (or other wait object) a task holds that tasks wait for.
struct Held {
    WaitKind kind = WaitKind::Mutex;
    addr_t object = 0;
    std::string name;
    std::string role;  // "owner", "writer", ...
    std::size_t waiters = 0;
};

struct CpuRow {
    int cpu = 0;
    std::optional<RunQueue> rq;
    std::optional<Task> task;
    bool idle = false;
    std::optional<PreemptCount> preempt;
    CpuWatchdog wd;
    SoftLockup soft;
    std::vector<Held> holds;
    bool holds_up_gp = false;
    std::optional<std::uint32_t> backlog;
    std::string work;  // a kworker's work function
    KernelStack stack;
    std::vector<std::string> problems;

    std::uint64_t running_for(std::uint64_t now) const {
        return task && now > task->last_arrival ? now - task->last_arrival : 0;
    }
    bool irqs_off() const { return stack.regs && !(stack.regs->flags & 0x200); }
    bool user_mode() const { return stack.regs && (stack.regs->cs & 3); }
    // The stack the CPU's registers point into when it is not the task's.
    std::string on_stack() const {
        if (!stack.regs || stack.frames.empty() || !stack.frames.front().exact) return "";
        const std::string& s = stack.frames.front().stack;
        return s == "task" ? "" : s;
    }
    std::string function(Kernel& k) const {
        if (!work.empty()) return work;
        const OrcFrame* f = stack.task_frame();
        if (!f) return user_mode() ? "(user)" : "-";
        auto sym = k.target().symbolize(f->pc);
        if (!sym) return fmt::format("{:016x}", f->pc);
        return sym->module.empty() ? sym->name : fmt::format("{} [{}]", sym->name, sym->module);
    }
    std::string context() const {
        std::vector<std::string> parts;
        if (!idle && preempt && preempt->context() != "-") parts.push_back(preempt->context());
        if (irqs_off()) parts.push_back("irqs off");
        if (!on_stack().empty()) parts.push_back("on " + on_stack() + " stack");
        std::string out;
        for (const auto& p : parts) out += (out.empty() ? "" : ", ") + p;
        if (!preempt && !idle) out += out.empty() ? "?" : ", preempt ?";
        return out.empty() ? "-" : out;
    }
};

// Who holds what, from the blockers of every task in D state (the waits
// kinds' own proofs; RCU waits are read from the rcu_node tree instead).
std::map<addr_t, std::vector<Held>> held_locks(Snapshot& s) {
    Kernel& k = s.k;
    BlockerFinder finder(s);
    std::map<std::pair<WaitKind, addr_t>, std::pair<Blocker, std::size_t>> objects;
    for (const Task& t : s.walk.tasks) {
        if (!s.states.uninterruptible(t, true)) continue;
        k.check_interrupt();
        StackWords stack = read_stack(k, t);
        CallChain chain = call_chain(k, t, stack);
        auto b = finder.find(t, stack, chain);
        if (!b || b->kind == WaitKind::RcuGracePeriod || b->kind == WaitKind::RcuBarrier) continue;
        auto key = std::make_pair(b->kind, b->object);
        auto it = objects.find(key);
        if (it == objects.end()) objects.emplace(key, std::make_pair(std::move(*b), std::size_t{1}));
        else ++it->second.second;
    }
    std::map<addr_t, std::vector<Held>> out;
    for (const auto& [key, value] : objects) {
        const Blocker& b = value.first;
        for (const BlockerTask& h : b.holders)
            out[h.task].push_back({b.kind, b.object, b.name.empty() ? fmt::format("{:016x}", b.object) : b.name,
                                   h.role, value.second});
    }
    return out;
}

std::string holds_text(const CpuRow& r, const std::optional<RcuState>& rcu) {
    std::string out;
    for (const Held& h : r.holds)
        out += (out.empty() ? "" : ", ") + fmt::format("{} ({})", h.name, h.waiters);
    if (r.holds_up_gp && rcu) out += (out.empty() ? "" : ", ") + fmt::format("RCU gp_seq {}", rcu->gp_seq_signed());
    return out.empty() ? "-" : out;
}

std::string verdict(Kernel& k, const CpuRow& r, std::uint64_t now, const std::optional<RcuState>& rcu) {
    const Task& t = *r.task;
    std::string out = fmt::format("CPU{} stuck {} in {} (pid {}, {})", r.cpu, format_duration(r.running_for(now)),
                                  t.comm, t.pid, r.function(k));
    // Inside an interrupt the preempt depth also counts the handler's own
    // locks: it is the task's only outside one.
    if (r.preempt && r.preempt->preempt() && !r.preempt->hardirq() && !r.preempt->nmi())
        out += " with preemption off";
    if (r.preempt && r.preempt->nmi()) out += ", caught in an NMI";
    else if (r.preempt && r.preempt->hardirq()) out += ", caught in a hardirq";
    if (r.irqs_off()) out += ", IRQs off";
    for (const Held& h : r.holds)
        out += fmt::format("; holds {} ({} waiter{})", h.name, h.waiters, h.waiters == 1 ? "" : "s");
    if (r.holds_up_gp && rcu) {
        out += fmt::format("; holds up RCU grace period gp_seq {}", rcu->gp_seq_signed());
        if (auto age = rcu->gp_age_ns()) out += fmt::format(" ({} old)", format_duration(*age));
    }
    return out;
}

json row_json(Snapshot& s, const CpuRow& r, const std::optional<RcuState>& rcu) {
    Kernel& k = s.k;
    json j;
    j["cpu"] = r.cpu;
    j["rq"] = r.rq ? json(hex(r.rq->rq)) : json(nullptr);
    j["task"] = r.task ? task_json(s, *r.task) : json(nullptr);
    j["idle"] = r.idle;
    j["mode"] = r.stack.regs ? json(r.user_mode() ? "user" : "kernel") : json(nullptr);
    j["running_for_ns"] = r.task && !r.idle ? json(r.running_for(s.now)) : json(nullptr);
    if (r.preempt)
        j["preempt_count"] = {{"raw", hex(r.preempt->raw)},         {"preempt", r.preempt->preempt()},
                              {"softirq", r.preempt->softirq()},     {"hardirq", r.preempt->hardirq()},
                              {"nmi", r.preempt->nmi()},             {"need_resched", r.preempt->need_resched()},
                              {"context", r.preempt->context()}};
    else
        j["preempt_count"] = nullptr;
    j["irqs_off"] = r.stack.regs ? json(r.irqs_off()) : json(nullptr);
    if (!r.stack.regs) j["stack"] = nullptr;
    else j["stack"] = r.on_stack().empty() ? std::string("task") : r.on_stack();
    j["context"] = r.context();
    json sl;
    sl["touch_ts"] = r.wd.touch_ts ? json(*r.wd.touch_ts) : json(nullptr);
    sl["report_ts"] = r.wd.report_ts ? json(*r.wd.report_ts) : json(nullptr);
    sl["age_s"] = r.soft.age_s ? json(*r.soft.age_s) : json(nullptr);
    sl["thresh_s"] = r.soft.thresh_s;
    sl["stuck"] = r.soft.stuck;
    sl["text"] = r.soft.text;
    j["softlockup"] = sl;
    j["hrtimer_interrupts"] = r.wd.hrtimer_interrupts ? json(*r.wd.hrtimer_interrupts) : json(nullptr);
    j["hrtimer_interrupts_saved"] =
        r.wd.hrtimer_interrupts_saved ? json(*r.wd.hrtimer_interrupts_saved) : json(nullptr);
    j["holds"] = json::array();
    for (const Held& h : r.holds)
        j["holds"].push_back({{"kind", wait_kind_key(h.kind)}, {"object", hex(h.object)}, {"name", h.name},
                              {"role", h.role}, {"waiters", h.waiters}});
    j["holds_up_rcu_gp"] = r.holds_up_gp;
    j["rcu_gp_seq"] = r.holds_up_gp && rcu ? json(rcu->gp_seq_signed()) : json(nullptr);
    j["nr_running"] = r.rq && r.rq->nr_running ? json(*r.rq->nr_running) : json(nullptr);
    j["backlog"] = r.backlog ? json(*r.backlog) : json(nullptr);
    j["function"] = r.task ? json(r.function(k)) : json(nullptr);
    j["work_function"] = r.work.empty() ? json(nullptr) : json(r.work);
    j["registers"] = r.stack.regs ? registers_json(*r.stack.regs) : json(nullptr);
    j["call_chain"] = r.task ? chain_json(k, r.stack) : json(nullptr);
    j["problems"] = r.problems;
    return j;
}

int run(Kernel& k, const std::vector<std::string>& args, Output& out) {
    Options o("cpus");
    o.add()("v,verbose", "also the idle CPUs' call chains and the watchdog counters")("json", "JSON output");
    o.parse(args);
    if (!o.positional().empty()) throw Error("unexpected argument '" + o.positional()[0] + "'");

    Snapshot s(k);
    WatchdogSettings wd = read_watchdog_settings(k);
    std::vector<std::string> problems = s.walk.problems;
    std::optional<RcuState> rcu;
    try {
        rcu = read_rcu_state(k);
    } catch (const Interrupted&) {
        throw;
    } catch (const Error& e) {
        problems.push_back(std::string("RCU: ") + e.what());
    }
    std::vector<int> pending = rcu ? rcu->cpus_pending() : std::vector<int>{};
    std::map<int, std::uint32_t> backlog;
    try {
        for (const Softnet& sd : for_each_softnet(k, 10000, &problems))
            if (sd.input_qlen || sd.process_qlen)
                backlog[sd.cpu] = sd.input_qlen.value_or(0) + sd.process_qlen.value_or(0);
    } catch (const Interrupted&) {
        throw;
    } catch (const Error& e) {
        problems.push_back(std::string("softnet: ") + e.what());
    }
    auto holders = held_locks(s);

    std::vector<CpuRow> rows;
    for (int cpu = 0; cpu < k.target().cpu_count(); ++cpu) {
        k.check_interrupt();
        CpuRow r;
        r.cpu = cpu;
        r.rq = read_runqueue(k, cpu);
        r.preempt = read_preempt_count(k, cpu);
        r.wd = read_cpu_watchdog(k, cpu);
        r.soft = soft_lockup(wd, r.wd, s.now);
        if (auto it = backlog.find(cpu); it != backlog.end()) r.backlog = it->second;
        r.holds_up_gp = std::find(pending.begin(), pending.end(), cpu) != pending.end();
        if (!r.rq) {
            r.problems.push_back("run queue unreadable");
            rows.push_back(std::move(r));
            continue;
        }
        r.idle = r.rq->curr == r.rq->idle;
        r.task = read_task(k, r.rq->curr);
        if (!r.task) {
            r.problems.push_back(fmt::format("rq->curr {:016x} unreadable", r.rq->curr));
            rows.push_back(std::move(r));
            continue;
        }
        if (auto it = holders.find(r.task->addr); it != holders.end()) r.holds = it->second;
        r.work = work_function(k, task_worker(k, *r.task));
        r.stack = kernel_stack(k, *r.task, cpu);
        for (const auto& p : r.stack.problems) r.problems.push_back(p);
        rows.push_back(std::move(r));
    }
    std::vector<const CpuRow*> stuck;
    for (const CpuRow& r : rows)
        if (r.soft.stuck && r.task) stuck.push_back(&r);
    std::size_t idle = std::count_if(rows.begin(), rows.end(), [](const CpuRow& r) { return r.idle; });

    if (o.has("json")) {
        json j;
        j["command"] = "cpus";
        j["now_ns"] = s.now;
        j["now"] = format_timestamp(s.now);
        auto opt = [](const auto& v) { return v ? json(*v) : json(nullptr); };
        j["watchdog"] = {{"watchdog_thresh", opt(wd.thresh)},
                         {"softlockup_thresh", opt(wd.softlockup_thresh())},
                         {"soft_enabled", wd.soft_enabled()},
                         {"nmi_enabled", wd.nmi_enabled()},
                         {"softlockup_panic", opt(wd.softlockup_panic)},
                         {"hardlockup_panic", opt(wd.hardlockup_panic)}};
        j["hung_task"] = {{"timeout_secs", opt(wd.hung_task_timeout_secs)},
                          {"panic", opt(wd.hung_task_panic)},
                          {"warnings", opt(wd.hung_task_warnings)}};
        if (rcu)
            j["rcu"] = {{"gp_seq", rcu->gp_seq_signed()},
                        {"gp_in_progress", rcu->gp_in_progress()},
                        {"gp_age_ns", opt(rcu->gp_age_ns())},
                        {"cpus_pending", pending}};
        else
            j["rcu"] = nullptr;
        j["cpus"] = json::array();
        for (const CpuRow& r : rows) j["cpus"].push_back(row_json(s, r, rcu));
        j["stuck"] = json::array();
        for (const CpuRow* r : stuck) j["stuck"].push_back(r->cpu);
        j["verdicts"] = json::array();
        for (const CpuRow* r : stuck) j["verdicts"].push_back(verdict(k, *r, s.now, rcu));
        j["problems"] = problems;
        write_json(out, j);
        return stuck.empty() ? 0 : 1;
    }

    if (stuck.empty())
        out.write(fmt::format("{} CPUs: {} busy, {} idle; no CPU past the soft-lockup threshold\n", rows.size(),
                              rows.size() - idle, idle));
    for (const CpuRow* r : stuck) out.write(verdict(k, *r, s.now, rcu) + "\n");
    std::string settings = fmt::format("now {}; ", format_timestamp(s.now));
    if (!wd.thresh && !wd.enabled) settings += "soft-lockup watchdog unknown";
    else if (!wd.soft_enabled()) settings += "soft-lockup watchdog off";
    else if (auto t = wd.softlockup_thresh())
        settings += fmt::format("soft lockup after {}s (watchdog_thresh {})", *t, *wd.thresh);
    else settings += "soft-lockup watchdog unknown";
    settings += wd.nmi_enabled() ? "; NMI watchdog on" : "; NMI watchdog off";
    if (wd.hung_task_timeout_secs) settings += fmt::format("; hung task timeout {}s", *wd.hung_task_timeout_secs);
    if (rcu && rcu->gp_in_progress()) {
        settings += fmt::format("; RCU grace period gp_seq {} in progress", rcu->gp_seq_signed());
        if (auto age = rcu->gp_age_ns()) settings += fmt::format(" for {}", format_duration(*age));
    }
    out.write(settings + "\n");
    for (const auto& p : problems) out.write("PROBLEM: " + p + "\n");
    out.write("\n");

    Table t({">CPU", ">PID", "COMM", "MODE", ">RUNNING-FOR", "CONTEXT", "SOFTLOCKUP", ">RQ", ">BACKLOG", "HOLDS", "FUNC"});
    for (const CpuRow& r : rows) {
        std::string rq = r.rq && r.rq->nr_running ? std::to_string(*r.rq->nr_running) : "?";
        std::string bl = r.backlog ? std::to_string(*r.backlog) : "?";
        if (!r.task) {
            std::string what = r.problems.empty() ? "?" : r.problems.front();
            t.row({std::to_string(r.cpu), "-", what, "-", "-", "-", r.soft.text, rq, bl, "-", "-"});
            continue;
        }
        std::string mode = r.stack.regs ? (r.user_mode() ? "U" : "K") : "?";
        t.row({std::to_string(r.cpu), std::to_string(r.task->pid), r.task->comm, mode,
               r.idle ? "idle" : format_duration(r.running_for(s.now)), r.idle ? "-" : r.context(), r.soft.text, rq, bl,
               holds_text(r, rcu), r.function(k)});
    }
    t.render(out);

    for (const CpuRow& r : rows) {
        if (!r.task || (r.idle && !o.has("verbose"))) continue;
        out.write(fmt::format("\nCPU {}: {} (pid {}): {}\n", r.cpu, r.task->comm, r.task->pid, chain_summary(r.stack)));
        if (r.stack.regs) out.write("  " + registers_line(k, *r.stack.regs) + "\n");
        for (const auto& p : r.problems) out.write("  PROBLEM: " + p + "\n");
        if (o.has("verbose") && (r.wd.hrtimer_interrupts || r.wd.touch_ts))
            out.write(fmt::format("  WATCHDOG: touch_ts {}  hrtimer_interrupts {}  saved {}\n",
                                  r.wd.touch_ts ? std::to_string(*r.wd.touch_ts) : "?",
                                  r.wd.hrtimer_interrupts ? std::to_string(*r.wd.hrtimer_interrupts) : "?",
                                  r.wd.hrtimer_interrupts_saved ? std::to_string(*r.wd.hrtimer_interrupts_saved) : "?"));
        if (!r.stack.frames.empty()) render_frames(k, r.stack, "  ", out);
    }
    return stuck.empty() ? 0 : 1;
}

}  // namespace

Command cpus_command() {
    return make_command("cpus", run);
}

}  // namespace netdbg
