#include "kernel/net/netdev_link.h"

#include <cstring>

#include <fmt/format.h>

#include "kernel/net/netdevice.h"

namespace netdbg {

namespace {

// struct net_device_stats, in its declaration order (include/linux/netdevice.h).
constexpr const char* kStatFields[] = {
    "rx_packets",       "tx_packets",        "rx_bytes",          "tx_bytes",        "rx_errors",
    "tx_errors",        "rx_dropped",        "tx_dropped",        "multicast",       "collisions",
    "rx_length_errors", "rx_over_errors",    "rx_crc_errors",     "rx_frame_errors", "rx_fifo_errors",
    "rx_missed_errors", "tx_aborted_errors", "tx_carrier_errors", "tx_fifo_errors",  "tx_heartbeat_errors",
    "tx_window_errors", "rx_compressed",     "tx_compressed"};

constexpr const char* kCoreFields[] = {"rx_dropped", "tx_dropped", "rx_nohandler", "rx_otherhost_dropped"};

}  // namespace

NetdevLinkLayout::NetdevLinkLayout(Kernel& k) {
    Target& t = k.target();
    StructLayout nd(t, "net_device");
    state = nd.require("state");
    mtu = nd.require("mtu");
    qdisc = nd.require("qdisc");
    operstate = nd.find("operstate");
    tx_queue_len = nd.find("tx_queue_len");
    watchdog_timeo = nd.find("watchdog_timeo");
    dev_addr = nd.find("dev_addr");
    addr_len = nd.find("addr_len");
    type = nd.find("type");
    gflags = nd.find("gflags");
    core_stats = nd.find("core_stats");
    old_rx_dropped = nd.find("rx_dropped");
    old_tx_dropped = nd.find("tx_dropped");
    stats = nd.find("stats");
    if (auto dev = nd.find("dev")) {
        auto p = t.member("device", "parent");
        auto drv = t.member("device", "driver");
        auto name = t.member("device_driver", "name");
        if (p && drv && name) {
            parent = dev->offset + p->offset;
            device_driver = drv->offset;
            driver_name = name->offset;
        }
    }
    if (auto o = t.member("net_device_ops", "ndo_get_stats64")) ops_get_stats64 = o->offset;
    if (auto o = t.member("net_device_ops", "ndo_get_stats")) ops_get_stats = o->offset;
    if (auto o = t.member("net_device_ops", "ndo_tx_timeout")) ops_tx_timeout = o->offset;
    if (stats) {
        // Each field is an unsigned long (6.1 wraps each in an anonymous
        // union with an atomic_long_t, NET_DEV_STAT()); a debugger that does
        // not look into anonymous unions still has the declaration order.
        auto size = t.type_size("net_device_stats");
        bool by_order = size && *size == std::size(kStatFields) * 8;
        for (std::size_t i = 0; i < std::size(kStatFields); ++i) {
            if (auto m = t.member("net_device_stats", kStatFields[i]))
                stat_fields.emplace_back(kStatFields[i], stats->offset + m->offset);
            else if (by_order)
                stat_fields.emplace_back(kStatFields[i], stats->offset + i * 8);
        }
    }
    if (core_stats) {
        core_size = t.type_size("net_device_core_stats").value_or(0);
        for (const char* f : kCoreFields)
            if (auto m = t.member("net_device_core_stats", f)) core_fields.emplace_back(f, m->offset);
    }
    for (const MemberInfo& m : {state, mtu, qdisc}) span.add(m);
    for (const auto& m : {operstate, tx_queue_len, watchdog_timeo, dev_addr, addr_len, type, core_stats,
                          old_rx_dropped, old_tx_dropped, stats})
        if (m) span.add(*m);
    if (parent) span.add(*parent, 8);
}

LinkStates::LinkStates(Kernel& k) {
    for (const char* n : {"START", "PRESENT", "NOCARRIER", "LINKWATCH_PENDING", "DORMANT", "TESTING"})
        if (auto v = k.target().enum_value(std::string("__LINK_STATE_") + n); v && *v >= 0 && *v < 64)
            bits_.emplace_back(n, static_cast<int>(*v));
}

bool LinkStates::test(std::uint64_t state, std::string_view name) const {
    for (const auto& [n, b] : bits_)
        if (n == name) return (state >> b) & 1;
    return false;
}

std::vector<std::string> LinkStates::decode(std::uint64_t state) const {
    std::vector<std::string> out;
    for (const auto& [n, b] : bits_)
        if ((state >> b) & 1) out.push_back(n);
    return out;
}

bool NetdevLink::running() const {
    return flags & IFF_RUNNING;
}

std::optional<std::uint64_t> NetdevLink::stat(std::string_view name) const {
    for (const auto& [n, v] : stats)
        if (n == name) return v;
    return std::nullopt;
}

namespace {

// include/uapi/linux/if.h: IF_OPER_* (RFC 2863).
constexpr const char* kOperStates[] = {"unknown", "notpresent", "down", "lowerlayerdown",
                                       "testing", "dormant",    "up"};
constexpr unsigned IF_OPER_UNKNOWN = 0, IF_OPER_UP = 6;

std::string mac_text(const std::uint8_t* p, std::size_t n) {
    std::string s;
    for (std::size_t i = 0; i < n; ++i) s += fmt::format("{}{:02x}", i ? ":" : "", p[i]);
    return s;
}

void read_address(Kernel& k, const NetdevLinkLayout& L, const Object& o, NetdevLink& l) {
    if (!L.dev_addr || !L.addr_len) return;
    std::size_t n = o.uint(L.addr_len->offset, L.addr_len->size);
    if (n == 0 || n > 32) return;
    std::uint8_t buf[32];
    if (L.dev_addr->size == 8) {  // const unsigned char *dev_addr (5.17+)
        addr_t p = o.u64(L.dev_addr->offset);
        if (!p || !k.mem().read(p, buf, n)) return;
    } else {
        if (n > L.dev_addr->size) return;
        std::memcpy(buf, o.data(L.dev_addr->offset, n), n);
    }
    l.address = mac_text(buf, n);
}

void read_driver(Kernel& k, const NetdevLinkLayout& L, const Object& o, NetdevLink& l) {
    if (!L.parent) return;
    addr_t parent = o.u64(*L.parent);
    if (!parent) return;
    auto drv = k.mem().read_u64(parent + *L.device_driver);
    if (!drv || !*drv) return;
    auto name_ptr = k.mem().read_u64(*drv + *L.driver_name);
    if (!name_ptr || !*name_ptr) return;
    if (auto name = k.mem().read_cstring(*name_ptr, 64)) l.bound_driver = *name;
}

void read_stats(Kernel& k, const NetdevLinkLayout& L, const Object& o, NetdevLink& l) {
    for (const auto& [name, off] : L.stat_fields) l.stats.emplace_back(name, o.u64(off));
    auto add = [&](const std::string& name, std::uint64_t v) {
        for (auto& [n, x] : l.stats)
            if (n == name) {
                x += v;
                return;
            }
        l.stats.emplace_back(name, v);
    };
    if (L.core_stats) {
        addr_t cs = o.u64(L.core_stats->offset);
        if (!cs) return;  // allocated on the first drop (netdev_core_stats_alloc())
        int n = k.target().cpu_count();
        for (int cpu = 0; cpu < n; ++cpu) {
            auto off = k.target().per_cpu_offset(cpu);
            if (!off) continue;
            for (const auto& [name, f] : L.core_fields) {
                auto v = k.mem().read_u64(cs + *off + f);
                if (!v) {
                    l.problems.push_back(fmt::format("core_stats of CPU {} unreadable", cpu));
                    return;
                }
                add(name, *v);
            }
        }
        return;
    }
    if (L.old_rx_dropped) add("rx_dropped", o.u64(L.old_rx_dropped->offset));
    if (L.old_tx_dropped) add("tx_dropped", o.u64(L.old_tx_dropped->offset));
}

}  // namespace

NetdevLink read_netdev_link(Kernel& k, addr_t dev, std::uint32_t dev_flags) {
    const NetdevLinkLayout& L = k.get<NetdevLinkLayout>();
    const LinkStates& S = k.get<LinkStates>();
    NetdevLink l;
    l.dev = dev;
    auto o = Object::read(k.mem(), dev, L.span.end, L.span.begin);
    if (!o) {
        l.problems.push_back(fmt::format("net_device {:016x}: link fields unreadable", dev));
        l.flags = dev_flags;
        return l;
    }
    l.state = o->uint(L.state.offset, L.state.size);
    l.mtu = static_cast<unsigned>(o->uint(L.mtu.offset, L.mtu.size));
    l.qdisc = o->u64(L.qdisc.offset);
    if (L.operstate) l.operstate = static_cast<unsigned>(o->uint(L.operstate->offset, L.operstate->size));
    if (L.tx_queue_len) l.tx_queue_len = static_cast<unsigned>(o->uint(L.tx_queue_len->offset, L.tx_queue_len->size));
    if (L.type) l.type = static_cast<unsigned>(o->uint(L.type->offset, L.type->size));
    if (L.watchdog_timeo)
        l.watchdog_timeo = static_cast<int>(static_cast<std::int32_t>(o->uint(L.watchdog_timeo->offset, 4)));
    // dev_get_flags()
    std::uint32_t f = dev_flags & ~(IFF_RUNNING | IFF_LOWER_UP | IFF_DORMANT);
    if (S.test(l.state, "START")) {
        unsigned op = l.operstate.value_or(IF_OPER_UNKNOWN);
        if (op == IF_OPER_UP || op == IF_OPER_UNKNOWN) f |= IFF_RUNNING;
        if (!S.test(l.state, "NOCARRIER")) f |= IFF_LOWER_UP;
        if (S.test(l.state, "DORMANT")) f |= IFF_DORMANT;
    }
    l.flags = f;
    read_address(k, L, *o, l);
    read_driver(k, L, *o, l);
    const NetDeviceLayout& NL = k.get<NetDeviceLayout>();
    if (auto ops = k.mem().read_u64(dev + NL.netdev_ops.offset); ops && *ops) {
        auto fn = [&](const std::optional<std::size_t>& off) -> addr_t {
            if (!off) return 0;
            return k.mem().read_u64(*ops + *off).value_or(0);
        };
        l.ndo_get_stats64 = fn(L.ops_get_stats64);
        l.ndo_get_stats = fn(L.ops_get_stats);
        l.ndo_tx_timeout = fn(L.ops_tx_timeout);
    }
    read_stats(k, L, *o, l);
    return l;
}

std::vector<std::string> netdev_flag_names(std::uint32_t flags) {
    static constexpr std::pair<std::uint32_t, const char*> names[] = {
        {0x1, "UP"},          {0x2, "BROADCAST"}, {0x4, "DEBUG"},       {0x8, "LOOPBACK"},
        {0x10, "POINTOPOINT"}, {0x20, "NOTRAILERS"}, {0x40, "RUNNING"},    {0x80, "NOARP"},
        {0x100, "PROMISC"},   {0x200, "ALLMULTI"}, {0x400, "MASTER"},     {0x800, "SLAVE"},
        {0x1000, "MULTICAST"}, {0x2000, "PORTSEL"}, {0x4000, "AUTOMEDIA"}, {0x8000, "DYNAMIC"},
        {0x10000, "LOWER_UP"}, {0x20000, "DORMANT"}, {0x40000, "ECHO"}};
    std::vector<std::string> out;
    for (const auto& [bit, name] : names)
        if (flags & bit) out.push_back(name);
    return out;
}

std::string operstate_name(unsigned op) {
    return op < std::size(kOperStates) ? kOperStates[op] : fmt::format("operstate {}", op);
}

}  // namespace netdbg
