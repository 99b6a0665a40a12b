// Network namespaces and net devices: for_each_net() over net_namespace_list
// and for_each_netdev() over net->dev_base_head, as the kernel's
// include/linux/netdevice.h macros do, read fault-tolerantly.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/kernel.h"

namespace netdbg {

struct NetLayout {
    explicit NetLayout(Kernel& k);
    StructLayout net;
    MemberInfo net_list, dev_base_head;
};

struct NetDeviceLayout {
    explicit NetDeviceLayout(Kernel& k);
    StructLayout s;
    MemberInfo name, ifindex, flags, priv_flags, dev_list, netdev_ops;
    std::optional<MemberInfo> ip6_ptr, ip_ptr, npinfo, napi_list, nd_net;
    Span span;
};

// include/uapi/linux/if.h
constexpr std::uint32_t IFF_UP = 0x1;

struct NetDevice {
    addr_t addr = 0;
    addr_t net = 0;  // the namespace it was found in
    std::string name;
    int ifindex = 0;
    std::uint32_t flags = 0;
    std::uint64_t priv_flags = 0;
    addr_t netdev_ops = 0;
    addr_t ip6_ptr = 0;  // struct inet6_dev *
    addr_t ip_ptr = 0;   // struct in_device *
    addr_t npinfo = 0;   // struct netpoll_info *
};

std::optional<NetDevice> read_netdev(Kernel& k, addr_t dev, addr_t net = 0);

// init_net only, or every namespace on net_namespace_list.
std::vector<addr_t> for_each_net(Kernel& k, bool all_netns, std::vector<std::string>* problems = nullptr);

// The devices of one namespace in dev_base_head order; problems (a broken
// dev_list, unreadable devices) are appended as text lines.
std::vector<NetDevice> for_each_netdev(Kernel& k, addr_t net, std::vector<std::string>* problems = nullptr,
                                       std::size_t max = 1000000);

// Devices of the selected namespaces, optionally only the one named `only`.
std::vector<NetDevice> netdevs(Kernel& k, bool all_netns, const std::string& only,
                               std::vector<std::string>* problems = nullptr);

}  // namespace netdbg
