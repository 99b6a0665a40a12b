#include "kernel/net/ipv6.h"

#include <fmt/format.h>

#include "kernel/lib/list_check.h"

namespace netdbg {

std::string in6_ntop(const In6Addr& a) {
    unsigned words[8];
    for (int i = 0; i < 8; ++i) words[i] = (a[2 * i] << 8) | a[2 * i + 1];
    // lib/vsprintf.c ip6_compressed_string(): v4-mapped and ISATAP
    // addresses end in dotted quad; the first longest run of two or more
    // zero words becomes "::".
    bool v4mapped = !words[0] && !words[1] && !words[2] && !words[3] && !words[4] && words[5] == 0xffff;
    bool isatap = (words[4] & ~0x0200u) == 0 && words[5] == 0x5efe;
    bool v4 = v4mapped || isatap;
    int range = v4 ? 6 : 8;
    int best = -1, best_len = 1;
    for (int i = 0; i < range; ++i) {
        int n = 0;
        while (i + n < range && words[i + n] == 0) ++n;
        if (n > best_len) best = i, best_len = n;
    }
    std::string s;
    for (int i = 0; i < range; ++i) {
        if (i == best) {
            s += "::";
            i += best_len - 1;
            continue;
        }
        if (!s.empty() && s.back() != ':') s += ':';
        s += fmt::format("{:x}", words[i]);
    }
    if (v4) {
        if (!s.empty() && s.back() != ':') s += ':';
        s += fmt::format("{}.{}.{}.{}", a[12], a[13], a[14], a[15]);
    }
    return s;
}

std::string in6_hex(const In6Addr& a) {
    std::string s;
    for (std::uint8_t b : a) s += fmt::format("{:02x}", b);
    return s;
}

Inet6DevLayout::Inet6DevLayout(Kernel& k) : s(k.target(), "inet6_dev") {
    dev = s.require("dev");
    ac_list = s.find("ac_list");
    mc_list = s.find("mc_list");
}

In6ListLayout::In6ListLayout(Kernel& k, const char* type, const char* list_name,
                             std::initializer_list<const char*> n)
    : s(k.target(), type), list(list_name) {
    // names: addr, next, idev, users, refcnt, cstamp, tstamp, flags, rt
    auto it = n.begin();
    addr = s.require(*it++);
    next = s.require(*it++);
    idev_name = *it;
    idev = s.find(*it++);
    users = s.find(*it++);
    refcnt = s.find(*it++);
    cstamp = s.find(*it++);
    tstamp = s.find(*it++);
    flags = s.find(*it++);
    if (*it) rt = s.find(*it);
    if (addr.size != 16) throw LayoutError(fmt::format("layout: {}.{} is not a struct in6_addr", type, *n.begin()));
}

IfAcAddr6Layout::IfAcAddr6Layout(Kernel& k)
    : In6ListLayout(k, "ifacaddr6", "ac_list",
                    {"aca_addr", "aca_next", "aca_idev", "aca_users", "aca_refcnt", "aca_cstamp", "aca_tstamp",
                     "aca_flags", "aca_rt"}) {}

IfMcAddr6Layout::IfMcAddr6Layout(Kernel& k)
    : In6ListLayout(k, "ifmcaddr6", "mc_list",
                    {"mca_addr", "next", "idev", "mca_users", "mca_refcnt", "mca_cstamp", "mca_tstamp", "mca_flags",
                     nullptr}) {}

Fib6InfoLayout::Fib6InfoLayout(Kernel& k) {
    Target& t = k.target();
    StructLayout f6(t, "fib6_info");
    dst_addr = f6.offset("fib6_dst") + StructLayout(t, "rt6key").offset("addr");
    read_end = dst_addr + 16;
    nh = f6.find("nh");
    if (nh) read_end = std::max(read_end, nh->offset + nh->size);
    auto nhs = f6.find("fib6_nh");
    if (nhs && t.type_size("fib6_nh") && t.type_size("fib_nh_common")) {
        auto common = StructLayout(t, "fib6_nh").find("nh_common");
        auto dev = StructLayout(t, "fib_nh_common").find("nhc_dev");
        if (common && dev) {
            nh_dev = nhs->offset + common->offset + dev->offset;
            read_end = std::max(read_end, *nh_dev + 8);
        }
    }
}

std::string maf_flag_names(std::uint64_t flags) {
    static const std::pair<std::uint64_t, const char*> names[] = {{MAF_TIMER_RUNNING, "TIMER_RUNNING"},
                                                                  {MAF_LAST_REPORTER, "LAST_REPORTER"},
                                                                  {MAF_LOADED, "LOADED"},
                                                                  {MAF_NOREPORT, "NOREPORT"},
                                                                  {MAF_GSQUERY, "GSQUERY"}};
    std::string out;
    for (auto [bit, name] : names)
        if (flags & bit) out += out.empty() ? name : std::string("|") + name;
    std::uint64_t rest = flags & ~0x1fULL;
    if (rest) out += (out.empty() ? "" : "|") + fmt::format("{:#x}", rest);
    return out.empty() ? "-" : out;
}

namespace {

std::uint64_t field(const ListEntryView& e, const MemberInfo& m) {
    std::uint64_t v = 0;
    if (m.offset + m.size <= e.size && m.size <= 8) std::memcpy(&v, e.bytes + m.offset, m.size);
    return v;
}

std::int64_t signed_field(const ListEntryView& e, const MemberInfo& m) {
    std::uint64_t v = field(e, m);
    if (m.size < 8 && (v >> (8 * m.size - 1)) & 1) v |= ~0ULL << (8 * m.size);
    return static_cast<std::int64_t>(v);
}

// The anycast route must lead back to the device: its nexthop device
// (when it has no shared nexthop object) is dev.
void check_route(Kernel& k, addr_t rt, addr_t dev, const ListEntryView& e, std::vector<ListFinding>& out) {
    const Fib6InfoLayout* L = nullptr;
    try {
        L = &k.get<Fib6InfoLayout>();
    } catch (const LayoutError&) {
        return;  // before 4.19 aca_rt is an rt6_info: not checked
    }
    if (!L->nh_dev) return;
    ListFinding f{ListFault::WrongBackptr, e.index, e.node, dev, 0};
    f.entry = e.entry;
    f.what = "aca_rt->fib6_nh.fib_nh_dev";
    std::vector<std::uint8_t> b(L->read_end);
    if (!rt || !k.mem().read(rt, b.data(), b.size())) {
        f.what = rt ? "aca_rt (unreadable)" : "aca_rt (NULL)";
        f.actual = rt;
        out.push_back(f);
        return;
    }
    if (L->nh) {
        std::uint64_t shared;
        std::memcpy(&shared, b.data() + L->nh->offset, 8);
        if (shared) return;  // a nexthop object: the device is there
    }
    std::memcpy(&f.actual, b.data() + *L->nh_dev, 8);
    if (f.actual != dev) out.push_back(f);
}

In6List walk_in6_list(Kernel& k, const In6ListLayout& L, addr_t idev, addr_t dev, std::size_t max,
                      const std::optional<MemberInfo>& head_member) {
    In6List out;
    if (!head_member)
        throw LayoutError(fmt::format("layout: struct inet6_dev has no member '{}'", L.list));
    out.head = idev + head_member->offset;
    ListShape shape;
    shape.kind = ListKind::Single;
    shape.node_offset = L.next.offset;
    shape.entry_size = L.s.size();
    shape.max = max;
    shape.poison_bytes.assign(kSlabPoisonBytes.begin(), kSlabPoisonBytes.end());
    if (L.idev) {
        shape.backptr = L.idev;
        shape.backptr_name = L.idev_name;
    }
    std::vector<ListFinding> route_findings;
    out.walk = check_list(k, shape, out.head, idev, [&](const ListEntryView& e) {
        In6ListEntry x;
        x.addr = e.entry;
        std::memcpy(x.in6.data(), e.bytes + L.addr.offset, 16);
        if (L.users) x.users = signed_field(e, *L.users);
        if (L.refcnt) x.refcnt = field(e, *L.refcnt);
        if (L.flags) x.flags = field(e, *L.flags);
        if (L.cstamp) x.cstamp = field(e, *L.cstamp);
        if (L.tstamp) x.tstamp = field(e, *L.tstamp);
        if (L.rt) {
            x.rt = field(e, *L.rt);
            if (!L.idev && !e.poisoned) check_route(k, *x.rt, dev, e, route_findings);
        }
        out.entries.push_back(x);
        return true;
    });
    // On a loop the visitor saw some entries twice: keep the distinct ones.
    if (out.entries.size() > out.walk.count) out.entries.resize(out.walk.count);
    for (ListFinding& f : route_findings)
        if (f.index < out.walk.count) out.walk.findings.push_back(std::move(f));
    std::stable_sort(out.walk.findings.begin(), out.walk.findings.end(),
                     [](const ListFinding& a, const ListFinding& b) { return a.index < b.index; });
    if (!out.walk.findings.empty()) out.walk.complete = false;
    return out;
}

}  // namespace

In6List inet6_dev_ac_list(Kernel& k, addr_t idev, addr_t dev, std::size_t max) {
    return walk_in6_list(k, k.get<IfAcAddr6Layout>(), idev, dev, max, k.get<Inet6DevLayout>().ac_list);
}

In6List inet6_dev_mc_list(Kernel& k, addr_t idev, addr_t dev, std::size_t max) {
    return walk_in6_list(k, k.get<IfMcAddr6Layout>(), idev, dev, max, k.get<Inet6DevLayout>().mc_list);
}

}  // namespace netdbg
