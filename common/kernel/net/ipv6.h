// IPv6 per-device state (include/net/if_inet6.h): struct inet6_dev and its
// two address lists, both singly linked and NULL-terminated, walked with
// check_list() so a loop or a broken link is a finding, not a hang:
//   idev->ac_list  struct ifacaddr6 through aca_next (net/ipv6/anycast.c)
//   idev->mc_list  struct ifmcaddr6 through next     (net/ipv6/mcast.c)
#pragma once

#include <array>
#include <optional>
#include <string>
#include <vector>

#include "core/kernel.h"
#include "kernel/lib/list.h"

namespace netdbg {

using In6Addr = std::array<std::uint8_t, 16>;

// RFC 5952 text, as the kernel's %pI6c prints it ("2001:db8:2::", "fe80::",
// "::ffff:10.0.0.1").
std::string in6_ntop(const In6Addr& a);
std::string in6_hex(const In6Addr& a);  // 32 hex digits, as /proc/net/anycast6

struct Inet6DevLayout {
    explicit Inet6DevLayout(Kernel& k);
    StructLayout s;
    MemberInfo dev;
    std::optional<MemberInfo> ac_list, mc_list;
};

// The members of one of the two lists' entries, under their names in the
// running kernel; optional ones are absent in some versions (aca_idev went
// away in 4.x, aca_rt became a fib6_info in 4.19).
struct In6ListLayout {
    In6ListLayout(Kernel& k, const char* type, const char* list, std::initializer_list<const char*> names);
    StructLayout s;
    std::string list;  // "ac_list" / "mc_list"
    MemberInfo addr, next;
    std::optional<MemberInfo> idev, users, refcnt, cstamp, tstamp, flags, rt;
    std::string idev_name;  // the back-link member's name
};

struct IfAcAddr6Layout : In6ListLayout {
    explicit IfAcAddr6Layout(Kernel& k);
};
struct IfMcAddr6Layout : In6ListLayout {
    explicit IfMcAddr6Layout(Kernel& k);
};

// struct fib6_info (4.19+): the anycast route of an ifacaddr6.
struct Fib6InfoLayout {
    explicit Fib6InfoLayout(Kernel& k);
    std::size_t dst_addr = 0;           // fib6_dst.addr
    std::optional<std::size_t> nh_dev;  // fib6_nh[0].nh_common.nhc_dev (fib_nh_dev)
    std::optional<MemberInfo> nh;       // struct nexthop * (shared nexthop objects)
    std::size_t read_end = 0;
};

// include/net/if_inet6.h: ifmcaddr6.mca_flags
constexpr std::uint64_t MAF_TIMER_RUNNING = 0x01;
constexpr std::uint64_t MAF_LAST_REPORTER = 0x02;
constexpr std::uint64_t MAF_LOADED = 0x04;
constexpr std::uint64_t MAF_NOREPORT = 0x08;
constexpr std::uint64_t MAF_GSQUERY = 0x10;
std::string maf_flag_names(std::uint64_t flags);  // "LOADED|NOREPORT" or "-"

struct In6ListEntry {
    addr_t addr = 0;  // struct ifacaddr6 / ifmcaddr6
    In6Addr in6{};
    std::optional<std::int64_t> users;
    std::optional<std::uint64_t> refcnt, flags, cstamp, tstamp;
    std::optional<addr_t> rt;
};

struct In6List {
    addr_t head = 0;  // &idev->ac_list / &idev->mc_list
    std::vector<In6ListEntry> entries;
    // Loops, unreadable links, poison, and entries whose back-link (idev,
    // or the anycast route's device) does not point back.
    ListWalk walk;
};

// idev->ac_list / idev->mc_list of the device dev, at most max entries.
In6List inet6_dev_ac_list(Kernel& k, addr_t idev, addr_t dev, std::size_t max = 100000);
In6List inet6_dev_mc_list(Kernel& k, addr_t idev, addr_t dev, std::size_t max = 100000);

}  // namespace netdbg
