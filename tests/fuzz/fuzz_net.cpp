// libFuzzer target: network namespaces, net devices, their NAPI instances,
// the per-CPU softnet poll lists, netpoll and the IPv6 anycast/multicast
// lists of a fuzzed image (6.1 x86_64 member names; offsets of this image).
// The input corrupts device and NAPI links, states, poll lists, inet6_dev
// pointers, list entries and pages; napiq and aclist (text and JSON) must
// end with findings or one netdbg::Error line.
#include "fake_kernel.h"
#include "fuzz_image.h"

using namespace netdbg;
using namespace netdbg::test;

namespace {

constexpr addr_t kHeap = 0xffff888004000000ULL;  // ImageBuilder's default
constexpr addr_t kInitNet = 0xffffffff83000000ULL;
constexpr addr_t kNetList = 0xffffffff83001000ULL;
constexpr addr_t kTickNsec = 0xffffffff83002000ULL;
constexpr addr_t kSoftnet = 0x2d000ULL;  // per-CPU symbol
constexpr addr_t kDriver = 0xffffffffc0000000ULL;
constexpr std::size_t kDevList = 0x50, kNapiList = 0x60, kAdjList = 0xa0, kIp6Ptr = 0x310;
constexpr std::size_t kNapiDevList = 352, kAcList = 608, kMcList = 24;

void add_net_layout(FakeTarget& t) {
    t.add_type("net", 0x200);
    t.add_member("net", "list", 0x10, 16);
    t.add_member("net", "dev_base_head", 0x90, 16);
    t.add_type("net_device", 0x400);
    for (auto [m, off, size] : std::initializer_list<std::tuple<const char*, std::size_t, std::size_t>>{
             {"name", 0, 16}, {"dev_list", kDevList, 16}, {"napi_list", kNapiList, 16}, {"adj_list", kAdjList, 32},
             {"ifindex", 0xe0, 4}, {"flags", 0xe4, 4}, {"priv_flags", 0xe8, 8}, {"netdev_ops", 0xf0, 8},
             {"npinfo", 0x100, 8}, {"nd_net", 0x118, 8}, {"ip6_ptr", kIp6Ptr, 8}})
        t.add_member("net_device", m, off, size);
    t.add_type("net_device_ops", 0x200);
    t.add_member("net_device_ops", "ndo_open", 0, 8);
    t.add_member("net_device_ops", "ndo_poll_controller", 0xd0, 8);
    t.add_member("net_device_ops", "ndo_netpoll_setup", 0xd8, 8);
    t.add_type("netdev_adjacent", 56);
    t.add_member("netdev_adjacent", "dev", 0, 8);
    t.add_member("netdev_adjacent", "master", 8, 1);
    t.add_member("netdev_adjacent", "list", 24, 16);
    t.add_type("napi_struct", 400);
    for (auto [m, off, size] : std::initializer_list<std::tuple<const char*, std::size_t, std::size_t>>{
             {"poll_list", 0, 16}, {"state", 16, 8}, {"weight", 24, 4}, {"poll", 40, 8}, {"poll_owner", 48, 4},
             {"dev", 56, 8}, {"gro_hash", 64, 192}, {"rx_count", 280, 4}, {"dev_list", kNapiDevList, 16},
             {"napi_id", 384, 4}, {"thread", 392, 8}})
        t.add_member("napi_struct", m, off, size);
    t.add_type("gro_list", 24);
    t.add_member("gro_list", "list", 0, 16);
    t.add_member("gro_list", "count", 16, 4);
    t.add_type("sk_buff_head", 24);
    t.add_member("sk_buff_head", "qlen", 16, 4);
    t.add_type("softnet_data", 768);
    for (auto [m, off, size] : std::initializer_list<std::tuple<const char*, std::size_t, std::size_t>>{
             {"poll_list", 0, 16}, {"process_queue", 16, 24}, {"processed", 40, 4}, {"time_squeeze", 44, 4},
             {"received_rps", 48, 4}, {"dropped", 240, 4}, {"input_pkt_queue", 248, 24}, {"backlog", 272, 400}})
        t.add_member("softnet_data", m, off, size);
    t.add_type("netpoll_info", 168);
    t.add_member("netpoll_info", "refcnt", 0, 4);
    t.add_member("netpoll_info", "txq", 32, 24);
    t.add_member("netpoll_info", "netpoll", 144, 8);
    t.add_type("netpoll", 80);
    for (auto [m, off, size] : std::initializer_list<std::tuple<const char*, std::size_t, std::size_t>>{
             {"dev", 0, 8}, {"dev_name", 8, 16}, {"name", 24, 8}, {"local_ip", 32, 16}, {"remote_ip", 48, 16},
             {"ipv6", 64, 1}, {"local_port", 66, 2}, {"remote_port", 68, 2}})
        t.add_member("netpoll", m, off, size);
    const char* states[] = {"SCHED", "MISSED", "DISABLE", "NPSVC", "LISTED", "NO_BUSY_POLL", "IN_BUSY_POLL",
                            "PREFER_BUSY_POLL", "THREADED", "SCHED_THREADED"};
    for (std::size_t i = 0; i < std::size(states); ++i) t.add_enum(std::string("NAPI_STATE_") + states[i], i);
    t.add_enum("IFF_DISABLE_NETPOLL", 0x80);
    t.add_enum("IFF_BONDING", 0x20);
    // include/net/if_inet6.h
    t.add_type("inet6_dev", 1048);
    t.add_member("inet6_dev", "dev", 0, 8);
    t.add_member("inet6_dev", "mc_list", kMcList, 8);
    t.add_member("inet6_dev", "ac_list", kAcList, 8);
    t.add_type("ifacaddr6", 88);
    for (auto [m, off, size] : std::initializer_list<std::tuple<const char*, std::size_t, std::size_t>>{
             {"aca_addr", 0, 16}, {"aca_rt", 16, 8}, {"aca_next", 24, 8}, {"aca_addr_lst", 32, 16},
             {"aca_users", 48, 4}, {"aca_refcnt", 52, 4}, {"aca_cstamp", 56, 8}, {"aca_tstamp", 64, 8}})
        t.add_member("ifacaddr6", m, off, size);
    t.add_type("ifmcaddr6", 208);
    for (auto [m, off, size] : std::initializer_list<std::tuple<const char*, std::size_t, std::size_t>>{
             {"mca_addr", 0, 16}, {"idev", 16, 8}, {"next", 24, 8}, {"mca_flags", 160, 4}, {"mca_users", 164, 4},
             {"mca_refcnt", 168, 4}, {"mca_cstamp", 176, 8}, {"mca_tstamp", 184, 8}})
        t.add_member("ifmcaddr6", m, off, size);
    t.add_type("fib6_info", 168);
    t.add_member("fib6_info", "fib6_dst", 64, 20);
    t.add_member("fib6_info", "nh", 160, 8);
    t.add_member("fib6_info", "fib6_nh", 168, 0);
    t.add_type("rt6key", 20);
    t.add_member("rt6key", "addr", 0, 16);
    t.add_type("fib6_nh", 96);
    t.add_member("fib6_nh", "nh_common", 0, 72);
    t.add_type("fib_nh_common", 72);
    t.add_member("fib_nh_common", "nhc_dev", 0, 8);
}

struct Scenario {
    FakeKernel fk{2};
    FakeTarget& t = fk.target;
    ImageBuilder& img = fk.img;
    std::unique_ptr<fuzz::HostileImage> image;

