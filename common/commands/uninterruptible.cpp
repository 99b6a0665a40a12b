// uninterruptible: D-state tasks, what each waits for, and the chains and
// deadlocks among them.
#include <algorithm>
#include <map>
#include <set>

#include <fmt/format.h>

#include "kernel/locking/blocker.h"
#include "commands/commands.h"
#include "core/options.h"
#include "kernel/sched/snapshot.h"
#include "core/table.h"
#include "commands/waitfor_graph.h"

namespace netdbg {

namespace {

struct Blocked {
    const Task* task = nullptr;
    std::string wait_function;
    std::optional<Blocker> blocker;
    bool shown = false;  // passes --since / --for
};

struct WaitGraph {
    std::vector<Blocked> blocked;  // every D task, oldest first
    std::map<addr_t, std::size_t> by_task;
    std::vector<std::vector<std::size_t>> cycles;  // indexes into blocked
    std::vector<std::vector<std::size_t>> chains;  // maximal chains of >= 2 locks, not cycles
    const Blocked* of(addr_t task) const {
        auto it = by_task.find(task);
        return it == by_task.end() ? nullptr : &blocked[it->second];
    }
};

std::string lock_label(const Blocker& b) { return b.name.empty() ? fmt::format("mutex {:016x}", b.mutex) : b.name; }

void find_chains(WaitGraph& g) {
    // Each blocked task has at most one outgoing edge (to its lock's owner),
    // so the graph is functional: colour-walk it for cycles.
    std::vector<int> colour(g.blocked.size(), 0);  // 0 new, 1 on path, 2 done
    auto next = [&](std::size_t i) -> std::optional<std::size_t> {
        const auto& b = g.blocked[i].blocker;
        if (!b || !b->owner) return std::nullopt;
        auto it = g.by_task.find(b->owner);
        if (it == g.by_task.end() || !g.blocked[it->second].blocker) return std::nullopt;
        return it->second;
    };
    for (std::size_t start = 0; start < g.blocked.size(); ++start) {
        std::vector<std::size_t> path;
        std::optional<std::size_t> cur = start;
        while (cur && colour[*cur] == 0) {
            colour[*cur] = 1;
            path.push_back(*cur);
            cur = next(*cur);
        }
        if (cur && colour[*cur] == 1) {
            auto it = std::find(path.begin(), path.end(), *cur);
            g.cycles.emplace_back(it, path.end());
        }
        for (std::size_t i : path) colour[i] = 2;
    }
    std::set<std::size_t> in_cycle;
    for (const auto& c : g.cycles) in_cycle.insert(c.begin(), c.end());
    // Chain heads: blocked tasks that own no lock another task waits on.
    std::set<addr_t> owners;
    for (const auto& b : g.blocked)
        if (b.blocker && b.blocker->owner) owners.insert(b.blocker->owner);
    for (std::size_t i = 0; i < g.blocked.size(); ++i) {
        if (owners.count(g.blocked[i].task->addr) || !g.blocked[i].blocker || in_cycle.count(i)) continue;
        std::vector<std::size_t> chain{i};
        std::optional<std::size_t> cur = next(i);
        while (cur && !in_cycle.count(*cur) &&
               std::find(chain.begin(), chain.end(), *cur) == chain.end()) {
            chain.push_back(*cur);
            cur = next(*cur);
        }
        if (chain.size() >= 2) g.chains.push_back(std::move(chain));
    }
}

WaitGraph build_graph(Snapshot& s, bool include_idle) {
    Kernel& k = s.k;
    WaitGraph g;
    BlockerFinder finder(k, s.index);
    for (const Task& t : s.walk.tasks) {
        if (!s.states.uninterruptible(t, include_idle)) continue;
        k.check_interrupt();
        Blocked b;
        b.task = &t;
        StackWords stack = read_stack(k, t);
        b.wait_function = wait_function(k, call_chain(k, t, stack).frames);
        b.blocker = finder.find(t, stack);
        g.blocked.push_back(std::move(b));
    }
    std::stable_sort(g.blocked.begin(), g.blocked.end(),
                     [](const Blocked& a, const Blocked& b) { return a.task->last_arrival < b.task->last_arrival; });
    for (std::size_t i = 0; i < g.blocked.size(); ++i) g.by_task.emplace(g.blocked[i].task->addr, i);
    find_chains(g);
    return g;
}

// "nd_chain_holder (pid 80)" or, for a task that is not blocked itself,
// with what it does.
std::string node_label(const Snapshot& s, const WaitGraph& g, addr_t task) {
    const Task* t = s.task(task);
    if (!t) return fmt::format("{:016x} (not in task list)", task);
    if (g.of(task)) return task_label(*t);
    return fmt::format("{} (pid {}, {})", t->comm, t->pid, task_activity(s, *t, ""));
}

std::string chain_text(const Snapshot& s, const WaitGraph& g, const std::vector<std::size_t>& chain, bool cycle) {
    std::string out;
    for (std::size_t i : chain) {
        const Blocked& b = g.blocked[i];
        out += task_label(*b.task) + " -> " + lock_label(*b.blocker) + " -> ";
    }
    if (cycle) return out + task_label(*g.blocked[chain.front()].task);
    return out + node_label(s, g, g.blocked[chain.back()].blocker->owner);
}

json chain_json(const WaitGraph& g, const std::vector<std::size_t>& chain) {
    json j = json::array();
    for (std::size_t i : chain) {
        const Blocked& b = g.blocked[i];
        j.push_back({{"pid", b.task->pid},
                     {"comm", b.task->comm},
                     {"task", hex(b.task->addr)},
                     {"waits_for", {{"mutex", hex(b.blocker->mutex)}, {"name", b.blocker->name}}},
                     {"owner", hex(b.blocker->owner)}});
    }
    return j;
}

std::string blocker_text(const Snapshot& s, const Blocked& b) {
    if (!b.blocker) return "-";
    const Task* o = s.task(b.blocker->owner);
    std::string owner = !b.blocker->owner ? "no owner"
                        : o             ? fmt::format("{} {}", o->pid, o->comm)
                                        : fmt::format("{:016x}", b.blocker->owner);
    return fmt::format("{} ({})", lock_label(*b.blocker), owner);
}

void render_groups(const Snapshot& s, const WaitGraph& g, Output& out) {
    // Locks in order of their oldest shown waiter.
    std::vector<addr_t> order;
    std::map<addr_t, std::vector<const Blocked*>> groups;
    std::vector<const Blocked*> unknown;
    for (const Blocked& b : g.blocked) {
        if (!b.shown) continue;
        if (!b.blocker) {
            unknown.push_back(&b);
            continue;
        }
        auto [it, fresh] = groups.try_emplace(b.blocker->mutex);
        if (fresh) order.push_back(b.blocker->mutex);
        it->second.push_back(&b);
    }
    for (addr_t m : order) {
        const auto& members = groups[m];
        const Blocker& bl = *members.front()->blocker;
        std::string holder = bl.owner ? "held by " + node_label(s, g, bl.owner) : "not held";
        if (const Blocked* ob = g.of(bl.owner); ob && ob->blocker)
            holder += ", which waits for " + lock_label(*ob->blocker);
        out.write(fmt::format("{} ({:016x}) {}: {} waiter{}\n", lock_label(bl), bl.mutex, holder, members.size(),
                              members.size() == 1 ? "" : "s"));
        Table t({">PID", ">CPU", "TASK", "COMM", ">BLOCKED-FOR", "WAIT-FUNC"}, "  ");
        for (const Blocked* b : members)
            t.row({std::to_string(b->task->pid), std::to_string(b->task->cpu), fmt::format("{:016x}", b->task->addr),
                   b->task->comm, format_duration(s.since_last_arrival(*b->task)),
                   b->wait_function.empty() ? "-" : b->wait_function});
        t.render(out);
        out.write("\n");
    }
    if (!unknown.empty()) {
        out.write(fmt::format("no mutex found on the stack: {} task{}\n", unknown.size(), unknown.size() == 1 ? "" : "s"));
        Table t({">PID", ">CPU", "TASK", "COMM", ">BLOCKED-FOR", "WAIT-FUNC"}, "  ");
        for (const Blocked* b : unknown)
            t.row({std::to_string(b->task->pid), std::to_string(b->task->cpu), fmt::format("{:016x}", b->task->addr),
                   b->task->comm, format_duration(s.since_last_arrival(*b->task)),
                   b->wait_function.empty() ? "-" : b->wait_function});
        t.render(out);
        out.write("\n");
    }
    if (!g.chains.empty()) {
        out.write("CHAINS\n");
        for (const auto& c : g.chains) out.write("  " + chain_text(s, g, c, false) + "\n");
        out.write("\n");
    }
    if (!g.cycles.empty()) {
        out.write("DEADLOCKS\n");
        for (const auto& c : g.cycles) out.write("  " + chain_text(s, g, c, true) + "\n");
        out.write("\n");
    }
}

// The wait-for graph of the shown tasks, completed along each chain: a task
// waits for a lock, the lock is held by its owner, and so on; the members
// of a DEADLOCK and their edges are marked in_cycle.
WaitForGraph waitfor_graph(const Snapshot& s, const WaitGraph& g, std::size_t shown) {
    WaitForGraph out;
    out.title = fmt::format("uninterruptible --graph: {} of {} tasks in D state, {} shown; {} deadlock{}; now {}",
                            g.blocked.size(), s.walk.tasks.size(), shown, g.cycles.size(),
                            g.cycles.size() == 1 ? "" : "s", format_timestamp(s.now));
    std::set<std::size_t> in_cycle;
    for (const auto& c : g.cycles) in_cycle.insert(c.begin(), c.end());
    std::map<std::string, std::size_t> node_at, held_by_at;  // id -> index in nodes / edges
    auto add_node = [&](WaitForNode n) -> WaitForNode& {
        auto [it, fresh] = node_at.try_emplace(n.id, out.nodes.size());
        if (fresh) out.nodes.push_back(std::move(n));
        else out.nodes[it->second].in_cycle |= n.in_cycle;
        return out.nodes[it->second];
    };
    auto task_node = [&](addr_t task, bool cyc) -> std::string {
        WaitForNode n{fmt::format("task_{:016x}", task), WaitForNode::Kind::Task, "", false, cyc};
        const Task* t = s.task(task);
        if (const Blocked* b = g.of(task)) {
            n.blocked = true;
            n.label = fmt::format("{}\npid {}  {:016x}\n{} {} for {}", t->comm, t->pid, task, s.state(*t),
                                  b->wait_function.empty() ? "-" : b->wait_function,
                                  format_duration(s.since_last_arrival(*t)));
        } else if (t) {
            n.label = fmt::format("{}\npid {}  {:016x}\n{}", t->comm, t->pid, task, task_activity(s, *t, ""));
        } else {
            n.label = fmt::format("{:016x}\n(not in task list)", task);
        }
        std::string id = n.id;
        add_node(std::move(n));
        return id;
    };
    // Shown tasks and, transitively, the blocked owners their chains lead to.
    std::vector<std::size_t> work;
    std::set<std::size_t> seen;
    for (std::size_t i = 0; i < g.blocked.size(); ++i)
        if (g.blocked[i].shown && g.blocked[i].blocker) work.push_back(i);
    while (!work.empty()) {
        std::size_t i = work.back();
        work.pop_back();
        if (!seen.insert(i).second) continue;
        const Blocked& b = g.blocked[i];
        const Blocker& bl = *b.blocker;
        bool cyc = in_cycle.count(i) > 0;
        std::string from = task_node(b.task->addr, cyc);
        std::string lock = fmt::format("mutex_{:016x}", bl.mutex);
        add_node({lock, WaitForNode::Kind::Lock, fmt::format("{}\n{:016x}", lock_label(bl), bl.mutex), false, cyc});
        out.edges.push_back({from, lock, WaitForEdge::Kind::WaitsFor, cyc});
        if (!bl.owner) continue;
        std::string to = task_node(bl.owner, cyc);
        auto [it, fresh] = held_by_at.try_emplace(lock, out.edges.size());
        if (fresh) out.edges.push_back({lock, to, WaitForEdge::Kind::HeldBy, cyc});
        else out.edges[it->second].in_cycle |= cyc;
        if (auto o = g.by_task.find(bl.owner); o != g.by_task.end() && g.blocked[o->second].blocker)
            work.push_back(o->second);
    }
    return out;
}

int run(Kernel& k, const std::vector<std::string>& args, Output& out) {
    Options o("uninterruptible");
    o.add()("since", "last switch at or after T (seconds)", cxxopts::value<std::string>())(
        "for", "blocked at least D (10s, 500ms)", cxxopts::value<std::string>())("all", "include TASK_IDLE")(
        "group", "group by blocker, show chains and deadlocks")("graph", "Graphviz DOT wait-for graph")(
        "json", "JSON output");
    o.parse(args);
    if (!o.positional().empty()) throw Error("uninterruptible: unexpected argument '" + o.positional()[0] + "'");
    std::optional<std::uint64_t> since, min_blocked;
    if (o.has("since")) since = parse_timestamp(o.str("since"));
    if (o.has("for")) min_blocked = parse_duration(o.str("for"));

    Snapshot s(k);
    WaitGraph g = build_graph(s, o.has("all"));
    std::size_t shown = 0;
    for (Blocked& b : g.blocked) {
        b.shown = (!since || b.task->last_arrival >= *since) &&
                  (!min_blocked || s.since_last_arrival(*b.task) >= *min_blocked);
        shown += b.shown;
    }

    if (o.has("graph")) {
        if (o.has("json") || o.has("group")) throw Error("uninterruptible: --graph excludes --json and --group");
        out.write(render_waitfor_dot(waitfor_graph(s, g, shown)));
        return g.cycles.empty() ? 0 : 1;
    }

    if (o.has("json")) {
        json j;
        j["command"] = "uninterruptible";
        j["now_ns"] = s.now;
        j["now"] = format_timestamp(s.now);
        j["filters"] = {{"since_ns", since ? json(*since) : json(nullptr)},
                        {"for_ns", min_blocked ? json(*min_blocked) : json(nullptr)},
                        {"all", o.has("all")}};
        j["task_count"] = s.walk.tasks.size();
        j["d_state_count"] = g.blocked.size();
        j["tasks"] = json::array();
        for (const Blocked& b : g.blocked) {
            if (!b.shown) continue;
            json t = task_json(s, *b.task);
            t["wait_function"] = b.wait_function;
            if (b.blocker) {
                const Task* ot = s.task(b.blocker->owner);
                t["blocker"] = {{"mutex", hex(b.blocker->mutex)},
                                {"name", b.blocker->name},
                                {"owner", hex(b.blocker->owner)},
                                {"owner_pid", ot ? json(ot->pid) : json(nullptr)},
                                {"owner_comm", ot ? json(ot->comm) : json(nullptr)}};
            } else {
                t["blocker"] = nullptr;
            }
            j["tasks"].push_back(t);
        }
        j["chains"] = json::array();
        for (const auto& c : g.chains) j["chains"].push_back(chain_json(g, c));
        j["deadlocks"] = json::array();
        for (const auto& c : g.cycles) j["deadlocks"].push_back(chain_json(g, c));
        j["problems"] = s.walk.problems;
        write_json(out, j);
        return g.cycles.empty() ? 0 : 1;
    }

    out.write(fmt::format("{} of {} tasks in D state{}; {} shown; now {}{}\n", g.blocked.size(), s.walk.tasks.size(),
                          o.has("all") ? " (TASK_IDLE included)" : "", shown, format_timestamp(s.now),
                          g.cycles.empty() ? "" : fmt::format("; {} DEADLOCK{}", g.cycles.size(),
                                                              g.cycles.size() == 1 ? "" : "S")));
    for (const auto& p : s.walk.problems) out.write("TASK LIST: " + p + "\n");
    out.write("\n");
    if (o.has("group")) {
        render_groups(s, g, out);
    } else if (shown) {
        Table t({"LAST-ARRIVAL", ">BLOCKED-FOR", ">PID", ">CPU", "TASK", "COMM", "WAIT-FUNC", "BLOCKER"});
        for (const Blocked& b : g.blocked) {
            if (!b.shown) continue;
            t.row({format_timestamp(b.task->last_arrival), format_duration(s.since_last_arrival(*b.task)),
                   std::to_string(b.task->pid), std::to_string(b.task->cpu), fmt::format("{:016x}", b.task->addr),
                   b.task->comm, b.wait_function.empty() ? "-" : b.wait_function, blocker_text(s, b)});
        }
        t.render(out);
    }
    return g.cycles.empty() ? 0 : 1;
}

}  // namespace

Command uninterruptible_command() {
    return make_command("uninterruptible", run);
}

}  // namespace netdbg
