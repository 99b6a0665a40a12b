// net/core/netpoll.c: whether netpoll_setup() would take a device on this
// kernel, and which netpoll user (netconsole) is attached through
// dev->npinfo. The checks are netpoll_setup()'s and __netpoll_setup()'s, in
// their order: a device with a master upper device is "a slave device"
// (-EBUSY); IFF_DISABLE_NETPOLL, or before 4.19 a missing
// ndo_poll_controller, "doesn't support polling" (-ENOTSUPP); a stacked
// device's ndo_netpoll_setup() runs __netpoll_setup() on its lower devices.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "kernel/net/netdevice.h"

namespace netdbg {

struct NetpollUser {
    addr_t netpoll = 0;    // struct netpoll *
    std::string name;      // np->name: "netconsole"
    std::string dev_name;  // np->dev_name
    std::string local_ip, remote_ip;
    unsigned local_port = 0, remote_port = 0;
};

struct NetpollState {
    bool accepted = false;
    std::string reason;          // why netpoll_setup() refuses; "" when accepted
    std::string kernel_message;  // what it prints then: "is a slave device", ...
    std::vector<std::string> notes;
    addr_t master = 0;  // netdev_master_upper_dev_get()
    std::string master_name;
    addr_t poll_controller = 0;  // netdev_ops->ndo_poll_controller
    addr_t netpoll_setup = 0;    // netdev_ops->ndo_netpoll_setup
    // Attached netpoll users: dev->npinfo, its refcnt and tx queue, and
    // npinfo->netpoll (the user set up last).
    addr_t npinfo = 0;
    std::optional<unsigned> refcnt, txq_len;
    std::optional<NetpollUser> user;
};

NetpollState netpoll_state(Kernel& k, const NetDevice& dev);

// netdev_master_upper_dev_get(): the first upper device if it is a master,
// else 0.
addr_t netdev_master_upper(Kernel& k, addr_t dev);
// The devices on dev->adj_list.lower, in list order.
std::vector<addr_t> netdev_for_each_lower_dev(Kernel& k, addr_t dev, std::size_t max);

// (major, minor) from linux_banner, or nullopt.
std::optional<std::pair<int, int>> kernel_version(Kernel& k);

}  // namespace netdbg