    addr_t sd(int cpu) const { return kSoftnet + kPerCpuBase + 0x100000ULL * cpu; }

    addr_t dev(const char* name, int ifindex) {
        addr_t d = img.alloc("net_device", 64);
        img.write_str(d, "net_device", "name", name);
        img.write(d, "net_device", "ifindex", ifindex);
        img.write(d, "net_device", "flags", 1);
        img.write(d, "net_device", "nd_net", kInitNet);
        img.write(d, "net_device", "netdev_ops", kDriver);
        img.list_init(d + kNapiList);
        img.list_init(d + kAdjList);
        img.list_init(d + kAdjList + 16);
        img.list_add_tail(d + kDevList, kInitNet + 0x90);
        addr_t idev = img.alloc(1048, 64);
        img.u64(idev, d);
        img.u64(d + kIp6Ptr, idev);
        return d;
    }
    addr_t napi(addr_t d, unsigned id, std::uint64_t state) {
        addr_t n = img.alloc("napi_struct", 64);
        img.list_init(n);
        img.write(n, "napi_struct", "state", state);
        img.write(n, "napi_struct", "weight", 64);
        img.write(n, "napi_struct", "poll", kDriver + 0x100);
        img.write(n, "napi_struct", "poll_owner", 0xffffffffU);
        img.write(n, "napi_struct", "dev", d);
        img.write(n, "napi_struct", "napi_id", id);
        for (int b = 0; b < 8; ++b) img.list_init(n + 64 + 24 * b);
        img.list_add_tail(n + kNapiDevList, d + kNapiList);
        return n;
    }
    void anycast(addr_t d, std::uint8_t last) {
        addr_t e = img.alloc(88, 8);
        std::uint8_t a[16] = {0x20, 0x01, 0x0d, 0xb8};
        a[15] = last;
        t.poke(e, a, 16);
        addr_t rt = img.alloc(168 + 96, 8);
        t.poke(rt + 64, a, 16);
        img.u64(rt + 168, d);
        img.u64(e + 16, rt);
        t.poke_as<std::uint32_t>(e + 48, 1);
        t.poke_as<std::uint32_t>(e + 52, 2);
        addr_t slot = img.u64(d + kIp6Ptr) + kAcList;
        while (img.u64(slot)) slot = img.u64(slot) + 24;
        img.u64(slot, e);
    }
    void multicast(addr_t d) {
        addr_t e = img.alloc(208, 8);
        std::uint8_t a[16] = {0xff, 0x02};
        a[15] = 1;
        t.poke(e, a, 16);
        addr_t idev = img.u64(d + kIp6Ptr);
        img.u64(e + 16, idev);
        t.poke_as<std::uint32_t>(e + 160, 4);
        img.u64(e + 24, img.u64(idev + kMcList));
        img.u64(idev + kMcList, e);
    }

