#include "kernel/rcu/rcu_wait.h"

#include <algorithm>
#include <unordered_map>

#include <fmt/format.h>

#include "kernel/sched/runqueue.h"
#include "kernel/sched/snapshot.h"
#include "kernel/waits/object_cache.h"

namespace netdbg {

namespace {

std::string cpu_list(const std::vector<int>& cpus) {
    std::string out;
    for (int c : cpus) out += (out.empty() ? "" : ", ") + std::to_string(c);
    return out;
}

json task_ref(const Snapshot& s, addr_t task) {
    const Task* t = task ? s.task(task) : nullptr;
    return {{"task", task ? json(hex(task)) : json(nullptr)}, {"pid", t ? json(t->pid) : json(nullptr)}};
}

const RcuNode* node_at(const RcuState& st, int index) {
    for (const RcuNode& n : st.nodes)
        if (n.index == index) return &n;
    return nullptr;
}

std::string node_text(const RcuState& st, int index) {
    const RcuNode* n = node_at(st, index);
    if (!n) return fmt::format("rcu_node {}", index);
    return fmt::format("rcu_node {} (CPUs {}-{})", index, n->grplo, n->grphi);
}

// The grace period itself: its number, how long it has run, the
// grace-period kthread.
void add_grace_period(const Snapshot& s, const RcuState& st, Blocker& b) {
    if (st.gp_in_progress()) {
        std::string line = fmt::format("grace period gp_seq {} in progress", st.gp_seq_signed());
        if (auto ns = st.gp_age_ns())
            line += fmt::format(" for {} (since jiffies {})", format_duration(*ns), *st.gp_start);
        else if (auto j = st.gp_age_jiffies())
            line += fmt::format(" for {} jiffies (since jiffies {})", *j, *st.gp_start);
        else if (st.gp_start)
            line += fmt::format(" (gp_start jiffies {})", *st.gp_start);
        b.details.push_back(line);
    } else {
        b.details.push_back(fmt::format("no grace period in progress (gp_seq {})", st.gp_seq_signed()));
    }
    if (st.gp_kthread) {
        std::string state = rcu_gp_state_text(st);
        b.details.push_back(fmt::format("grace-period kthread {}{}", blocker_task_label(s, st.gp_kthread),
                                        state.empty() ? "" : ", " + state));
    }
    for (const RcuNode& n : st.nodes)
        if (st.gp_in_progress() && n.leaf && n.gp_seq != st.gp_seq)
            b.details.push_back(fmt::format("{} is not yet initialised for this grace period (its gp_seq {})",
                                            node_text(st, n.index), static_cast<std::int64_t>(n.gp_seq)));
}

// The CPUs that have not reported a quiescent state: the task current on
// each holds the grace period up (an idle CPU is listed, never a holder).
json add_pending_cpus(const Snapshot& s, const RcuState& st, Blocker& b, std::vector<int>& idle_cpus) {
    std::unordered_map<int, addr_t> curr;
    for (const auto& [task, cpu] : s.running) curr[cpu] = task;
    json cpus = json::array();
    for (int cpu : st.cpus_pending()) {
        std::string what = fmt::format("CPU {} has not reported a quiescent state", cpu);
        auto it = curr.find(cpu);
        if (it == curr.end()) {
            b.details.push_back(what + " (its current task is unknown)");
            idle_cpus.push_back(cpu);
            cpus.push_back({{"cpu", cpu}, {"task", nullptr}, {"pid", nullptr}, {"idle", nullptr}});
            continue;
        }
        addr_t task = it->second;
        bool idle = std::find(s.idle_tasks.begin(), s.idle_tasks.end(), task) != s.idle_tasks.end();
        json j = {{"cpu", cpu}};
        j.update(task_ref(s, task));
        j["idle"] = idle;
        cpus.push_back(j);
        if (idle) {
            b.details.push_back(what + ": idle");
            idle_cpus.push_back(cpu);
        } else {
            b.details.push_back(fmt::format("{}: running {}", what, blocker_task_label(s, task)));
            b.holders.push_back({task, what, cpu});
        }
    }
    return cpus;
}

// The readers preempted inside a read-side critical section: those from
// gp_tasks on block the grace period.
json add_blocked_readers(const Snapshot& s, const RcuState& st, Blocker& b) {
    json readers = json::array();
    for (const RcuBlockedTask& r : st.blocked()) {
        std::string who = fmt::format("preempted RCU reader {} on {}", blocker_task_label(s, r.task),
                                      node_text(st, r.node));
        if (r.gp) {
            b.holders.push_back({r.task, "preempted RCU reader"});
            b.details.push_back(who + (r.exp ? " blocks the grace period and the expedited one" : " blocks the grace period"));
        } else if (r.exp) {
            b.details.push_back(who + " blocks the expedited grace period");
        } else {
            b.details.push_back(who + " (queued after the grace period started: does not block it)");
        }
        json j = task_ref(s, r.task);
        j["node"] = r.node;
        j["blocks_gp"] = r.gp;
        j["blocks_exp"] = r.exp;
        readers.push_back(j);
    }
    return readers;
}

std::string no_holder_note(const RcuState& st, const std::vector<int>& idle_cpus) {
    if (!st.gp_in_progress())
        return "no grace period in progress: the grace-period kthread has yet to start the one waited for";
    if (!idle_cpus.empty())
        return fmt::format("only CPU{} {} (idle or unknown) {} not reported a quiescent state",
                           idle_cpus.size() == 1 ? "" : "s", cpu_list(idle_cpus), idle_cpus.size() == 1 ? "has" : "have");
    return "every CPU has reported a quiescent state and no preempted reader blocks it: the grace-period kthread "
           "has yet to end the grace period";
}

// rcu_barrier(): the callbacks each CPU still has queued, rcu_barrier()'s
// own among them.
void add_barrier(const Snapshot& s, const RcuState& st, Blocker& b) {
    std::vector<std::string> findings;
    std::vector<RcuCpuCallbacks> cbs;
    try {
        cbs = read_rcu_callbacks(s.k, true, findings);
    } catch (const LayoutError& e) {
        b.details.push_back(fmt::format("per-CPU callbacks not read ({})", e.what()));
    }
    for (auto& f : findings) b.findings.push_back(f);
    if (st.barrier_cpu_count)
        b.details.push_back(fmt::format("{} barrier callback(s) not yet invoked (rcu_state.barrier_cpu_count {})",
                                        *st.barrier_cpu_count, *st.barrier_cpu_count));
    json callbacks = json::array();
    std::vector<int> waiting, empty;
    for (const RcuCpuCallbacks& c : cbs) {
        callbacks.push_back({{"cpu", c.cpu},
                             {"len", c.len ? json(*c.len) : json(nullptr)},
                             {"barrier_queued", c.barrier_queued ? json(*c.barrier_queued) : json(nullptr)}});
        if (!c.len) continue;
        if (c.barrier_queued && *c.barrier_queued) {
            waiting.push_back(c.cpu);
            b.details.push_back(fmt::format("CPU {}: {} callback(s) queued, rcu_barrier()'s among them ({} ahead of it)",
                                            c.cpu, *c.len, c.barrier_position));
        } else if (*c.len > 0) {
            b.details.push_back(fmt::format("CPU {}: {} callback(s) queued", c.cpu, *c.len));
        } else {
            empty.push_back(c.cpu);
        }
    }
    if (!empty.empty()) b.details.push_back("no callbacks queued on CPU" + std::string(empty.size() == 1 ? " " : "s ") + cpu_list(empty));
    if (b.holders.empty() && !waiting.empty())
        b.holder_note = fmt::format("rcu_barrier()'s callback{} still queued on CPU{} {}, to run after a grace period",
                                    waiting.size() == 1 ? " is" : "s are", waiting.size() == 1 ? "" : "s",
                                    cpu_list(waiting));
    b.fields["barrier_cpu_count"] = st.barrier_cpu_count ? json(*st.barrier_cpu_count) : json(nullptr);
    b.fields["barrier_sequence"] = st.barrier_sequence ? json(*st.barrier_sequence) : json(nullptr);
    b.fields["callbacks"] = callbacks;
}

}  // namespace

Blocker rcu_blocker(const Snapshot& s, const RcuState& st, WaitKind kind, addr_t completion) {
    Blocker b;
    b.kind = kind;
    bool barrier = kind == WaitKind::RcuBarrier;
    b.object = barrier ? completion : st.addr;
    b.name = barrier ? "rcu_state.barrier_completion" : fmt::format("gp_seq {}", st.gp_seq_signed());
    b.findings = st.findings;
    add_grace_period(s, st, b);
    std::vector<int> idle_cpus;
    json cpus = add_pending_cpus(s, st, b, idle_cpus);
    json readers = add_blocked_readers(s, st, b);
    auto age = st.gp_age_ns();
    b.fields = {{"rcu_state", hex(st.addr)},
                {"completion", hex(completion)},
                {"gp_seq", st.gp_seq_signed()},
                {"gp_in_progress", st.gp_in_progress()},
                {"gp_start", st.gp_start ? json(*st.gp_start) : json(nullptr)},
                {"gp_age_ns", age ? json(*age) : json(nullptr)},
                {"gp_state", rcu_gp_state_text(st).empty() ? json(nullptr) : json(rcu_gp_state_text(st))},
                {"gp_kthread", st.gp_kthread ? json(hex(st.gp_kthread)) : json(nullptr)},
                {"cpus_pending", cpus},
                {"blocked_readers", readers}};
    if (barrier) add_barrier(s, st, b);
    if (b.holders.empty() && b.holder_note.empty()) b.holder_note = no_holder_note(st, idle_cpus);
    return b;
}

namespace {

// __wait_rcu_gp()'s struct rcu_synchronize (kernel/rcu/update.c).
struct RcuSyncLayout {
    explicit RcuSyncLayout(Kernel& k) {
        StructLayout rs(k.target(), "rcu_synchronize");
        StructLayout head(k.target(), "callback_head");
        completion = rs.offset("completion");
        head_func = rs.offset("head") + head.offset("func");
        auto w = k.try_symbol("wakeme_after_rcu");
        if (!w) throw LayoutError("layout: no symbol 'wakeme_after_rcu'");
        wakeme_after_rcu = *w;
    }
    std::size_t completion = 0;  // rcu_synchronize.completion
    std::size_t head_func = 0;   // rcu_synchronize.head.func
    addr_t wakeme_after_rcu = 0;
};

// The function in whose frame addr lies: the outermost frame whose return
// address slot is still below addr. "" when the chain has no slots.
std::string frame_function(Kernel& k, const WaitSite& site, addr_t addr) {
    std::string fn;
    for (const StackFrame& f : site.chain.frames) {
        if (!f.slot) return "";
        if (f.slot >= addr) break;
        fn = k.function_name(f.pc);
    }
    return std::string(base_function_name(fn));
}

// SRCU and the RCU Tasks flavours wait with an rcu_synchronize and
// wakeme_after_rcu too, for grace periods rcu_state does not track.
bool other_flavour(std::string_view fn) {
    return fn.starts_with("synchronize_srcu") || fn.starts_with("__synchronize_srcu") ||
           fn.find("rcu_tasks") != std::string_view::npos;
}

class RcuCompletions : public CompletionUser {
public:
    explicit RcuCompletions(const Snapshot& s) : s_(s) {
        try {
            L_ = &s.k.get<RcuLayout>();
        } catch (const LayoutError&) {
        }
        try {
            S_ = &s.k.get<RcuSyncLayout>();
        } catch (const LayoutError&) {
        }
    }

