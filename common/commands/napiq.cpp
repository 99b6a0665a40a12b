// napiq: the NAPI instances of each net device with their decoded state,
// netpoll owner and poll list, whether netpoll (netconsole) can use the
// device and why not, and per CPU the softnet_data poll lists.
#include <map>
#include <unordered_map>

#include <fmt/format.h>

#include "commands/commands.h"
#include "core/json.h"
#include "kernel/net/napi.h"
#include "kernel/net/netdevice.h"
#include "kernel/net/netpoll.h"
#include "core/options.h"
#include "kernel/net/softnet.h"
#include "core/table.h"
#include "kernel/sched/task.h"

namespace netdbg {

namespace {

// include/uapi/linux/if.h: the dev->flags that matter here.
constexpr std::pair<std::uint32_t, const char*> kFlags[] = {
    {0x1, "UP"}, {0x8, "LOOPBACK"}, {0x80, "NOARP"}, {0x100, "PROMISC"}, {0x400, "MASTER"}, {0x800, "SLAVE"}};

// enum netdev_priv_flags members that decide netpoll or stacking; their
// values come from the debug info.
constexpr const char* kPrivFlags[] = {"IFF_DISABLE_NETPOLL", "IFF_BONDING",        "IFF_TEAM",
                                      "IFF_TEAM_PORT",       "IFF_EBRIDGE",        "IFF_BRIDGE_PORT",
                                      "IFF_802_1Q_VLAN",     "IFF_MACVLAN",        "IFF_MACVLAN_PORT",
                                      "IFF_OPENVSWITCH",     "IFF_L3MDEV_MASTER",  "IFF_L3MDEV_SLAVE",
                                      "IFF_FAILOVER",        "IFF_FAILOVER_SLAVE"};

struct PrivFlagNames {
    explicit PrivFlagNames(Kernel& k) {
        for (const char* n : kPrivFlags)
            if (auto v = k.target().enum_value(n); v && *v > 0) names.emplace_back(static_cast<std::uint64_t>(*v), n + 4);
    }
    std::vector<std::pair<std::uint64_t, std::string>> names;
};

std::vector<std::string> flag_names(std::uint32_t flags) {
    std::vector<std::string> out;
    for (const auto& [bit, name] : kFlags)
        if (flags & bit) out.push_back(name);
    return out;
}

std::vector<std::string> priv_flag_names(Kernel& k, std::uint64_t priv) {
    std::vector<std::string> out;
    for (const auto& [bit, name] : k.get<PrivFlagNames>().names)
        if (priv & bit) out.push_back(name);
    return out;
}

std::string join(const std::vector<std::string>& v, const char* sep) {
    std::string out;
    for (const auto& s : v) out += (out.empty() ? "" : sep) + s;
    return out;
}

struct NapiRow {
    Napi n;
    std::string poll;  // "virtnet_poll [virtio_net]"
    std::vector<std::string> bits;
    int list_cpu = -1;       // the CPU whose softnet_data.poll_list holds it
    bool elsewhere = false;  // linked on a list that is no CPU's poll_list
    std::optional<Task> thread;
    int owner() const { return n.poll_owner.value_or(-1); }
};

struct DevRow {
    NetDevice d;
    std::string driver;  // module of netdev_ops, "" when built in
    std::string ops_symbol;
    NetpollState np;
    std::vector<NapiRow> napis;
    std::vector<std::string> problems;
};

struct Finding {
    std::string kind;  // stuck, disable-pending, netpoll-held
    std::string device;
    addr_t napi = 0;
    int cpu = -1;
    std::string message;
};

struct Report {
    std::vector<DevRow> devs;
    std::vector<Softnet> cpus;
    std::vector<Finding> findings;
    std::vector<std::string> problems;
    bool poll_lists_known = true;  // every CPU's softnet_data.poll_list was walked
};

std::string poll_name(Kernel& k, addr_t fn) { return fn ? k.symbolize(fn) : "-"; }

std::string napi_label(const DevRow& d, const NapiRow& r) {
    std::string id = r.n.napi_id && *r.n.napi_id ? fmt::format(" id {}", *r.n.napi_id) : "";
    return fmt::format("{} NAPI {:016x}{} ({})", d.d.name, r.n.addr, id, r.poll);
}

void find_problems(Kernel& k, Report& rep) {
    const NapiStates& st = k.get<NapiStates>();
    if (!st.known()) {
        rep.problems.push_back("no NAPI_STATE_SCHED enumerator in the debug info: state bits not decoded, no findings");
        return;
    }
    for (const DevRow& d : rep.devs) {
        std::map<int, int> held;  // owner CPU -> NAPIs
        for (const NapiRow& r : d.napis) {
            std::uint64_t s = r.n.state;
            bool owned = r.owner() >= 0;
            if (owned) ++held[r.owner()];
            bool sched = st.test(s, "SCHED");
            bool disabling = st.test(s, "DISABLE");
            // napi_disable() leaves SCHED|NPSVC without an owner: disabled, not stuck.
            bool disabled = sched && st.test(s, "NPSVC") && !disabling && !owned;
            bool thread_polls = st.test(s, "THREADED") && r.n.thread;
            if (rep.poll_lists_known && sched && r.list_cpu < 0 && !r.elsewhere && !owned && !disabled &&
                !thread_polls && !st.test(s, "IN_BUSY_POLL")) {
                rep.findings.push_back(
                    {"stuck", d.d.name, r.n.addr, -1,
                     fmt::format("{}: SCHED set, on no CPU's poll_list, no netpoll owner: nothing will poll it "
                                 "(unless its poll function is running right now)",
                                 napi_label(d, r))});
            }
            if (disabling && (d.d.flags & IFF_UP)) {
                rep.findings.push_back(
                    {"disable-pending", d.d.name, r.n.addr, -1,
                     fmt::format("{}: DISABLE set on an UP device: napi_disable() is waiting for {}", napi_label(d, r),
                                 sched ? "SCHED to clear" : "the NAPI to go idle")});
            }
        }
        for (const auto& [cpu, n] : held) {
            if (n < 2) continue;
            rep.findings.push_back(
                {"netpoll-held", d.d.name, 0, cpu,
                 fmt::format("CPU {} holds {} of the {} NAPIs of {} through netpoll (poll_owner): the stealing "
                             "pattern; napi_poll() on any other CPU spins in netpoll_poll_lock() on them",
                             cpu, n, d.napis.size(), d.d.name)});
        }
    }
}

Report build(Kernel& k, bool all_netns, const std::string& only, std::size_t max) {
    Report rep;
    const NapiStates& st = k.get<NapiStates>();
    std::vector<NetDevice> devs = netdevs(k, all_netns, only, &rep.problems);
    try {
        rep.cpus = for_each_softnet(k, max, &rep.problems);
    } catch (const Interrupted&) {
        throw;
    } catch (const Error& e) {
        rep.poll_lists_known = false;
        rep.problems.push_back(std::string("softnet_data: ") + e.what() + ": poll lists unknown, no stuck findings");
    }
    for (const Softnet& sn : rep.cpus) {
        if (sn.complete) continue;
        rep.poll_lists_known = false;
        rep.problems.push_back(fmt::format("CPU {}: broken poll_list (see -c): stuck NAPIs not reported", sn.cpu));
    }
    std::unordered_map<addr_t, int> on_cpu;
    for (const Softnet& sn : rep.cpus)
        for (addr_t n : sn.poll_list) on_cpu.emplace(n, sn.cpu);
    for (NetDevice& nd : devs) {
        k.check_interrupt();
        DevRow d;
        d.d = std::move(nd);
        if (auto s = k.target().symbolize(d.d.netdev_ops)) {
            d.driver = s->module;
            d.ops_symbol = s->offset ? fmt::format("{}+{:#x}", s->name, s->offset) : s->name;
        }
        d.np = netpoll_state(k, d.d);
        for (Napi& n : netdev_for_each_napi(k, d.d.addr, &d.problems, max)) {
            k.check_interrupt();
            NapiRow r;
            r.n = std::move(n);
            r.poll = poll_name(k, r.n.poll);
            if (st.known()) r.bits = st.decode(r.n.state);
            if (auto it = on_cpu.find(r.n.addr); it != on_cpu.end()) r.list_cpu = it->second;
            r.elsewhere = !r.n.unlisted && r.list_cpu < 0;
            if (r.n.thread) r.thread = read_task(k, r.n.thread);
            d.napis.push_back(std::move(r));
        }
        rep.devs.push_back(std::move(d));
    }
    find_problems(k, rep);
    return rep;
}

// ---- JSON ---------------------------------------------------------------

json opt(const std::optional<std::uint64_t>& v) { return v ? json(*v) : json(nullptr); }
json opt(const std::optional<std::uint32_t>& v) { return v ? json(*v) : json(nullptr); }
json opt_hex(addr_t a) { return a ? json(hex(a)) : json(nullptr); }

json napi_json(const NapiRow& r) {
    json t = nullptr;
    if (r.n.thread)
        t = {{"task", hex(r.n.thread)},
             {"pid", r.thread ? json(r.thread->pid) : json(nullptr)},
             {"comm", r.thread ? json(r.thread->comm) : json(nullptr)}};
    return {{"napi", hex(r.n.addr)},
            {"napi_id", r.n.napi_id ? json(*r.n.napi_id) : json(nullptr)},
            {"poll", r.poll},
            {"poll_address", hex(r.n.poll)},
            {"weight", r.n.weight ? json(*r.n.weight) : json(nullptr)},
            {"state", r.n.state},
            {"state_bits", r.bits},
            {"poll_owner", r.n.poll_owner ? json(*r.n.poll_owner) : json(nullptr)},
            {"poll_list_cpu", r.list_cpu >= 0 ? json(r.list_cpu) : json(nullptr)},
            {"on_other_list", r.elsewhere},
            {"thread", t},
            {"gro_count", opt(r.n.gro_count)},
            {"rx_count", opt(r.n.rx_count)}};
}

json netpoll_json(const NetpollState& np) {
    json user = nullptr;
    if (np.user)
        user = {{"netpoll", hex(np.user->netpoll)}, {"name", np.user->name},         {"dev_name", np.user->dev_name},
                {"local_ip", np.user->local_ip},    {"local_port", np.user->local_port},
                {"remote_ip", np.user->remote_ip},  {"remote_port", np.user->remote_port}};
    return {{"accepted", np.accepted},
            {"reason", np.accepted ? json(nullptr) : json(np.reason)},
            {"kernel_message", np.kernel_message.empty() ? json(nullptr) : json(np.kernel_message)},
            {"notes", np.notes},
            {"ndo_poll_controller", opt_hex(np.poll_controller)},
            {"ndo_netpoll_setup", opt_hex(np.netpoll_setup)},
            {"attached", np.npinfo != 0},
            {"npinfo", opt_hex(np.npinfo)},
            {"refcnt", np.refcnt ? json(*np.refcnt) : json(nullptr)},
            {"txq_len", np.txq_len ? json(*np.txq_len) : json(nullptr)},
            {"user", user}};
}

// Who a poll_list entry is: a NAPI of a listed device, the CPU's backlog,
// or a NAPI read on the spot.
struct PollEntry {
    addr_t napi = 0;
    std::string device;
    std::optional<unsigned> napi_id;
    std::string poll;
    bool backlog = false;
};

std::vector<PollEntry> poll_entries(Kernel& k, const Report& rep, const Softnet& sn) {
    std::unordered_map<addr_t, std::pair<const DevRow*, const NapiRow*>> known;
    for (const DevRow& d : rep.devs)
        for (const NapiRow& r : d.napis) known.emplace(r.n.addr, std::make_pair(&d, &r));
    std::vector<PollEntry> out;
    for (addr_t a : sn.poll_list) {
        PollEntry e;
        e.napi = a;
        if (auto it = known.find(a); it != known.end()) {
            e.device = it->second.first->d.name;
            e.napi_id = it->second.second->n.napi_id;
            e.poll = it->second.second->poll;
        } else if (auto n = read_napi(k, a)) {
            e.backlog = a == sn.backlog;
            if (n->dev)
                if (auto d = read_netdev(k, n->dev)) e.device = d->name;
            e.napi_id = n->napi_id;
            e.poll = poll_name(k, n->poll);
        } else {
            e.poll = "(unreadable)";
        }
        out.push_back(std::move(e));
    }
    return out;
}

json cpu_json(Kernel& k, const Report& rep, const Softnet& sn) {
    json pl = json::array();
    for (const PollEntry& e : poll_entries(k, rep, sn))
        pl.push_back({{"napi", hex(e.napi)},
                      {"device", e.device.empty() ? json(nullptr) : json(e.device)},
                      {"napi_id", e.napi_id ? json(*e.napi_id) : json(nullptr)},
                      {"poll", e.poll},
                      {"backlog", e.backlog}});
    std::optional<std::uint32_t> backlog;
    if (sn.input_qlen || sn.process_qlen) backlog = sn.input_qlen.value_or(0) + sn.process_qlen.value_or(0);
    return {{"cpu", sn.cpu},
            {"softnet_data", hex(sn.sd)},
            {"processed", opt(sn.processed)},
            {"dropped", opt(sn.dropped)},
            {"time_squeeze", opt(sn.time_squeeze)},
            {"received_rps", opt(sn.received_rps)},
            {"input_pkt_queue_len", opt(sn.input_qlen)},
            {"process_queue_len", opt(sn.process_qlen)},
            {"backlog_len", opt(backlog)},
            {"poll_list", pl},
            {"problems", sn.problems}};
}

json report_json(Kernel& k, const Report& rep, const std::string& only, bool all_netns) {
    json j;
    j["command"] = "napiq";
    j["filters"] = {{"device", only.empty() ? json(nullptr) : json(only)}, {"all_netns", all_netns}};
    json bits = json::object();
    for (const auto& [name, bit] : k.get<NapiStates>().bits()) bits[name] = bit;
    j["state_bits"] = bits;
    std::size_t napis = 0;
    j["devices"] = json::array();
    for (const DevRow& d : rep.devs) {
        napis += d.napis.size();
        json nj = json::array();
        for (const NapiRow& r : d.napis) nj.push_back(napi_json(r));
        j["devices"].push_back(
            {{"name", d.d.name},
             {"ifindex", d.d.ifindex},
             {"net_device", hex(d.d.addr)},
             {"netns", hex(d.d.net)},
             {"driver", d.driver.empty() ? json(nullptr) : json(d.driver)},
             {"netdev_ops", hex(d.d.netdev_ops)},
             {"netdev_ops_symbol", d.ops_symbol.empty() ? json(nullptr) : json(d.ops_symbol)},
             {"up", (d.d.flags & IFF_UP) != 0},
             {"flags", flag_names(d.d.flags)},
             {"flags_raw", d.d.flags},
             {"priv_flags", priv_flag_names(k, d.d.priv_flags)},
             {"priv_flags_raw", d.d.priv_flags},
             {"master", d.np.master ? json{{"name", d.np.master_name}, {"net_device", hex(d.np.master)}} : json(nullptr)},
             {"netpoll", netpoll_json(d.np)},
             {"napis", nj},
             {"problems", d.problems}});
    }
    j["device_count"] = rep.devs.size();
    j["napi_count"] = napis;
    j["cpus"] = json::array();
    for (const Softnet& sn : rep.cpus) j["cpus"].push_back(cpu_json(k, rep, sn));
    j["findings"] = json::array();
    for (const Finding& f : rep.findings)
        j["findings"].push_back({{"kind", f.kind},
                                 {"device", f.device},
                                 {"napi", f.napi ? json(hex(f.napi)) : json(nullptr)},
                                 {"cpu", f.cpu >= 0 ? json(f.cpu) : json(nullptr)},
                                 {"message", f.message}});
    j["problems"] = rep.problems;
    return j;
}

// ---- text ---------------------------------------------------------------

std::string netpoll_text(const NetpollState& np) {
    std::string s = np.accepted ? "accepted" : "REFUSED: " + np.reason;
    if (!np.kernel_message.empty()) s += fmt::format(" (netpoll_setup: \"{}\")", np.kernel_message);
    if (np.npinfo) {
        s += fmt::format("; attached (npinfo {:016x}", np.npinfo);
        if (np.refcnt) s += fmt::format(", {} user{}", *np.refcnt, *np.refcnt == 1 ? "" : "s");
        if (np.txq_len && *np.txq_len) s += fmt::format(", {} queued", *np.txq_len);
        s += ")";
        if (np.user)
            s += fmt::format(": {} {}:{} -> {}:{}", np.user->name, np.user->local_ip, np.user->local_port,
                             np.user->remote_ip, np.user->remote_port);
    }
    for (const auto& n : np.notes) s += "; " + n;
    return s;
}

std::string list_text(const NapiRow& r) {
    if (r.list_cpu >= 0) return fmt::format("cpu{}", r.list_cpu);
    return r.elsewhere ? "other" : "-";
}

void render_device(const DevRow& d, Kernel& k, Output& out) {
    std::vector<std::string> flags = flag_names(d.d.flags);
    for (auto& p : priv_flag_names(k, d.d.priv_flags)) flags.push_back(p);
    out.write(fmt::format("{}  ifindex {}  {}  net_device {:016x}{}\n", d.d.name, d.d.ifindex,
                          d.driver.empty() ? d.ops_symbol.empty() ? "(built in)" : d.ops_symbol + " (built in)" : d.driver, d.d.addr,
                          flags.empty() ? "" : "  " + join(flags, ",")));
    out.write("  netpoll: " + netpoll_text(d.np) + "\n");
    for (const auto& p : d.problems) out.write("  PROBLEM: " + p + "\n");
    if (d.napis.empty()) return;
    Table t({"NAPI", ">ID", "POLL", ">WEIGHT", "STATE", "OWNER", "LIST", "THREAD", ">GRO", ">RX"}, "  ");
    for (const NapiRow& r : d.napis) {
        std::string thread = "-";
        if (r.n.thread) thread = r.thread ? fmt::format("{} {}", r.thread->pid, r.thread->comm) : fmt::format("{:016x}", r.n.thread);
        t.row({fmt::format("{:016x}", r.n.addr), r.n.napi_id ? std::to_string(*r.n.napi_id) : "-", r.poll,
               r.n.weight ? std::to_string(*r.n.weight) : "-",
               r.bits.empty() ? fmt::format("{:#x}", r.n.state) : join(r.bits, "|"),
               r.owner() >= 0 ? std::to_string(r.owner()) : "-", list_text(r), thread,
               r.n.gro_count ? std::to_string(*r.n.gro_count) : "-", r.n.rx_count ? std::to_string(*r.n.rx_count) : "-"});
    }
    t.render(out);
}

std::string count(std::optional<std::uint32_t> v) { return v ? std::to_string(*v) : "-"; }

void render_cpus(Kernel& k, const Report& rep, Output& out) {
    Table t({"CPU", "SOFTNET_DATA", ">PROCESSED", ">DROPPED", ">SQUEEZED", ">BACKLOG", ">POLL-LIST"});
    for (const Softnet& sn : rep.cpus) {
        std::optional<std::uint32_t> backlog;
        if (sn.input_qlen || sn.process_qlen) backlog = sn.input_qlen.value_or(0) + sn.process_qlen.value_or(0);
        t.row({std::to_string(sn.cpu), fmt::format("{:016x}", sn.sd), count(sn.processed), count(sn.dropped),
               count(sn.time_squeeze), count(backlog), std::to_string(sn.poll_list.size())});
    }
    t.render(out);
    for (const Softnet& sn : rep.cpus) {
        for (const auto& p : sn.problems) out.write(fmt::format("CPU {} PROBLEM: {}\n", sn.cpu, p));
        if (sn.poll_list.empty()) continue;
        out.write(fmt::format("\nCPU {} poll_list ({} NAPI{}, in poll order):\n", sn.cpu, sn.poll_list.size(),
                              sn.poll_list.size() == 1 ? "" : "s"));
        Table pl({"NAPI", "DEVICE", ">ID", "POLL"}, "  ");
        for (const PollEntry& e : poll_entries(k, rep, sn))
            pl.row({fmt::format("{:016x}", e.napi), e.backlog ? "(backlog)" : e.device.empty() ? "?" : e.device,
                    e.napi_id && *e.napi_id ? std::to_string(*e.napi_id) : "-", e.poll});
        pl.render(out);
    }
}

void render_text(Kernel& k, const Report& rep, bool cpus, Output& out) {
    std::size_t napis = 0, listed = 0;
    std::vector<std::string> attached;
    for (const DevRow& d : rep.devs) {
        napis += d.napis.size();
        for (const NapiRow& r : d.napis) listed += r.list_cpu >= 0;
        if (d.np.npinfo) attached.push_back(d.d.name);
    }
    out.write(fmt::format("{} device{}, {} NAPI{} ({} on a poll_list); netpoll attached to {}; {}\n", rep.devs.size(),
                          rep.devs.size() == 1 ? "" : "s", napis, napis == 1 ? "" : "s", listed,
                          attached.empty() ? "none" : join(attached, ", "),
                          rep.findings.empty() ? "no findings"
                                               : fmt::format("{} FINDING{}", rep.findings.size(),
                                                             rep.findings.size() == 1 ? "" : "S")));
    for (const auto& p : rep.problems) out.write("PROBLEM: " + p + "\n");
    if (!rep.findings.empty()) {
        out.write("\nFINDINGS\n");
        for (const Finding& f : rep.findings) out.write(fmt::format("  {:<16} {}\n", f.kind, f.message));
    }
    for (const DevRow& d : rep.devs) {
        out.write("\n");
        render_device(d, k, out);
    }
    if (cpus) {
        out.write("\n");
        render_cpus(k, rep, out);
    }
}

int run(Kernel& k, const std::vector<std::string>& args, Output& out) {
    Options o("napiq");
    o.add()("c,cpus", "per-CPU softnet_data")("all-netns", "every network namespace")("json", "JSON output")(
        "max", "bound on every list walk", cxxopts::value<std::string>()->default_value("10000"));
    o.parse(args);
    if (o.positional().size() > 1) throw Error("at most one device name (see: help napiq)");
    std::string only = o.positional().empty() ? "" : o.positional()[0];
    std::string max_text = o.str("max");
    if (max_text.empty() || max_text.size() > 9 || max_text.find_first_not_of("0123456789") != std::string::npos)
        throw Error("--max takes a number from 1 to 999999999");
    std::size_t max = std::stoul(max_text);
    if (max == 0) throw Error("--max takes a number from 1 to 999999999");
    Report rep = build(k, o.has("all-netns"), only, max);
    if (o.has("json"))
        write_json(out, report_json(k, rep, only, o.has("all-netns")));
    else
        render_text(k, rep, o.has("cpus"), out);
    return rep.findings.empty() ? 0 : 1;
}

}  // namespace

Command napiq_command() {
    return make_command("napiq", run);
}

}  // namespace netdbg
