// What `ip -s link` shows of a net device, read from struct net_device:
// MTU, operstate, the __LINK_STATE_* bits (from the kernel's enum), the
// flags as dev_get_flags() reports them (RUNNING, LOWER_UP, DORMANT are
// computed, not stored), the hardware address, the bound driver
// (netdev_drivername()), the watchdog and the counters as dev_get_stats()
// sums them when the driver has no ndo_get_stats64: dev->stats plus the
// per-CPU dev->core_stats (or the older atomic rx_dropped/tx_dropped).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/kernel.h"

namespace netdbg {

// include/uapi/linux/if.h: enum net_device_flags.
constexpr std::uint32_t IFF_RUNNING = 0x40;
constexpr std::uint32_t IFF_LOWER_UP = 0x10000;
constexpr std::uint32_t IFF_DORMANT = 0x20000;

struct NetdevLinkLayout {
    explicit NetdevLinkLayout(Kernel& k);
    MemberInfo state, mtu, qdisc;
    std::optional<MemberInfo> operstate, tx_queue_len, watchdog_timeo, dev_addr, addr_len, type, gflags, core_stats,
        old_rx_dropped, old_tx_dropped, stats;
    std::optional<std::size_t> parent;  // net_device.dev.parent
    std::optional<std::size_t> device_driver, driver_name;
    std::optional<std::size_t> ops_get_stats64, ops_get_stats, ops_tx_timeout;
    // net_device_stats members and net_device_core_stats members, by name
    std::vector<std::pair<std::string, std::size_t>> stat_fields, core_fields;
    std::size_t core_size = 0;
    Span span;
};

// The __LINK_STATE_* bits of this kernel (START, PRESENT, NOCARRIER, ...).
class LinkStates {
public:
    explicit LinkStates(Kernel& k);
    bool known() const { return !bits_.empty(); }
    bool test(std::uint64_t state, std::string_view name) const;
    std::vector<std::string> decode(std::uint64_t state) const;

private:
    std::vector<std::pair<std::string, int>> bits_;
};

struct NetdevLink {
    addr_t dev = 0;
    std::uint32_t flags = 0;  // dev_get_flags()
    std::uint64_t state = 0;  // __LINK_STATE_* bits
    unsigned mtu = 0;
    std::optional<unsigned> operstate, tx_queue_len, type;
    std::optional<int> watchdog_timeo;  // jiffies
    addr_t qdisc = 0;                   // dev->qdisc, the root
    std::string address;                // "52:54:00:12:34:56"
    std::string bound_driver;           // dev->dev.parent->driver->name, "" when none
    addr_t ndo_get_stats64 = 0, ndo_get_stats = 0, ndo_tx_timeout = 0;
    // Counters in the order of net_device_stats, dev->stats plus core_stats.
    std::vector<std::pair<std::string, std::uint64_t>> stats;
    std::vector<std::string> problems;

    bool running() const;
    std::optional<std::uint64_t> stat(std::string_view name) const;
};

// Reads the link fields of the device at d (flags as read_netdev() read them).
NetdevLink read_netdev_link(Kernel& k, addr_t dev, std::uint32_t dev_flags);

// "UP", "LOWER_UP"..., in ip link's order.
std::vector<std::string> netdev_flag_names(std::uint32_t flags);
// IF_OPER_*: "up", "down", "lowerlayerdown", "unknown"...
std::string operstate_name(unsigned operstate);

}  // namespace netdbg
