#include "kernel/rcu/rcu.h"

#include <algorithm>

#include <fmt/format.h>

#include "kernel/lib/list.h"
#include "kernel/time/timer.h"

namespace netdbg {

RcuLayout::RcuLayout(Kernel& k) {
    Target& t = k.target();
    StructLayout st(t, "rcu_state");
    StructLayout rn(t, "rcu_node");
    auto sym = k.try_symbol("rcu_state");
    if (!sym) throw LayoutError("layout: no symbol 'rcu_state' (not Tree RCU)");
    rcu_state = *sym;
    MemberInfo nodes = st.require("node");
    node = nodes.offset;
    node_size = rn.size();
    node_max = node_size ? nodes.size / node_size : 0;
    if (!node_max) throw LayoutError("layout: struct rcu_state's node[] holds no struct rcu_node");
    gp_seq = st.require("gp_seq");
    gp_start = st.find("gp_start");
    gp_state = st.find("gp_state");
    gp_kthread = st.find("gp_kthread");
    barrier_cpu_count = st.find("barrier_cpu_count");
    barrier_sequence = st.find("barrier_sequence");
    barrier_completion = st.find("barrier_completion");

    rn_gp_seq = rn.require("gp_seq");
    qsmask = rn.require("qsmask");
    grplo = rn.require("grplo");
    grphi = rn.require("grphi");
    level = rn.require("level");
    parent = rn.require("parent");
    blkd_tasks = rn.require("blkd_tasks");
    gp_tasks = rn.require("gp_tasks");
    exp_tasks = rn.find("exp_tasks");

    if (t.type_size("task_struct")) {
        task_node_entry = t.member("task_struct", "rcu_node_entry");
        task_blocked_node = t.member("task_struct", "rcu_blocked_node");
    }
    num_nodes = k.try_symbol("rcu_num_nodes");
    num_lvls = k.try_symbol("rcu_num_lvls");
    gp_state_names = k.try_symbol("gp_state_names");
    if (gp_state_names) gp_state_names_len = t.array_length("gp_state_names").value_or(0);
}

namespace {

std::int64_t read_signed(const Object& o, const MemberInfo& m) {
    std::uint64_t v = o.uint(m.offset, m.size);
    if (m.size < 8) {
        std::uint64_t sign = 1ull << (8 * m.size - 1);
        if (v & sign) v |= ~((sign << 1) - 1);
    }
    return static_cast<std::int64_t>(v);
}

std::optional<std::int64_t> read_member(Kernel& k, addr_t obj, const std::optional<MemberInfo>& m) {
    if (!m || !m->size || m->size > 8) return std::nullopt;
    auto o = Object::read(k.mem(), obj, m->offset + m->size, m->offset);
    if (!o) return std::nullopt;
    return read_signed(*o, *m);
}

std::optional<int> read_int_symbol(Kernel& k, std::optional<addr_t> sym) {
    if (!sym) return std::nullopt;
    auto v = k.mem().read_u32(*sym);
    if (!v) return std::nullopt;
    return static_cast<int>(static_cast<std::int32_t>(*v));
}

// rcu_state's grace-period bookkeeping besides gp_seq.
void read_gp_fields(Kernel& k, const RcuLayout& L, RcuState& st) {
    if (auto v = read_member(k, st.addr, L.gp_start)) st.gp_start = static_cast<std::uint64_t>(*v);
    if (auto v = read_member(k, st.addr, L.gp_kthread)) st.gp_kthread = static_cast<addr_t>(*v);
    if (auto v = read_member(k, st.addr, L.barrier_cpu_count)) st.barrier_cpu_count = static_cast<int>(*v);
    if (auto v = read_member(k, st.addr, L.barrier_sequence)) st.barrier_sequence = static_cast<std::uint64_t>(*v);
    if (auto v = read_member(k, st.addr, L.gp_state)) {
        st.gp_state = static_cast<int>(*v);
        // kernel/rcu/tree.c: gp_state_names[], indexed by gp_state.
        if (L.gp_state_names && *v >= 0 && static_cast<std::size_t>(*v) < L.gp_state_names_len)
            if (auto p = k.mem().read_u64(*L.gp_state_names + 8 * static_cast<std::size_t>(*v)))
                if (auto name = k.mem().read_cstring(*p, 32)) st.gp_state_name = *name;
    }
    st.jiffies = read_jiffies(k);
    st.hz = kernel_hz(k);
}

// rcu_num_nodes, bounded by rcu_state.node[]'s length.
std::size_t node_count(Kernel& k, const RcuLayout& L, RcuState& st) {
    auto n = read_int_symbol(k, L.num_nodes);
    if (!n) {
        st.findings.push_back(L.num_nodes ? "rcu_num_nodes: unreadable; only the root rcu_node is read"
                                          : "rcu_num_nodes: no such symbol; only the root rcu_node is read");
        return 1;
    }
    if (*n < 1 || static_cast<std::size_t>(*n) > L.node_max) {
        std::size_t use = *n < 1 ? 1 : L.node_max;
        st.findings.push_back(
            fmt::format("rcu_num_nodes is {}, outside rcu_state.node[{}]; {} read", *n, L.node_max, use));
        return use;
    }
    return static_cast<std::size_t>(*n);
}

// The parent pointer as an index into rcu_state.node[]: an earlier node
// (the tree is laid out breadth-first), or NULL for the root.
int parent_index(const RcuLayout& L, const RcuState& st, int index, addr_t parent, std::vector<std::string>& findings) {
    addr_t base = st.addr + L.node;
    if (!parent) {
        if (index != 0) findings.push_back(fmt::format("rcu_node {}: no parent, but it is not the root", index));
        return -1;
    }
    if (parent >= base && (parent - base) % L.node_size == 0) {
        std::size_t p = (parent - base) / L.node_size;
        if (p < static_cast<std::size_t>(index)) return static_cast<int>(p);
    }
    findings.push_back(fmt::format("rcu_node {}: parent {:016x} is not an earlier rcu_node of rcu_state.node[]", index,
                                   parent));
    return -1;
}

std::optional<RcuNode> read_node(Kernel& k, const RcuLayout& L, const RcuState& st, int index,
                                 std::vector<std::string>& findings) {
    RcuNode n;
    n.index = index;
    n.addr = st.addr + L.node + static_cast<addr_t>(index) * L.node_size;
    Span span;
    for (const MemberInfo& m : {L.rn_gp_seq, L.qsmask, L.grplo, L.grphi, L.level, L.parent, L.blkd_tasks, L.gp_tasks})
        span.add(m);
    if (L.exp_tasks) span.add(*L.exp_tasks);
    auto o = Object::read(k.mem(), n.addr, span.end, span.begin);
    if (!o) {
        findings.push_back(fmt::format("rcu_node {} at {:016x}: unreadable", index, n.addr));
        return std::nullopt;
    }
    n.gp_seq = o->u64(L.rn_gp_seq.offset);
    n.qsmask = o->uint(L.qsmask.offset, L.qsmask.size);
    n.grplo = static_cast<int>(read_signed(*o, L.grplo));
    n.grphi = static_cast<int>(read_signed(*o, L.grphi));
    n.level = static_cast<int>(o->uint(L.level.offset, L.level.size));
    n.parent = parent_index(L, st, index, o->u64(L.parent.offset), findings);
    n.gp_tasks = o->u64(L.gp_tasks.offset);
    if (L.exp_tasks) n.exp_tasks = o->u64(L.exp_tasks->offset);
    return n;
}

// rcu_num_lvls, else one more than the deepest level met.
int level_count(Kernel& k, const RcuLayout& L, RcuState& st) {
    int deepest = 0;
    for (const RcuNode& n : st.nodes) deepest = std::max(deepest, n.level);
    auto v = read_int_symbol(k, L.num_lvls);
    if (v && *v >= 1 && *v <= 8 && *v > deepest) return *v;
    if (v) st.findings.push_back(fmt::format("rcu_num_lvls is {}, but a node is at level {}", *v, deepest));
    return deepest + 1;
}

// A leaf's CPUs grplo..grphi map to the bits of one unsigned long.
void check_leaf(RcuNode& n, std::vector<std::string>& findings) {
    if (n.grplo < 0 || n.grphi < n.grplo || n.grphi - n.grplo >= 64) {
        findings.push_back(fmt::format("rcu_node {}: CPUs {}..{} do not fit its qsmask; its qsmask is not read",
                                       n.index, n.grplo, n.grphi));
        n.leaf = false;
        n.qsmask = 0;
        return;
    }
    unsigned span = static_cast<unsigned>(n.grphi - n.grplo + 1);
    std::uint64_t valid = span >= 64 ? ~0ull : (1ull << span) - 1;
    if (n.qsmask & ~valid)
        findings.push_back(fmt::format("rcu_node {}: qsmask {:#x} has bits beyond CPU {} (grphi)", n.index, n.qsmask,
                                       n.grphi));
    n.qsmask &= valid;
}

// blkd_tasks, newest first; from gp_tasks (exp_tasks) to the end, the
// tasks block the current normal (expedited) grace period.
void read_blocked(Kernel& k, const RcuLayout& L, RcuNode& n, std::vector<std::string>& findings, std::size_t max) {
    if (!L.task_node_entry) return;
    std::size_t entry = L.task_node_entry->offset;
    bool gp = false, exp = false;
    std::vector<RcuBlockedTask> tasks;
    ListWalk w = walk_list(k, n.addr + L.blkd_tasks.offset, max, [&](addr_t node) {
        k.check_interrupt();
        if (n.gp_tasks && node == n.gp_tasks) gp = true;
        if (n.exp_tasks && node == n.exp_tasks) exp = true;
        tasks.push_back({node - entry, n.index, gp, exp});
        return true;
    });
    tasks.resize(std::min(tasks.size(), w.count));
    for (const auto& f : w.findings) findings.push_back(fmt::format("rcu_node {} blkd_tasks: {}", n.index, f.describe()));
    auto on_list = [&](addr_t node) {
        return std::any_of(tasks.begin(), tasks.end(), [&](const RcuBlockedTask& t) { return t.task + entry == node; });
    };
    if (n.gp_tasks && !on_list(n.gp_tasks))
        findings.push_back(fmt::format("rcu_node {}: gp_tasks {:016x} is not on {}blkd_tasks", n.index, n.gp_tasks,
                                       w.complete ? "" : "the part read of "));
    if (n.exp_tasks && !on_list(n.exp_tasks))
        findings.push_back(fmt::format("rcu_node {}: exp_tasks {:016x} is not on {}blkd_tasks", n.index, n.exp_tasks,
                                       w.complete ? "" : "the part read of "));
    // rcu_preempt_ctxt_queue() sets t->rcu_blocked_node to the node.
    if (L.task_blocked_node)
        for (const RcuBlockedTask& t : tasks) {
            auto back = k.mem().read_u64(t.task + L.task_blocked_node->offset);
            if (back && *back != n.addr)
                findings.push_back(fmt::format("rcu_node {} blkd_tasks: task {:016x} has rcu_blocked_node {:016x}",
                                               n.index, t.task, *back));
        }
    for (RcuBlockedTask& t : tasks) n.blocked.push_back(t);
}

}  // namespace

std::optional<std::uint64_t> RcuState::gp_age_jiffies() const {
    if (!gp_start || !jiffies) return std::nullopt;
    auto d = static_cast<std::int64_t>(*jiffies - *gp_start);
    if (d < 0) return std::nullopt;
    return static_cast<std::uint64_t>(d);
}

std::optional<std::uint64_t> RcuState::gp_age_ns() const {
    auto j = gp_age_jiffies();
    if (!j || !hz || !*hz) return std::nullopt;
    if (*j > UINT64_MAX / 1000000000ULL) return std::nullopt;
    return *j * 1000000000ULL / *hz;
}

std::vector<int> RcuState::cpus_pending() const {
    std::vector<int> out;
    if (!gp_in_progress()) return out;
    for (const RcuNode& n : nodes) {
        // rcu_gp_init() sets each node's gp_seq as it sets its qsmask.
        if (!n.leaf || n.gp_seq != gp_seq) continue;
        for (int i = 0; i <= n.grphi - n.grplo && i < 64; ++i)
            if (n.qsmask & (1ull << i)) out.push_back(n.grplo + i);
    }
    return out;
}

std::vector<RcuBlockedTask> RcuState::blocked() const {
    std::vector<RcuBlockedTask> out;
    for (const RcuNode& n : nodes) out.insert(out.end(), n.blocked.begin(), n.blocked.end());
    return out;
}

RcuState read_rcu_state(Kernel& k, std::size_t max_blocked) {
    const RcuLayout& L = k.get<RcuLayout>();
    RcuState st;
    st.addr = L.rcu_state;
    auto gp = k.mem().read_u64(st.addr + L.gp_seq.offset);
    if (!gp) throw Error(fmt::format("cannot read rcu_state.gp_seq at {:016x}", st.addr + L.gp_seq.offset));
    st.gp_seq = *gp;
    read_gp_fields(k, L, st);
    std::size_t count = node_count(k, L, st);
    for (std::size_t i = 0; i < count; ++i) {
        k.check_interrupt();
        if (auto n = read_node(k, L, st, static_cast<int>(i), st.findings)) st.nodes.push_back(std::move(*n));
    }
    st.num_lvls = level_count(k, L, st);
    for (RcuNode& n : st.nodes) {
        n.leaf = n.level == st.num_lvls - 1;
        if (n.leaf) check_leaf(n, st.findings);
        read_blocked(k, L, n, st.findings, max_blocked);
    }
    return st;
}

std::string rcu_gp_state_text(const RcuState& st) {
    if (!st.gp_state_name.empty()) return st.gp_state_name;
    if (st.gp_state) return fmt::format("gp_state {}", *st.gp_state);
    return "";
}

RcuDataLayout::RcuDataLayout(Kernel& k) {
    Target& t = k.target();
    StructLayout d(t, "rcu_data");
    StructLayout cb(t, "rcu_segcblist");
    StructLayout head(t, "callback_head");
    auto sym = k.try_symbol("rcu_data");
    if (!sym) throw LayoutError("layout: no per-CPU symbol 'rcu_data'");
    rcu_data = *sym;
    std::size_t cblist = d.offset("cblist");
    cblist_len = cblist + cb.offset("len");
    if (auto h = cb.find("head")) cblist_head = cblist + h->offset;
    if (auto b = d.find("barrier_head")) barrier_head = b->offset;
    head_next = head.offset("next");
}

namespace {

// Follows rdp->cblist.head through callback_head.next to NULL, looking
// for rdp->barrier_head.
void find_barrier_callback(Kernel& k, const RcuDataLayout& L, RcuCpuCallbacks& c, std::vector<std::string>& findings,
                           std::size_t max_walk) {
    if (!L.cblist_head || !L.barrier_head) return;
    addr_t target = c.rdp + *L.barrier_head;
    auto p = k.mem().read_u64(c.rdp + *L.cblist_head);
    std::size_t pos = 0;
    while (p && *p && pos < max_walk) {
        if (*p == target) {
            c.barrier_queued = true;
            c.barrier_position = pos;
            return;
        }
        if (pos % 1024 == 0) k.check_interrupt();
        p = k.mem().read_u64(*p + L.head_next);
        ++pos;
    }
    if (!p) {
        findings.push_back(fmt::format("CPU {}: callback {} of rcu_data.cblist is unreadable", c.cpu, pos));
    } else if (!*p) {
        c.barrier_queued = false;
        if (c.len && static_cast<std::int64_t>(pos) > *c.len)
            findings.push_back(fmt::format("CPU {}: rcu_data.cblist holds {} callbacks, its len says {}", c.cpu, pos,
                                           *c.len));
    } else if (c.len && static_cast<std::int64_t>(pos) > *c.len) {
        findings.push_back(fmt::format("CPU {}: rcu_data.cblist goes on past {} callbacks, its len says {} (a loop?)",
                                       c.cpu, pos, *c.len));
    }
}

}  // namespace

std::vector<RcuCpuCallbacks> read_rcu_callbacks(Kernel& k, bool find_barrier, std::vector<std::string>& findings,
                                                std::size_t max_walk) {
    const RcuDataLayout& L = k.get<RcuDataLayout>();
    std::vector<RcuCpuCallbacks> out;
    int n = k.target().cpu_count();
    for (int cpu = 0; cpu < n; ++cpu) {
        k.check_interrupt();
        auto off = k.target().per_cpu_offset(cpu);
        if (!off) continue;
        RcuCpuCallbacks c;
        c.cpu = cpu;
        c.rdp = L.rcu_data + *off;
        if (auto len = k.mem().read_u64(c.rdp + L.cblist_len)) c.len = static_cast<std::int64_t>(*len);
        else findings.push_back(fmt::format("CPU {}: rcu_data at {:016x} is unreadable", cpu, c.rdp));
        if (find_barrier && c.len) find_barrier_callback(k, L, c, findings, max_walk);
        out.push_back(c);
    }
    return out;
}

}  // namespace netdbg
