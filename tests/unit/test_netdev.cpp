// netdev on synthetic images: a TX queue stopped past the watchdog with a
// lockless qdisc whose packets are counted per CPU, mq's totals as the sum
// of its children, a noqueue device, a device being unregistered found on
// a waiting task's todo list, backlog drops, and the hostile cases (a
// netdev_queue count the kernel would never allow, an unreadable queue
// array, a qdisc whose ops is slab poison, a looping device list).
#include <gtest/gtest.h>

#include "core/error.h"
#include "fake_kernel.h"
#include "fake_netdev.h"

using namespace netdbg;
using namespace netdbg::test;

namespace {

constexpr addr_t kInitNet = 0xffffffff83000000ULL;
constexpr addr_t kNetList = 0xffffffff83001000ULL;
constexpr addr_t kTickNsec = 0xffffffff83002000ULL;
constexpr addr_t kSoftnet = 0x2d000ULL;
constexpr addr_t kDriver = 0xffffffffc0000000ULL;
constexpr std::uint64_t kJiffiesNow = 0x100004000ULL;  // FakeKernel's jiffies
constexpr std::uint32_t kUp = 0x1 | 0x2 | 0x1000;      // UP | BROADCAST | MULTICAST

struct Net {
    FakeKernel fk{2};
    FakeTarget& t = fk.target;
    ImageBuilder& img = fk.img;
    addr_t pcpu = netdev_off::kPcpuArea;

    Net() {
        add_net_layout(t);
        add_netdev_layout(t);
        add_napi_state_enum(t, NapiEnum::Linux61);
        add_init_net(fk, kInitNet, kNetList);
        map_pcpu_area(fk);
        t.map(kTickNsec, 8);
        t.add_symbol("tick_nsec", kTickNsec, std::string("unsigned long"));
        img.u64(kTickNsec, 4000000);  // HZ 250
        t.add_symbol("softnet_data", kSoftnet, std::string("struct softnet_data"));
        for (int c = 0; c < 2; ++c) {
            addr_t sd = kSoftnet + kPerCpuBase + 0x100000ULL * c;
            t.map(sd, net_off::kSoftnetSize);
            img.list_init(sd);
        }
        t.map(kDriver, 0x1000);
        t.add_symbol("drv_netdev_ops", kDriver, std::nullopt, std::nullopt, "drv");
        t.add_symbol("drv_tx_timeout", kDriver + 0x100, std::nullopt, std::nullopt, "drv");
        img.u64(kDriver + 0x40, kDriver + 0x100);  // ndo_tx_timeout
    }
    addr_t next_pcpu() {
        addr_t p = pcpu;
        pcpu += 0x80;
        return p;
    }
    // A running device with ntx TX queues and a watchdog of 250 jiffies.
    addr_t dev(const char* name, int ifindex, unsigned ntx, std::vector<std::int32_t> refs = {1, 0}) {
        addr_t d = add_net_device(fk, name, ifindex, kUp, kDriver, kInitNet);
        setup_netdev(fk, d, ntx, refs, next_pcpu(), 250, kDriver);
        return d;
    }
    void attach(addr_t d, addr_t root, std::vector<addr_t> per_queue) {
        img.write(d, "net_device", "qdisc", root);
        for (unsigned i = 0; i < per_queue.size(); ++i) {
            img.write(txq(fk, d, i), "netdev_queue", "qdisc", per_queue[i]);
            img.write(txq(fk, d, i), "netdev_queue", "qdisc_sleeping", per_queue[i]);
        }
    }
    nlohmann::ordered_json netdev(std::vector<std::string> args = {}, int* rc = nullptr) {
        args.push_back("--json");
        return fk.run_json("netdev", args, rc);
    }
};

const nlohmann::ordered_json& device(const nlohmann::ordered_json& j, const std::string& name) {
    for (const auto& d : j["devices"])
        if (d["name"] == name) return d;
    throw std::runtime_error("no device " + name);
}

std::vector<std::string> kinds(const nlohmann::ordered_json& j) {
    std::vector<std::string> out;
    for (const auto& v : j["verdicts"]) out.push_back(v["kind"]);
    return out;
}

}  // namespace

