// aclist on a synthetic network: init_net with devices, their inet6_dev,
// anycast entries (6.1 layouts: struct ifacaddr6, fib6_info routes) and
// multicast entries; loops, wrong back-links and unreadable links.
#include <gtest/gtest.h>


#include <fmt/format.h>

#include "core/command.h"
#include "core/error.h"
#include "fake_kernel.h"
#include "fake_net.h"
#include "core/json.h"
#include "kernel/net/ipv6.h"

using namespace netdbg;
using netdbg::test::FakeKernel;
using netdbg::test::TaskSpec;
using nlohmann::ordered_json;

namespace {

constexpr addr_t kInitNet = 0xffffffff83000000ULL;
constexpr addr_t kNetList = 0xffffffff83001000ULL;
constexpr addr_t kTickNsec = 0xffffffff83002000ULL;
constexpr std::uint64_t kHz = 250;

using netdbg::test::ipv6;

struct Net {
    FakeKernel fk;
    netdbg::test::FakeTarget& t = fk.target;
    netdbg::test::ImageBuilder& img = fk.img;
    std::uint64_t jiffies = img.u64(netdbg::test::kJiffies);

    Net() {
        add_net_layout(t);
        add_init_net(fk, kInitNet, kNetList);
        t.map(kTickNsec, 8);
        t.add_symbol("tick_nsec", kTickNsec, std::string("unsigned long"));
        img.u64(kTickNsec, 1000000000ULL / kHz);
    }

    addr_t dev(const std::string& name, int ifindex, bool with_idev = true) {
        addr_t d = add_net_device(fk, name, ifindex, 0, 0, kInitNet);
        if (with_idev) add_inet6_dev(fk, d);
        return d;
    }
    addr_t idev(addr_t dev) { return img.read(dev, "net_device", "ip6_ptr"); }

    addr_t ac(addr_t dev, const char* addr, int users = 1, std::uint64_t age_jiffies = 5 * kHz) {
        return add_anycast(fk, dev, ipv6(addr), static_cast<std::uint32_t>(users), jiffies - age_jiffies,
                           jiffies - age_jiffies / 2);
    }
    addr_t mc(addr_t dev, const char* addr, std::uint32_t flags = 0x4) {
        return add_multicast(fk, dev, ipv6(addr), flags, jiffies - 10 * kHz);
    }
};

std::string first_line(const std::string& s) { return s.substr(0, s.find('\n')); }
std::string line(const std::string& s, int n) {
    std::size_t p = 0;
    for (int i = 0; i < n; ++i) p = s.find('\n', p) + 1;
    return s.substr(p, s.find('\n', p) - p);
}

}  // namespace

TEST(In6Ntop, CompressedLikeTheKernel) {
    EXPECT_EQ(in6_ntop(ipv6("2001:db8:2:2::")), "2001:db8:2:2::");
    EXPECT_EQ(in6_ntop(ipv6("fe80::")), "fe80::");
    EXPECT_EQ(in6_ntop(ipv6("::")), "::");
    EXPECT_EQ(in6_ntop(ipv6("::1")), "::1");
    EXPECT_EQ(in6_ntop(ipv6("ff02::1:ff00:1")), "ff02::1:ff00:1");
    EXPECT_EQ(in6_ntop(ipv6("2001:db8:0:1:1:1:1:1")), "2001:db8:0:1:1:1:1:1");  // one zero word stays
    EXPECT_EQ(in6_ntop(ipv6("2001:0:0:1:0:0:0:1")), "2001:0:0:1::1");         // the longest run
    EXPECT_EQ(in6_ntop(ipv6("2001:db8:0:0:1:0:0:1")), "2001:db8::1:0:0:1");    // the first of equal runs
    EXPECT_EQ(in6_ntop(ipv6("::ffff:10.1.2.3")), "::ffff:10.1.2.3");
    EXPECT_EQ(in6_hex(ipv6("2001:db8::")), "20010db8000000000000000000000000");
}

