// libFuzzer target: network namespaces, net devices, their NAPI instances,
// the per-CPU softnet poll lists, netpoll and the IPv6 anycast/multicast
// lists, the TX queues and qdiscs of a fuzzed image (6.1 x86_64 member
// names; offsets of this image). The input corrupts device and NAPI links,
// states, poll lists, inet6_dev pointers, list entries, queue counts, qdisc
// pointers and pages; napiq, aclist and netdev (text and JSON) must end with
// findings or one netdbg::Error line.
#include "fake_kernel.h"
#include "fake_net.h"
#include "fake_netdev.h"
#include "fuzz_image.h"

using namespace netdbg;
using namespace netdbg::test;

namespace {

constexpr addr_t kInitNet = 0xffffffff83000000ULL;
constexpr addr_t kNetList = 0xffffffff83001000ULL;
constexpr addr_t kTickNsec = 0xffffffff83002000ULL;
constexpr addr_t kSoftnet = 0x2d000ULL;  // per-CPU symbol
constexpr addr_t kDriver = 0xffffffffc0000000ULL;

struct Scenario {
    FakeKernel fk{2};
    FakeTarget& t = fk.target;
    ImageBuilder& img = fk.img;
    std::unique_ptr<fuzz::HostileImage> image;

    addr_t sd(int cpu) const { return kSoftnet + kPerCpuBase + 0x100000ULL * cpu; }

    addr_t dev(const char* name, int ifindex) {
        addr_t d = add_net_device(fk, name, ifindex, 1, kDriver, kInitNet);
        add_inet6_dev(fk, d);
        return d;
    }
    addr_t napi(addr_t d, unsigned id, std::uint64_t state) { return add_napi(fk, d, kDriver + 0x100, 64, id, state); }

    Scenario() {
        add_net_layout(t);
        add_netdev_layout(t);
        map_pcpu_area(fk);
        add_napi_state_enum(t, NapiEnum::Linux61);
        add_init_net(fk, kInitNet, kNetList);
        t.map(kTickNsec, 8);
        t.add_symbol("tick_nsec", kTickNsec, std::string("unsigned long"));
        img.u64(kTickNsec, 4000000);
        t.add_symbol("softnet_data", kSoftnet, std::string("struct softnet_data"));
        for (int c = 0; c < 2; ++c) {
            t.map(sd(c), net_off::kSoftnetSize);
            img.list_init(sd(c));
        }
        t.map(kDriver, 0x1000);
        t.add_symbol("drv_netdev_ops", kDriver, std::nullopt, std::nullopt, "drv");
        t.add_symbol("drv_poll", kDriver + 0x100, std::nullopt, std::nullopt, "drv");

        addr_t lo = dev("lo", 1), eth0 = dev("eth0", 2), eth1 = dev("eth1", 3);
        // eth0: mq over two pfifo_fast children with per-CPU stats, queue 0
        // stopped long ago; eth1: one fq_codel queue
        addr_t pcpu = netdev_off::kPcpuArea;
        t.add_symbol("drv_tx_timeout", kDriver + 0x200, std::nullopt, std::nullopt, "drv");
        img.u64(kDriver + 0x40, kDriver + 0x200);
        setup_netdev(fk, eth0, 2, {2, 1}, pcpu, 250, 0);
        setup_netdev(fk, eth1, 1, {1, 0}, pcpu + 0x10, 500, 0);
        addr_t mq = add_qdisc(fk, "mq", 0x8, 0, 0xffffffff, {0});
        addr_t c0 = add_qdisc(fk, "pfifo_fast", 0x120, 0, 1, {3, 4}, pcpu + 0x100);
        addr_t c1 = add_qdisc(fk, "pfifo_fast", 0x120, 0, 2, {0, 0}, pcpu + 0x180);
        img.write(eth0, "net_device", "qdisc", mq);
        img.write(txq(fk, eth0, 0), "netdev_queue", "qdisc_sleeping", c0);
        img.write(txq(fk, eth0, 1), "netdev_queue", "qdisc_sleeping", c1);
        img.write(txq(fk, eth0, 0), "netdev_queue", "state", 1);
        addr_t fq = add_qdisc(fk, "fq_codel", 0, 0, 0xffffffff, {6});
        img.write(eth1, "net_device", "qdisc", fq);
        img.write(txq(fk, eth1, 0), "netdev_queue", "qdisc_sleeping", fq);
        add_anycast(fk, lo, ipv6("2001:db8::1"));
        add_anycast(fk, eth0, ipv6("2001:db8::2"));
        add_anycast(fk, eth0, ipv6("2001:db8::3"));
        add_multicast(fk, eth0, ipv6("ff02::1"));
        add_multicast(fk, eth1, ipv6("ff02::1"));
        addr_t stuck = napi(eth0, 0x2001, 1 | 0x10);  // SCHED|LISTED, on CPU 0's poll list
        img.list_add_tail(stuck, sd(0));
        napi(eth0, 0x2002, 0x10);
        napi(eth1, 0x2003, 1 | 4 | 0x10);  // SCHED|DISABLE|LISTED: napi_disable() waiting
        addr_t npinfo = img.alloc("netpoll_info", 64);
        addr_t np = img.alloc("netpoll", 64);
        img.write(np, "netpoll", "dev", eth1);
        img.write_str(np, "netpoll", "dev_name", "eth1");
        img.write(npinfo, "netpoll_info", "netpoll", np);
        img.write(eth1, "net_device", "npinfo", npinfo);

        image = std::make_unique<fuzz::HostileImage>(
            t, std::vector<fuzz::Region>{{kInitNet, 0x200}, {kNetList, 16}, {sd(0), net_off::kSoftnetSize}, {sd(1), net_off::kSoftnetSize},
                                         fuzz::heap_of(fk.img)});
    }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static Scenario s;
    static FakeTarget& t = s.t;
    static const std::vector<fuzz::HostileImage::Action> actions = {
        fuzz::command(t, "napiq", {"--max", "100"}),
        fuzz::command(t, "napiq", {"-c", "--all-netns", "--json", "--max", "100"}),
        fuzz::command(t, "aclist", {}),
        fuzz::command(t, "aclist", {"--json", "--all-netns"}),
        fuzz::command(t, "aclist", {"--mc", "--json"}),
        fuzz::command(t, "netdev", {"-q", "-s"}),
        fuzz::command(t, "netdev", {"--json", "--all-netns"}),
    };
    s.image->run(data, size, actions);
    return 0;
}
