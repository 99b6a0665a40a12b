#include "fake_netdev.h"

namespace netdbg::test {

using namespace netdev_off;

void add_netdev_layout(FakeTarget& t) {
    t.add_members("net_device",
                  {{"state", 0x120, 8},
                   {"mtu", 0x128, 4},
                   {"operstate", 0x12c, 1},
                   {"addr_len", 0x12d, 1},
                   {"qdisc", 0x130, 8},
                   {"_tx", 0x138, 8},
                   {"num_tx_queues", 0x140, 4},
                   {"real_num_tx_queues", 0x144, 4},
                   {"num_rx_queues", 0x148, 4},
                   {"real_num_rx_queues", 0x14c, 4},
                   {"watchdog_timeo", 0x150, 4},
                   {"tx_queue_len", 0x154, 4},
                   {"pcpu_refcnt", 0x158, 8},
                   {"reg_state", 0x160, 1},
                   {"todo_list", kTodoList, 16},
                   {"stats", 0x180, 184},
                   {"core_stats", 0x238, 8},
                   {"dev_addr", 0x240, 8}});
    t.add_struct("net_device_stats", 184,
                 {{"rx_packets", 0, 8}, {"tx_packets", 8, 8}, {"rx_bytes", 16, 8}, {"tx_bytes", 24, 8},
                  {"rx_errors", 32, 8}, {"tx_errors", 40, 8}, {"rx_dropped", 48, 8}, {"tx_dropped", 56, 8}});
    t.add_struct("net_device_core_stats", 32,
                 {{"rx_dropped", 0, 8}, {"tx_dropped", 8, 8}, {"rx_nohandler", 16, 8}, {"rx_otherhost_dropped", 24, 8}});
    t.add_member("net_device_ops", "ndo_tx_timeout", 0x40, 8);
    t.add_member("net_device_ops", "ndo_get_stats64", 0x48, 8);
    t.add_struct("netdev_queue", kTxqSize,
                 {{"dev", 0, 8}, {"qdisc", 0x10, 8}, {"qdisc_sleeping", 0x18, 8}, {"trans_timeout", 0x30, 8},
                  {"xmit_lock_owner", 0x84, 4}, {"trans_start", 0x88, 8}, {"state", 0x90, 8}, {"dql", 0xc0, 0x80}});
    t.add_struct("dql", 0x80, {{"num_queued", 0, 4}, {"limit", 0x40, 4}, {"num_completed", 0x44, 4}});
    t.add_struct("Qdisc", 0x180,
                 {{"flags", 0x10, 4}, {"limit", 0x14, 4}, {"ops", 0x18, 8}, {"handle", 0x38, 4}, {"parent", 0x3c, 4},
                  {"dev_queue", 0x48, 8}, {"cpu_bstats", 0x58, 8}, {"cpu_qstats", 0x60, 8}, {"refcnt", 0x6c, 4},
                  {"gso_skb", 0x80, 24}, {"q", 0x98, 24}, {"bstats", 0xb0, 24}, {"qstats", 0xc8, 20}});
    t.add_struct("qdisc_skb_head", 24, {{"qlen", 16, 4}});
    t.add_struct("gnet_stats_queue", 20,
                 {{"qlen", 0, 4}, {"backlog", 4, 4}, {"drops", 8, 4}, {"requeues", 12, 4}, {"overlimits", 16, 4}});
    t.add_struct("gnet_stats_basic_sync", 24, {{"bytes", 0, 8}, {"packets", 8, 8}});
    t.add_struct("Qdisc_ops", 0xa0, {{"id", 0x10, 16}});
    t.add_enum("__QUEUE_STATE_DRV_XOFF", 0);
    t.add_enum("__QUEUE_STATE_STACK_XOFF", 1);
    t.add_enum("__QUEUE_STATE_FROZEN", 2);
    t.add_enum("__LINK_STATE_START", 0);
    t.add_enum("__LINK_STATE_PRESENT", 1);
    t.add_enum("__LINK_STATE_NOCARRIER", 2);
    t.add_enum("__LINK_STATE_LINKWATCH_PENDING", 3);
    t.add_enum("__LINK_STATE_DORMANT", 4);
    t.add_enum("NETREG_UNINITIALIZED", 0);
    t.add_enum("NETREG_REGISTERED", 1);
    t.add_enum("NETREG_UNREGISTERING", 2);
    t.add_enum("NETREG_UNREGISTERED", 3);
    t.add_enum("NETREG_RELEASED", 4);
}

void map_pcpu_area(FakeKernel& fk) {
    for (int c = 0; c < fk.target.cpu_count(); ++c) fk.target.map(kPerCpuBase + 0x100000ULL * c + kPcpuArea, 0x1000);
}

addr_t txq(FakeKernel& fk, addr_t dev, unsigned i) {
    return fk.img.u64(dev + fk.img.offset("net_device", "_tx")) + i * kTxqSize;
}

void setup_netdev(FakeKernel& fk, addr_t dev, unsigned ntx, std::vector<std::int32_t> refs, addr_t pcpu,
                  int watchdog_timeo, addr_t ops_with_timeout) {
    ImageBuilder& img = fk.img;
    addr_t tx = img.alloc(ntx * kTxqSize, 64);
    for (unsigned i = 0; i < ntx; ++i) img.write(tx + i * kTxqSize, "netdev_queue", "dev", dev);
    img.write(dev, "net_device", "_tx", tx);
    img.write(dev, "net_device", "num_tx_queues", ntx);
    img.write(dev, "net_device", "real_num_tx_queues", ntx);
    img.write(dev, "net_device", "num_rx_queues", 1);
    img.write(dev, "net_device", "real_num_rx_queues", 1);
    img.write(dev, "net_device", "state", 0x3);  // START | PRESENT, carrier on
    img.write(dev, "net_device", "operstate", 6);
    img.write(dev, "net_device", "mtu", 1500);
    img.write(dev, "net_device", "reg_state", 1);
    img.write(dev, "net_device", "watchdog_timeo", static_cast<std::uint32_t>(watchdog_timeo));
    img.write(dev, "net_device", "pcpu_refcnt", pcpu);
    for (std::size_t c = 0; c < refs.size(); ++c)
        fk.target.poke_as<std::int32_t>(kPerCpuBase + 0x100000ULL * c + pcpu, refs[c]);
    if (ops_with_timeout) img.write(dev, "net_device", "netdev_ops", ops_with_timeout);
}

addr_t add_qdisc(FakeKernel& fk, const std::string& id, std::uint32_t flags, std::uint32_t handle,
                 std::uint32_t parent, std::vector<std::uint32_t> qlen, addr_t pcpu) {
    ImageBuilder& img = fk.img;
    addr_t ops = img.alloc("Qdisc_ops");
    img.write_str(ops, "Qdisc_ops", "id", id);
    addr_t q = img.alloc("Qdisc");
    img.write(q, "Qdisc", "ops", ops);
    img.write(q, "Qdisc", "flags", flags);
    img.write(q, "Qdisc", "handle", handle);
    img.write(q, "Qdisc", "parent", parent);
    if (flags & 0x20) {  // TCQ_F_CPUSTATS: gnet_stats_queue per CPU at pcpu, basic at pcpu + 0x40
        img.write(q, "Qdisc", "cpu_qstats", pcpu);
        img.write(q, "Qdisc", "cpu_bstats", pcpu + 0x40);
        for (std::size_t c = 0; c < qlen.size(); ++c) {
            fk.target.poke_as<std::uint32_t>(kPerCpuBase + 0x100000ULL * c + pcpu, qlen[c]);
            fk.target.poke_as<std::uint32_t>(kPerCpuBase + 0x100000ULL * c + pcpu + 4, 100 * qlen[c]);
        }
    } else {
        std::uint32_t sum = 0;
        for (auto v : qlen) sum += v;
        fk.target.poke_as<std::uint32_t>(q + 0x98 + 16, sum);
    }
    return q;
}

}  // namespace netdbg::test