TEST(Netdev, StoppedQueuePastTheWatchdogWithPerCpuQdiscStats) {
    Net n;
    addr_t d = n.dev("eth0", 2, 1, {3, -1});
    addr_t q = add_qdisc(n.fk, "pfifo_fast", 0x100 | 0x20, 0, 0xffffffff, {5, 7}, n.next_pcpu());
    n.fk.target.poke_as<std::uint32_t>(q + 0x80 + 16, 1);  // gso_skb.qlen
    n.attach(d, q, {q});
    addr_t tq = txq(n.fk, d, 0);
    n.img.write(tq, "netdev_queue", "state", 1);                       // DRV_XOFF
    n.img.write(tq, "netdev_queue", "trans_start", kJiffiesNow - 1000);  // 4 s at HZ 250
    n.img.write(tq, "netdev_queue", "trans_timeout", 3);
    int rc = 0;
    auto j = n.netdev({}, &rc);
    EXPECT_EQ(rc, 1);
    EXPECT_EQ(j["hz"], 250);
    ASSERT_EQ(kinds(j), (std::vector<std::string>{"tx_timeout"}));
    std::string v = j["verdicts"][0]["text"];
    EXPECT_NE(v.find("eth0 txq 0 stopped by the driver for 4.000s (> watchdog_timeo 1.000s, 3 timeouts counted)"),
              std::string::npos) << v;
    EXPECT_NE(v.find("its qdisc holds 12 packets (1 requeued in gso_skb)"), std::string::npos) << v;
    const auto& dj = device(j, "eth0");
    EXPECT_EQ(dj["usage_count"], 2);  // 3 + -1 over the CPUs
    EXPECT_EQ(dj["flags"], (std::vector<std::string>{"UP", "BROADCAST", "RUNNING", "MULTICAST", "LOWER_UP"}));
    EXPECT_EQ(dj["operstate"], "up");
    EXPECT_EQ(dj["tx_queues"][0]["state_bits"], (std::vector<std::string>{"DRV_XOFF"}));
    EXPECT_EQ(dj["tx_queues"][0]["since_trans_start_jiffies"], 1000);
    EXPECT_EQ(dj["tx_queues"][0]["trans_timeout"], 3);
    // q.qlen stays 0 for a lockless qdisc: the per-CPU qlens are the count
    EXPECT_EQ(dj["qdiscs"][0]["qlen"], 12);
    EXPECT_EQ(dj["qdiscs"][0]["backlog"], 1200);
    EXPECT_EQ(dj["qdiscs"][0]["per_cpu_stats"], true);
    EXPECT_EQ(dj["qdisc_totals"]["qlen"], 12);
    std::string text = n.fk.run("netdev", {"-q"});
    EXPECT_EQ(text.rfind("netdev: 1 device in init_net; 1 verdict", 0), 0u) << text;
    EXPECT_NE(text.find("verdict: eth0 txq 0 stopped by the driver"), std::string::npos) << text;
    EXPECT_NE(text.find("DRV_XOFF"), std::string::npos) << text;
}

TEST(Netdev, NotPastTheWatchdogIsAQdiscThatCannotDrain) {
    Net n;
    addr_t d = n.dev("eth0", 2, 1);
    addr_t q = add_qdisc(n.fk, "fq_codel", 0, 0, 0xffffffff, {6});
    n.attach(d, q, {q});
    addr_t tq = txq(n.fk, d, 0);
    n.img.write(tq, "netdev_queue", "state", 1);
    n.img.write(tq, "netdev_queue", "trans_start", kJiffiesNow - 10);
    auto j = n.netdev();
    ASSERT_EQ(kinds(j), (std::vector<std::string>{"stuck_qdisc"}));
    EXPECT_NE(j["verdicts"][0]["text"].get<std::string>().find("holds 6 packets that cannot drain"), std::string::npos);
    // a device that is down is not watched and its queues are not a verdict
    n.img.write(d, "net_device", "state", 0x2);
    n.img.write(tq, "netdev_queue", "trans_start", kJiffiesNow - 1000);
    j = n.netdev();
    EXPECT_EQ(kinds(j), (std::vector<std::string>{"stuck_qdisc"}));
    EXPECT_EQ(device(j, "eth0")["flags"], (std::vector<std::string>{"UP", "BROADCAST", "MULTICAST"}));
}

