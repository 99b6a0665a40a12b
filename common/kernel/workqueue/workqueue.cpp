#include "kernel/workqueue/workqueue.h"

#include <unordered_set>

#include <fmt/format.h>

#include "kernel/lib/list.h"

namespace netdbg {

WorkerLayout::WorkerLayout(Kernel& k) {
    Target& t = k.target();
    kthread_data = StructLayout(t, "kthread").offset("data");
    StructLayout w(t, "worker");
    current_work = w.require("current_work");
    current_func = w.require("current_func");
    current_pwq = w.find("current_pwq");
    desc = w.find("desc");
    if (current_pwq) {
        pwq_wq = StructLayout(t, "pool_workqueue").offset("wq");
        MemberInfo name = StructLayout(t, "workqueue_struct").require("name");
        wq_name = name.offset;
        wq_name_size = name.size;
    }
}

std::optional<WorkerInfo> task_worker(Kernel& k, const Task& t) {
    if (!(t.flags & PF_WQ_WORKER) || !t.kthread_ptr) return std::nullopt;
    const WorkerLayout& L = k.get<WorkerLayout>();
    Memory& mem = k.mem();
    auto worker = mem.read_u64(t.kthread_ptr + L.kthread_data);
    if (!worker || !*worker) return std::nullopt;
    WorkerInfo w;
    w.worker = *worker;
    w.current_work = mem.read_u64(*worker + L.current_work.offset).value_or(0);
    w.current_func = mem.read_u64(*worker + L.current_func.offset).value_or(0);
    if (L.desc) w.desc = mem.read_cstring(*worker + L.desc->offset, L.desc->size).value_or("");
    if (L.current_pwq && w.current_work) {
        auto pwq = mem.read_u64(*worker + L.current_pwq->offset);
        auto wq = pwq && *pwq ? mem.read_u64(*pwq + L.pwq_wq) : std::nullopt;
        if (wq && *wq) w.workqueue = mem.read_cstring(*wq + L.wq_name, L.wq_name_size).value_or("");
    }
    return w;
}

// ------------------------------------------------------------- work items

WorkLayout::WorkLayout(Kernel& k) : s(k.target(), "work_struct") {
    Target& t = k.target();
    data = s.require("data");
    entry = s.require("entry");
    func = s.require("func");
    auto bit = [&](const char* name, std::uint64_t fallback) {
        auto v = t.enum_value(name);
        return v && *v >= 0 && *v < 64 ? std::uint64_t{1} << *v : fallback;
    };
    pending = bit("WORK_STRUCT_PENDING_BIT", pending);
    inactive = bit("WORK_STRUCT_INACTIVE_BIT", bit("WORK_STRUCT_DELAYED_BIT", inactive));
    pwq = bit("WORK_STRUCT_PWQ_BIT", pwq);
    linked = bit("WORK_STRUCT_LINKED_BIT", linked);
    // WORK_STRUCT_FLAG_BITS (up to 6.8), WORK_STRUCT_PWQ_SHIFT (6.9+).
    for (const char* name : {"WORK_STRUCT_PWQ_SHIFT", "WORK_STRUCT_FLAG_BITS"}) {
        auto v = t.enum_value(name);
        if (v && *v > 0 && *v < 16) {
            flag_bits = static_cast<unsigned>(*v);
            break;
        }
    }
}

addr_t WorkLayout::pwq_of(std::uint64_t d) const {
    if (!(d & pwq)) return 0;
    return d & ~((std::uint64_t{1} << flag_bits) - 1);
}

Work read_work(Kernel& k, addr_t addr) {
    const WorkLayout& L = k.get<WorkLayout>();
    Work w;
    w.addr = addr;
    auto o = Object::read(k.mem(), addr, L.s.size());
    if (!o) return w;
    w.readable = true;
    w.data = o->u64(L.data.offset);
    w.func = o->u64(L.func.offset);
    w.pwq = L.pwq_of(w.data);
    w.poison = poison_byte(o->data(0, L.s.size()), L.s.size());
    return w;
}

std::string work_flags(const WorkLayout& L, std::uint64_t data) {
    std::string out;
    for (auto [mask, name] : {std::pair{L.pending, "PENDING"}, std::pair{L.inactive, "INACTIVE"},
                              std::pair{L.pwq, "PWQ"}, std::pair{L.linked, "LINKED"}}) {
        if (!(data & mask)) continue;
        if (!out.empty()) out += '|';
        out += name;
    }
    return out.empty() ? "-" : out;
}

// ------------------------------------------------------------------ pools

WorkqueueLayout::WorkqueueLayout(Kernel& k) : pool(k.target(), "worker_pool") {
    Target& t = k.target();
    p_cpu = pool.require("cpu");
    p_id = pool.require("id");
    p_flags = pool.require("flags");
    p_watchdog_ts = pool.require("watchdog_ts");
    p_nr_running = pool.require("nr_running");
    p_worklist = pool.require("worklist");
    p_nr_workers = pool.require("nr_workers");
    p_nr_idle = pool.require("nr_idle");
    p_busy_hash = pool.require("busy_hash");
    p_hash_node = pool.require("hash_node");
    p_node = pool.find("node");
    p_attrs = pool.find("attrs");
    if (p_attrs)
        if (auto nice = StructLayout(t, "workqueue_attrs").find("nice")) attrs_nice = nice->offset;
    for (const MemberInfo& m : {p_cpu, p_id, p_flags, p_watchdog_ts, p_nr_running, p_worklist, p_nr_workers, p_nr_idle,
                                p_busy_hash, p_hash_node})
        pool_span.add(m);
    for (const auto& m : {p_node, p_attrs})
        if (m) pool_span.add(*m);

    StructLayout w(t, "worker");
    if (auto h = w.find("hentry")) w_hentry = h->offset;
    else if (auto e = w.find("entry")) w_hentry = e->offset;  // the union's offset
    w_current_work = w.require("current_work");
    w_current_func = w.require("current_func");
    w_scheduled = w.require("scheduled");
    w_task = w.require("task");
    w_current_pwq = w.find("current_pwq");
    w_desc = w.find("desc");
    w_last_active = w.find("last_active");
    for (const MemberInfo& m : {w_current_work, w_current_func, w_scheduled, w_task}) worker_span.add(m);
    for (const auto& m : {w_current_pwq, w_desc, w_last_active})
        if (m) worker_span.add(*m);

    StructLayout p(t, "pool_workqueue");
    pwq_pool = p.require("pool");
    pwq_wq = p.require("wq");
    pwq_inactive = p.require_any({"inactive_works", "delayed_works"});
    pwq_node = p.require("pwqs_node");
    pwq_nr_active = p.find("nr_active");
    pwq_max_active = p.find("max_active");
    for (const MemberInfo& m : {pwq_pool, pwq_wq, pwq_inactive, pwq_node}) pwq_span.add(m);

    StructLayout q(t, "workqueue_struct");
    wq_pwqs = q.require("pwqs");
    wq_list = q.require("list");
    wq_name = q.require("name");
    wq_flags = q.find("flags");
    for (const MemberInfo& m : {wq_pwqs, wq_list, wq_name}) wq_span.add(m);
    if (wq_flags) wq_span.add(*wq_flags);

    cpu_worker_pools = k.symbol("cpu_worker_pools");
    if (auto n = t.array_length("cpu_worker_pools")) nr_std_pools = *n;
    else if (auto e = t.enum_value("NR_STD_WORKER_POOLS"); e && *e > 0) nr_std_pools = static_cast<std::size_t>(*e);
    workqueues = k.try_symbol("workqueues");
    unbound_pool_hash = k.try_symbol("unbound_pool_hash");
    if (unbound_pool_hash) unbound_hash_size = t.array_length("unbound_pool_hash").value_or(64);
}

std::string WorkerPool::label() const {
    if (cpu < 0) return highpri ? "unbound H" : "unbound";
    return fmt::format("cpu {}{}", cpu, highpri ? " H" : "");
}

const char* work_list_name(WorkList w) {
    switch (w) {
        case WorkList::Worklist: return "worklist";
        case WorkList::Scheduled: return "scheduled";
        case WorkList::Inactive: return "inactive";
    }
    return "?";
}

std::optional<WorkerPool> read_worker_pool(Kernel& k, addr_t addr) {
    const WorkqueueLayout& L = k.get<WorkqueueLayout>();
    auto o = Object::read(k.mem(), addr, L.pool_span.end, L.pool_span.begin);
    if (!o) return std::nullopt;
    auto sint = [&](const MemberInfo& m) {
        return static_cast<int>(static_cast<std::int32_t>(o->uint(m.offset, m.size)));
    };
    WorkerPool p;
    p.addr = addr;
    p.id = sint(L.p_id);
    p.cpu = sint(L.p_cpu);
    if (L.p_node) p.node = sint(*L.p_node);
    p.flags = static_cast<std::uint32_t>(o->uint(L.p_flags.offset, L.p_flags.size));
    p.watchdog_ts = o->u64(L.p_watchdog_ts.offset);
    p.nr_running = sint(L.p_nr_running);
    p.nr_workers = sint(L.p_nr_workers);
    p.nr_idle = sint(L.p_nr_idle);
    if (L.p_attrs && L.attrs_nice) {
        addr_t attrs = o->u64(L.p_attrs->offset);
        if (attrs) {
            if (auto nice = k.mem().read_u32(attrs + *L.attrs_nice)) p.nice = static_cast<std::int32_t>(*nice);
        }
    }
    p.highpri = p.nice < 0;
    return p;
}

std::string pwq_workqueue_name(Kernel& k, addr_t pwq) {
    const WorkqueueLayout& L = k.get<WorkqueueLayout>();
    if (!pwq) return "";
    auto wq = k.mem().read_u64(pwq + L.pwq_wq.offset);
    if (!wq || !*wq) return "";
    return k.mem().read_cstring(*wq + L.wq_name.offset, L.wq_name.size).value_or("");
}

std::vector<Workqueue> for_each_workqueue(Kernel& k, std::vector<std::string>& problems, std::size_t max) {
    const WorkqueueLayout& L = k.get<WorkqueueLayout>();
    std::vector<Workqueue> out;
    if (!L.workqueues) {
        problems.push_back("symbol 'workqueues' not found: no workqueue list");
        return out;
    }
    ListWalk w = walk_list(k, *L.workqueues, max, [&](addr_t node) {
        k.check_interrupt();
        Workqueue q;
        q.addr = node - L.wq_list.offset;
        auto o = Object::read(k.mem(), q.addr, L.wq_span.end, L.wq_span.begin);
        if (!o) {
            problems.push_back(fmt::format("workqueue {:016x}: unreadable", q.addr));
            return true;
        }
        q.name = o->cstring(L.wq_name.offset, L.wq_name.size);
        if (L.wq_flags) q.flags = static_cast<std::uint32_t>(o->uint(L.wq_flags->offset, L.wq_flags->size));
        ListWalk pw = walk_list(k, q.addr + L.wq_pwqs.offset, max, [&](addr_t pnode) {
            q.pwqs.push_back(pnode - L.pwq_node.offset);
            return true;
        });
        if (q.pwqs.size() > pw.count) q.pwqs.resize(pw.count);
        for (const auto& f : pw.findings)
            problems.push_back(fmt::format("workqueue {} pwqs: {}", q.name, f.describe()));
        out.push_back(std::move(q));
        return true;
    });
    if (out.size() > w.count) out.resize(w.count);
    for (const auto& f : w.findings) problems.push_back("workqueues list: " + f.describe());
    return out;
}

std::vector<WorkerPool> for_each_worker_pool(Kernel& k, const std::vector<Workqueue>& wqs,
                                             std::vector<std::string>& problems, std::size_t max) {
    const WorkqueueLayout& L = k.get<WorkqueueLayout>();
    std::vector<WorkerPool> out;
    std::unordered_set<addr_t> seen;
    auto add = [&](addr_t addr, int std_index, const std::string& via) {
        if (!addr || !seen.insert(addr).second) return;
        auto p = read_worker_pool(k, addr);
        if (!p) {
            problems.push_back(fmt::format("worker_pool {:016x} ({}): unreadable", addr, via));
            return;
        }
        p->std_index = std_index;
        if (std_index >= 0 && !L.p_attrs) p->highpri = std_index == 1;
        out.push_back(*p);
    };
    int n = k.target().cpu_count();
    for (int cpu = 0; cpu < n; ++cpu) {
        auto off = k.target().per_cpu_offset(cpu);
        if (!off) continue;
        for (std::size_t i = 0; i < L.nr_std_pools; ++i)
            add(L.cpu_worker_pools + *off + i * L.pool.size(), static_cast<int>(i),
                fmt::format("cpu_worker_pools[{}] of CPU {}", i, cpu));
    }
    for (const Workqueue& q : wqs) {
        for (addr_t pwq : q.pwqs) {
            auto pool = k.mem().read_u64(pwq + L.pwq_pool.offset);
            if (!pool) {
                problems.push_back(fmt::format("pool_workqueue {:016x} of {}: unreadable", pwq, q.name));
                continue;
            }
            add(*pool, -1, "pwq of " + q.name);
        }
    }
    if (L.unbound_pool_hash) {
        for (std::size_t b = 0; b < L.unbound_hash_size; ++b) {
            HlistWalk w = walk_hlist(k, *L.unbound_pool_hash + 8 * b, max, [&](addr_t node) {
                add(node - L.p_hash_node.offset, -1, "unbound_pool_hash");
                return true;
            });
            for (const auto& f : w.findings)
                problems.push_back(fmt::format("unbound_pool_hash[{}]: {}", b, f.describe()));
        }
    }
    return out;
}

namespace {

// The works of one list (pool->worklist, worker->scheduled, pwq->inactive_works).
void for_each_work_on(Kernel& k, addr_t head, std::size_t max, const std::string& what, QueuedWork proto,
                      WorkqueueState& st) {
    const WorkLayout& W = k.get<WorkLayout>();
    std::size_t first = st.pending.size();
    ListWalk w = walk_list(k, head, max, [&](addr_t node) {
        QueuedWork q = proto;
        q.work = read_work(k, node - W.entry.offset);
        q.workqueue = pwq_workqueue_name(k, q.work.pwq);
        st.pending.push_back(std::move(q));
        return true;
    });
    if (st.pending.size() - first > w.count) st.pending.resize(first + w.count);
    for (const auto& f : w.findings) st.problems.push_back(what + ": " + f.describe());
}

std::optional<BusyWorker> read_busy_worker(Kernel& k, addr_t worker, addr_t pool) {
    const WorkqueueLayout& L = k.get<WorkqueueLayout>();
    auto o = Object::read(k.mem(), worker, L.worker_span.end, L.worker_span.begin);
    if (!o) return std::nullopt;
    BusyWorker b;
    b.worker = worker;
    b.pool = pool;
    b.task = o->u64(L.w_task.offset);
    b.current_work = o->u64(L.w_current_work.offset);
    b.current_func = o->u64(L.w_current_func.offset);
    if (L.w_current_pwq) {
        b.current_pwq = o->u64(L.w_current_pwq->offset);
        b.workqueue = pwq_workqueue_name(k, b.current_pwq);
    }
    if (L.w_desc) b.desc = o->cstring(L.w_desc->offset, L.w_desc->size);
    if (L.w_last_active) b.last_active = o->u64(L.w_last_active->offset);
    return b;
}

void pool_for_each_busy_worker(Kernel& k, const WorkerPool& p, std::size_t max, WorkqueueState& st) {
    const WorkqueueLayout& L = k.get<WorkqueueLayout>();
    std::size_t buckets = L.p_busy_hash.size / 8;
    for (std::size_t b = 0; b < buckets; ++b) {
        addr_t head = p.addr + L.p_busy_hash.offset + 8 * b;
        HlistWalk w = walk_hlist(k, head, max, [&](addr_t node) {
            addr_t worker = node - L.w_hentry;
            if (auto bw = read_busy_worker(k, worker, p.addr)) {
                st.busy.push_back(std::move(*bw));
                QueuedWork proto;
                proto.list = WorkList::Scheduled;
                proto.pool = p.addr;
                proto.worker = worker;
                for_each_work_on(k, worker + L.w_scheduled.offset, max,
                                 fmt::format("worker {:016x} scheduled", worker), proto, st);
            } else {
                st.problems.push_back(fmt::format("worker {:016x} in pool {}: unreadable", worker, p.id));
            }
            return true;
        });
        for (const auto& f : w.findings)
            st.problems.push_back(fmt::format("pool {} busy_hash[{}]: {}", p.id, b, f.describe()));
    }
}

}  // namespace

WorkqueueState read_workqueue_state(Kernel& k, std::size_t max) {
    const WorkqueueLayout& L = k.get<WorkqueueLayout>();
    WorkqueueState st;
    st.workqueues = for_each_workqueue(k, st.problems, max);
    st.pools = for_each_worker_pool(k, st.workqueues, st.problems, max);
    for (const WorkerPool& p : st.pools) {
        k.check_interrupt();
        QueuedWork proto;
        proto.pool = p.addr;
        for_each_work_on(k, p.addr + L.p_worklist.offset, max, fmt::format("pool {} worklist", p.id), proto, st);
        pool_for_each_busy_worker(k, p, max, st);
    }
    for (const Workqueue& q : st.workqueues) {
        for (addr_t pwq : q.pwqs) {
            QueuedWork proto;
            proto.list = WorkList::Inactive;
            proto.list_pwq = pwq;
            proto.pool = k.mem().read_u64(pwq + L.pwq_pool.offset).value_or(0);
            for_each_work_on(k, pwq + L.pwq_inactive.offset, max,
                             fmt::format("workqueue {} pwq {:016x} inactive", q.name, pwq), proto, st);
        }
    }
    return st;
}

// ----------------------------------------------------------- delayed works

DelayedWorkLayout::DelayedWorkLayout(Kernel& k) {
    StructLayout d(k.target(), "delayed_work");
    work = d.require("work");
    timer = d.require("timer");
    wq = d.require("wq");
    cpu = d.require("cpu");
    timer_fn = k.try_symbol("delayed_work_timer_fn");
}

std::vector<DelayedWork> delayed_works(Kernel& k, const TimerWalk& timers) {
    const DelayedWorkLayout& L = k.get<DelayedWorkLayout>();
    const WorkqueueLayout& Q = k.get<WorkqueueLayout>();
    std::vector<DelayedWork> out;
    if (!L.timer_fn) return out;
    for (const PendingTimer& t : timers.timers) {
        if (t.function != *L.timer_fn) continue;
        DelayedWork d;
        d.timer = t;
        d.dwork = t.timer - L.timer.offset;
        d.work = read_work(k, d.dwork + L.work.offset);
        d.wq = k.mem().read_u64(d.dwork + L.wq.offset).value_or(0);
        if (d.wq) d.workqueue = k.mem().read_cstring(d.wq + Q.wq_name.offset, Q.wq_name.size).value_or("");
        if (auto c = k.mem().read_u32(d.dwork + L.cpu.offset)) d.target_cpu = static_cast<std::int32_t>(*c);
        out.push_back(std::move(d));
    }
    return out;
}

}  // namespace netdbg