TEST(Aclist, EveryDevicesAnycastEntries) {
    Net n;
    addr_t lo = n.dev("lo", 1);
    addr_t d0 = n.dev("dummy0", 2);
    n.dev("nov6", 3, false);
    addr_t d1 = n.dev("dummy1", 4);
    addr_t a = n.ac(d0, "2001:db8::", 1, 8 * kHz);
    addr_t b = n.ac(d0, "fe80::", 2);
    n.ac(d1, "2001:db8:1::");
    int rc = -1;
    std::string text = n.fk.run("aclist", {}, &rc);
    EXPECT_EQ(rc, 0);
    EXPECT_EQ(first_line(text), "3 anycast entries on 3 devices, no findings") << text;
    EXPECT_EQ(line(text, 1), "rtnl_mutex is not held; 0 waiters");
    EXPECT_NE(text.find("2001:db8:1::"), std::string::npos);

    ordered_json j = n.fk.run_json("aclist", {}, &rc);
    EXPECT_EQ(j["list"], "ac_list");
    EXPECT_EQ(j["hz"], kHz);
    ASSERT_EQ(j["devices"].size(), 3u);
    EXPECT_EQ(j["devices"][0]["name"], "lo");
    EXPECT_EQ(j["devices"][0]["net_device"], hex(lo));
    EXPECT_EQ(j["devices"][0]["entry_count"], 0);
    const auto& d = j["devices"][1];
    EXPECT_EQ(d["name"], "dummy0");
    EXPECT_EQ(d["ifindex"], 2);
    EXPECT_EQ(d["inet6_dev"], hex(n.idev(d0)));
    EXPECT_EQ(d["head"], hex(n.idev(d0) + n.img.offset("inet6_dev", "ac_list")));
    EXPECT_EQ(d["verdict"], "ok");
    ASSERT_EQ(d["entries"].size(), 2u);
    EXPECT_EQ(d["entries"][0]["entry"], hex(a));
    EXPECT_EQ(d["entries"][0]["addr"], "2001:db8::");
    EXPECT_EQ(d["entries"][0]["hex"], "20010db8000000000000000000000000");
    EXPECT_EQ(d["entries"][0]["users"], 1);
    EXPECT_EQ(d["entries"][0]["refcnt"], 2);
    EXPECT_EQ(d["entries"][0]["created_ago_ms"], 8000);
    EXPECT_EQ(d["entries"][0]["updated_ago_ms"], 4000);
    EXPECT_TRUE(d["entries"][0]["flags"].is_null());
    EXPECT_EQ(d["entries"][1]["entry"], hex(b));
    EXPECT_EQ(d["entries"][1]["users"], 2);
    EXPECT_TRUE(d["findings"].empty());
}

TEST(Aclist, ALoopNamesTheDeviceAndWhereItReenters) {
    Net n;
    addr_t d0 = n.dev("dummy0", 2);
    addr_t d2 = n.dev("dummy2", 4);
    n.ac(d0, "2001:db8::");
    addr_t e0 = n.ac(d2, "2001:db8:2:2::");
    addr_t e1 = n.ac(d2, "2001:db8:2:1::");
    n.ac(d2, "fe80::");
    addr_t e3 = n.ac(d2, "2001:db8:2::");
    n.img.u64(e3 + 24, e1);  // the anycast-loop seed: last aca_next -> entry 1
    int rc = -1;
    std::string text = n.fk.run("aclist", {}, &rc);
    EXPECT_EQ(rc, 1);
    EXPECT_EQ(first_line(text),
              "5 anycast entries on 2 devices, 1 finding: dummy2's ac_list: loop: entry 3 -> entry 1 after 4 "
              "entries, cycle of 3")
        << text;
    ordered_json j = n.fk.run_json("aclist", {"dummy2"}, &rc);
    ASSERT_EQ(j["devices"].size(), 1u);
    const auto& d = j["devices"][0];
    EXPECT_EQ(d["entry_count"], 4);
    EXPECT_EQ(d["entries"][0]["entry"], hex(e0));
    EXPECT_EQ(d["complete"], false);
    ASSERT_EQ(d["findings"].size(), 1u);
    const auto& f = d["findings"][0];
    EXPECT_EQ(f["kind"], "loop");
    EXPECT_EQ(f["index"], 3);
    EXPECT_EQ(f["entry"], hex(e3));
    EXPECT_EQ(f["actual"], hex(e1));
    EXPECT_EQ(f["cycle_entry"], hex(e1));
    EXPECT_EQ(f["cycle_entry_index"], 1);
    EXPECT_EQ(f["cycle_length"], 3);
    EXPECT_EQ(f["distinct_entries"], 4);
}

TEST(Aclist, RouteOfAnotherDeviceAndUnreadableNext) {
    Net n;
    addr_t d0 = n.dev("dummy0", 2);
    addr_t d1 = n.dev("dummy1", 3);
    n.ac(d0, "2001:db8::");
    addr_t bad = n.ac(d0, "2001:db8:1::");
    n.img.u64(n.img.u64(bad + 16) + 168, d1);  // its route's device is dummy1
    addr_t e = n.ac(d1, "2001:db8:5::");
    n.img.u64(e + 24, 0xffff8880dead0000ULL);
    int rc = -1;
    ordered_json j = n.fk.run_json("aclist", {}, &rc);
    EXPECT_EQ(rc, 1);
    EXPECT_EQ(j["finding_count"], 2);
    const auto& f0 = j["devices"][0]["findings"][0];
    EXPECT_EQ(f0["kind"], "wrong_backptr");
    EXPECT_EQ(f0["index"], 1);
    EXPECT_EQ(f0["entry"], hex(bad));
    EXPECT_EQ(f0["expected"], hex(d0));
    EXPECT_EQ(f0["actual"], hex(d1));
    EXPECT_EQ(f0["member"], "aca_rt->fib6_nh.fib_nh_dev");
    const auto& f1 = j["devices"][1]["findings"][0];
    EXPECT_EQ(f1["kind"], "unreadable");
    EXPECT_EQ(f1["index"], 1);
    EXPECT_EQ(f1["actual"], "0xffff8880dead0000");
    EXPECT_EQ(j["devices"][1]["entry_count"], 1);
}