TEST(Netdev, MqTotalsAreTheSumOfItsChildren) {
    Net n;
    addr_t d = n.dev("eth0", 2, 2);
    addr_t root = add_qdisc(n.fk, "mq", 0x8, 0, 0xffffffff, {0});
    addr_t c0 = add_qdisc(n.fk, "pfifo_fast", 0x120, 0, 0x1, {2, 1}, n.next_pcpu());
    addr_t c1 = add_qdisc(n.fk, "pfifo_fast", 0x120, 0, 0x2, {0, 4}, n.next_pcpu());
    n.attach(d, root, {c0, c1});
    auto j = n.netdev();
    const auto& dj = device(j, "eth0");
    ASSERT_EQ(dj["qdiscs"].size(), 3u);
    EXPECT_EQ(dj["qdiscs"][0]["kind"], "mq");
    EXPECT_EQ(dj["qdiscs"][1]["where"], "txq 0");
    EXPECT_EQ(dj["qdiscs"][1]["parent"], ":1");
    EXPECT_EQ(dj["qdiscs"][2]["qlen"], 4);
    EXPECT_EQ(dj["qdisc_totals"]["qlen"], 7);
    EXPECT_TRUE(j["verdicts"].empty());  // no queue stopped
}

TEST(Netdev, NoqueueDeviceSaysSo) {
    Net n;
    addr_t d = n.dev("lo", 1, 1);
    addr_t q = add_qdisc(n.fk, "noqueue", 0, 0, 0xffffffff, {0});
    n.attach(d, q, {q});
    auto j = n.netdev();
    EXPECT_EQ(device(j, "lo")["noqueue"], true);
    std::string text = n.fk.run("netdev", {"lo", "-q"});
    EXPECT_NE(text.find("noqueue: packets go straight to the driver"), std::string::npos) << text;
}

TEST(Netdev, UnregisteringDeviceOnAWaitingTasksTodoList) {
    Net n;
    n.dev("eth0", 2, 1);
    addr_t leak = add_net_device(n.fk, "veth9", 9, 0, kDriver, kInitNet);
    setup_netdev(n.fk, leak, 1, {2, 1}, n.next_pcpu(), 0, 0);
    n.img.write(leak, "net_device", "reg_state", 3);  // NETREG_UNREGISTERED
    // off the device list
    addr_t node = leak + net_off::kDevList;
    addr_t prev = n.img.u64(node + 8), next = n.img.u64(node);
    n.img.u64(prev, next);
    n.img.u64(next + 8, prev);
    addr_t task = n.fk.add_process({.pid = 80, .comm = "ip", .state = TASK_UNINTERRUPTIBLE, .cpu = 1});
    addr_t sp = n.fk.sp_of(task);
    n.fk.put_frames(task, 0, {"__schedule", "schedule", "schedule_timeout", "msleep", "netdev_wait_allrefs_any"});
    n.fk.put_frames(task, 0x60, {"netdev_run_todo"});
    addr_t head = sp + 0x80;
    n.img.list_init(head);
    n.img.list_add_tail(leak + netdev_off::kTodoList, head);
    n.fk.put_frames(task, 0xa0, {"rtnl_unlock", "do_syscall_64"});
    int rc = 0;
    auto j = n.netdev({}, &rc);
    EXPECT_EQ(rc, 1);
    ASSERT_EQ(j["unregistering"].size(), 1u);
    EXPECT_EQ(j["unregistering"][0]["name"], "veth9");
    EXPECT_EQ(j["unregistering"][0]["usage_count"], 3);
    EXPECT_EQ(j["unregistering"][0]["pid"], 80);
    EXPECT_EQ(j["unregistering"][0]["source"], "todo_list");
    ASSERT_EQ(kinds(j), (std::vector<std::string>{"unregister"}));
    std::string v = j["verdicts"][0]["text"];
    EXPECT_NE(v.find("veth9 unregistering"), std::string::npos) << v;
    EXPECT_NE(v.find("usage count 3 (1 expected): 2 references leaked; ip (pid 80) waits in netdev_run_todo"),
              std::string::npos) << v;
    // named, though it is on no device list
    auto one = n.netdev({"veth9"});
    EXPECT_TRUE(one["devices"].empty());
    EXPECT_EQ(one["unregistering"].size(), 1u);
}

