#include "kernel/net/sock.h"

#include <algorithm>
#include <array>

#include <fmt/format.h>

#include "kernel/net/ipv6.h"
#include "kernel/sched/snapshot.h"
#include "kernel/waits/object_cache.h"

namespace netdbg {

namespace {

// include/linux/socket.h, include/linux/net.h, include/uapi/linux/in.h
constexpr int kAfInet = 2, kAfInet6 = 10;
constexpr int kSockRaw = 3;
// Address families are small numbers (AF_MAX is 46 on 6.1); anything
// beyond this is not a socket's family.
constexpr int kFamilyLimit = 64;

constexpr std::array<const char*, 46> kFamilies = {
    "AF_UNSPEC", "AF_UNIX",      "AF_INET",  "AF_AX25",     "AF_IPX",   "AF_APPLETALK", "AF_NETROM", "AF_BRIDGE",
    "AF_ATMPVC", "AF_X25",       "AF_INET6", "AF_ROSE",     "AF_DECnet", "AF_NETBEUI",  "AF_SECURITY", "AF_KEY",
    "AF_NETLINK", "AF_PACKET",   "AF_ASH",   "AF_ECONET",   "AF_ATMSVC", "AF_RDS",      "AF_SNA",    "AF_IRDA",
    "AF_PPPOX",  "AF_WANPIPE",   "AF_LLC",   "AF_IB",       "AF_MPLS",  "AF_CAN",       "AF_TIPC",   "AF_BLUETOOTH",
    "AF_IUCV",   "AF_RXRPC",     "AF_ISDN",  "AF_PHONET",   "AF_IEEE802154", "AF_CAIF", "AF_ALG",    "AF_NFC",
    "AF_VSOCK",  "AF_KCM",       "AF_QIPCRTR", "AF_SMC",    "AF_XDP",   "AF_MCTP"};

std::string ipv4_text(std::uint32_t be) {
    auto b = [&](int i) { return (be >> (8 * i)) & 0xff; };  // network order: first byte in memory first
    return fmt::format("{}.{}.{}.{}", b(0), b(1), b(2), b(3));
}

std::uint16_t ntohs16(std::uint16_t v) { return static_cast<std::uint16_t>((v >> 8) | (v << 8)); }

bool all_zero(const In6Addr& a) {
    return std::all_of(a.begin(), a.end(), [](std::uint8_t b) { return b == 0; });
}

// The protocol's short name for a description: "TCP", "UDP".
std::string protocol_short(int protocol, int type) {
    std::string p = ip_protocol_name(protocol);
    if (p.rfind("IPPROTO_", 0) == 0) p = p.substr(8);
    return type == kSockRaw ? "RAW " + p : p;
}

}  // namespace

SockLayout::SockLayout(Kernel& k) {
    Target& t = k.target();
    StructLayout sk(t, "sock");
    StructLayout c(t, "sock_common");
    StructLayout lock(t, "socket_lock_t");
    StructLayout wqh(t, "wait_queue_head");
    StructLayout we(t, "wait_queue_entry");
    std::size_t common = sk.offset("__sk_common");
    auto at = [&](MemberInfo m) {
        m.offset += common;
        return m;
    };
    family = at(c.require("skc_family"));
    rcv_saddr = at(c.require("skc_rcv_saddr"));
    num = at(c.require("skc_num"));
    daddr = at(c.require("skc_daddr"));
    dport = at(c.require("skc_dport"));
    if (auto m = c.find("skc_v6_rcv_saddr"); m && m->size == 16) v6_rcv_saddr = at(*m);
    if (auto m = c.find("skc_v6_daddr"); m && m->size == 16) v6_daddr = at(*m);
    // u16 members since 5.6; before, bitfields of one word, not read.
    if (auto m = sk.find("sk_type"); m && m->size == 2) type = m;
    if (auto m = sk.find("sk_protocol"); m && m->size == 2) protocol = m;
    std::size_t sk_lock = sk.offset("sk_lock");
    MemberInfo owned = lock.require("owned");
    lock_owned = sk_lock + owned.offset;
    owned_size = owned.size;
    wait_head = sk_lock + lock.offset("wq") + wqh.offset("head");
    if (auto m = sk.find("sk_socket")) sk_socket = m->offset;
    if (t.type_size("socket")) {
        if (auto m = t.member("socket", "sk")) socket_sk = m->offset;
        if (auto m = t.member("socket", "type"); m && m->size == 2) socket_type = m->offset;
        auto in_alloc = t.member("socket_alloc", "socket");
        auto inode = t.member("socket_alloc", "vfs_inode");
        auto ino = t.member("inode", "i_ino");
        if (in_alloc && inode && ino && inode->offset + ino->offset >= in_alloc->offset)
            socket_ino = inode->offset + ino->offset - in_alloc->offset;
    }
    waiter = {we.offset("private"), we.offset("entry")};
}

std::string address_family_name(int family) {
    if (family >= 0 && static_cast<std::size_t>(family) < kFamilies.size()) return kFamilies[family];
    return fmt::format("AF {}", family);
}

std::string socket_type_name(int type) {
    switch (type) {
        case 1: return "SOCK_STREAM";
        case 2: return "SOCK_DGRAM";
        case 3: return "SOCK_RAW";
        case 4: return "SOCK_RDM";
        case 5: return "SOCK_SEQPACKET";
        case 6: return "SOCK_DCCP";
        case 10: return "SOCK_PACKET";
    }
    return type < 0 ? "?" : fmt::format("type {}", type);
}

std::string ip_protocol_name(int protocol) {
    switch (protocol) {
        case 0: return "IPPROTO_IP";
        case 1: return "IPPROTO_ICMP";
        case 2: return "IPPROTO_IGMP";
        case 6: return "IPPROTO_TCP";
        case 17: return "IPPROTO_UDP";
        case 33: return "IPPROTO_DCCP";
        case 41: return "IPPROTO_IPV6";
        case 47: return "IPPROTO_GRE";
        case 58: return "IPPROTO_ICMPV6";
        case 132: return "IPPROTO_SCTP";
        case 136: return "IPPROTO_UDPLITE";
        case 255: return "IPPROTO_RAW";
        case 262: return "IPPROTO_MPTCP";
    }
    return protocol < 0 ? "?" : fmt::format("protocol {}", protocol);
}

namespace {

// Local and remote address:port from sk->__sk_common (skc_num in host
// order, skc_dport in network order).
void read_addresses(const SockLayout& L, const Object& o, SockState& s) {
    unsigned lport = static_cast<unsigned>(o.uint(L.num.offset, L.num.size));
    unsigned rport = ntohs16(static_cast<std::uint16_t>(o.uint(L.dport.offset, L.dport.size)));
    if (s.family == kAfInet) {
        auto local = static_cast<std::uint32_t>(o.uint(L.rcv_saddr.offset, L.rcv_saddr.size));
        auto remote = static_cast<std::uint32_t>(o.uint(L.daddr.offset, L.daddr.size));
        s.local = fmt::format("{}:{}", ipv4_text(local), lport);
        if (remote || rport) s.remote = fmt::format("{}:{}", ipv4_text(remote), rport);
    } else if (s.family == kAfInet6 && L.v6_rcv_saddr && L.v6_daddr) {
        In6Addr local, remote;
        std::copy_n(o.data(L.v6_rcv_saddr->offset, 16), 16, local.begin());
        std::copy_n(o.data(L.v6_daddr->offset, 16), 16, remote.begin());
        s.local = fmt::format("[{}]:{}", in6_ntop(local), lport);
        if (!all_zero(remote) || rport) s.remote = fmt::format("[{}]:{}", in6_ntop(remote), rport);
    }
}

// sk->sk_socket: its back-pointer, its type, and its inode number.
void read_socket(Kernel& k, const SockLayout& L, SockState& s) {
    if (!s.socket) return;
    if (L.socket_sk) {
        auto back = k.mem().read_u64(s.socket + *L.socket_sk);
        if (!back) s.problems.push_back(fmt::format("sk_socket {:016x} is unreadable", s.socket));
        else if (*back != s.addr)
            s.problems.push_back(fmt::format("sk_socket {:016x} points back to {:016x}", s.socket, *back));
    }
    if (s.type < 0 && L.socket_type)
        if (auto v = k.mem().read_as<std::uint16_t>(s.socket + *L.socket_type)) s.type = *v;
    if (L.socket_ino) s.inode = k.mem().read_u64(s.socket + *L.socket_ino);
}

}  // namespace

SockState read_sock(Kernel& k, addr_t sk, std::size_t max) {
    const SockLayout& L = k.get<SockLayout>();
    Span span;
    for (const MemberInfo& m : {L.family, L.rcv_saddr, L.num, L.daddr, L.dport}) span.add(m);
    for (const auto& m : {L.v6_rcv_saddr, L.v6_daddr, L.type, L.protocol})
        if (m) span.add(*m);
    span.add(L.lock_owned, L.owned_size);
    if (L.sk_socket) span.add(*L.sk_socket, 8);
    auto o = Object::read(k.mem(), sk, span.end, span.begin);
    if (!o) throw Error(fmt::format("cannot read struct sock at {:016x}{}", sk, k.mem().unreadable_note(sk)));
    SockState s;
    s.addr = sk;
    s.family = static_cast<int>(o->uint(L.family.offset, L.family.size));
    if (s.family <= 0 || s.family >= kFamilyLimit)
        s.problems.push_back(fmt::format("skc_family {} is not an address family", s.family));
    if (L.type) s.type = static_cast<int>(o->uint(L.type->offset, L.type->size));
    if (L.protocol) s.protocol = static_cast<int>(o->uint(L.protocol->offset, L.protocol->size));
    s.owned = static_cast<std::uint32_t>(o->uint(L.lock_owned, L.owned_size));
    if (L.sk_socket) s.socket = o->u64(*L.sk_socket);
    read_addresses(L, *o, s);
    read_socket(k, L, s);
    s.waiters = read_wait_list(k, sk + L.wait_head, L.waiter, max);
    return s;
}

std::string sock_description(const SockState& s) {
    if (s.family == kAfInet || s.family == kAfInet6) {
        std::string out = protocol_short(s.protocol, s.type);
        if (!s.local.empty()) out += " " + s.local;
        if (!s.remote.empty()) out += " -> " + s.remote;
        return out;
    }
    std::string out = address_family_name(s.family);
    if (s.type >= 0) out += " " + socket_type_name(s.type);
    if (s.inode) out += fmt::format(" inode {}", *s.inode);
    return out;
}

namespace {

Blocker sock_blocker(const Snapshot& s, const SockState& sk) {
    Blocker b;
    b.kind = WaitKind::SocketLock;
    b.object = sk.addr;
    b.name = sock_description(sk);
    b.holder_note = "owned by a user context (sk_lock.owned); the kernel does not record the owner";
    b.details.push_back(fmt::format("family {}, type {}, protocol {}", address_family_name(sk.family),
                                    socket_type_name(sk.type), ip_protocol_name(sk.protocol)));
    if (!sk.local.empty())
        b.details.push_back(fmt::format("local {}, remote {}", sk.local, sk.remote.empty() ? "(none)" : sk.remote));
    if (sk.socket)
        b.details.push_back(sk.inode ? fmt::format("struct socket {:016x}, inode {}", sk.socket, *sk.inode)
                                     : fmt::format("struct socket {:016x}", sk.socket));
    else
        b.details.push_back("no struct socket (a kernel-internal or orphaned sock)");
    b.details.push_back(fmt::format("sk_lock.owned {}, {} waiter(s) on sk_lock.wq", sk.owned, sk.waiters.tasks.size()));
    for (const auto& f : sk.waiters.walk.findings) b.findings.push_back("sk_lock.wq " + f.describe());
    json waiters = json::array();
    for (addr_t t : sk.waiters.tasks) {
        const Task* task = s.task(t);
        waiters.push_back({{"task", hex(t)}, {"pid", task ? json(task->pid) : json(nullptr)}});
    }
    b.fields = {{"family", address_family_name(sk.family)},
                {"type", socket_type_name(sk.type)},
                {"protocol", ip_protocol_name(sk.protocol)},
                {"local", sk.local.empty() ? json(nullptr) : json(sk.local)},
                {"remote", sk.remote.empty() ? json(nullptr) : json(sk.remote)},
                {"socket", sk.socket ? json(hex(sk.socket)) : json(nullptr)},
                {"inode", sk.inode ? json(*sk.inode) : json(nullptr)},
                {"owned", sk.owned},
                {"waiters", waiters}};
    return b;
}

// __lock_sock() and the lock_sock*() entries it may be inlined into.
bool is_sock_wait_function(std::string_view fn) {
    return fn == "__lock_sock" || fn == "lock_sock_nested" || fn == "__lock_sock_fast" || fn == "lock_sock_fast";
}

class SocketLockWaits : public WaitReader {
public:
    explicit SocketLockWaits(const Snapshot& s) : s_(s) {
        try {
            L_ = &s.k.get<SockLayout>();
        } catch (const LayoutError&) {
        }
    }
    bool waits_in(std::string_view fn) const override { return L_ && is_sock_wait_function(fn); }

    std::optional<Blocker> find(const WaitSite& site) override {
        Kernel& k = s_.k;
        for (const StackWaiter& w : stack_waiters(k, s_, site, L_->waiter)) {
            addr_t sk = w.head - L_->wait_head;
            const SockState* st = cache_.get(sk, [&](addr_t a) { return read_sock(k, a); });
            // __lock_sock() sleeps only while sock_owned_by_user(sk); the
            // sock must look like one (family, socket back-pointer).
            if (!st || !st->owned || !st->problems.empty()) continue;
            const auto& tasks = st->waiters.tasks;
            if (std::find(tasks.begin(), tasks.end(), site.task.addr) == tasks.end()) continue;
            if (!symbol_type_allows(k, sk, "struct sock")) continue;
            return sock_blocker(s_, *st);
        }
        return std::nullopt;
    }

private:
    const Snapshot& s_;
    const SockLayout* L_ = nullptr;
    ObjectCache<SockState> cache_;
};

}  // namespace

std::unique_ptr<WaitReader> socket_lock_wait_reader(const Snapshot& s) {
    return std::make_unique<SocketLockWaits>(s);
}

}  // namespace netdbg
