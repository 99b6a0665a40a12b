#include "fake_net.h"

#include <arpa/inet.h>

#include <stdexcept>

namespace netdbg::test {

void add_net_layout(FakeTarget& t) {
    using namespace net_off;
    t.add_struct("net", 0x200, {{"list", kNetList, 16}, {"dev_base_head", kDevBaseHead, 16}});
    t.add_struct("net_device", 0x400,
               {{"name", 0, 16}, {"dev_list", kDevList, 16}, {"napi_list", kNapiList, 16}, {"adj_list", kAdjUpper, 32},
                {"ifindex", 0xe0, 4}, {"flags", 0xe4, 4}, {"priv_flags", 0xe8, 8}, {"netdev_ops", 0xf0, 8},
                {"npinfo", 0x100, 8}, {"nd_net", 0x118, 8}, {"ip6_ptr", kIp6Ptr, 8}});
    t.add_struct("net_device_ops", 0x200,
               {{"ndo_open", 0, 8}, {"ndo_poll_controller", 0xd0, 8}, {"ndo_netpoll_setup", 0xd8, 8}});
    t.add_struct("netdev_adjacent", 56, {{"dev", 0, 8}, {"master", 8, 1}, {"list", kAdjacentList, 16}});
    t.add_struct("napi_struct", 400,
               {{"poll_list", 0, 16}, {"state", 16, 8}, {"weight", 24, 4}, {"poll", 40, 8}, {"poll_owner", 48, 4},
                {"dev", 56, 8}, {"gro_hash", 64, 192}, {"rx_count", 280, 4}, {"dev_list", kNapiDevList, 16},
                {"napi_id", 384, 4}, {"thread", 392, 8}});
    t.add_struct("gro_list", 24, {{"list", 0, 16}, {"count", 16, 4}});
    t.add_struct("sk_buff_head", 24, {{"qlen", 16, 4}});
    t.add_struct("softnet_data", kSoftnetSize,
               {{"poll_list", 0, 16}, {"process_queue", 16, 24}, {"processed", 40, 4}, {"time_squeeze", 44, 4},
                {"received_rps", 48, 4}, {"dropped", 240, 4}, {"input_pkt_queue", 248, 24}, {"backlog", 272, 400}});
    t.add_struct("netpoll_info", 168, {{"refcnt", 0, 4}, {"txq", 32, 24}, {"netpoll", 144, 8}});
    t.add_struct("netpoll", 80,
               {{"dev", 0, 8}, {"dev_name", 8, 16}, {"name", 24, 8}, {"local_ip", 32, 16}, {"remote_ip", 48, 16},
                {"ipv6", 64, 1}, {"local_port", 66, 2}, {"remote_port", 68, 2}});
    t.add_enum("IFF_DISABLE_NETPOLL", 0x80);
    t.add_enum("IFF_BONDING", 0x20);
    // include/net/if_inet6.h
    t.add_struct("inet6_dev", 1048, {{"dev", 0, 8}, {"mc_list", kMcList, 8}, {"ac_list", kAcList, 8}});
    t.add_struct("ifacaddr6", 88,
               {{"aca_addr", 0, 16}, {"aca_rt", 16, 8}, {"aca_next", kAcaNext, 8}, {"aca_addr_lst", 32, 16},
                {"aca_users", 48, 4}, {"aca_refcnt", 52, 4}, {"aca_cstamp", 56, 8}, {"aca_tstamp", 64, 8}});
    t.add_struct("ifmcaddr6", 208,
               {{"mca_addr", 0, 16}, {"idev", 16, 8}, {"next", kMcaNext, 8}, {"mca_flags", 160, 4},
                {"mca_users", 164, 4}, {"mca_refcnt", 168, 4}, {"mca_cstamp", 176, 8}, {"mca_tstamp", 184, 8}});
    t.add_struct("fib6_info", 168, {{"fib6_dst", 64, 20}, {"nh", 160, 8}, {"fib6_nh", 168, 0}});
    t.add_struct("rt6key", 20, {{"addr", 0, 16}});
    t.add_struct("fib6_nh", 96, {{"nh_common", 0, 72}});
    t.add_struct("fib_nh_common", 72, {{"nhc_dev", 0, 8}});
}

void add_napi_state_enum(FakeTarget& t, NapiEnum e) {
    std::vector<const char*> names;
    switch (e) {
        case NapiEnum::Linux61:  // 5.13 .. 6.x
            names = {"SCHED", "MISSED", "DISABLE", "NPSVC", "LISTED", "NO_BUSY_POLL", "IN_BUSY_POLL",
                     "PREFER_BUSY_POLL", "THREADED", "SCHED_THREADED"};
            break;
        case NapiEnum::Linux414:  // 4.11 .. 5.10: MISSED before DISABLE, HASHED
            names = {"SCHED", "MISSED", "DISABLE", "NPSVC", "HASHED", "NO_BUSY_POLL", "IN_BUSY_POLL"};
            break;
        case NapiEnum::Linux49:  // before 4.11: no MISSED
            names = {"SCHED", "DISABLE", "NPSVC", "HASHED", "NO_BUSY_POLL", "IN_BUSY_POLL"};
            break;
        case NapiEnum::None: break;
    }
    for (std::size_t i = 0; i < names.size(); ++i) t.add_enum(std::string("NAPI_STATE_") + names[i], i);
}

void add_init_net(FakeKernel& fk, addr_t init_net, addr_t net_list) {
    fk.target.map(init_net, 0x200);
    fk.target.add_symbol("init_net", init_net, std::string("struct net"));
    fk.img.list_init(init_net + net_off::kDevBaseHead);
    fk.target.map(net_list, 16);
    fk.target.add_symbol("net_namespace_list", net_list, std::string("struct list_head"));
    fk.img.list_init(net_list);
    fk.img.list_add_tail(init_net + net_off::kNetList, net_list);
}

addr_t add_net_device(FakeKernel& fk, const std::string& name, int ifindex, std::uint32_t flags, addr_t netdev_ops,
                      addr_t net) {
    ImageBuilder& img = fk.img;
    addr_t d = img.alloc("net_device", 64);
    img.write_str(d, "net_device", "name", name);
    img.write(d, "net_device", "ifindex", static_cast<std::uint32_t>(ifindex));
    img.write(d, "net_device", "flags", flags);
    img.write(d, "net_device", "nd_net", net);
    img.write(d, "net_device", "netdev_ops", netdev_ops);
    img.list_init(d + net_off::kNapiList);
    img.list_init(d + net_off::kAdjUpper);
    img.list_init(d + net_off::kAdjLower);
    img.list_add_tail(d + net_off::kDevList, net + net_off::kDevBaseHead);
    return d;
}

addr_t add_napi(FakeKernel& fk, addr_t dev, addr_t poll, int weight, unsigned napi_id, std::uint64_t state) {
    ImageBuilder& img = fk.img;
    addr_t n = img.alloc("napi_struct", 64);
    img.list_init(n);
    img.write(n, "napi_struct", "state", state);
    img.write(n, "napi_struct", "weight", static_cast<std::uint32_t>(weight));
    img.write(n, "napi_struct", "poll", poll);
    img.write(n, "napi_struct", "poll_owner", 0xffffffffU);
    img.write(n, "napi_struct", "dev", dev);
    img.write(n, "napi_struct", "napi_id", napi_id);
    MemberInfo gro = img.member("napi_struct", "gro_hash");
    for (std::size_t b = 0; b < gro.size / img.size("gro_list"); ++b) img.list_init(n + gro.offset + b * img.size("gro_list"));
    addr_t head = dev + net_off::kNapiList, node = n + net_off::kNapiDevList;
    addr_t first = img.u64(head);
    img.link(node, first, head);
    img.u64(first + 8, node);
    img.u64(head, node);
    return n;
}

Ipv6Bytes ipv6(const char* text) {
    Ipv6Bytes a{};
    if (inet_pton(AF_INET6, text, a.data()) != 1) throw std::logic_error(std::string("not an IPv6 address: ") + text);
    return a;
}

addr_t add_inet6_dev(FakeKernel& fk, addr_t dev) {
    addr_t idev = fk.img.alloc("inet6_dev", 64);
    fk.img.write(idev, "inet6_dev", "dev", dev);
    fk.img.write(dev, "net_device", "ip6_ptr", idev);
    return idev;
}

namespace {
// The last next-pointer of a NULL-terminated list starting at head.
addr_t list_tail_slot(ImageBuilder& img, addr_t head, std::size_t next) {
    addr_t slot = head;
    while (img.u64(slot)) slot = img.u64(slot) + next;
    return slot;
}
}  // namespace

addr_t add_anycast(FakeKernel& fk, addr_t dev, const Ipv6Bytes& addr, std::uint32_t users, std::uint64_t cstamp,
                   std::uint64_t tstamp) {
    ImageBuilder& img = fk.img;
    addr_t e = img.alloc("ifacaddr6", 8);
    fk.target.poke(e, addr.data(), addr.size());
    addr_t rt = img.alloc(img.size("fib6_info") + img.size("fib6_nh"), 8);
    fk.target.poke(rt + img.offset("fib6_info", "fib6_dst"), addr.data(), addr.size());
    img.u64(rt + img.offset("fib6_info", "fib6_nh"), dev);  // fib6_nh[0].nh_common.nhc_dev
    img.write(e, "ifacaddr6", "aca_rt", rt);
    img.write(e, "ifacaddr6", "aca_users", users);
    img.write(e, "ifacaddr6", "aca_refcnt", 2);
    img.write(e, "ifacaddr6", "aca_cstamp", cstamp);
    img.write(e, "ifacaddr6", "aca_tstamp", tstamp);
    addr_t idev = img.read(dev, "net_device", "ip6_ptr");
    img.u64(list_tail_slot(img, idev + net_off::kAcList, net_off::kAcaNext), e);
    return e;
}

addr_t add_multicast(FakeKernel& fk, addr_t dev, const Ipv6Bytes& addr, std::uint32_t flags, std::uint64_t stamp) {
    ImageBuilder& img = fk.img;
    addr_t e = img.alloc("ifmcaddr6", 8);
    fk.target.poke(e, addr.data(), addr.size());
    addr_t idev = img.read(dev, "net_device", "ip6_ptr");
    img.write(e, "ifmcaddr6", "idev", idev);
    img.write(e, "ifmcaddr6", "mca_flags", flags);
    img.write(e, "ifmcaddr6", "mca_users", 1);
    img.write(e, "ifmcaddr6", "mca_refcnt", 3);
    img.write(e, "ifmcaddr6", "mca_cstamp", stamp);
    img.write(e, "ifmcaddr6", "mca_tstamp", stamp);
    img.u64(list_tail_slot(img, idev + net_off::kMcList, net_off::kMcaNext), e);
    return e;
}

}  // namespace netdbg::test
