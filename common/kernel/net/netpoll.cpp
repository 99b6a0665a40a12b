#include "kernel/net/netpoll.h"

#include <arpa/inet.h>

#include <cstdio>

#include <fmt/format.h>

#include "kernel/lib/list.h"

namespace netdbg {

namespace {

constexpr int kMaxStacking = 8;  // lower-device recursion bound

struct NetpollLayout {
    explicit NetpollLayout(Kernel& k);
    std::optional<std::pair<int, int>> version;
    // net_device.adj_list is an anonymous struct { upper; lower; } of
    // list_heads (include/linux/netdevice.h, unchanged since 3.11).
    std::optional<std::size_t> adj_upper, adj_lower;
    std::size_t adj_dev = 0, adj_master = 0, adj_list = 0;  // struct netdev_adjacent
    std::optional<MemberInfo> ops_poll_controller, ops_netpoll_setup;
    std::optional<std::uint64_t> disable_netpoll;  // enum netdev_priv_flags
    // struct netpoll_info
    std::optional<MemberInfo> npi_refcnt, npi_txq, npi_netpoll;
    std::size_t qlen = 0;
    // struct netpoll
    std::optional<MemberInfo> np_name, np_dev_name, np_local_ip, np_remote_ip, np_ipv6, np_local_port,
        np_remote_port;
    Span np_span;
};

NetpollLayout::NetpollLayout(Kernel& k) {
    Target& t = k.target();
    version = kernel_version(k);
    StructLayout nd(t, "net_device");
    if (auto adj = nd.find("adj_list"); adj && adj->size >= 32) {
        adj_upper = adj->offset;
        adj_lower = adj->offset + adj->size / 2;
        StructLayout a(t, "netdev_adjacent");
        adj_dev = a.offset("dev");
        adj_master = a.offset("master");
        adj_list = a.offset("list");
    }
    if (t.type_size("net_device_ops")) {
        StructLayout ops(t, "net_device_ops");
        ops_poll_controller = ops.find("ndo_poll_controller");
        ops_netpoll_setup = ops.find("ndo_netpoll_setup");
    }
    if (auto v = t.enum_value("IFF_DISABLE_NETPOLL")) disable_netpoll = static_cast<std::uint64_t>(*v);
    if (t.type_size("netpoll_info")) {
        StructLayout npi(t, "netpoll_info");
        npi_refcnt = npi.find("refcnt");
        npi_txq = npi.find("txq");
        npi_netpoll = npi.find("netpoll");
        if (npi_txq) qlen = StructLayout(t, "sk_buff_head").offset("qlen");
    }
    if (t.type_size("netpoll")) {
        StructLayout np(t, "netpoll");
        np_name = np.find("name");
        np_dev_name = np.find("dev_name");
        np_local_ip = np.find("local_ip");
        np_remote_ip = np.find("remote_ip");
        np_ipv6 = np.find("ipv6");
        np_local_port = np.find("local_port");
        np_remote_port = np.find("remote_port");
        for (const auto& m : {np_name, np_dev_name, np_local_ip, np_remote_ip, np_ipv6, np_local_port, np_remote_port})
            if (m) np_span.add(*m);
    }
}

std::string ip_text(const std::uint8_t* bytes, bool ipv6) {
    char buf[INET6_ADDRSTRLEN] = {};
    if (!inet_ntop(ipv6 ? AF_INET6 : AF_INET, bytes, buf, sizeof buf)) return "?";
    return buf;
}

std::optional<NetpollUser> read_netpoll_user(Kernel& k, const NetpollLayout& L, addr_t np) {
    if (!np || L.np_span.end == 0) return std::nullopt;
    auto o = Object::read(k.mem(), np, L.np_span.end, L.np_span.begin);
    if (!o) return std::nullopt;
    NetpollUser u;
    u.netpoll = np;
    if (L.np_name) u.name = k.mem().read_cstring(o->u64(L.np_name->offset), 32).value_or("?");
    if (L.np_dev_name) u.dev_name = o->cstring(L.np_dev_name->offset, L.np_dev_name->size);
    bool ipv6 = L.np_ipv6 && o->uint(L.np_ipv6->offset, L.np_ipv6->size) != 0;
    if (L.np_local_ip && L.np_local_ip->size >= 16) u.local_ip = ip_text(o->data(L.np_local_ip->offset, 16), ipv6);
    if (L.np_remote_ip && L.np_remote_ip->size >= 16)
        u.remote_ip = ip_text(o->data(L.np_remote_ip->offset, 16), ipv6);
    if (L.np_local_port) u.local_port = static_cast<unsigned>(o->uint(L.np_local_port->offset, L.np_local_port->size));
    if (L.np_remote_port)
        u.remote_port = static_cast<unsigned>(o->uint(L.np_remote_port->offset, L.np_remote_port->size));
    return u;
}

addr_t ops_member(Kernel& k, addr_t ops, const std::optional<MemberInfo>& m) {
    if (!ops || !m) return 0;
    return k.mem().read_u64(ops + m->offset).value_or(0);
}

// __netpoll_setup()'s refusal for dev (and, through a stacked device's
// ndo_netpoll_setup(), for its lower devices), or "" when it would succeed.
std::string setup_refusal(Kernel& k, const NetpollLayout& L, addr_t dev, int depth, std::string& kernel_message) {
    auto d = read_netdev(k, dev);
    if (!d) return fmt::format("net_device {:016x} unreadable", dev);
    if (L.disable_netpoll && (d->priv_flags & *L.disable_netpoll)) {
        kernel_message = "doesn't support polling";
        return depth ? fmt::format("lower device {} has IFF_DISABLE_NETPOLL", d->name) : "IFF_DISABLE_NETPOLL set";
    }
    if (L.version && *L.version < std::make_pair(4, 19) && !ops_member(k, d->netdev_ops, L.ops_poll_controller)) {
        kernel_message = "doesn't support polling";
        std::string what = "no ndo_poll_controller (required before 4.19)";
        return depth ? fmt::format("lower device {}: {}", d->name, what) : what;
    }
    if (d->npinfo) return "";  // shares the existing netpoll_info
    if (!ops_member(k, d->netdev_ops, L.ops_netpoll_setup) || depth >= kMaxStacking) return "";
    for (addr_t lower : netdev_for_each_lower_dev(k, dev, 64)) {
        std::string r = setup_refusal(k, L, lower, depth + 1, kernel_message);
        if (!r.empty()) return r;
    }
    return "";
}

}  // namespace

std::optional<std::pair<int, int>> kernel_version(Kernel& k) {
    auto banner = k.try_symbol("linux_banner");
    if (!banner) return std::nullopt;
    auto text = k.mem().read_cstring(*banner, 128);
    if (!text) return std::nullopt;
    int major = 0, minor = 0;
    if (std::sscanf(text->c_str(), "Linux version %d.%d", &major, &minor) != 2) return std::nullopt;
    return std::make_pair(major, minor);
}

addr_t netdev_master_upper(Kernel& k, addr_t dev) {
    const NetpollLayout& L = k.get<NetpollLayout>();
    if (!L.adj_upper) return 0;
    addr_t head = dev + *L.adj_upper;
    auto first = k.mem().read_u64(head);
    if (!first || *first == head || !*first) return 0;
    addr_t adj = *first - L.adj_list;
    auto master = k.mem().read_as<std::uint8_t>(adj + L.adj_master);
    if (!master || !*master) return 0;
    return k.mem().read_u64(adj + L.adj_dev).value_or(0);
}

std::vector<addr_t> netdev_for_each_lower_dev(Kernel& k, addr_t dev, std::size_t max) {
    const NetpollLayout& L = k.get<NetpollLayout>();
    std::vector<addr_t> out;
    if (!L.adj_lower) return out;
    ListWalk w = walk_list(k, dev + *L.adj_lower, max, [&](addr_t node) {
        if (auto d = k.mem().read_u64(node - L.adj_list + L.adj_dev); d && *d) out.push_back(*d);
        return true;
    });
    if (out.size() > w.count) out.resize(w.count);
    return out;
}

NetpollState netpoll_state(Kernel& k, const NetDevice& d) {
    const NetpollLayout& L = k.get<NetpollLayout>();
    const NetDeviceLayout& DL = k.get<NetDeviceLayout>();
    NetpollState s;
    s.poll_controller = ops_member(k, d.netdev_ops, L.ops_poll_controller);
    s.netpoll_setup = ops_member(k, d.netdev_ops, L.ops_netpoll_setup);
    s.npinfo = d.npinfo;
    if (!DL.npinfo) {
        s.reason = "kernel without CONFIG_NETPOLL (no net_device.npinfo)";
        return s;
    }
    if (!L.adj_upper) s.notes.push_back("no net_device.adj_list: master device not checked");
    if (!L.disable_netpoll) s.notes.push_back("no IFF_DISABLE_NETPOLL in the debug info: not checked");
    if (!L.version && !s.poll_controller)
        s.notes.push_back("kernel version unknown: a missing ndo_poll_controller (needed before 4.19) not checked");
    s.master = netdev_master_upper(k, d.addr);
    if (s.master) {
        auto m = read_netdev(k, s.master);
        s.master_name = m ? m->name : fmt::format("{:016x}", s.master);
        s.reason = fmt::format("slave of {}", s.master_name);
        s.kernel_message = "is a slave device";
    } else {
        s.reason = setup_refusal(k, L, d.addr, 0, s.kernel_message);
    }
    s.accepted = s.reason.empty();
    if (s.accepted && !(d.flags & IFF_UP)) s.notes.push_back("down: netpoll_setup() would bring it up");
    if (s.npinfo) {
        if (L.npi_refcnt) s.refcnt = k.mem().read_u32(s.npinfo + L.npi_refcnt->offset);
        if (L.npi_txq) s.txq_len = k.mem().read_u32(s.npinfo + L.npi_txq->offset + L.qlen);
        if (L.npi_netpoll)
            if (auto np = k.mem().read_u64(s.npinfo + L.npi_netpoll->offset)) s.user = read_netpoll_user(k, L, *np);
    }
    return s;
}

}  // namespace netdbg