TEST(Netdev, BacklogDropsAreAVerdict) {
    Net n;
    n.dev("eth0", 2, 1);
    n.fk.target.poke_as<std::uint32_t>(kSoftnet + kPerCpuBase + 0x100000ULL + 240, 17);  // CPU 1 dropped
    auto j = n.netdev();
    ASSERT_EQ(kinds(j), (std::vector<std::string>{"backlog_drops"}));
    EXPECT_EQ(j["verdicts"][0]["cpu"], 1);
    EXPECT_EQ(j["softnet"][1]["dropped"], 17);
    std::string text = n.fk.run("netdev", {"-s"});
    EXPECT_NE(text.find("SOFTNET"), std::string::npos);
}

// ---- hostile input ----------------------------------------------------------------

TEST(Netdev, AQueueCountTheKernelNeverAllowsIsAFindingNotAWalk) {
    Net n;
    addr_t d = n.dev("eth0", 2, 1);
    n.img.write(d, "net_device", "num_tx_queues", 0x7fffffff);
    int rc = 0;
    auto j = n.netdev({}, &rc);
    EXPECT_EQ(rc, 1);
    const auto& dj = device(j, "eth0");
    EXPECT_TRUE(dj["tx_queues"].empty());
    ASSERT_FALSE(dj["problems"].empty());
    EXPECT_NE(dj["problems"][0].get<std::string>().find("num_tx_queues is 2147483647"), std::string::npos);
    // a believable count over an array that ends in unmapped memory
    n.img.write(d, "net_device", "num_tx_queues", 4000);
    n.img.write(d, "net_device", "real_num_tx_queues", 4000);
    j = n.netdev();
    EXPECT_LT(device(j, "eth0")["tx_queues"].size(), 4000u);
    bool said = false;
    for (const auto& p : device(j, "eth0")["problems"]) said |= p.get<std::string>().find("unreadable") != std::string::npos ||
                                                                 p.get<std::string>().find("not its device") != std::string::npos;
    EXPECT_TRUE(said) << device(j, "eth0")["problems"].dump();
}

TEST(Netdev, AQdiscInFreedMemoryIsAFinding) {
    Net n;
    addr_t d = n.dev("eth0", 2, 1);
    addr_t q = add_qdisc(n.fk, "pfifo_fast", 0, 0, 0xffffffff, {0});
    n.attach(d, q, {q});
    n.img.write(q, "Qdisc", "ops", 0x6b6b6b6b6b6b6b6bULL);
    int rc = 0;
    auto j = n.netdev({}, &rc);
    EXPECT_EQ(rc, 1);
    const auto& dj = device(j, "eth0");
    EXPECT_TRUE(dj["qdiscs"].empty());
    ASSERT_FALSE(dj["problems"].empty());
    EXPECT_NE(dj["problems"][0].get<std::string>().find("slab poison"), std::string::npos);
    std::string text = n.fk.run("netdev", {});
    EXPECT_NE(text.find("?"), std::string::npos);
}

TEST(Netdev, ALoopingDeviceListIsAProblemAndBounded) {
    Net n;
    addr_t a = n.dev("eth0", 2, 1);
    n.dev("eth1", 3, 1);
    addr_t c = n.dev("eth2", 4, 1);
    n.img.u64(c + net_off::kDevList, a + net_off::kDevList);  // eth2 -> eth0
    int rc = 0;
    auto j = n.netdev({}, &rc);
    EXPECT_EQ(rc, 1);
    EXPECT_EQ(j["devices"].size(), 3u);
    bool loop = false;
    for (const auto& p : j["problems"]) loop |= p.get<std::string>().find("loop") != std::string::npos;
    EXPECT_TRUE(loop) << j["problems"].dump();
}

TEST(Netdev, BadArguments) {
    Net n;
    n.dev("eth0", 2, 1);
    EXPECT_THROW(n.fk.run("netdev", {"eth0", "eth1"}), Error);
    EXPECT_THROW(n.fk.run("netdev", {"--max", "0"}), Error);
    EXPECT_THROW(n.fk.run("netdev", {"nosuch"}), Error);
}
