#include "commands/lock_report.h"

#include <fmt/format.h>

#include "core/table.h"
#include "kernel/locking/rtmutex.h"
#include "kernel/waits/finder.h"

namespace netdbg {

namespace {

const char* kind_type(WaitKind kind) {
    switch (kind) {
        case WaitKind::RwSem: return "struct rw_semaphore";
        case WaitKind::Semaphore: return "struct semaphore";
        default: return "struct mutex";
    }
}

// The wait_list head of each kind, for the "looks like one" check.
std::optional<std::size_t> wait_list_offset(Kernel& k, WaitKind kind) {
    switch (kind) {
        case WaitKind::RwSem: return k.get<RwsemLayout>().wait_list.offset;
        case WaitKind::Semaphore: return k.get<SemaphoreLayout>().wait_list.offset;
        default: {
            const MutexLayout& L = k.get<MutexLayout>();
            return L.wait_list ? std::optional<std::size_t>(L.wait_list->offset) : std::nullopt;
        }
    }
}

std::size_t lock_size(Kernel& k, WaitKind kind) {
    switch (kind) {
        case WaitKind::RwSem: return k.get<RwsemLayout>().s.size();
        case WaitKind::Semaphore: return k.get<SemaphoreLayout>().s.size();
        default: return k.get<MutexLayout>().s.size();
    }
}

std::string waiter_count(std::size_t n) { return fmt::format("{} waiter{}", n, n == 1 ? "" : "s"); }

// What the owner is doing, and what it waits on when it sleeps.
void read_owner(const Snapshot& s, LockReport& r, bool with_chain) {
    Kernel& k = s.k;
    r.owner = s.task(r.lock.first_holder());
    if (!r.owner) return;
    r.owner_worker = task_worker(k, *r.owner);
    StackWords stack;
    CallChain chain;
    bool off_cpu = s.running_cpu(r.owner->addr) < 0;
    if (off_cpu) {
        stack = read_stack(k, *r.owner);
        chain = call_chain(k, *r.owner, stack);
        r.owner_wait_function = wait_function(k, chain.frames);
        BlockerFinder finder(s);
        r.owner_waits_for = finder.find(*r.owner, stack, chain);
    } else if (with_chain) {
        chain = call_chain(k, *r.owner);
    }
    if (with_chain) r.owner_chain = std::move(chain);
}

}  // namespace

std::string LockReport::display_name() const {
    return lock.name.empty() ? fmt::format("{} {:016x}", wait_kind_name(kind), lock.object) : lock.name;
}

LockReport build_lock_report(const Snapshot& s, addr_t addr, WaitKind kind, bool with_chain) {
    Kernel& k = s.k;
    LockReport r;
    r.kind = kind;
    std::vector<std::pair<addr_t, std::string>> waiters;  // task, mode
    switch (kind) {
        case WaitKind::RwSem:
            r.rwsem = read_rwsem(k, addr);
            r.lock = rwsem_blocker(s, *r.rwsem, 0);
            for (const RwsemWaiter& w : r.rwsem->waiters)
                waiters.push_back({w.task, w.read ? (*w.read ? "R" : "W") : "?"});
            break;
        case WaitKind::Semaphore:
            r.semaphore = read_semaphore(k, addr);
            r.lock = semaphore_blocker(s, *r.semaphore);
            for (addr_t t : r.semaphore->waiters.tasks) waiters.push_back({t, ""});
            break;
        default:
            r.kind = WaitKind::Mutex;
            r.mutex = read_mutex(k, addr);
            r.lock = mutex_blocker(*r.mutex);
            for (addr_t t : r.mutex->waiters) waiters.push_back({t, ""});
            break;
    }
    read_owner(s, r, with_chain);
    for (const auto& [w, mode] : waiters) {
        k.check_interrupt();
        LockWaiter lw;
        lw.task_addr = w;
        lw.task = s.task(w);
        lw.mode = mode;
        if (lw.task) {
            CallChain chain = call_chain(k, *lw.task);
            lw.wait_function = wait_function(k, chain.frames);
            // PREEMPT_RT's rt_mutex waiter does not say R or W: its calls do.
            if (lw.mode == "?") {
                RtLockUser user = rt_lock_user(k, chain, 0);
                lw.mode = user == RtLockUser::RwSemRead ? "R" : user == RtLockUser::RwSemWrite ? "W" : "?";
            }
            std::uint64_t blocked = s.since_last_arrival(*lw.task);
            if (!r.held_at_least || blocked > *r.held_at_least) r.held_at_least = blocked;
        }
        r.waiters.push_back(std::move(lw));
    }
    return r;
}

std::string lock_verdict(const Snapshot& s, const LockReport& r) {
    std::string name = r.display_name();
    std::string broken = r.lock.findings.empty() ? "" : "; wait_list damaged";
    std::string waiters = waiter_count(r.waiters.size());
    std::string owner_waits;
    if (r.owner_waits_for)
        owner_waits = fmt::format("; the owner waits for {} ({})", r.owner_waits_for->label(),
                                  blocker_holder_text(s, *r.owner_waits_for));
    if (r.lock.holders.empty()) {
        if (r.kind == WaitKind::Mutex && r.mutex && (r.mutex->flags & MUTEX_FLAG_WAITERS) && !r.mutex->owner)
            return fmt::format("{} has no owner but WAITERS is set; {}{}", name, waiters, broken);
        if (r.kind == WaitKind::Mutex) return fmt::format("{} is not held; {}{}", name, waiters, broken);
        std::string candidates;
        for (const BlockerTask& c : r.lock.candidates)
            candidates += fmt::format("; candidate {}: {}", blocker_task_label(s, c.task), c.role);
        return fmt::format("{}: {}{}; {}{}", name, r.lock.holder_note, candidates, waiters, broken);
    }
    addr_t owner = r.lock.first_holder();
    std::string how = r.kind == WaitKind::RwSem ? "held for write" : "held";
    if (!r.owner)
        return fmt::format("{} {} by {:016x}, which is not a task in the task list; {}{}", name, how, owner, waiters,
                           broken);
    std::string held = r.held_at_least ? " for >= " + format_duration(*r.held_at_least) : "";
    return fmt::format("{} {} by {} (pid {}, {}){}; {}{}{}", name, how, r.owner->comm, r.owner->pid,
                       task_activity(s, *r.owner, r.owner_wait_function), held, waiters, broken, owner_waits);
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

namespace {

void render_lock_line(const LockReport& r, Output& out) {
    std::string name = r.lock.name.empty() ? "-" : r.lock.name;
    if (r.mutex) {
        const MutexState& m = *r.mutex;
        out.write(fmt::format("  MUTEX: {:016x}  NAME: {}  OWNER: {:016x}  FLAGS: {}\n", m.addr, name, m.owner,
                              mutex_flag_names(m.flags)));
    } else if (r.rwsem) {
        const RwsemState& w = *r.rwsem;
        out.write(fmt::format("  RWSEM: {:016x}  NAME: {}  COUNT: {:016x} ({}, {} reader{})  OWNER: {:016x}{}\n",
                              w.addr, name, w.count, rwsem_count_flags(w), w.readers(),
                              w.readers() == 1 ? "" : "s", w.owner_word, w.reader_owned() ? " (READER_OWNED)" : ""));
    } else if (r.semaphore) {
        out.write(fmt::format("  SEMAPHORE: {:016x}  NAME: {}  COUNT: {}\n", r.semaphore->addr, name,
                              r.semaphore->count));
    }
    // A mutex's line says it all (OWNER, FLAGS); the others say what the
    // kernel records of their holders.
    if (!r.mutex && !r.lock.holder_note.empty()) out.write("  HOLDER: " + r.lock.holder_note + "\n");
}

}  // namespace

void render_lock_report(const Snapshot& s, const LockReport& r, Output& out) {
    Kernel& k = s.k;
    out.write(lock_verdict(s, r) + "\n\n");
    render_lock_line(r, out);
    for (const BlockerTask& c : r.lock.candidates)
        out.write(fmt::format("  CANDIDATE: {}: {}\n", blocker_task_label(s, c.task), c.role));
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
        if (r.owner_waits_for)
            out.write(fmt::format("         WAITS FOR: {} ({:016x}): {}\n", r.owner_waits_for->label(),
                                  r.owner_waits_for->object, blocker_holder_text(s, *r.owner_waits_for)));
        if (r.owner_worker && r.owner_worker->current_work) {
            const WorkerInfo& w = *r.owner_worker;
            out.write(fmt::format("   WORK: {:016x}  FUNC: {}  WORKQUEUE: {}\n", w.current_work,
                                  k.symbolize(w.current_func), w.workqueue.empty() ? "-" : w.workqueue));
        }
    }
    for (const auto& f : r.lock.findings) out.write("  FINDING: " + f + "\n");
    if (!r.waiters.empty()) {
        out.write("\n");
        bool modes = r.kind == WaitKind::RwSem;
        std::vector<std::string> head = {">#", ">PID", ">CPU", "ST", "TASK", "COMM", "LAST-ARRIVAL", ">BLOCKED-FOR",
                                         "WAIT-FUNC"};
        if (modes) head.insert(head.begin() + 1, "MODE");
        Table t(head, "  ");
        std::size_t i = 0;
        for (const LockWaiter& w : r.waiters) {
            ++i;
            std::vector<std::string> row;
            if (!w.task) {
                row = {std::to_string(i), "?", "?", "??", fmt::format("{:016x}", w.task_addr), "<not in task list>"};
            } else {
                const Task& tk = *w.task;
                row = {std::to_string(i), std::to_string(tk.pid), std::to_string(tk.cpu), s.state(tk),
                       fmt::format("{:016x}", tk.addr), tk.comm, format_timestamp(tk.last_arrival),
                       format_duration(s.since_last_arrival(tk)), w.wait_function.empty() ? "-" : w.wait_function};
            }
            if (modes) row.insert(row.begin() + 1, w.mode);
            t.row(row);
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
    json j;
    j["verdict"] = lock_verdict(s, r);
    j["now_ns"] = s.now;
    j["kind"] = wait_kind_key(r.kind);
    json lock = {{"address", hex(r.lock.object)}, {"name", r.lock.name}};
    if (r.mutex) {
        lock["owner"] = hex(r.mutex->owner);
        lock["flags"] = mutex_flag_names(r.mutex->flags);
    }
    lock.update(r.lock.fields);
    lock["waiter_count"] = r.waiters.size();
    lock["holder"] = blocker_holder_text(s, r.lock);
    j[wait_kind_key(r.kind)] = lock;
    if (r.owner) {
        json o = task_json(s, *r.owner);
        o["wait_function"] = r.owner_wait_function;
        o["waits_for"] = r.owner_waits_for ? blocker_json(s, *r.owner_waits_for) : json(nullptr);
        if (r.owner_worker && r.owner_worker->current_work)
            o["work"] = {{"address", hex(r.owner_worker->current_work)},
                         {"function", k.symbolize(r.owner_worker->current_func)},
                         {"workqueue", r.owner_worker->workqueue}};
        if (r.owner_chain) o["call_chain"] = call_chain_json(k, *r.owner_chain);
        j["owner"] = o;
    } else {
        j["owner"] = nullptr;
    }
    j["candidates"] = json::array();
    for (const BlockerTask& c : r.lock.candidates) {
        const Task* t = s.task(c.task);
        j["candidates"].push_back(
            {{"task", hex(c.task)}, {"pid", t ? json(t->pid) : json(nullptr)}, {"why", c.role}});
    }
    j["held_for_at_least_ns"] = r.held_at_least ? json(*r.held_at_least) : json(nullptr);
    j["waiters"] = json::array();
    for (const LockWaiter& w : r.waiters) {
        json wj = w.task ? task_json(s, *w.task) : json{{"task", hex(w.task_addr)}, {"pid", nullptr}};
        wj["wait_function"] = w.wait_function;
        if (!w.mode.empty()) wj["mode"] = w.mode;
        j["waiters"].push_back(wj);
    }
    j["findings"] = json::array();
    const ListWalk* walk = r.mutex ? &r.mutex->walk : r.rwsem ? &r.rwsem->walk : &r.semaphore->waiters.walk;
    for (const auto& f : walk->findings)
        j["findings"].push_back({{"kind", list_fault_key(f.fault)}, {"text", f.describe()}});
    return j;
}

int run_lock_command(Kernel& k, const std::string& command, addr_t lock, WaitKind kind, bool with_chain,
                     bool as_json, Output& out) {
    Snapshot s(k, TaskScope::Referenced);
    LockReport r = build_lock_report(s, lock, kind, with_chain);
    if (as_json) {
        json j;
        j["command"] = command;
        j.update(lock_report_json(s, r));
        write_json(out, j);
    } else {
        render_lock_report(s, r, out);
        for (const auto& p : s.walk.problems) out.write("  TASK LIST: " + p + "\n");
    }
    return r.lock.findings.empty() ? 0 : 1;
}

std::pair<addr_t, WaitKind> resolve_lock_argument(Kernel& k, const std::string& arg, WaitKind fallback) {
    Target& t = k.target();
    addr_t addr;
    WaitKind kind = fallback;
    bool typed = false;  // the debug info says what it is
    if (auto a = t.symbol_address(arg)) {
        if (auto type = t.symbol_type(arg)) {
            if (*type == "struct mutex") kind = WaitKind::Mutex;
            else if (*type == "struct rw_semaphore") kind = WaitKind::RwSem;
            else if (*type == "struct semaphore") kind = WaitKind::Semaphore;
            else throw Error(fmt::format("{} is not a struct mutex, rw_semaphore or semaphore (it is {})", arg, *type));
            typed = true;
        }
        addr = *a;
    } else {
        char* end = nullptr;
        std::string digits = arg.rfind("0x", 0) == 0 ? arg.substr(2) : arg;
        unsigned long long v = std::strtoull(digits.c_str(), &end, 16);
        if (digits.empty() || *end != '\0')
            throw Error(fmt::format("{}: no such symbol, and not a hex address (for a module's lock, load its "
                                    "symbols first: mod -s MODULE file.ko)",
                                    arg));
        addr = v;
    }
    std::vector<std::uint8_t> bytes(lock_size(k, kind));
    if (!k.mem().read(addr, bytes.data(), bytes.size()))
        throw Error(fmt::format("{}: cannot read a {} at {:016x}{}", arg, kind_type(kind), addr,
                                k.mem().unreadable_note(addr)));
    // An untyped address must look like one: its wait_list an initialised
    // list. A typed symbol is one even with a corrupted wait_list: the walk
    // reports the damage as findings.
    auto off = wait_list_offset(k, kind);
    if (off && !typed) {
        addr_t head = addr + *off;
        auto next = k.mem().read_u64(head);
        auto prev = k.mem().read_u64(head + 8);
        auto next_prev = next ? k.mem().read_u64(*next + 8) : std::nullopt;
        auto prev_next = prev ? k.mem().read_u64(*prev) : std::nullopt;
        if (!next_prev || !prev_next || *next_prev != head || *prev_next != head)
            throw Error(fmt::format("{}: {:016x} does not look like a {} (wait_list is not a valid list)", arg, addr,
                                    kind_type(kind)));
    }
    return {addr, kind};
}

}  // namespace netdbg
