// netdev: the network data path of a dump, as `ip -s link`, `tc -s qdisc`
// and /proc/net/softnet_stat show it on a live box: each device with its
// link state, usage count and counters, its TX queues (stopped bits, time
// since the last transmit against the watchdog, timeouts, BQL) and qdiscs,
// the devices being unregistered, and per CPU the softnet_data counters;
// with verdicts first: stopped queues past the watchdog, qdiscs that cannot
// drain, devices whose references leaked, backlog drops.
#include <algorithm>
#include <set>

#include <fmt/format.h>

#include "commands/commands.h"
#include "core/json.h"
#include "core/options.h"
#include "core/table.h"
#include "kernel/net/napi.h"
#include "kernel/net/netdev_link.h"
#include "kernel/net/netdev_queue.h"
#include "kernel/net/netdev_todo.h"
#include "kernel/net/netdevice.h"
#include "kernel/net/qdisc.h"
#include "kernel/net/softnet.h"
#include "kernel/sched/runqueue.h"
#include "kernel/sched/snapshot.h"
#include "kernel/time/timer.h"

namespace netdbg {

namespace {

struct TxqRow {
    TxQueue q;
    std::vector<std::string> bits;
    bool stopped = false;
    std::optional<std::uint64_t> since;  // jiffies since trans_start
    int child = -1;                      // the qdisc feeding it: DevRow::children[child], or the root
};

struct DevRow {
    NetDevice d;
    NetdevLink link;
    std::string driver;      // bound driver, else netdev_ops' module, else its symbol
    std::string ops_symbol;  // "loopback_ops", "nd_txhang_ops [nd_txhang]"
    std::optional<std::int64_t> usage;
    std::optional<std::int64_t> reg_state;
    TxQueues txqs;
    std::vector<TxqRow> tx;
    std::optional<Qdisc> root;
    std::vector<Qdisc> children;  // per TX queue under mq/mqprio
    QdiscStats total;             // as tc -s shows the root
    std::vector<Napi> napis;
    std::vector<std::string> problems;
    bool noqueue() const { return root && root->kind == "noqueue"; }
    const Qdisc* qdisc_of(const TxqRow& t) const {
        if (t.child >= 0 && static_cast<std::size_t>(t.child) < children.size()) return &children[t.child];
        return root ? &*root : nullptr;
    }
};

struct UnregRow {
    UnregisteringDevice d;
    addr_t task = 0;  // the task in netdev_run_todo(), 0 when only queued
    int pid = -1;
    std::string comm;
    std::optional<std::uint64_t> waited_ns;  // at most: since the task started
};

struct Verdict {
    std::string kind;  // tx_timeout, stuck_qdisc, unregister, backlog_drops
    std::string device;
    std::optional<unsigned> txq;
    int cpu = -1;
    std::string text;
};

struct Report {
    std::optional<std::uint64_t> jiffies;
    std::optional<unsigned> hz;
    std::vector<DevRow> devs;
    std::vector<UnregRow> unreg;
    std::vector<Softnet> cpus;
    std::vector<Verdict> verdicts;
    std::vector<std::string> problems;
    std::uint64_t now = 0;
};

std::string join(const std::vector<std::string>& v, const char* sep) {
    std::string out;
    for (const auto& s : v) out += (out.empty() ? "" : sep) + s;
    return out;
}

std::string jiffies_text(const Report& r, std::uint64_t j) {
    if (!r.hz || !*r.hz) return fmt::format("{} jiffies", j);
    return format_duration(j * (1000000000ULL / *r.hz));
}

std::optional<std::uint64_t> jiffies_ns(const Report& r, std::uint64_t j) {
    if (!r.hz || !*r.hz) return std::nullopt;
    return j * (1000000000ULL / *r.hz);
}

// netdev_drivername() first; a device without a bus parent (lo, dummy, a
// scenario's fake NIC) by the module or symbol of its netdev_ops.
void name_driver(Kernel& k, DevRow& r) {
    auto s = k.target().symbolize(r.d.netdev_ops);
    if (s) {
        std::string sym = s->offset ? fmt::format("{}+{:#x}", s->name, s->offset) : s->name;
        r.ops_symbol = s->module.empty() ? sym : fmt::format("{} [{}]", sym, s->module);
    }
    if (!r.link.bound_driver.empty()) r.driver = r.link.bound_driver;
    else if (s && !s->module.empty()) r.driver = s->module;
    else if (s) r.driver = s->name;
    else r.driver = r.d.netdev_ops ? fmt::format("{:016x}", r.d.netdev_ops) : "-";
}

void read_qdiscs(Kernel& k, DevRow& r) {
    std::string why;
    if (!r.link.qdisc) {
        r.problems.push_back("dev->qdisc is NULL");
        return;
    }
    r.root = read_qdisc(k, r.link.qdisc, &why);
    if (!r.root) {
        r.problems.push_back(fmt::format("root qdisc {:016x}: {}", r.link.qdisc, why));
        return;
    }
    r.total = r.root->stats;
    bool mq = (r.root->flags & TCQ_F_MQROOT) || r.root->kind == "mq" || r.root->kind == "mqprio";
    if (mq) {
        // mq_dump(): the root's numbers are the sum of the children's.
        r.total = QdiscStats{};
        std::set<addr_t> seen;
        for (const TxQueue& q : r.txqs.queues) {
            if (!q.qdisc_sleeping || !seen.insert(q.qdisc_sleeping).second) continue;
            auto c = read_qdisc(k, q.qdisc_sleeping, &why);
            if (!c) {
                r.problems.push_back(fmt::format("TX queue {}: qdisc {:016x}: {}", q.index, q.qdisc_sleeping, why));
                continue;
            }
            r.total += c->stats;
            r.children.push_back(std::move(*c));
        }
    }
    for (TxqRow& t : r.tx)
        for (std::size_t i = 0; i < r.children.size(); ++i)
            if (r.children[i].addr == t.q.qdisc_sleeping) t.child = static_cast<int>(i);
}

DevRow read_device(Kernel& k, const Report& rep, NetDevice nd, std::size_t max) {
    const QueueStates& qs = k.get<QueueStates>();
    DevRow r;
    r.d = std::move(nd);
    r.link = read_netdev_link(k, r.d.addr, r.d.flags);
    for (auto& p : r.link.problems) r.problems.push_back(p);
    name_driver(k, r);
    r.usage = netdev_usage_count(k, r.d.addr);
    try {
        const NetdevTodoLayout& TL = k.get<NetdevTodoLayout>();
        if (auto v = k.mem().read_as<std::uint8_t>(r.d.addr + TL.reg_state.offset)) r.reg_state = *v;
    } catch (const LayoutError&) {
    }
    r.txqs = netdev_tx_queues(k, r.d.addr, max);
    for (auto& f : r.txqs.findings) r.problems.push_back(f);
    for (const TxQueue& q : r.txqs.queues) {
        TxqRow t;
        t.q = q;
        t.bits = qs.decode(q.state);
        t.stopped = qs.stopped(q.state);
        if (rep.jiffies && q.trans_start) {
            auto d = static_cast<std::int64_t>(*rep.jiffies - *q.trans_start);
            t.since = d > 0 ? static_cast<std::uint64_t>(d) : 0;
        }
        r.tx.push_back(std::move(t));
    }
    read_qdiscs(k, r);
    r.napis = netdev_for_each_napi(k, r.d.addr, &r.problems, max);
    return r;
}

std::string qlen_text(const Qdisc& q) {
    std::string s = fmt::format("{} packet{}", q.stats.qlen, q.stats.qlen == 1 ? "" : "s");
    if (q.gso_skb) s += fmt::format(" ({} requeued in gso_skb)", q.gso_skb);
    return s;
}

// dev_watchdog(): a queue times out when the device is present, running,
// has carrier and a qdisc, the driver has ndo_tx_timeout, and the queue is
// stopped with jiffies - trans_start > watchdog_timeo.
void tx_verdicts(Kernel& k, Report& rep, const DevRow& r) {
    const LinkStates& ls = k.get<LinkStates>();
    const QueueStates& qs = k.get<QueueStates>();
    bool watched = r.link.ndo_tx_timeout && r.link.watchdog_timeo && *r.link.watchdog_timeo > 0 &&
                   ls.test(r.link.state, "START") && ls.test(r.link.state, "PRESENT") &&
                   !ls.test(r.link.state, "NOCARRIER") && !r.noqueue();
    for (const TxqRow& t : r.tx) {
        if (!t.stopped) continue;
        const Qdisc* q = r.qdisc_of(t);
        std::string by = qs.test(t.q.state, "DRV_XOFF") ? "by the driver" : "by the stack (BQL)";
        std::string holds = q && q->stats.qlen ? "; its qdisc holds " + qlen_text(*q) : "";
        if (watched && t.since && *t.since > static_cast<std::uint64_t>(*r.link.watchdog_timeo)) {
            std::string timeouts =
                t.q.trans_timeout ? fmt::format(", {} timeout{} counted", *t.q.trans_timeout,
                                                *t.q.trans_timeout == 1 ? "" : "s")
                                  : "";
            rep.verdicts.push_back(
                {"tx_timeout", r.d.name, t.q.index, -1,
                 fmt::format("{} txq {} stopped {} for {} (> watchdog_timeo {}{}){}", r.d.name, t.q.index, by,
                             jiffies_text(rep, *t.since),
                             jiffies_text(rep, static_cast<std::uint64_t>(*r.link.watchdog_timeo)), timeouts,
                             holds)});
        } else if (q && q->stats.qlen) {
            rep.verdicts.push_back(
                {"stuck_qdisc", r.d.name, t.q.index, -1,
                 fmt::format("{} txq {} stopped {}{}: its qdisc holds {} that cannot drain", r.d.name, t.q.index, by,
                             t.since ? " for " + jiffies_text(rep, *t.since) : "", qlen_text(*q))});
        }
    }
}

std::string waiter_text(const UnregRow& u) {
    if (!u.task) return "queued on net_todo_list";
    std::string who = u.pid >= 0 ? fmt::format("{} (pid {})", u.comm, u.pid) : fmt::format("task {:016x}", u.task);
    return who + " waits in netdev_run_todo";
}

void unregister_verdicts(Kernel& k, Report& rep) {
    for (const UnregRow& u : rep.unreg) {
        if (!u.d.usage || *u.d.usage <= 1) continue;
        std::string waited = u.waited_ns ? " for at most " + format_duration(*u.waited_ns) : "";
        rep.verdicts.push_back(
            {"unregister", u.d.name, std::nullopt, -1,
             fmt::format("{} unregistering{} ({}), usage count {} (1 expected): {} reference{} leaked; {}", u.d.name,
                         waited, netdev_reg_state_name(k, u.d.reg_state), *u.d.usage, *u.d.usage - 1,
                         *u.d.usage - 1 == 1 ? "" : "s", waiter_text(u))});
    }
}

void softnet_verdicts(Report& rep) {
    for (const Softnet& sn : rep.cpus)
        if (sn.dropped && *sn.dropped)
            rep.verdicts.push_back({"backlog_drops", "", std::nullopt, sn.cpu,
                                    fmt::format("CPU {} dropped {} packet{} at its backlog (input_pkt_queue full: "
                                                "netdev_max_backlog)",
                                                sn.cpu, *sn.dropped, *sn.dropped == 1 ? "" : "s")});
}

void find_unregistering(Kernel& k, Report& rep, const std::string& only) {
    std::set<addr_t> seen;
    auto add = [&](UnregRow u) {
        if (!seen.insert(u.d.dev).second) return;
        if (!only.empty() && u.d.name != only) return;
        rep.unreg.push_back(std::move(u));
    };
    // Walking every task (10,000 on a big box) is most of netdev's time:
    // only when a device may be waiting to be freed.
    bool may = devices_may_be_unregistering(k);
    Snapshot s(k, may ? TaskScope::All : TaskScope::Referenced);
    rep.now = s.now;
    for (const auto& p : s.walk.problems) rep.problems.push_back("tasks: " + p);
    for (const UnregisterWaiter& w : may ? find_unregister_waiters(s) : std::vector<UnregisterWaiter>{}) {
        const Task* t = s.task(w.task);
        for (const auto& f : w.list.findings) rep.problems.push_back(f);
        for (const UnregisteringDevice& d : w.list.devices) {
            UnregRow u{d, w.task, t ? t->pid : -1, t ? t->comm : "", std::nullopt};
            if (w.task_start_ns && s.now > *w.task_start_ns) u.waited_ns = s.now - *w.task_start_ns;
            add(std::move(u));
        }
    }
    const NetdevTodoLayout& L = k.get<NetdevTodoLayout>();
    if (!L.net_todo_list) return;
    if (auto l = read_todo_list(k, *L.net_todo_list)) {
        for (const auto& f : l->findings) rep.problems.push_back("net_todo_list: " + f);
        for (const UnregisteringDevice& d : l->devices) add(UnregRow{d, 0, -1, "", std::nullopt});
    }
}

Report build(Kernel& k, bool all_netns, const std::string& only, std::size_t max) {
    Report rep;
    rep.jiffies = read_jiffies(k);
    rep.hz = kernel_hz(k);
    std::vector<NetDevice> devs;
    try {
        devs = netdevs(k, all_netns, only, &rep.problems);
    } catch (const Interrupted&) {
        throw;
    } catch (const LayoutError&) {
        throw;
    } catch (const Error&) {
        // A named device that is not on the list may be one being unregistered.
        if (only.empty()) throw;
        find_unregistering(k, rep, only);
        if (rep.unreg.empty()) throw;
    }
    for (NetDevice& nd : devs) {
        k.check_interrupt();
        rep.devs.push_back(read_device(k, rep, std::move(nd), max));
        tx_verdicts(k, rep, rep.devs.back());
    }
    if (rep.unreg.empty()) {
        try {
            find_unregistering(k, rep, only);
        } catch (const Interrupted&) {
            throw;
        } catch (const Error& e) {
            rep.problems.push_back(std::string("devices being unregistered not searched: ") + e.what());
        }
    }
    unregister_verdicts(k, rep);
    try {
        rep.cpus = for_each_softnet(k, max, &rep.problems);
    } catch (const Interrupted&) {
        throw;
    } catch (const Error& e) {
        rep.problems.push_back(std::string("softnet_data: ") + e.what());
    }
    if (only.empty()) softnet_verdicts(rep);
    return rep;
}

// ---- JSON ---------------------------------------------------------------

json opt(const std::optional<std::uint64_t>& v) { return v ? json(*v) : json(nullptr); }
json opt(const std::optional<std::uint32_t>& v) { return v ? json(*v) : json(nullptr); }
json opt(const std::optional<std::int64_t>& v) { return v ? json(*v) : json(nullptr); }
json opt_hex(addr_t a) { return a ? json(hex(a)) : json(nullptr); }
json opt_str(const std::string& s) { return s.empty() ? json(nullptr) : json(s); }

json qdisc_json(const Qdisc& q, const std::string& where) {
    return {{"qdisc", hex(q.addr)},
            {"kind", q.kind},
            {"handle", tc_handle(q.handle)},
            {"parent", tc_parent(q.parent)},
            {"where", where},
            {"flags", q.flags},
            {"per_cpu_stats", q.per_cpu_stats},
            {"nolock", (q.flags & TCQ_F_NOLOCK) != 0},
            {"limit", opt(q.limit)},
            {"qlen", q.stats.qlen},
            {"backlog", q.stats.backlog},
            {"drops", q.stats.drops},
            {"requeues", q.stats.requeues},
            {"overlimits", q.stats.overlimits},
            {"gso_skb", q.gso_skb},
            {"bytes", q.stats.bytes},
            {"packets", q.stats.packets}};
}

std::string reg_state_text(Kernel& k, const std::optional<std::int64_t>& r) {
    if (!r) return "";
    try {
        return netdev_reg_state_name(k, *r);
    } catch (const LayoutError&) {
        return std::to_string(*r);
    }
}

json device_json(Kernel& k, const Report& rep, const DevRow& r) {
    const LinkStates& ls = k.get<LinkStates>();
    json stats = json::object();
    for (const auto& [n, v] : r.link.stats) stats[n] = v;
    json txqs = json::array();
    for (const TxqRow& t : r.tx) {
        auto since_ns = t.since ? jiffies_ns(rep, *t.since) : std::nullopt;
        txqs.push_back({{"index", t.q.index},
                        {"netdev_queue", hex(t.q.addr)},
                        {"state", t.q.state},
                        {"state_bits", t.bits},
                        {"stopped", t.stopped},
                        {"trans_start", opt(t.q.trans_start)},
                        {"since_trans_start_jiffies", opt(t.since)},
                        {"since_trans_start_ns", opt(since_ns)},
                        {"trans_timeout", opt(t.q.trans_timeout)},
                        {"dql_limit", opt(t.q.dql_limit)},
                        {"dql_inflight", opt(t.q.dql_inflight)},
                        {"qdisc", opt_hex(t.q.qdisc)},
                        {"qdisc_sleeping", opt_hex(t.q.qdisc_sleeping)},
                        {"qdisc_kind", r.qdisc_of(t) ? json(r.qdisc_of(t)->kind) : json(nullptr)}});
    }
    json qdiscs = json::array();
    if (r.root) qdiscs.push_back(qdisc_json(*r.root, "root"));
    for (const Qdisc& c : r.children) {
        std::string where = "child";
        for (const TxqRow& t : r.tx)
            if (t.q.qdisc_sleeping == c.addr) where = fmt::format("txq {}", t.q.index);
        qdiscs.push_back(qdisc_json(c, where));
    }
    json napis = json::array();
    for (const Napi& n : r.napis)
        napis.push_back({{"napi", hex(n.addr)}, {"napi_id", opt(n.napi_id)}, {"poll", n.poll ? json(k.symbolize(n.poll)) : json(nullptr)}});
    std::uint32_t wt = r.link.watchdog_timeo ? static_cast<std::uint32_t>(std::max(*r.link.watchdog_timeo, 0)) : 0;
    return {{"name", r.d.name},
            {"ifindex", r.d.ifindex},
            {"net_device", hex(r.d.addr)},
            {"netns", hex(r.d.net)},
            {"driver", r.driver},
            {"bound_driver", opt_str(r.link.bound_driver)},
            {"netdev_ops", hex(r.d.netdev_ops)},
            {"netdev_ops_symbol", opt_str(r.ops_symbol)},
            {"flags", netdev_flag_names(r.link.flags)},
            {"flags_raw", r.link.flags},
            {"state", r.link.state},
            {"state_bits", ls.decode(r.link.state)},
            {"operstate", r.link.operstate ? json(operstate_name(*r.link.operstate)) : json(nullptr)},
            {"carrier", !ls.test(r.link.state, "NOCARRIER")},
            {"mtu", r.link.mtu},
            {"tx_queue_len", opt(r.link.tx_queue_len)},
            {"address", opt_str(r.link.address)},
            {"reg_state", opt_str(reg_state_text(k, r.reg_state))},
            {"usage_count", opt(r.usage)},
            {"watchdog_timeo_jiffies", r.link.watchdog_timeo ? json(*r.link.watchdog_timeo) : json(nullptr)},
            {"watchdog_timeo_ns", r.link.watchdog_timeo ? opt(jiffies_ns(rep, wt)) : json(nullptr)},
            {"ndo_tx_timeout", r.link.ndo_tx_timeout ? json(k.symbolize(r.link.ndo_tx_timeout)) : json(nullptr)},
            {"ndo_get_stats64", r.link.ndo_get_stats64 ? json(k.symbolize(r.link.ndo_get_stats64)) : json(nullptr)},
            {"stats", stats},
            {"stats_source", r.link.ndo_get_stats64 || r.link.ndo_get_stats ? "dev->stats (the driver keeps its own)"
                                                                            : "dev->stats"},
            {"num_tx_queues", r.txqs.num},
            {"real_num_tx_queues", r.txqs.real_num},
            {"num_rx_queues", opt(r.txqs.rx_num)},
            {"real_num_rx_queues", opt(r.txqs.rx_real_num)},
            {"noqueue", r.noqueue()},
            {"qdisc_totals",
             {{"qlen", r.total.qlen},
              {"backlog", r.total.backlog},
              {"drops", r.total.drops},
              {"requeues", r.total.requeues},
              {"overlimits", r.total.overlimits},
              {"bytes", r.total.bytes},
              {"packets", r.total.packets}}},
            {"tx_queues", txqs},
            {"qdiscs", qdiscs},
            {"napis", napis},
            {"problems", r.problems}};
}

json report_json(Kernel& k, const Report& rep, const std::string& only, bool all_netns) {
    json j;
    j["command"] = "netdev";
    j["filters"] = {{"device", opt_str(only)}, {"all_netns", all_netns}};
    j["jiffies"] = opt(rep.jiffies);
    j["hz"] = opt(rep.hz);
    j["now_ns"] = rep.now;
    j["summary"] = {{"devices", rep.devs.size()}, {"unregistering", rep.unreg.size()},
                    {"verdicts", rep.verdicts.size()}};
    j["verdicts"] = json::array();
    for (const Verdict& v : rep.verdicts)
        j["verdicts"].push_back({{"kind", v.kind},
                                 {"device", opt_str(v.device)},
                                 {"txq", v.txq ? json(*v.txq) : json(nullptr)},
                                 {"cpu", v.cpu >= 0 ? json(v.cpu) : json(nullptr)},
                                 {"text", v.text}});
    j["devices"] = json::array();
    for (const DevRow& r : rep.devs) j["devices"].push_back(device_json(k, rep, r));
    j["unregistering"] = json::array();
    for (const UnregRow& u : rep.unreg)
        j["unregistering"].push_back({{"name", u.d.name},
                                      {"ifindex", u.d.ifindex},
                                      {"net_device", hex(u.d.dev)},
                                      {"reg_state", netdev_reg_state_name(k, u.d.reg_state)},
                                      {"usage_count", opt(u.d.usage)},
                                      {"leaked", u.d.usage ? json(std::max<std::int64_t>(*u.d.usage - 1, 0)) : json(nullptr)},
                                      {"tracked", u.d.tracked ? json(*u.d.tracked) : json(nullptr)},
                                      {"source", u.task ? "todo_list" : "net_todo_list"},
                                      {"task", opt_hex(u.task)},
                                      {"pid", u.pid >= 0 ? json(u.pid) : json(nullptr)},
                                      {"comm", opt_str(u.comm)},
                                      {"waited_at_most_ns", opt(u.waited_ns)}});
    j["softnet"] = json::array();
    for (const Softnet& sn : rep.cpus) {
        std::optional<std::uint32_t> backlog;
        if (sn.input_qlen || sn.process_qlen) backlog = sn.input_qlen.value_or(0) + sn.process_qlen.value_or(0);
        j["softnet"].push_back({{"cpu", sn.cpu},
                                {"softnet_data", hex(sn.sd)},
                                {"processed", opt(sn.processed)},
                                {"dropped", opt(sn.dropped)},
                                {"time_squeeze", opt(sn.time_squeeze)},
                                {"received_rps", opt(sn.received_rps)},
                                {"backlog_len", opt(backlog)},
                                {"poll_list_len", sn.poll_list.size()}});
    }
    j["problems"] = rep.problems;
    return j;
}

// ---- text ---------------------------------------------------------------

std::string count(std::optional<std::uint32_t> v) { return v ? std::to_string(*v) : "-"; }
std::string stat(const NetdevLink& l, const char* n) {
    auto v = l.stat(n);
    return v ? std::to_string(*v) : "-";
}

void render_table(Kernel& k, const Report& rep, Output& out) {
    const LinkStates& ls = k.get<LinkStates>();
    Table t({">IFINDEX", "NAME", "DRIVER", "FLAGS", "OPER", "CARRIER", ">MTU", ">REFS", ">TXQ", ">RXQ", "QDISC",
             ">QLEN", ">DROPS"});
    for (const DevRow& r : rep.devs) {
        std::string qdisc = r.root ? r.root->kind : "?";
        t.row({std::to_string(r.d.ifindex), r.d.name, r.driver, join(netdev_flag_names(r.link.flags), ","),
               r.link.operstate ? operstate_name(*r.link.operstate) : "-",
               ls.test(r.link.state, "NOCARRIER") ? "off" : "on", std::to_string(r.link.mtu),
               r.usage ? std::to_string(*r.usage) : "?", std::to_string(r.txqs.real_num),
               r.txqs.rx_real_num ? std::to_string(*r.txqs.rx_real_num) : "-", qdisc,
               r.root ? std::to_string(r.total.qlen) : "-", r.root ? std::to_string(r.total.drops) : "-"});
    }
    t.render(out);
}

void render_unreg(Kernel& k, const Report& rep, Output& out) {
    out.write("\nBEING UNREGISTERED (off the device lists)\n");
    Table t({"NAME", ">IFINDEX", "NET_DEVICE", "REG_STATE", ">USAGE", "WAITED", "WAITER"}, "  ");
    for (const UnregRow& u : rep.unreg)
        t.row({u.d.name, std::to_string(u.d.ifindex), fmt::format("{:016x}", u.d.dev),
               netdev_reg_state_name(k, u.d.reg_state), u.d.usage ? std::to_string(*u.d.usage) : "?",
               u.waited_ns ? "<= " + format_duration(*u.waited_ns) : "-", waiter_text(u)});
    t.render(out);
}

void render_queues(Kernel& k, const Report& rep, const DevRow& r, Output& out) {
    const LinkStates& ls = k.get<LinkStates>();
    out.write(fmt::format("\n{}: ifindex {}, {}, net_device {:016x}, netdev_ops {}\n", r.d.name, r.d.ifindex, r.driver,
                          r.d.addr, r.ops_symbol.empty() ? "?" : r.ops_symbol));
    std::string line = fmt::format("  address {} mtu {}", r.link.address.empty() ? "-" : r.link.address, r.link.mtu);
    if (r.link.tx_queue_len) line += fmt::format(" qlen {}", *r.link.tx_queue_len);
    line += fmt::format(" state {} operstate {}", join(ls.decode(r.link.state), ","),
                        r.link.operstate ? operstate_name(*r.link.operstate) : "-");
    if (r.reg_state) line += " " + reg_state_text(k, r.reg_state);
    if (r.usage) line += fmt::format(" usage {}", *r.usage);
    out.write(line + "\n");
    if (r.link.watchdog_timeo && r.link.ndo_tx_timeout)
        out.write(fmt::format("  watchdog_timeo {}, ndo_tx_timeout {}\n",
                              jiffies_text(rep, static_cast<std::uint64_t>(std::max(*r.link.watchdog_timeo, 0))),
                              k.symbolize(r.link.ndo_tx_timeout)));
    else
        out.write("  no TX watchdog (no ndo_tx_timeout)\n");
    const NetdevLink& l = r.link;
    out.write(fmt::format("  RX: packets {} bytes {} errors {} dropped {} missed {} mcast {}\n", stat(l, "rx_packets"),
                          stat(l, "rx_bytes"), stat(l, "rx_errors"), stat(l, "rx_dropped"),
                          stat(l, "rx_missed_errors"), stat(l, "multicast")));
    out.write(fmt::format("  TX: packets {} bytes {} errors {} dropped {} carrier {} collsns {} fifo {}\n",
                          stat(l, "tx_packets"), stat(l, "tx_bytes"), stat(l, "tx_errors"), stat(l, "tx_dropped"),
                          stat(l, "tx_carrier_errors"), stat(l, "collisions"), stat(l, "tx_fifo_errors")));
    if (l.ndo_get_stats64 || l.ndo_get_stats)
        out.write(fmt::format("  (counters of dev->stats; the driver keeps its own, {})\n",
                              k.symbolize(l.ndo_get_stats64 ? l.ndo_get_stats64 : l.ndo_get_stats)));
    for (const auto& p : r.problems) out.write("  PROBLEM: " + p + "\n");
    if (!r.tx.empty()) {
        out.write("\n");
        Table t({">TXQ", "NETDEV_QUEUE", "STATE", ">SINCE-TX", ">TIMEOUTS", ">BQL-LIMIT", ">INFLIGHT", "QDISC",
                 "QDISC_SLEEPING"},
                "  ");
        for (const TxqRow& q : r.tx) {
            // BQL in use: the driver reports what it queues (netdev_tx_sent_queue())
            bool bql = q.q.dql_limit.value_or(0) || q.q.dql_inflight.value_or(0);
            t.row({std::to_string(q.q.index), fmt::format("{:016x}", q.q.addr), q.bits.empty() ? "-" : join(q.bits, ","),
                   q.since ? jiffies_text(rep, *q.since) : "-",
                   q.q.trans_timeout ? std::to_string(*q.q.trans_timeout) : "-", bql ? count(q.q.dql_limit) : "-",
                   bql ? count(q.q.dql_inflight) : "-", q.q.qdisc ? fmt::format("{:016x}", q.q.qdisc) : "-",
                   q.q.qdisc_sleeping == q.q.qdisc ? "(same)" : fmt::format("{:016x}", q.q.qdisc_sleeping)});
        }
        t.render(out);
    }
    if (r.root) {
        out.write("\n");
        Table t({"QDISC", "HANDLE", "PARENT", "ADDRESS", ">QLEN", ">BACKLOG", ">DROPS", ">REQUEUES", ">OVERLIMITS",
                 ">GSO_SKB", ">SENT-PKTS", ">SENT-BYTES", "NOTE"},
                "  ");
        auto row = [&](const Qdisc& q, const QdiscStats& s, std::string note) {
            if (q.per_cpu_stats) note += std::string(note.empty() ? "" : ", ") + "per-CPU stats";
            t.row({q.kind, tc_handle(q.handle), tc_parent(q.parent), fmt::format("{:016x}", q.addr),
                   std::to_string(s.qlen), std::to_string(s.backlog), std::to_string(s.drops),
                   std::to_string(s.requeues), std::to_string(s.overlimits), std::to_string(q.gso_skb),
                   std::to_string(s.packets), std::to_string(s.bytes), note.empty() ? "-" : note});
        };
        row(*r.root, r.total, r.children.empty() ? "" : "sum of its children");
        for (const Qdisc& c : r.children) {
            std::string where;
            for (const TxqRow& q : r.tx)
                if (q.q.qdisc_sleeping == c.addr) where = fmt::format("txq {}", q.q.index);
            row(c, c.stats, where);
        }
        t.render(out);
        if (r.noqueue()) out.write("  noqueue: packets go straight to the driver, nothing is queued\n");
    }
    std::string napis;
    for (const Napi& n : r.napis) napis += fmt::format(" {:016x}", n.addr);
    out.write(fmt::format("  RX queues: {} ({} active); NAPI:{}{}\n",
                          r.txqs.rx_num ? std::to_string(*r.txqs.rx_num) : "?",
                          r.txqs.rx_real_num ? std::to_string(*r.txqs.rx_real_num) : "?",
                          napis.empty() ? " none" : napis, napis.empty() ? "" : " (napiq " + r.d.name + ")"));
}

void render_softnet(const Report& rep, Output& out) {
    out.write("\nSOFTNET (/proc/net/softnet_stat)\n");
    Table t({">CPU", "SOFTNET_DATA", ">PROCESSED", ">DROPPED", ">TIME_SQUEEZE", ">RECEIVED_RPS", ">BACKLOG",
             ">POLL-LIST"},
            "  ");
    for (const Softnet& sn : rep.cpus) {
        std::optional<std::uint32_t> backlog;
        if (sn.input_qlen || sn.process_qlen) backlog = sn.input_qlen.value_or(0) + sn.process_qlen.value_or(0);
        t.row({std::to_string(sn.cpu), fmt::format("{:016x}", sn.sd), count(sn.processed), count(sn.dropped),
               count(sn.time_squeeze), count(sn.received_rps), count(backlog), std::to_string(sn.poll_list.size())});
    }
    t.render(out);
}

void render_text(Kernel& k, const Report& rep, bool queues, bool softnet, bool all_netns, Output& out) {
    std::string head = fmt::format("netdev: {} device{} in {}", rep.devs.size(), rep.devs.size() == 1 ? "" : "s",
                                   all_netns ? "every namespace" : "init_net");
    if (!rep.unreg.empty()) head += fmt::format(", {} being unregistered", rep.unreg.size());
    head += rep.verdicts.empty() ? "; no verdicts"
                                 : fmt::format("; {} verdict{}", rep.verdicts.size(), rep.verdicts.size() == 1 ? "" : "s");
    if (rep.jiffies) head += fmt::format("; jiffies {}", *rep.jiffies);
    if (rep.hz) head += fmt::format(" (HZ {})", *rep.hz);
    out.write(head + "\n");
    for (const Verdict& v : rep.verdicts) out.write("verdict: " + v.text + "\n");
    for (const auto& p : rep.problems) out.write("PROBLEM: " + p + "\n");
    if (!rep.devs.empty()) {
        out.write("\n");
        render_table(k, rep, out);
    }
    if (!rep.unreg.empty()) render_unreg(k, rep, out);
    if (queues)
        for (const DevRow& r : rep.devs) render_queues(k, rep, r, out);
    if (softnet) render_softnet(rep, out);
}

std::size_t parse_max(const Options& o) {
    std::string t = o.str("max");
    if (t.empty() || t.size() > 9 || t.find_first_not_of("0123456789") != std::string::npos)
        throw Error("--max takes a number from 1 to 999999999");
    std::size_t max = std::stoul(t);
    if (max == 0) throw Error("--max takes a number from 1 to 999999999");
    return max;
}

int run(Kernel& k, const std::vector<std::string>& args, Output& out) {
    Options o("netdev");
    o.add()("q,queues", "every TX queue, qdisc and RX queue of each device")("s,softnet", "per-CPU softnet_data")(
        "all-netns", "every network namespace")("json", "JSON output")(
        "max", "bound on every walk (queues, NAPIs)", cxxopts::value<std::string>()->default_value("4096"));
    o.parse(args);
    if (o.positional().size() > 1) throw Error("at most one device name (see: help netdev)");
    std::string only = o.positional().empty() ? "" : o.positional()[0];
    std::size_t max = parse_max(o);
    Report rep = build(k, o.has("all-netns"), only, max);
    if (o.has("json"))
        write_json(out, report_json(k, rep, only, o.has("all-netns")));
    else
        render_text(k, rep, o.has("queues"), o.has("softnet"), o.has("all-netns"), out);
    bool findings = !rep.problems.empty();
    for (const DevRow& r : rep.devs) findings = findings || !r.problems.empty();
    return rep.verdicts.empty() && !findings ? 0 : 1;
}

}  // namespace

Command netdev_command() {
    return make_command("netdev", run);
}

}  // namespace netdbg