    Scenario() {
        add_net_layout(t);
        t.map(kInitNet, 0x200);
        t.add_symbol("init_net", kInitNet, std::string("struct net"));
        img.list_init(kInitNet + 0x90);
        t.map(kNetList, 16);
        t.add_symbol("net_namespace_list", kNetList, std::string("struct list_head"));
        img.list_init(kNetList);
        img.list_add_tail(kInitNet + 0x10, kNetList);
        t.map(kTickNsec, 8);
        t.add_symbol("tick_nsec", kTickNsec, std::string("unsigned long"));
        img.u64(kTickNsec, 4000000);
        t.add_symbol("softnet_data", kSoftnet, std::string("struct softnet_data"));
        for (int c = 0; c < 2; ++c) {
            t.map(sd(c), 768);
            img.list_init(sd(c));
        }
        t.map(kDriver, 0x1000);
        t.add_symbol("drv_netdev_ops", kDriver, std::nullopt, std::nullopt, "drv");
        t.add_symbol("drv_poll", kDriver + 0x100, std::nullopt, std::nullopt, "drv");

        addr_t lo = dev("lo", 1), eth0 = dev("eth0", 2), eth1 = dev("eth1", 3);
        anycast(lo, 1);
        anycast(eth0, 2);
        anycast(eth0, 3);
        multicast(eth0);
        multicast(eth1);
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

        addr_t end = img.alloc(1, 8);
        image = std::make_unique<fuzz::HostileImage>(
            t, std::vector<fuzz::Region>{{kInitNet, 0x200}, {kNetList, 16}, {sd(0), 768}, {sd(1), 768},
                                         {kHeap, end - kHeap}});
    }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static Scenario s;
    static FakeTarget& t = s.t;
    auto command = [](std::string name, std::vector<std::string> args) -> fuzz::HostileImage::Action {
        return [=] { fuzz::run_command(t, name, args); };
    };
    static const std::vector<fuzz::HostileImage::Action> actions = {
        command("napiq", {"--max", "100"}),
        command("napiq", {"-c", "--all-netns", "--json", "--max", "100"}),
        command("aclist", {}),
        command("aclist", {"--json", "--all-netns"}),
        command("aclist", {"--mc", "--json"}),
    };
    s.image->run(data, size, actions);
    return 0;
}
