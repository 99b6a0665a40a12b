// uninterruptible: D-state tasks, what each waits for (any kind of wait:
// locks, completions, flush_work, RCU, sockets, device unregister), and the
// chains and deadlocks among them.
#include <algorithm>
#include <map>
#include <set>

#include <fmt/format.h>

#include "commands/commands.h"
#include "commands/waitfor_graph.h"
#include "core/options.h"
#include "core/table.h"
#include "kernel/sched/snapshot.h"
#include "kernel/waits/finder.h"

namespace netdbg {

namespace {

struct Blocked {
    const Task* task = nullptr;
    std::string wait_function;
    std::optional<Blocker> blocker;
    std::vector<Blocker> inside;  // outer waits the task is in (rcu_barrier() in netdev_run_todo())
    bool shown = false;    // a D task that passes --since / --for
    bool d_state = true;   // false: a sleeping holder followed into its own wait
};

struct WaitGraph {
    std::vector<Blocked> blocked;  // the D tasks oldest first, then the holders followed
    std::size_t d_count = 0;
    std::map<addr_t, std::size_t> by_task;
    std::vector<std::vector<std::size_t>> cycles;  // indexes into blocked
    std::vector<std::vector<std::size_t>> chains;  // maximal chains of >= 2 waits, not cycles
    const Blocked* of(addr_t task) const {
        auto it = by_task.find(task);
        return it == by_task.end() ? nullptr : &blocked[it->second];
    }
    // The waits a blocked task leads to: its holders that wait themselves.
    std::vector<std::size_t> next(std::size_t i) const {
        std::vector<std::size_t> out;
        const auto& b = blocked[i].blocker;
        if (!b) return out;
        for (const BlockerTask& h : b->holders) {
            auto it = by_task.find(h.task);
            if (it != by_task.end() && blocked[it->second].blocker) out.push_back(it->second);
        }
        return out;
    }
};

std::string wait_label(const Blocker& b) {
    return b.mode.empty() ? b.label() : fmt::format("{} [{}]", b.label(), b.mode);
}

void find_cycles(WaitGraph& g) {
    // Depth-first over the "waits for a holder that waits" edges; a back
    // edge closes a cycle. Each node is entered once.
    std::vector<int> colour(g.blocked.size(), 0);  // 0 new, 1 on the path, 2 done
    std::vector<std::size_t> path;
    std::set<std::vector<std::size_t>> seen;
    std::function<void(std::size_t)> visit = [&](std::size_t i) {
        colour[i] = 1;
        path.push_back(i);
        for (std::size_t j : g.next(i)) {
            if (colour[j] == 1) {
                std::vector<std::size_t> c(std::find(path.begin(), path.end(), j), path.end());
                std::rotate(c.begin(), std::min_element(c.begin(), c.end()), c.end());
                if (seen.insert(c).second) g.cycles.push_back(c);
            } else if (colour[j] == 0) {
                visit(j);
            }
        }
        path.pop_back();
        colour[i] = 2;
    };
    for (std::size_t i = 0; i < g.blocked.size(); ++i)
        if (colour[i] == 0) visit(i);
}

void find_chains(WaitGraph& g) {
    find_cycles(g);
    std::set<std::size_t> in_cycle;
    for (const auto& c : g.cycles) in_cycle.insert(c.begin(), c.end());
    // Chain heads: D tasks with a wait that no other wait leads to.
    std::set<std::size_t> led_to;
    for (std::size_t i = 0; i < g.blocked.size(); ++i)
        for (std::size_t j : g.next(i)) led_to.insert(j);
    for (std::size_t i = 0; i < g.d_count; ++i) {
        if (led_to.count(i) || !g.blocked[i].blocker || in_cycle.count(i)) continue;
        std::vector<std::size_t> chain{i};
        for (;;) {
            auto nx = g.next(chain.back());
            auto it = std::find_if(nx.begin(), nx.end(), [&](std::size_t j) {
                return !in_cycle.count(j) && std::find(chain.begin(), chain.end(), j) == chain.end();
            });
            if (it == nx.end()) break;
            chain.push_back(*it);
        }
        if (chain.size() >= 2) g.chains.push_back(std::move(chain));
    }
}

// A holder that sleeps outside D state (a mutex_lock_interruptible(), a
// worker blocked in S) is followed into its own wait, so chains go on.
void follow_holders(Snapshot& s, BlockerFinder& finder, WaitGraph& g) {
    Kernel& k = s.k;
    for (std::size_t i = 0; i < g.blocked.size() && g.blocked.size() < 100000; ++i) {
        if (!g.blocked[i].blocker) continue;
        std::vector<addr_t> holders;
        for (const BlockerTask& h : g.blocked[i].blocker->holders) holders.push_back(h.task);
        for (addr_t h : holders) {
            if (g.by_task.count(h) || s.running_cpu(h) >= 0) continue;
            const Task* t = s.task(h);
            if (!t) continue;
            k.check_interrupt();
            Blocked b;
            b.task = t;
            b.d_state = false;
            StackWords stack = read_stack(k, *t);
            CallChain chain = call_chain(k, *t, stack);
            b.wait_function = wait_function(k, chain.frames);
            b.blocker = finder.find(*t, stack, chain);
            g.by_task.emplace(h, g.blocked.size());
            g.blocked.push_back(std::move(b));
        }
    }
}

WaitGraph build_graph(Snapshot& s, bool include_idle) {
    Kernel& k = s.k;
    WaitGraph g;
    BlockerFinder finder(s);
    for (const Task& t : s.walk.tasks) {
        if (!s.states.uninterruptible(t, include_idle)) continue;
        k.check_interrupt();
        Blocked b;
        b.task = &t;
        StackWords stack = read_stack(k, t);
        CallChain chain = call_chain(k, t, stack);
        b.wait_function = wait_function(k, chain.frames);
        std::vector<Blocker> waits = finder.find_all(t, stack, chain);
        if (!waits.empty()) {
            b.blocker = std::move(waits.front());
            b.inside.assign(std::make_move_iterator(waits.begin() + 1), std::make_move_iterator(waits.end()));
        }
        g.blocked.push_back(std::move(b));
    }
    std::stable_sort(g.blocked.begin(), g.blocked.end(),
                     [](const Blocked& a, const Blocked& b) { return a.task->last_arrival < b.task->last_arrival; });
    g.d_count = g.blocked.size();
    for (std::size_t i = 0; i < g.blocked.size(); ++i) g.by_task.emplace(g.blocked[i].task->addr, i);
    follow_holders(s, finder, g);
    find_chains(g);
    return g;
}

// "nd_chain_holder (pid 80)" for a task whose own wait continues the
// chain, else with what it is doing.
std::string node_label(const Snapshot& s, const WaitGraph& g, addr_t task) {
    const Task* t = s.task(task);
    if (!t) return fmt::format("{:016x} (not in task list)", task);
    const Blocked* b = g.of(task);
    if (b && b->blocker) return task_label(*t);
    std::string wf = b ? b->wait_function : "";
    return fmt::format("{} (pid {}, {})", t->comm, t->pid, task_activity(s, *t, wf));
}

std::string holders_text(const Snapshot& s, const WaitGraph& g, const Blocker& b) {
    if (b.holders.empty()) return b.holder_note.empty() ? "holder unknown" : b.holder_note;
    std::string out;
    for (const BlockerTask& h : b.holders) {
        if (!out.empty()) out += ", ";
        out += node_label(s, g, h.task);
        if (!h.role.empty() && h.role != "owner") out += " [" + h.role + "]";
    }
    return out;
}

std::string chain_text(const Snapshot& s, const WaitGraph& g, const std::vector<std::size_t>& chain, bool cycle) {
    std::string out;
    for (std::size_t i : chain) {
        const Blocked& b = g.blocked[i];
        out += task_label(*b.task) + " -> " + wait_label(*b.blocker) + " -> ";
    }
    if (cycle) return out + task_label(*g.blocked[chain.front()].task);
    return out + holders_text(s, g, *g.blocked[chain.back()].blocker);
}

json chain_json(const Snapshot& s, const WaitGraph& g, const std::vector<std::size_t>& chain) {
    json j = json::array();
    for (std::size_t i : chain) {
        const Blocked& b = g.blocked[i];
        const Blocker& bl = *b.blocker;
        j.push_back({{"pid", b.task->pid},
                     {"comm", b.task->comm},
                     {"task", hex(b.task->addr)},
                     {"waits_for",
                      {{"kind", wait_kind_key(bl.kind)},
                       {"object", hex(bl.object)},
                       {"name", bl.name},
                       {"mode", bl.mode.empty() ? json(nullptr) : json(bl.mode)}}},
                     {"owner", hex(bl.first_holder())}});
    }
    return j;
}

std::string blocker_text(const Snapshot& s, const Blocked& b) {
    if (!b.blocker) return "-";
    const Blocker& bl = *b.blocker;
    std::string holder;
    if (!bl.holders.empty()) {
        const Task* o = s.task(bl.holders.front().task);
        holder = o ? fmt::format("{} {}", o->pid, o->comm) : fmt::format("{:016x}", bl.holders.front().task);
        if (bl.holders.size() > 1) holder += fmt::format(" +{}", bl.holders.size() - 1);
    } else {
        holder = bl.kind == WaitKind::Mutex ? "no owner" : "holder unknown";
    }
    return fmt::format("{} ({})", wait_label(bl), holder);
}

void render_task_table(const Snapshot& s, const std::vector<const Blocked*>& members, Output& out) {
    bool modes = std::any_of(members.begin(), members.end(),
                             [](const Blocked* b) { return b->blocker && !b->blocker->mode.empty(); });
    std::vector<std::string> head = {">PID", ">CPU", "TASK", "COMM", ">BLOCKED-FOR", "WAIT-FUNC"};
    if (modes) head.insert(head.begin() + 4, "MODE");
    Table t(head, "  ");
    for (const Blocked* b : members) {
        std::vector<std::string> row = {std::to_string(b->task->pid), std::to_string(b->task->cpu),
                                        fmt::format("{:016x}", b->task->addr), b->task->comm,
                                        format_duration(s.since_last_arrival(*b->task)),
                                        b->wait_function.empty() ? "-" : b->wait_function};
        if (modes) row.insert(row.begin() + 4, b->blocker->mode.empty() ? "-" : b->blocker->mode);
        t.row(row);
    }
    t.render(out);
}

void render_groups(const Snapshot& s, const WaitGraph& g, Output& out) {
    // Objects in order of their oldest shown waiter.
    using Key = std::pair<WaitKind, addr_t>;
    std::vector<Key> order;
    std::map<Key, std::vector<const Blocked*>> groups;
    std::vector<const Blocked*> unknown;
    for (std::size_t i = 0; i < g.d_count; ++i) {
        const Blocked& b = g.blocked[i];
        if (!b.shown) continue;
        if (!b.blocker) {
            unknown.push_back(&b);
            continue;
        }
        Key key{b.blocker->kind, b.blocker->object};
        auto [it, fresh] = groups.try_emplace(key);
        if (fresh) order.push_back(key);
        it->second.push_back(&b);
    }
    for (const Key& key : order) {
        const auto& members = groups[key];
        const Blocker& bl = *members.front()->blocker;
        std::string holder = bl.holders.empty() ? (bl.holder_note.empty() ? "holder unknown" : bl.holder_note)
                                                : "held by " + holders_text(s, g, bl);
        for (const BlockerTask& h : bl.holders)
            if (const Blocked* hb = g.of(h.task); hb && hb->blocker)
                holder += bl.holders.size() == 1 ? fmt::format(", which waits for {}", wait_label(*hb->blocker))
                                                 : fmt::format(", {} waits for {}", hb->task->comm,
                                                               wait_label(*hb->blocker));
        out.write(fmt::format("{} ({:016x}) {}: {} waiter{}\n", bl.label(), bl.object, holder, members.size(),
                              members.size() == 1 ? "" : "s"));
        if (!bl.holders.empty() && !bl.holder_note.empty()) out.write("  " + bl.holder_note + "\n");
        for (const BlockerTask& c : bl.candidates)
            out.write(fmt::format("  CANDIDATE: {}: {}\n", blocker_task_label(s, c.task), c.role));
        for (const auto& d : bl.details) out.write("  " + d + "\n");
        for (const auto& f : bl.findings) out.write("  FINDING: " + f + "\n");
        for (const Blocked* m : members)
            for (const Blocker& in : m->inside) {
                out.write(fmt::format("  {} is inside {} ({:016x}): {}\n", task_label(*m->task), in.label(), in.object,
                                      blocker_holder_text(s, in)));
                for (const auto& d : in.details) out.write("    " + d + "\n");
            }
        render_task_table(s, members, out);
        out.write("\n");
    }
    if (!unknown.empty()) {
        out.write(fmt::format("no known wait found on the stack: {} task{}\n", unknown.size(),
                              unknown.size() == 1 ? "" : "s"));
        render_task_table(s, unknown, out);
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

// DOT shape of each kind's node in the wait-for graph.
const char* kind_shape(WaitKind kind) {
    switch (kind) {
        case WaitKind::Mutex: return "ellipse";
        case WaitKind::RwSem: return "hexagon";
        case WaitKind::Semaphore: return "octagon";
        case WaitKind::Completion: return "diamond";
        case WaitKind::FlushWork: return "component";
        case WaitKind::RcuGracePeriod:
        case WaitKind::RcuBarrier: return "doubleoctagon";
        case WaitKind::SocketLock: return "cylinder";
        case WaitKind::NetdevUnregister: return "house";
    }
    return "ellipse";
}

// The wait-for graph of the shown tasks, completed along each chain: a task
// waits for an object, the object is held by its holders, and so on; the
// members of a DEADLOCK and their edges are marked in_cycle.
WaitForGraph waitfor_graph(const Snapshot& s, const WaitGraph& g, std::size_t shown) {
    WaitForGraph out;
    out.title = fmt::format("uninterruptible --graph: {} of {} tasks in D state, {} shown; {} deadlock{}; now {}",
                            g.d_count, s.walk.tasks.size(), shown, g.cycles.size(),
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
        const Blocked* b = g.of(task);
        if (b && b->d_state) {
            n.blocked = true;
            n.label = fmt::format("{}\npid {}  {:016x}\n{} {} for {}", t->comm, t->pid, task, s.state(*t),
                                  b->wait_function.empty() ? "-" : b->wait_function,
                                  format_duration(s.since_last_arrival(*t)));
        } else if (t) {
            n.label = fmt::format("{}\npid {}  {:016x}\n{}", t->comm, t->pid, task,
                                  task_activity(s, *t, b ? b->wait_function : ""));
        } else {
            n.label = fmt::format("{:016x}\n(not in task list)", task);
        }
        std::string id = n.id;
        add_node(std::move(n));
        return id;
    };
    // Shown tasks and, transitively, the waiting holders their chains lead to.
    std::vector<std::size_t> work;
    std::set<std::size_t> seen;
    for (std::size_t i = 0; i < g.d_count; ++i)
        if (g.blocked[i].shown && g.blocked[i].blocker) work.push_back(i);
    while (!work.empty()) {
        std::size_t i = work.back();
        work.pop_back();
        if (!seen.insert(i).second) continue;
        const Blocked& b = g.blocked[i];
        const Blocker& bl = *b.blocker;
        bool cyc = in_cycle.count(i) > 0;
        std::string from = task_node(b.task->addr, cyc);
        std::string obj = fmt::format("{}_{:016x}", wait_kind_key(bl.kind), bl.object);
        WaitForNode on{obj, WaitForNode::Kind::Lock, fmt::format("{}\n{:016x}", bl.label(), bl.object), false, cyc};
        on.shape = kind_shape(bl.kind);
        add_node(std::move(on));
        out.edges.push_back({from, obj, WaitForEdge::Kind::WaitsFor, cyc, bl.mode.empty() ? "" : "waits for (" + bl.mode + ")"});
        for (const BlockerTask& h : bl.holders) {
            bool hcyc = cyc && g.of(h.task) && in_cycle.count(g.by_task.at(h.task));
            std::string to = task_node(h.task, hcyc);
            std::string key = obj + ">" + to;
            auto [it, fresh] = held_by_at.try_emplace(key, out.edges.size());
            std::string role = h.role == "owner" || h.role.empty() ? "" : "held by (" + h.role + ")";
            if (fresh) out.edges.push_back({obj, to, WaitForEdge::Kind::HeldBy, hcyc, role});
            else out.edges[it->second].in_cycle |= hcyc;
            if (auto o = g.by_task.find(h.task); o != g.by_task.end() && g.blocked[o->second].blocker)
                work.push_back(o->second);
        }
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
    for (std::size_t i = 0; i < g.d_count; ++i) {
        Blocked& b = g.blocked[i];
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
        j["d_state_count"] = g.d_count;
        j["tasks"] = json::array();
        for (std::size_t i = 0; i < g.d_count; ++i) {
            const Blocked& b = g.blocked[i];
            if (!b.shown) continue;
            json t = task_json(s, *b.task);
            t["wait_function"] = b.wait_function;
            t["blocker"] = b.blocker ? blocker_json(s, *b.blocker) : json(nullptr);
            t["inside"] = json::array();
            for (const Blocker& in : b.inside) t["inside"].push_back(blocker_json(s, in));
            j["tasks"].push_back(t);
        }
        j["chains"] = json::array();
        for (const auto& c : g.chains) j["chains"].push_back(chain_json(s, g, c));
        j["deadlocks"] = json::array();
        for (const auto& c : g.cycles) j["deadlocks"].push_back(chain_json(s, g, c));
        j["problems"] = s.walk.problems;
        write_json(out, j);
        return g.cycles.empty() ? 0 : 1;
    }

    out.write(fmt::format("{} of {} tasks in D state{}; {} shown; now {}{}\n", g.d_count, s.walk.tasks.size(),
                          o.has("all") ? " (TASK_IDLE included)" : "", shown, format_timestamp(s.now),
                          g.cycles.empty() ? "" : fmt::format("; {} DEADLOCK{}", g.cycles.size(),
                                                              g.cycles.size() == 1 ? "" : "S")));
    for (const auto& p : s.walk.problems) out.write("TASK LIST: " + p + "\n");
    out.write("\n");
    if (o.has("group")) {
        render_groups(s, g, out);
    } else if (shown) {
        Table t({"LAST-ARRIVAL", ">BLOCKED-FOR", ">PID", ">CPU", "TASK", "COMM", "WAIT-FUNC", "BLOCKER"});
        for (std::size_t i = 0; i < g.d_count; ++i) {
            const Blocked& b = g.blocked[i];
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
