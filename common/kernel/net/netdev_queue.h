// struct netdev_queue (include/linux/netdevice.h): a device's TX queues,
// dev->_tx[0 .. num_tx_queues), with the __QUEUE_STATE_* bits taken from
// the kernel's own enum, trans_start (the jiffies of the last transmit the
// driver accepted, txq_trans_update()), the TX timeouts dev_watchdog()
// counted (trans_timeout), BQL's struct dql and the attached qdiscs; and the
// RX queue count (struct netdev_rx_queue has no NAPI link on 6.1).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/kernel.h"

namespace netdbg {

struct NetdevQueueLayout {
    explicit NetdevQueueLayout(Kernel& k);
    StructLayout s;
    std::size_t size = 0;  // the array stride (____cacheline_aligned)
    MemberInfo state, qdisc, qdisc_sleeping;
    std::optional<MemberInfo> dev, trans_start, trans_timeout, xmit_lock_owner;
    // struct dql (CONFIG_BQL): offsets inside netdev_queue
    std::optional<std::size_t> dql_num_queued, dql_num_completed, dql_limit;
    // net_device members
    MemberInfo tx, num_tx_queues, real_num_tx_queues;
    std::optional<MemberInfo> num_rx_queues, real_num_rx_queues;
    Span span;
};

// The __QUEUE_STATE_* bits of this kernel (DRV_XOFF, STACK_XOFF, FROZEN).
class QueueStates {
public:
    explicit QueueStates(Kernel& k);
    std::optional<int> bit(std::string_view name) const;
    bool test(std::uint64_t state, std::string_view name) const;
    // netif_xmit_stopped(): DRV_XOFF or STACK_XOFF.
    bool stopped(std::uint64_t state) const { return test(state, "DRV_XOFF") || test(state, "STACK_XOFF"); }
    std::vector<std::string> decode(std::uint64_t state) const;

private:
    std::vector<std::pair<std::string, int>> bits_;
};

struct TxQueue {
    unsigned index = 0;
    addr_t addr = 0;
    std::uint64_t state = 0;
    std::optional<std::uint64_t> trans_start;  // jiffies
    std::optional<std::int64_t> trans_timeout;
    std::optional<std::uint32_t> dql_limit;
    std::optional<std::uint32_t> dql_inflight;  // num_queued - num_completed
    addr_t qdisc = 0, qdisc_sleeping = 0;
    addr_t dev = 0;  // txq->dev, the back-pointer to the device
};

struct TxQueues {
    unsigned num = 0, real_num = 0;       // num_tx_queues, real_num_tx_queues
    std::optional<unsigned> rx_num, rx_real_num;
    addr_t array = 0;                     // dev->_tx
    std::vector<TxQueue> queues;          // the first `max` of num_tx_queues
    std::vector<std::string> findings;    // a bad count, an unreadable array, a wrong back-pointer
};

// The TX queues of the device at dev, at most max of them. A queue count
// above the kernel's limit (netif_alloc_netdev_queues() refuses more than
// 0xffff) or an unreadable array is a finding, never a long walk.
TxQueues netdev_tx_queues(Kernel& k, addr_t dev, std::size_t max = 4096);

}  // namespace netdbg