TEST(Aclist, InetDevThatDoesNotPointBack) {
    Net n;
    addr_t d0 = n.dev("dummy0", 2);
    addr_t d1 = n.dev("dummy1", 3);
    n.img.u64(n.idev(d0), d1);
    int rc = -1;
    ordered_json j = n.fk.run_json("aclist", {}, &rc);
    EXPECT_EQ(rc, 1);
    const auto& f = j["devices"][0]["findings"][0];
    EXPECT_EQ(f["kind"], "wrong_backptr");
    EXPECT_TRUE(f["index"].is_null());
    EXPECT_EQ(f["member"], "inet6_dev.dev");
    EXPECT_EQ(f["expected"], hex(d0));
}

TEST(Aclist, MulticastWithIdevBackLinkAndFlags) {
    Net n;
    addr_t d0 = n.dev("dummy0", 2);
    addr_t d1 = n.dev("dummy1", 3);
    n.mc(d0, "ff02::1", 0x4);
    addr_t m = n.mc(d0, "ff02::2", 0xc);
    n.mc(d1, "ff05::2");
    n.img.u64(m + 16, n.idev(d1));  // on dummy0's list, idev of dummy1
    int rc = -1;
    std::string text = n.fk.run("aclist", {"--mc"}, &rc);
    EXPECT_EQ(rc, 1);
    EXPECT_NE(text.find("LOADED|NOREPORT"), std::string::npos) << text;
    EXPECT_EQ(first_line(text),
              "3 multicast entries on 2 devices, 1 finding: dummy0's mc_list: wrong back-pointer idev (entry 1)");
    ordered_json j = n.fk.run_json("aclist", {"--mc"}, &rc);
    EXPECT_EQ(j["list"], "mc_list");
    EXPECT_EQ(j["devices"][0]["entries"][1]["flags"], 0xc);
    EXPECT_EQ(j["devices"][0]["entries"][1]["refcnt"], 3);
    EXPECT_FALSE(j["devices"][0]["entries"][1].contains("route"));
    const auto& f = j["devices"][0]["findings"][0];
    EXPECT_EQ(f["expected"], hex(n.idev(d0)));
    EXPECT_EQ(f["actual"], hex(n.idev(d1)));
}

TEST(Aclist, RtnlContextNamesTheOwner) {
    Net n;
    n.dev("dummy0", 2);
    TaskSpec s;
    s.pid = 62;
    s.comm = "kworker/1:2";
    s.flags = netdbg::test::kPF_KTHREAD;
    addr_t w = n.fk.add_process(s);
    n.fk.make_kworker(w, "nd_ac_loop_work_fn", "nd_ac_loop");
    n.fk.set_owner(netdbg::test::kRtnlMutex, w);
    std::string text = n.fk.run("aclist", {});
    EXPECT_EQ(line(text, 1).rfind("rtnl_mutex held by kworker/1:2 (pid 62, running nd_ac_loop_work_fn)", 0), 0u)
        << text;
    ordered_json j = n.fk.run_json("aclist", {});
    EXPECT_EQ(j["rtnl"]["held"], true);
    EXPECT_EQ(j["rtnl"]["owner_pid"], 62);
}

TEST(Aclist, ArgumentsAndMissingLayout) {
    Net n;
    n.dev("dummy0", 2);
    EXPECT_THROW(n.fk.run("aclist", {"nosuchdev"}), Error);
    EXPECT_THROW(n.fk.run("aclist", {"a", "b"}), Error);
    n.t.remove_member("inet6_dev", "ac_list");
    try {
        n.fk.run("aclist", {});
        ADD_FAILURE() << "no error";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("'ac_list'"), std::string::npos) << e.what();
    }
}

TEST(Aclist, GarbageTimestampsGiveNoAge) {
    // A stamp far from jiffies (found by fuzzing: the age overflowed int64).
    Net n;
    addr_t d0 = n.dev("dummy0", 2);
    addr_t e = n.ac(d0, "2001:db8::");
    n.img.u64(e + 56, 0x2152411021524110ULL);
    n.img.u64(e + 64, n.jiffies + 0x4000000000000000ULL);
    int rc = -1;
    ordered_json j = n.fk.run_json("aclist", {}, &rc);
    EXPECT_EQ(rc, 0);
    const auto& entry = j["devices"][0]["entries"][0];
    EXPECT_TRUE(entry["created_ago_ms"].is_null()) << entry;
    EXPECT_TRUE(entry["updated_ago_ms"].is_null()) << entry;
    std::string text = n.fk.run("aclist", {}, &rc);
    EXPECT_NE(text.find("2001:db8::"), std::string::npos) << text;
}
