#include "commands/lock_report.h"

#include <fmt/format.h>

#include "core/table.h"

namespace netdbg {

LockReport build_lock_report(const Snapshot& s, addr_t mutex, bool with_chain) {
    Kernel& k = s.k;
    LockReport r;
    r.mutex = read_mutex(k, mutex);
    if (r.mutex.owner) {
        r.owner = s.task(r.mutex.owner);
        if (r.owner) {
            r.owner_worker = task_worker(k, *r.owner);
            auto chain = call_chain(k, *r.owner);
            if (s.running_cpu(r.owner->addr) < 0) r.owner_wait_function = wait_function(k, chain.frames);
            if (with_chain) r.owner_chain = std::move(chain);
        }
    }
    for (addr_t w : r.mutex.waiters) {
        k.check_interrupt();
        LockWaiter lw;
        lw.task_addr = w;
        lw.task = s.task(w);
        if (lw.task) {
            lw.wait_function = wait_function(k, call_chain(k, *lw.task).frames);
            std::uint64_t blocked = s.since_last_arrival(*lw.task);
            if (!r.held_at_least || blocked > *r.held_at_least) r.held_at_least = blocked;
        }
        r.waiters.push_back(std::move(lw));
    }
    return r;
}

namespace {

std::string display_name(const MutexState& m) {
    return m.name.empty() ? fmt::format("mutex {:016x}", m.addr) : m.name;
}

std::string waiter_count(std::size_t n) { return fmt::format("{} waiter{}", n, n == 1 ? "" : "s"); }

}  // namespace

std::string lock_verdict(const Snapshot& s, const LockReport& r) {
    const MutexState& m = r.mutex;
    std::string name = display_name(m);
    std::string broken = m.walk.findings.empty() ? "" : "; wait_list damaged";
    if (!m.owner) {
        if (m.flags & MUTEX_FLAG_WAITERS)
            return fmt::format("{} has no owner but WAITERS is set; {}{}", name, waiter_count(r.waiters.size()),
                               broken);
        return fmt::format("{} is not held; {}{}", name, waiter_count(r.waiters.size()), broken);
    }
    if (!r.owner)
        return fmt::format("{} held by {:016x}, which is not a task in the task list; {}{}", name, m.owner,
                           waiter_count(r.waiters.size()), broken);
    std::string held = r.held_at_least ? " for >= " + format_duration(*r.held_at_least) : "";
    return fmt::format("{} held by {} (pid {}, {}){}; {}{}", name, r.owner->comm, r.owner->pid,
                       task_activity(s, *r.owner, r.owner_wait_function), held, waiter_count(r.waiters.size()), broken);
}

void render_call_chain(Kernel& k, const CallChain& c, const std::string& indent, Output& out) {
    if (c.frames.empty()) {
        out.write(indent + "(no return addresses found)\n");
        return;
    }
    for (std::size_t i = 0; i < c.frames.size(); ++i) {
        const StackFrame& f = c.frames[i];
        std::string slot = f.slot ? fmt::format("[{:016x}] ", f.slot) : "";
        out.write(fmt::format("{}#{:<2} {}{}\n", indent, i, slot, k.symbolize(f.pc)));
    }
}

json call_chain_json(Kernel& k, const CallChain& c) {
    json j;
    j["source"] = chain_source_name(c.source);
    j["frames"] = json::array();
    for (const StackFrame& f : c.frames)
        j["frames"].push_back({{"slot", f.slot ? json(hex(f.slot)) : json(nullptr)},
                               {"pc", hex(f.pc)},
                               {"symbol", k.symbolize(f.pc)}});
    return j;
}

void render_lock_report(const Snapshot& s, const LockReport& r, Output& out) {
    Kernel& k = s.k;
    const MutexState& m = r.mutex;
    out.write(lock_verdict(s, r) + "\n\n");
    out.write(fmt::format("  MUTEX: {:016x}  NAME: {}  OWNER: {:016x}  FLAGS: {}\n", m.addr,
                          m.name.empty() ? "-" : m.name, m.owner, mutex_flag_names(m.flags)));
    if (r.owner) {
        const Task& o = *r.owner;
        int cpu = s.running_cpu(o.addr);
        out.write(fmt::format("  OWNER: PID: {}  TASK: {:016x}  CPU: {}  COMMAND: \"{}\"\n", o.pid, o.addr, o.cpu,
                              o.comm));
        out.write(fmt::format("         STATE: {}{}  LAST-ARRIVAL: {} ({} before the dump)\n", s.state(o),
                              cpu >= 0 ? fmt::format(" (current on CPU {})", cpu) : "",
                              format_timestamp(o.last_arrival), format_duration(s.since_last_arrival(o))));
        if (!r.owner_wait_function.empty())
            out.write(fmt::format("         WAITS IN: {}\n", r.owner_wait_function));
        if (r.owner_worker && r.owner_worker->current_work) {
            const WorkerInfo& w = *r.owner_worker;
            out.write(fmt::format("   WORK: {:016x}  FUNC: {}  WORKQUEUE: {}\n", w.current_work,
                                  k.symbolize(w.current_func), w.workqueue.empty() ? "-" : w.workqueue));
        }
    }
    for (const auto& f : m.walk.findings) out.write("  FINDING: wait_list " + f.describe() + "\n");
    if (!r.waiters.empty()) {
        out.write("\n");
        Table t({">#", ">PID", ">CPU", "ST", "TASK", "COMM", "LAST-ARRIVAL", ">BLOCKED-FOR", "WAIT-FUNC"}, "  ");
        std::size_t i = 0;
        for (const LockWaiter& w : r.waiters) {
            ++i;
            if (!w.task) {
                t.row({std::to_string(i), "?", "?", "??", fmt::format("{:016x}", w.task_addr),
                       "<not in task list>"});
                continue;
            }
            const Task& tk = *w.task;
            t.row({std::to_string(i), std::to_string(tk.pid), std::to_string(tk.cpu), s.state(tk),
                   fmt::format("{:016x}", tk.addr), tk.comm, format_timestamp(tk.last_arrival),
                   format_duration(s.since_last_arrival(tk)), w.wait_function.empty() ? "-" : w.wait_function});
        }
        t.render(out);
    }
    if (r.owner_chain) {
        out.write(fmt::format("\n  OWNER CALL CHAIN ({}{}):\n", chain_source_name(r.owner_chain->source),
                              r.owner_chain->scanned() && s.running_cpu(r.owner->addr) >= 0
                                  ? ", from the last switch of a running task"
                                  : ""));
        render_call_chain(k, *r.owner_chain, "    ", out);
    }
}

json lock_report_json(const Snapshot& s, const LockReport& r) {
    Kernel& k = s.k;
    const MutexState& m = r.mutex;
    json j;
    j["verdict"] = lock_verdict(s, r);
    j["now_ns"] = s.now;
    j["mutex"] = {{"address", hex(m.addr)},
                  {"name", m.name},
                  {"owner", hex(m.owner)},
                  {"flags", mutex_flag_names(m.flags)},
                  {"waiter_count", r.waiters.size()}};
    if (r.owner) {
        json o = task_json(s, *r.owner);
        o["wait_function"] = r.owner_wait_function;
        if (r.owner_worker && r.owner_worker->current_work)
            o["work"] = {{"address", hex(r.owner_worker->current_work)},
                         {"function", k.symbolize(r.owner_worker->current_func)},
                         {"workqueue", r.owner_worker->workqueue}};
        if (r.owner_chain) o["call_chain"] = call_chain_json(k, *r.owner_chain);
        j["owner"] = o;
    } else {
        j["owner"] = nullptr;
    }
    j["held_for_at_least_ns"] = r.held_at_least ? json(*r.held_at_least) : json(nullptr);
    j["waiters"] = json::array();
    for (const LockWaiter& w : r.waiters) {
        json wj = w.task ? task_json(s, *w.task) : json{{"task", hex(w.task_addr)}, {"pid", nullptr}};
        wj["wait_function"] = w.wait_function;
        j["waiters"].push_back(wj);
    }
    j["findings"] = json::array();
    for (const auto& f : m.walk.findings)
        j["findings"].push_back({{"kind", list_fault_key(f.fault)}, {"text", f.describe()}});
    return j;
}

int run_lock_command(Kernel& k, const std::string& command, addr_t mutex, bool with_chain, bool as_json,
                     Output& out) {
    Snapshot s(k, TaskScope::Referenced);
    LockReport r = build_lock_report(s, mutex, with_chain);
    if (as_json) {
        json j;
        j["command"] = command;
        j.update(lock_report_json(s, r));
        write_json(out, j);
    } else {
        render_lock_report(s, r, out);
        for (const auto& p : s.walk.problems) out.write("  TASK LIST: " + p + "\n");
    }
    return r.mutex.walk.findings.empty() ? 0 : 1;
}

}  // namespace netdbg
