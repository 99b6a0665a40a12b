// The network side of the synthetic kernel: struct net, net_device,
// napi_struct, softnet_data, netpoll and the IPv6 anycast/multicast types
// (6.1 x86_64 member names; offsets of this image, the ones below where
// tests build objects by hand), the NAPI_STATE_* enum of several kernel
// versions, and init_net on net_namespace_list.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

#include "fake_kernel.h"

namespace netdbg::test {

// Offsets the builders write through directly.
namespace net_off {
constexpr std::size_t kNetList = 0x10;       // net.list
constexpr std::size_t kDevBaseHead = 0x90;   // net.dev_base_head
constexpr std::size_t kDevList = 0x50;       // net_device.dev_list
constexpr std::size_t kNapiList = 0x60;      // net_device.napi_list
constexpr std::size_t kAdjUpper = 0xa0;      // net_device.adj_list.upper
constexpr std::size_t kAdjLower = 0xb0;      // net_device.adj_list.lower
constexpr std::size_t kIp6Ptr = 0x310;       // net_device.ip6_ptr
constexpr std::size_t kNapiDevList = 352;    // napi_struct.dev_list
constexpr std::size_t kAdjacentList = 24;    // netdev_adjacent.list
constexpr std::size_t kMcList = 24;          // inet6_dev.mc_list
constexpr std::size_t kAcList = 608;         // inet6_dev.ac_list
constexpr std::size_t kAcaNext = 24;         // ifacaddr6.aca_next
constexpr std::size_t kMcaNext = 24;         // ifmcaddr6.next
constexpr std::size_t kSoftnetSize = 768;    // sizeof(struct softnet_data)
}  // namespace net_off

// Types and members only (no symbols, no enums).
void add_net_layout(FakeTarget& t);

// Which kernel's NAPI_STATE_* enum the fake debug info carries.
enum class NapiEnum { Linux61, Linux414, Linux49, None };
void add_napi_state_enum(FakeTarget& t, NapiEnum e);

// init_net (struct net at init_net) alone on net_namespace_list (at
// net_list), with an empty device list.
void add_init_net(FakeKernel& fk, addr_t init_net, addr_t net_list);

// A registered net_device in net (list_netdevice(): at the tail of
// net->dev_base_head), empty NAPI and adjacency lists.
addr_t add_net_device(FakeKernel& fk, const std::string& name, int ifindex, std::uint32_t flags, addr_t netdev_ops,
                      addr_t net);

// netif_napi_add(): at the head of dev->napi_list, poll_list self-linked,
// poll_owner -1, empty GRO buckets.
addr_t add_napi(FakeKernel& fk, addr_t dev, addr_t poll, int weight, unsigned napi_id, std::uint64_t state);

// An inet6_dev for dev (ip6_ptr), with empty anycast and multicast lists.
addr_t add_inet6_dev(FakeKernel& fk, addr_t dev);

using Ipv6Bytes = std::array<std::uint8_t, 16>;
Ipv6Bytes ipv6(const char* text);  // inet_pton(AF_INET6)

// __ipv6_dev_ac_inc(): an ifacaddr6 with its fib6_info route (fib6_nh[0]
// on dev), appended to dev's inet6_dev ac_list.
addr_t add_anycast(FakeKernel& fk, addr_t dev, const Ipv6Bytes& addr, std::uint32_t users = 1,
                   std::uint64_t cstamp = 0, std::uint64_t tstamp = 0);

// __ipv6_dev_mc_inc(): an ifmcaddr6 appended to dev's inet6_dev mc_list.
addr_t add_multicast(FakeKernel& fk, addr_t dev, const Ipv6Bytes& addr, std::uint32_t flags = 0x4,
                     std::uint64_t stamp = 0);

}  // namespace netdbg::test