    std::optional<Blocker> find(const CompletionWait& w) override {
        if (!L_) return std::nullopt;
        addr_t c = w.completion.addr;
        if (L_->barrier_completion && c == L_->rcu_state + L_->barrier_completion->offset)
            return blocker(WaitKind::RcuBarrier, c);
        if (waits_for_grace_period(w)) return blocker(WaitKind::RcuGracePeriod, c);
        return std::nullopt;
    }

private:
    // A completion inside a struct rcu_synchronize on the waiter's own
    // stack, whose callback is wakeme_after_rcu.
    bool waits_for_grace_period(const CompletionWait& w) {
        if (!S_) return false;
        Kernel& k = s_.k;
        const Task& t = w.site.task;
        addr_t c = w.completion.addr;
        if (c < t.stack + S_->completion || c >= t.stack + k.target().thread_size()) return false;
        auto func = k.mem().read_u64(c - S_->completion + S_->head_func);
        if (!func || *func != S_->wakeme_after_rcu) return false;
        return !other_flavour(frame_function(k, w.site, c));
    }

    Blocker blocker(WaitKind kind, addr_t completion) {
        const RcuState* st = cache_.get(L_->rcu_state, [&](addr_t) { return read_rcu_state(s_.k); });
        if (st) return rcu_blocker(s_, *st, kind, completion);
        Blocker b;
        b.kind = kind;
        b.object = kind == WaitKind::RcuBarrier ? completion : L_->rcu_state;
        b.name = kind == WaitKind::RcuBarrier ? "rcu_state.barrier_completion" : "";
        b.holder_note = "rcu_state is unreadable: the grace period's holders are unknown";
        b.findings.push_back(fmt::format("rcu_state at {:016x}: gp_seq unreadable", L_->rcu_state));
        b.fields = {{"rcu_state", hex(L_->rcu_state)}, {"completion", hex(completion)}};
        return b;
    }

    const Snapshot& s_;
    const RcuLayout* L_ = nullptr;
    const RcuSyncLayout* S_ = nullptr;
    ObjectCache<RcuState> cache_;
};

}  // namespace

std::unique_ptr<CompletionUser> rcu_completion_user(const Snapshot& s) { return std::make_unique<RcuCompletions>(s); }

}  // namespace netdbg
