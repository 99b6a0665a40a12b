#include "kernel/net/netdevice.h"

#include <fmt/format.h>

#include "kernel/lib/list.h"

namespace netdbg {

NetLayout::NetLayout(Kernel& k) : net(k.target(), "net") {
    net_list = net.require("list");
    dev_base_head = net.require("dev_base_head");
}

NetDeviceLayout::NetDeviceLayout(Kernel& k) : s(k.target(), "net_device") {
    name = s.require("name");
    ifindex = s.require("ifindex");
    flags = s.require("flags");
    priv_flags = s.require("priv_flags");
    dev_list = s.require("dev_list");
    netdev_ops = s.require("netdev_ops");
    ip6_ptr = s.find("ip6_ptr");
    ip_ptr = s.find("ip_ptr");
    npinfo = s.find("npinfo");
    napi_list = s.find("napi_list");
    // possible_net_t nd_net: a single `struct net *net` member.
    nd_net = s.find("nd_net");
    for (const MemberInfo& m : {name, ifindex, flags, priv_flags, dev_list, netdev_ops}) span.add(m);
    for (const auto& m : {ip6_ptr, ip_ptr, npinfo, napi_list, nd_net})
        if (m) span.add(*m);
}

std::optional<NetDevice> read_netdev(Kernel& k, addr_t addr, addr_t net) {
    const NetDeviceLayout& L = k.get<NetDeviceLayout>();
    auto o = Object::read(k.mem(), addr, L.span.end, L.span.begin);
    if (!o) return std::nullopt;
    NetDevice d;
    d.addr = addr;
    d.net = net;
    if (!net && L.nd_net) d.net = o->u64(L.nd_net->offset);
    d.name = o->cstring(L.name.offset, L.name.size);
    d.ifindex = static_cast<int>(o->uint(L.ifindex.offset, L.ifindex.size));
    d.flags = static_cast<std::uint32_t>(o->uint(L.flags.offset, L.flags.size));
    d.priv_flags = o->uint(L.priv_flags.offset, L.priv_flags.size);
    d.netdev_ops = o->u64(L.netdev_ops.offset);
    if (L.ip6_ptr) d.ip6_ptr = o->u64(L.ip6_ptr->offset);
    if (L.ip_ptr) d.ip_ptr = o->u64(L.ip_ptr->offset);
    if (L.npinfo) d.npinfo = o->u64(L.npinfo->offset);
    return d;
}

std::vector<addr_t> for_each_net(Kernel& k, bool all_netns, std::vector<std::string>* problems) {
    addr_t init_net = k.symbol("init_net");
    if (!all_netns) return {init_net};
    const NetLayout& L = k.get<NetLayout>();
    std::vector<addr_t> nets;
    addr_t head = k.symbol("net_namespace_list");
    ListWalk w = walk_list(k, head, 100000, [&](addr_t node) {
        nets.push_back(node - L.net_list.offset);
        return true;
    });
    nets.resize(std::min(nets.size(), w.count));
    if (problems)
        for (const auto& f : w.findings) problems->push_back("net_namespace_list: " + f.describe());
    if (nets.empty()) nets.push_back(init_net);
    return nets;
}

std::vector<NetDevice> for_each_netdev(Kernel& k, addr_t net, std::vector<std::string>* problems,
                                       std::size_t max) {
    const NetLayout& NL = k.get<NetLayout>();
    const NetDeviceLayout& L = k.get<NetDeviceLayout>();
    std::vector<NetDevice> devs;
    ListWalk w = walk_list(k, net + NL.dev_base_head.offset, max, [&](addr_t node) {
        k.check_interrupt();
        addr_t dev = node - L.dev_list.offset;
        if (auto d = read_netdev(k, dev, net)) {
            devs.push_back(std::move(*d));
        } else if (problems) {
            problems->push_back(fmt::format("net_device {:016x}: unreadable", dev));
        }
        return true;
    });
    // On a loop the visitor saw some devices twice; keep the distinct ones.
    if (devs.size() > w.count) devs.resize(w.count);
    if (problems)
        for (const auto& f : w.findings)
            problems->push_back(fmt::format("dev_base_head of net {:016x}: {}", net, f.describe()));
    return devs;
}

std::vector<NetDevice> netdevs(Kernel& k, bool all_netns, const std::string& only,
                               std::vector<std::string>* problems) {
    std::vector<NetDevice> out;
    for (addr_t net : for_each_net(k, all_netns, problems)) {
        for (NetDevice& d : for_each_netdev(k, net, problems)) {
            if (only.empty() || d.name == only) out.push_back(std::move(d));
        }
    }
    if (!only.empty() && out.empty())
        throw Error(fmt::format("no net device named '{}'{}", only, all_netns ? "" : " in init_net (try --all-netns)"));
    return out;
}

}  // namespace netdbg
