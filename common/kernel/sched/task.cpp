#include "kernel/sched/task.h"

#include <algorithm>

#include <fmt/format.h>

#include "kernel/sched/runqueue.h"

namespace netdbg {

namespace {
// include/linux/sched.h
constexpr std::uint64_t TASK_UNINTERRUPTIBLE = 0x2;
constexpr std::uint64_t TASK_NOLOAD = 0x400;
constexpr std::uint64_t TASK_IDLE = TASK_UNINTERRUPTIBLE | TASK_NOLOAD;
constexpr std::uint64_t TASK_RTLOCK_WAIT = 0x1000;
}  // namespace

TaskLayout::TaskLayout(Kernel& k) : s(k.target(), "task_struct") {
    Target& t = k.target();
    tasks = s.require("tasks");
    pid = s.require("pid");
    tgid = s.require("tgid");
    comm = s.require("comm");
    state = s.require_any({"__state", "state"});
    exit_state = s.require("exit_state");
    flags = s.require("flags");
    stack = s.require("stack");
    if (auto c = s.find("cpu")) {
        cpu = *c;
    } else {
        // 5.16+: thread_info.cpu when THREAD_INFO_IN_TASK.
        MemberInfo ti = s.require("thread_info");
        StructLayout til(t, "thread_info");
        MemberInfo c2 = til.require("cpu");
        cpu = {ti.offset + c2.offset, c2.size};
    }
    MemberInfo thread = s.require("thread");
    thread_sp = thread.offset + StructLayout(t, "thread_struct").offset("sp");
    on_cpu = s.find("on_cpu");
    if (auto si = s.find("sched_info")) {
        if (auto la = StructLayout(t, "sched_info").find("last_arrival"))
            last_arrival = MemberInfo{si->offset + la->offset, la->size};
    }
    last_switch_time = s.find("last_switch_time");
    signal = s.find("signal");
    thread_node = s.find("thread_node");
    thread_group = s.find("thread_group");
    if (thread_node && signal)
        signal_thread_head = StructLayout(t, "signal_struct").offset("thread_head");
    else if (!thread_group)
        throw LayoutError("layout: struct task_struct has neither 'thread_node' nor 'thread_group'");
    kthread_ptr = s.find("worker_private");
    if (!kthread_ptr) kthread_ptr = s.find("set_child_tid");

    for (const MemberInfo& m : {tasks, pid, tgid, comm, state, exit_state, flags, stack, cpu}) span.add(m);
    span.add(thread_sp, 8);
    for (const auto& m : {on_cpu, last_arrival, last_switch_time, signal, thread_node, thread_group, kthread_ptr})
        if (m) span.add(*m);
}

std::optional<Task> read_task(Kernel& k, addr_t addr) {
    const TaskLayout& L = k.get<TaskLayout>();
    auto o = Object::read(k.mem(), addr, L.span.end, L.span.begin);
    if (!o) return std::nullopt;
    Task t;
    t.addr = addr;
    t.pid = static_cast<int>(o->uint(L.pid.offset, L.pid.size));
    t.tgid = static_cast<int>(o->uint(L.tgid.offset, L.tgid.size));
    t.comm = o->cstring(L.comm.offset, L.comm.size);
    t.state = o->uint(L.state.offset, L.state.size);
    t.exit_state = o->uint(L.exit_state.offset, L.exit_state.size);
    t.flags = static_cast<std::uint32_t>(o->uint(L.flags.offset, L.flags.size));
    t.stack = o->u64(L.stack.offset);
    t.sp = o->u64(L.thread_sp);
    t.cpu = static_cast<int>(o->uint(L.cpu.offset, L.cpu.size));
    if (L.on_cpu) t.on_cpu = o->uint(L.on_cpu->offset, L.on_cpu->size) != 0;
    if (L.last_arrival) t.last_arrival = o->uint(L.last_arrival->offset, L.last_arrival->size);
    if (L.last_switch_time) t.last_switch_time = o->uint(L.last_switch_time->offset, L.last_switch_time->size);
    if (L.kthread_ptr && (t.flags & PF_KTHREAD)) t.kthread_ptr = o->u64(L.kthread_ptr->offset);
    return t;
}

TaskWalk for_each_task(Kernel& k, std::size_t max) {
    const TaskLayout& L = k.get<TaskLayout>();
    TaskWalk out;
    addr_t init_task = k.symbol("init_task");
    auto add = [&](addr_t addr) {
        if (auto t = read_task(k, addr)) {
            out.tasks.push_back(std::move(*t));
            return true;
        }
        out.problems.push_back(fmt::format("task {:016x}: unreadable", addr));
        return false;
    };
    auto report = [&](const ListWalk& w, const std::string& what) {
        for (const auto& f : w.findings) out.problems.push_back(what + ": " + f.describe());
    };

    add(init_task);
    if (!out.tasks.empty()) out.tasks.back().idle_task = true;
    std::vector<addr_t> leaders;
    ListWalk procs = walk_list(k, init_task + L.tasks.offset, max, [&](addr_t node) {
        leaders.push_back(node - L.tasks.offset);
        return true;
    });
    leaders.resize(std::min(leaders.size(), procs.count));
    report(procs, "init_task.tasks");

    for (addr_t leader : leaders) {
        k.check_interrupt();
        if (!add(leader)) continue;
        const Task& lt = out.tasks.back();
        if (L.thread_node) {
            auto sig = k.mem().read_u64(leader + L.signal->offset);
            if (!sig || *sig == 0) continue;  // exited, signal already released
            addr_t head = *sig + L.signal_thread_head;
            std::vector<addr_t> threads;
            ListWalk tw = walk_list(k, head, max, [&](addr_t node) {
                threads.push_back(node - L.thread_node->offset);
                return true;
            });
            threads.resize(std::min(threads.size(), tw.count));
            report(tw, fmt::format("threads of pid {}", lt.pid));
            for (addr_t th : threads)
                if (th != leader) add(th);
        } else {
            // thread_group is a ring through the threads without a separate head.
            std::vector<addr_t> threads;
            ListWalk tw = walk_list(k, leader + L.thread_group->offset, max, [&](addr_t node) {
                threads.push_back(node - L.thread_group->offset);
                return true;
            });
            threads.resize(std::min(threads.size(), tw.count));
            report(tw, fmt::format("threads of pid {}", lt.pid));
            for (addr_t th : threads) add(th);
        }
        if (out.tasks.size() > max) {
            out.problems.push_back(fmt::format("stopped after {} tasks (--max)", max));
            break;
        }
    }

    for (const RunQueue& rq : runqueues(k)) {
        if (rq.idle && rq.idle != init_task && add(rq.idle)) out.tasks.back().idle_task = true;
    }
    return out;
}

bool task_is_listed(Kernel& k, const Task& t, const std::vector<addr_t>& idle_tasks) {
    if (t.pid == 0) return std::find(idle_tasks.begin(), idle_tasks.end(), t.addr) != idle_tasks.end();
    const TaskLayout& L = k.get<TaskLayout>();
    std::size_t link = L.tasks.offset;
    if (t.pid != t.tgid) link = L.thread_node ? L.thread_node->offset : L.thread_group->offset;
    addr_t node = t.addr + link;
    auto next = k.mem().read_u64(node);
    if (!next || *next == node) return false;
    auto back = k.mem().read_u64(*next + 8);
    return back && *back == node;
}

TaskIndex::TaskIndex(const std::vector<Task>& tasks) {
    by_addr_.reserve(tasks.size());
    for (const Task& t : tasks) by_addr_.emplace(t.addr, &t);
}

const Task* TaskIndex::find(addr_t addr) const {
    auto it = by_addr_.find(addr);
    return it == by_addr_.end() ? nullptr : it->second;
}

TaskStates::TaskStates(Kernel& k) {
    Target& t = k.target();
    auto arr = t.symbol_address("task_state_array");
    auto n = t.array_length("task_state_array");
    if (arr && n && *n >= 3 && *n <= 16) {
        std::string letters;
        for (std::size_t i = 0; i < *n; ++i) {
            auto p = k.mem().read_u64(*arr + 8 * i);
            auto s = p ? k.mem().read_cstring(*p, 2) : std::nullopt;
            if (!s || s->empty()) {
                letters.clear();
                break;
            }
            letters.push_back((*s)[0]);
        }
        if (!letters.empty()) letters_ = letters;
    }
    if (letters_.empty()) letters_ = "RSDTtXZPI";
    // The last letter is TASK_REPORT_IDLE = TASK_REPORT + 1 when it is 'I'.
    std::size_t bits = letters_.back() == 'I' ? letters_.size() - 2 : letters_.size() - 1;
    report_ = (std::uint64_t{1} << bits) - 1;
}

// __task_state_index() since the 6.1 freezer rewrite: TASK_IDLE may carry
// TASK_FREEZABLE and still reports as I.
bool TaskStates::idle(const Task& t) const { return (t.state & TASK_IDLE) == TASK_IDLE; }

char TaskStates::letter(const Task& t) const {
    // fs/proc/array.c:task_state() via __task_state_index().
    std::uint64_t state = (t.state | t.exit_state) & report_;
    if (idle(t) && letters_.back() == 'I') return 'I';
    if (t.state == TASK_RTLOCK_WAIT) return 'D';  // reported as rt_mutex_lock() sleep
    int index = 0;
    while (state) {
        ++index;
        state >>= 1;
    }
    return index < static_cast<int>(letters_.size()) ? letters_[index] : '?';
}

bool TaskStates::uninterruptible(const Task& t, bool include_idle) const {
    if (t.exit_state) return false;
    if (idle(t)) return include_idle;
    return letter(t) == 'D';
}

const char* state_name(char letter) {
    switch (letter) {
        case 'R': return "RU";
        case 'S': return "IN";
        case 'D': return "UN";
        case 'T': return "ST";
        case 't': return "TR";
        case 'X': return "DE";
        case 'Z': return "ZO";
        case 'P': return "PA";
        case 'I': return "ID";
        default: return "??";
    }
}

}  // namespace netdbg
