// napiq on synthetic kernels: NAPI state bits named from the kernel's enum
// (which moved between versions), poll-list membership, the stuck /
// disable-pending / netpoll-held findings, netpoll verdicts, and hostile
// lists and pointers.
#include <gtest/gtest.h>

#include "core/error.h"
#include "fake_kernel.h"
#include "fake_net.h"
#include "core/json.h"
#include "core/kernel.h"
#include "kernel/net/napi.h"

using namespace netdbg;
using namespace netdbg::test;
using nlohmann::ordered_json;

namespace {

constexpr std::uint32_t kUp = 0x1;
constexpr addr_t kInitNet = 0xffffffff83000000ULL;
constexpr addr_t kNetNsList = 0xffffffff83001000ULL;
constexpr addr_t kBanner = 0xffffffff83002000ULL;
constexpr addr_t kSoftnet = 0x2d000ULL;  // per-CPU symbol
constexpr addr_t kModText = 0xffffffffc0000000ULL;

using Enum = NapiEnum;

// The 6.1 bit numbers, for writing states in the tests.
enum : std::uint64_t {
    SCHED = 1 << 0, MISSED = 1 << 1, DISABLE = 1 << 2, NPSVC = 1 << 3, LISTED = 1 << 4,
    IN_BUSY_POLL = 1 << 6, THREADED = 1 << 8
};

// net, net_device, napi_struct, softnet_data and netpoll on top of a
// FakeKernel (6.1 x86_64 offsets where they matter).
struct Net {
    FakeKernel fk;
    ImageBuilder& img = fk.img;
    FakeTarget& t = fk.target;
    addr_t next_mod_ = kModText;
    int cpus;

    explicit Net(Enum e = Enum::Linux61, const char* version = "6.1.0-test", int ncpus = 4)
        : fk(ncpus), cpus(ncpus) {
        add_net_layout(t);
        add_napi_state_enum(t, e);
        add_init_net(fk, kInitNet, kNetNsList);
        t.map(kBanner, 256);
        t.add_symbol("linux_banner", kBanner, std::string("const char []"));
        img.str(kBanner, std::string("Linux version ") + version + " (gcc) #1 SMP");
        t.add_symbol("softnet_data", kSoftnet, std::string("struct softnet_data"));
        for (int c = 0; c < cpus; ++c) {
            t.map(sd(c), net_off::kSoftnetSize);
            img.list_init(sd(c));
        }
    }

    addr_t sd(int cpu) const { return kSoftnet + kPerCpuBase + 0x100000ULL * cpu; }

    // A function in a module's text, symbolized "name [module]".
    addr_t mod_func(const std::string& name, const std::string& module) {
        addr_t a = next_mod_;
        next_mod_ += 0x100;
        t.map(a, 0x100);
        t.add_symbol(name, a, std::nullopt, std::nullopt, module);
        return a;
    }

    addr_t add_dev(const std::string& name, int ifindex, std::uint32_t flags = kUp, const std::string& module = "drv",
                   addr_t net = kInitNet) {
        addr_t ops = mod_func(name + "_netdev_ops", module);  // data, but any symbol will do
        t.map(ops, 0x200);
        return add_net_device(fk, name, ifindex, flags, ops, net);
    }
    void set_ops(addr_t dev, const std::string& member, addr_t fn) {
        img.write(img.read(dev, "net_device", "netdev_ops"), "net_device_ops", member, fn);
    }

    // netif_napi_add(): at the head of dev->napi_list, poll_list self-linked,
    // poll_owner -1.
    addr_t add_napi(addr_t dev, addr_t poll, int weight, unsigned id, std::uint64_t state = LISTED) {
        return test::add_napi(fk, dev, poll, weight, id, state);
    }
    void set_state(addr_t napi, std::uint64_t state) { img.write(napi, "napi_struct", "state", state); }
    void set_owner(addr_t napi, int cpu) { img.write(napi, "napi_struct", "poll_owner", static_cast<std::uint32_t>(cpu)); }
    // ____napi_schedule(): list_add_tail(&napi->poll_list, &sd->poll_list).
    void schedule_on(int cpu, addr_t napi) { img.list_add_tail(napi, sd(cpu)); }

    // bond_enslave(): netdev_upper_dev_link(slave, master) as master.
    void enslave(addr_t slave, addr_t master) {
        addr_t up = img.alloc("netdev_adjacent");
        img.write(up, "netdev_adjacent", "dev", master);
        img.write(up, "netdev_adjacent", "master", 1);
        img.list_add_tail(up + net_off::kAdjacentList, slave + net_off::kAdjUpper);
        addr_t low = img.alloc("netdev_adjacent");
        img.write(low, "netdev_adjacent", "dev", slave);
        img.list_add_tail(low + net_off::kAdjacentList, master + net_off::kAdjLower);
    }

    // netconsole's netpoll_setup(): npinfo with one struct netpoll.
    addr_t attach_netconsole(addr_t dev, const std::string& dev_name) {
        addr_t npi = img.alloc("netpoll_info");
        img.write(npi, "netpoll_info", "refcnt", 1);
        addr_t np = img.alloc("netpoll");
        addr_t name = img.alloc(16);
        img.str(name, "netconsole");
        img.write(np, "netpoll", "dev", dev);
        img.write_str(np, "netpoll", "dev_name", dev_name);
        img.write(np, "netpoll", "name", name);
        const std::uint8_t local[4] = {10, 0, 2, 15}, remote[4] = {10, 0, 2, 2};
        t.poke(np + 32, local, 4);
        t.poke(np + 48, remote, 4);
        img.write(np, "netpoll", "local_port", 6665);
        img.write(np, "netpoll", "remote_port", 6666);
        img.write(npi, "netpoll_info", "netpoll", np);
        img.write(dev, "net_device", "npinfo", npi);
        return npi;
    }

    ordered_json napiq(std::vector<std::string> args = {}, int* rc = nullptr) {
        return fk.run_json("napiq", std::move(args), rc);
    }
};

const ordered_json& dev_of(const ordered_json& j, const std::string& name) {
    for (const auto& d : j["devices"])
        if (d["name"] == name) return d;
    throw std::logic_error("no device " + name + " in " + j.dump());
}

const ordered_json& napi_of(const ordered_json& j, addr_t napi) {
    for (const auto& d : j["devices"])
        for (const auto& n : d["napis"])
            if (n["napi"] == hex(napi)) return n;
    throw std::logic_error("no napi " + hex(napi));
}

std::vector<std::string> kinds(const ordered_json& j) {
    std::vector<std::string> out;
    for (const auto& f : j["findings"]) out.push_back(f["kind"]);
    return out;
}

std::vector<std::string> bits(const ordered_json& n) { return n["state_bits"].get<std::vector<std::string>>(); }

}  // namespace

// ---- state bits -------------------------------------------------------------

TEST(NapiStates, DecodedFromTheKernelsOwnEnum) {
    for (Enum e : {Enum::Linux61, Enum::Linux414, Enum::Linux49}) {
        Net n(e);
        Kernel k(n.t);
        const NapiStates& st = k.get<NapiStates>();
        ASSERT_TRUE(st.known());
        EXPECT_EQ(st.bit("SCHED"), 0);
        EXPECT_EQ(st.decode(0x1), std::vector<std::string>{"SCHED"});
    }
    // The same raw value means different things: MISSED took bit 1 in 4.11
    // and pushed DISABLE, NPSVC and HASHED up; LISTED replaced HASHED.
    auto decode = [](Enum e, std::uint64_t v) {
        Net n(e);
        Kernel k(n.t);
        return k.get<NapiStates>().decode(v);
    };
    using V = std::vector<std::string>;
    EXPECT_EQ(decode(Enum::Linux49, 0x3), (V{"SCHED", "DISABLE"}));
    EXPECT_EQ(decode(Enum::Linux414, 0x3), (V{"SCHED", "MISSED"}));
    EXPECT_EQ(decode(Enum::Linux61, 0x3), (V{"SCHED", "MISSED"}));
    EXPECT_EQ(decode(Enum::Linux49, 0x8), (V{"HASHED"}));
    EXPECT_EQ(decode(Enum::Linux414, 0x10), (V{"HASHED"}));
    EXPECT_EQ(decode(Enum::Linux61, 0x10), (V{"LISTED"}));
    EXPECT_EQ(decode(Enum::Linux61, 0x300), (V{"THREADED", "SCHED_THREADED"}));
    // Bits the enum does not name stay visible.
    EXPECT_EQ(decode(Enum::Linux414, 0x1080), (V{"bit7", "bit12"}));
}

TEST(NapiStates, EnumValuesNotPositionsAreUsed) {
    // A kernel whose enum order differs from any real one: the decoding
    // follows the debug info, not a built-in table.
    Net n(Enum::None);
    n.t.add_enum("NAPI_STATE_SCHED", 3);
    n.t.add_enum("NAPI_STATE_DISABLE", 0);
    Kernel k(n.t);
    EXPECT_EQ(k.get<NapiStates>().decode(0x9), (std::vector<std::string>{"DISABLE", "SCHED"}));
    EXPECT_TRUE(k.get<NapiStates>().test(0x8, "SCHED"));
    EXPECT_FALSE(k.get<NapiStates>().test(0x8, "MISSED"));
}

TEST(Napiq, StuckMeansDifferentBitsOnDifferentKernels) {
    // Raw state 0x5: on 6.1 SCHED|DISABLE (napi_disable() waiting for a
    // NAPI nobody polls); before 4.11 SCHED|NPSVC, a NAPI napi_disable()
    // finished with: normal.
    {
        Net n(Enum::Linux61);
        addr_t d = n.add_dev("eth0", 2);
        addr_t a = n.add_napi(d, n.mod_func("drv_poll", "drv"), 64, 1, 0x5);
        int rc = 0;
        auto j = n.napiq({}, &rc);
        EXPECT_EQ(rc, 1);
        EXPECT_EQ(bits(napi_of(j, a)), (std::vector<std::string>{"SCHED", "DISABLE"}));
        EXPECT_EQ(kinds(j), (std::vector<std::string>{"stuck", "disable-pending"}));
    }
    {
        Net n(Enum::Linux49, "4.9.0-test");
        addr_t d = n.add_dev("eth0", 2);
        addr_t a = n.add_napi(d, n.mod_func("drv_poll", "drv"), 64, 1, 0x5);
        int rc = 0;
        auto j = n.napiq({}, &rc);
        EXPECT_EQ(rc, 0);
        EXPECT_EQ(bits(napi_of(j, a)), (std::vector<std::string>{"SCHED", "NPSVC"}));
        EXPECT_TRUE(j["findings"].empty());
    }
}

TEST(Napiq, NoEnumInTheDebugInfoIsAProblemNotAGuess) {
    Net n(Enum::None);
    addr_t d = n.add_dev("eth0", 2);
    addr_t a = n.add_napi(d, n.mod_func("drv_poll", "drv"), 64, 1, SCHED);
    auto j = n.napiq();
    EXPECT_TRUE(j["state_bits"].empty());
    EXPECT_EQ(napi_of(j, a)["state"], 1);
    EXPECT_TRUE(napi_of(j, a)["state_bits"].empty());
    EXPECT_TRUE(j["findings"].empty());
    ASSERT_EQ(j["problems"].size(), 1u);
    EXPECT_NE(j["problems"][0].get<std::string>().find("NAPI_STATE_SCHED"), std::string::npos);
    std::string text = n.fk.run("napiq", {});
    EXPECT_NE(text.find("0x1"), std::string::npos);
}

// ---- devices and NAPIs ----------------------------------------------------------

TEST(Napiq, ListsEveryNapiOfEveryDeviceInListOrder) {
    Net n;
    addr_t lo = n.add_dev("lo", 1, kUp, "");
    addr_t eth0 = n.add_dev("eth0", 2, kUp, "virtio_net");
    addr_t rx = n.mod_func("virtnet_poll", "virtio_net"), tx = n.mod_func("virtnet_poll_tx", "virtio_net");
    addr_t r0 = n.add_napi(eth0, rx, 64, 8193);
    addr_t t0 = n.add_napi(eth0, tx, 64, 0, LISTED | (1 << 5));
    addr_t r1 = n.add_napi(eth0, rx, 32, 8194);
    n.img.write(r1 + 64 + 24 * 3, "gro_list", "count", 2);
    n.img.write(r1 + 64 + 24 * 7, "gro_list", "count", 1);
    n.img.write(r1, "napi_struct", "rx_count", 5);
    auto j = n.napiq();
    EXPECT_EQ(j["device_count"], 2);
    EXPECT_EQ(j["napi_count"], 3);
    EXPECT_TRUE(dev_of(j, "lo")["napis"].empty());
    EXPECT_EQ(dev_of(j, "lo")["net_device"], hex(lo));
    const auto& e = dev_of(j, "eth0");
    EXPECT_EQ(e["driver"], "virtio_net");
    EXPECT_EQ(e["ifindex"], 2);
    EXPECT_EQ(e["up"], true);
    // netif_napi_add() adds at the head: the last one added comes first.
    ASSERT_EQ(e["napis"].size(), 3u);
    EXPECT_EQ(e["napis"][0]["napi"], hex(r1));
    EXPECT_EQ(e["napis"][1]["napi"], hex(t0));
    EXPECT_EQ(e["napis"][2]["napi"], hex(r0));
    const auto& j1 = e["napis"][0];
    EXPECT_EQ(j1["poll"], "virtnet_poll [virtio_net]");
    EXPECT_EQ(j1["weight"], 32);
    EXPECT_EQ(j1["napi_id"], 8194);
    EXPECT_EQ(j1["gro_count"], 3);
    EXPECT_EQ(j1["rx_count"], 5);
    EXPECT_EQ(j1["poll_owner"], -1);
    EXPECT_EQ(j1["poll_list_cpu"], nullptr);
    EXPECT_EQ(bits(e["napis"][1]), (std::vector<std::string>{"LISTED", "NO_BUSY_POLL"}));
    EXPECT_EQ(j["state_bits"]["SCHED_THREADED"], 9);
    EXPECT_TRUE(j["findings"].empty());
}

TEST(Napiq, OneDeviceByNameAndAnUnknownName) {
    Net n;
    n.add_dev("eth0", 2);
    n.add_dev("eth1", 3);
    auto j = n.napiq({"eth1"});
    ASSERT_EQ(j["devices"].size(), 1u);
    EXPECT_EQ(j["devices"][0]["name"], "eth1");
    EXPECT_EQ(j["filters"]["device"], "eth1");
    EXPECT_THROW(n.napiq({"eth7"}), Error);
    EXPECT_THROW(n.napiq({"eth0", "eth1"}), Error);
    EXPECT_THROW(n.napiq({"--max", "zero"}), Error);
}

TEST(Napiq, PollListsPerCpuInOrderWithTheBacklog) {
    Net n;
    addr_t d = n.add_dev("eth0", 2);
    addr_t p = n.mod_func("drv_poll", "drv");
    addr_t a = n.add_napi(d, p, 64, 1, LISTED | SCHED);
    addr_t b = n.add_napi(d, p, 64, 2, LISTED | SCHED);
    addr_t c = n.add_napi(d, p, 64, 3, LISTED);
    n.schedule_on(1, b);
    n.schedule_on(1, a);
    addr_t backlog = n.sd(1) + 272;
    n.img.list_init(backlog);
    n.img.write(backlog, "napi_struct", "poll", n.fk.func("process_backlog"));
    n.img.write(backlog, "napi_struct", "state", SCHED);
    n.schedule_on(1, backlog);
    n.img.write(n.sd(1), "softnet_data", "processed", 1234);
    n.img.write(n.sd(1), "softnet_data", "dropped", 7);
    n.img.write(n.sd(1), "softnet_data", "time_squeeze", 9);
    n.img.write(n.sd(1) + 248, "sk_buff_head", "qlen", 4);
    n.img.write(n.sd(1) + 16, "sk_buff_head", "qlen", 2);
    auto j = n.napiq({"-c"});
    EXPECT_EQ(napi_of(j, a)["poll_list_cpu"], 1);
    EXPECT_EQ(napi_of(j, b)["poll_list_cpu"], 1);
    EXPECT_EQ(napi_of(j, c)["poll_list_cpu"], nullptr);
    EXPECT_TRUE(j["findings"].empty());  // scheduled and listed: softirq will poll them
    ASSERT_EQ(j["cpus"].size(), 4u);
    const auto& c1 = j["cpus"][1];
    EXPECT_EQ(c1["softnet_data"], hex(n.sd(1)));
    EXPECT_EQ(c1["processed"], 1234);
    EXPECT_EQ(c1["dropped"], 7);
    EXPECT_EQ(c1["time_squeeze"], 9);
    EXPECT_EQ(c1["backlog_len"], 6);
    ASSERT_EQ(c1["poll_list"].size(), 3u);
    EXPECT_EQ(c1["poll_list"][0]["napi"], hex(b));
    EXPECT_EQ(c1["poll_list"][0]["device"], "eth0");
    EXPECT_EQ(c1["poll_list"][1]["napi"], hex(a));
    EXPECT_EQ(c1["poll_list"][2]["backlog"], true);
    EXPECT_EQ(c1["poll_list"][2]["poll"], "process_backlog");
    EXPECT_TRUE(j["cpus"][0]["poll_list"].empty());
    std::string text = n.fk.run("napiq", {"-c"});
    EXPECT_NE(text.find("CPU 1 poll_list (3 NAPIs, in poll order):"), std::string::npos) << text;
    EXPECT_NE(text.find("(backlog)"), std::string::npos) << text;
}

// ---- findings -------------------------------------------------------------------

TEST(Napiq, StuckOnlyWhenNothingWillPollIt) {
    Net n;
    addr_t d = n.add_dev("eth0", 2);
    addr_t p = n.mod_func("drv_poll", "drv");
    addr_t stuck = n.add_napi(d, p, 64, 1, LISTED | SCHED);
    addr_t owned = n.add_napi(d, p, 64, 2, LISTED | SCHED | NPSVC);
    n.set_owner(owned, 0);
    addr_t disabled = n.add_napi(d, p, 64, 3, LISTED | SCHED | NPSVC);
    addr_t busy = n.add_napi(d, p, 64, 4, LISTED | SCHED | IN_BUSY_POLL);
    addr_t threaded = n.add_napi(d, p, 64, 5, LISTED | SCHED | THREADED);
    TaskSpec ts;
    ts.pid = 151;
    ts.comm = "napi/eth0-5";
    addr_t thread = n.fk.add_process(ts);
    n.img.write(threaded, "napi_struct", "thread", thread);
    // Linked on a list that is no CPU's poll_list (net_rx_action()'s own).
    addr_t elsewhere = n.add_napi(d, p, 64, 6, LISTED | SCHED);
    addr_t on_stack = n.img.alloc(16);
    n.img.list_init(on_stack);
    n.img.list_add_tail(elsewhere, on_stack);
    auto j = n.napiq();
    ASSERT_EQ(kinds(j), std::vector<std::string>{"stuck"}) << j["findings"].dump();
    EXPECT_EQ(j["findings"][0]["napi"], hex(stuck));
    EXPECT_EQ(j["findings"][0]["device"], "eth0");
    EXPECT_EQ(napi_of(j, owned)["poll_owner"], 0);
    EXPECT_EQ(napi_of(j, disabled)["poll_owner"], -1);
    EXPECT_EQ(napi_of(j, busy)["poll_list_cpu"], nullptr);
    EXPECT_EQ(napi_of(j, threaded)["thread"]["pid"], 151);
    EXPECT_EQ(napi_of(j, threaded)["thread"]["comm"], "napi/eth0-5");
    EXPECT_EQ(napi_of(j, elsewhere)["on_other_list"], true);
    EXPECT_EQ(napi_of(j, stuck)["on_other_list"], false);
    std::string text = n.fk.run("napiq", {});
    EXPECT_NE(text.find("1 FINDING"), std::string::npos) << text;
    EXPECT_NE(text.find("151 napi/eth0-5"), std::string::npos) << text;
}

TEST(Napiq, DisablePendingOnlyOnAnUpDevice) {
    Net n;
    addr_t up = n.add_dev("eth0", 2, kUp);
    addr_t down = n.add_dev("eth1", 3, 0);
    addr_t p = n.mod_func("drv_poll", "drv");
    addr_t a = n.add_napi(up, p, 64, 1, LISTED | DISABLE);
    n.add_napi(down, p, 64, 2, LISTED | DISABLE);
    auto j = n.napiq();
    ASSERT_EQ(kinds(j), std::vector<std::string>{"disable-pending"});
    EXPECT_EQ(j["findings"][0]["napi"], hex(a));
    EXPECT_NE(j["findings"][0]["message"].get<std::string>().find("napi_disable()"), std::string::npos);
}

TEST(Napiq, OneCpuHoldingSeveralNapisOfADeviceThroughNetpoll) {
    Net n;
    addr_t d = n.add_dev("eth0", 2);
    addr_t other = n.add_dev("eth1", 3);
    addr_t p = n.mod_func("drv_poll", "drv");
    n.attach_netconsole(d, "eth0");
    for (unsigned i = 0; i < 4; ++i) {
        addr_t a = n.add_napi(d, p, 64, i + 1);
        if (i < 3) n.set_owner(a, 2);
    }
    n.set_owner(n.add_napi(other, p, 64, 9), 1);  // one NAPI held: not the pattern
    auto j = n.napiq();
    ASSERT_EQ(kinds(j), std::vector<std::string>{"netpoll-held"});
    EXPECT_EQ(j["findings"][0]["cpu"], 2);
    EXPECT_EQ(j["findings"][0]["device"], "eth0");
    EXPECT_EQ(j["findings"][0]["napi"], nullptr);
    EXPECT_NE(j["findings"][0]["message"].get<std::string>().find("3 of the 4 NAPIs of eth0"), std::string::npos);
}

// ---- netpoll --------------------------------------------------------------------

TEST(Netpoll, VerdictsFollowNetpollSetup) {
    Net n;
    addr_t eth0 = n.add_dev("eth0", 2, kUp, "virtio_net");
    addr_t eth1 = n.add_dev("eth1", 3, kUp, "virtio_net");
    addr_t bond = n.add_dev("bond0", 4, kUp | 0x400, "bonding");
    n.img.write(bond, "net_device", "priv_flags", 0x20);
    n.set_ops(bond, "ndo_netpoll_setup", n.mod_func("bond_netpoll_setup", "bonding"));
    n.enslave(eth1, bond);
    addr_t hsr = n.add_dev("hsr0", 5, kUp, "hsr");
    n.img.write(hsr, "net_device", "priv_flags", 0x80 | 0x20000);
    addr_t down = n.add_dev("dummy0", 6, 0, "dummy");
    addr_t npi = n.attach_netconsole(eth0, "eth0");
    n.img.write(npi + 32, "sk_buff_head", "qlen", 3);
    auto j = n.napiq();

    const auto& e0 = dev_of(j, "eth0")["netpoll"];
    EXPECT_EQ(e0["accepted"], true);
    EXPECT_EQ(e0["reason"], nullptr);
    EXPECT_EQ(e0["attached"], true);
    EXPECT_EQ(e0["npinfo"], hex(npi));
    EXPECT_EQ(e0["refcnt"], 1);
    EXPECT_EQ(e0["txq_len"], 3);
    EXPECT_EQ(e0["user"]["name"], "netconsole");
    EXPECT_EQ(e0["user"]["local_ip"], "10.0.2.15");
    EXPECT_EQ(e0["user"]["remote_ip"], "10.0.2.2");
    EXPECT_EQ(e0["user"]["local_port"], 6665);
    EXPECT_EQ(e0["user"]["remote_port"], 6666);
    // 6.1 needs no ndo_poll_controller.
    EXPECT_EQ(e0["ndo_poll_controller"], nullptr);

    const auto& e1 = dev_of(j, "eth1");
    EXPECT_EQ(e1["netpoll"]["accepted"], false);
    EXPECT_EQ(e1["netpoll"]["reason"], "slave of bond0");
    EXPECT_EQ(e1["netpoll"]["kernel_message"], "is a slave device");
    EXPECT_EQ(e1["master"]["name"], "bond0");
    EXPECT_EQ(e1["master"]["net_device"], hex(bond));

    const auto& b = dev_of(j, "bond0");
    EXPECT_EQ(b["netpoll"]["accepted"], true);
    EXPECT_EQ(b["priv_flags"], std::vector<std::string>{"BONDING"});
    EXPECT_EQ(b["flags"], (std::vector<std::string>{"UP", "MASTER"}));
    EXPECT_EQ(b["master"], nullptr);

    const auto& h = dev_of(j, "hsr0");
    EXPECT_EQ(h["netpoll"]["accepted"], false);
    EXPECT_EQ(h["netpoll"]["reason"], "IFF_DISABLE_NETPOLL set");
    EXPECT_EQ(h["netpoll"]["kernel_message"], "doesn't support polling");
    EXPECT_EQ(h["priv_flags"], std::vector<std::string>{"DISABLE_NETPOLL"});
    EXPECT_EQ(h["priv_flags_raw"], 0x20080);

    const auto& dn = dev_of(j, "dummy0")["netpoll"];
    EXPECT_EQ(dn["accepted"], true);
    EXPECT_EQ(dn["notes"][0], "down: netpoll_setup() would bring it up");
    (void)down;

    std::string text = n.fk.run("napiq", {});
    EXPECT_NE(text.find("netpoll attached to eth0"), std::string::npos) << text;
    EXPECT_NE(text.find("REFUSED: slave of bond0 (netpoll_setup: \"is a slave device\")"), std::string::npos) << text;
    EXPECT_NE(text.find("netconsole 10.0.2.15:6665 -> 10.0.2.2:6666"), std::string::npos) << text;
}

TEST(Netpoll, StackedDeviceRefusedThroughItsLowerDevice) {
    Net n;
    addr_t bond = n.add_dev("bond0", 4, kUp | 0x400, "bonding");
    n.set_ops(bond, "ndo_netpoll_setup", n.mod_func("bond_netpoll_setup", "bonding"));
    addr_t good = n.add_dev("eth1", 3);
    addr_t bad = n.add_dev("nfp_rep0", 5);
    n.img.write(bad, "net_device", "priv_flags", 0x80);
    n.enslave(good, bond);
    n.enslave(bad, bond);
    auto j = n.napiq();
    EXPECT_EQ(dev_of(j, "bond0")["netpoll"]["accepted"], false);
    EXPECT_EQ(dev_of(j, "bond0")["netpoll"]["reason"], "lower device nfp_rep0 has IFF_DISABLE_NETPOLL");
    // Once netpoll_info exists, __netpoll_setup() only takes a reference.
    n.attach_netconsole(bond, "bond0");
    j = n.napiq();
    EXPECT_EQ(dev_of(j, "bond0")["netpoll"]["accepted"], true);
}

TEST(Netpoll, NdoPollControllerRequiredBefore419Only) {
    for (const char* version : {"4.14.0-test", "4.19.0-test", "6.1.0-test"}) {
        Net n(Enum::Linux414, version);
        addr_t old = n.add_dev("eth0", 2, kUp, "e1000e");
        addr_t with = n.add_dev("eth1", 3, kUp, "e1000");
        n.set_ops(with, "ndo_poll_controller", n.mod_func("e1000_netpoll", "e1000"));
        auto j = n.napiq();
        bool before_419 = std::string(version) == "4.14.0-test";
        EXPECT_EQ(dev_of(j, "eth0")["netpoll"]["accepted"], !before_419) << version;
        if (before_419) {
            EXPECT_EQ(dev_of(j, "eth0")["netpoll"]["reason"], "no ndo_poll_controller (required before 4.19)");
            EXPECT_EQ(dev_of(j, "eth0")["netpoll"]["kernel_message"], "doesn't support polling");
        }
        EXPECT_EQ(dev_of(j, "eth1")["netpoll"]["accepted"], true) << version;
        EXPECT_NE(dev_of(j, "eth1")["netpoll"]["ndo_poll_controller"], nullptr);
        (void)old;
    }
}

TEST(Netpoll, NoNpinfoMemberMeansNoNetpoll) {
    Net n;
    n.t.remove_member("net_device", "npinfo");
    n.add_dev("eth0", 2);
    auto j = n.napiq();
    EXPECT_EQ(dev_of(j, "eth0")["netpoll"]["accepted"], false);
    EXPECT_NE(dev_of(j, "eth0")["netpoll"]["reason"].get<std::string>().find("CONFIG_NETPOLL"), std::string::npos);
}

// ---- hostile input --------------------------------------------------------------

TEST(Napiq, LoopedNapiListIsBoundedAndReported) {
    Net n;
    addr_t d = n.add_dev("eth0", 2);
    addr_t p = n.mod_func("drv_poll", "drv");
    n.add_napi(d, p, 64, 1);
    addr_t b = n.add_napi(d, p, 64, 2);
    addr_t c = n.add_napi(d, p, 64, 3);  // list: c, b, a
    // c -> b -> a -> b ...
    addr_t a_node = n.img.u64(b + net_off::kNapiDevList);
    n.img.u64(a_node, b + net_off::kNapiDevList);
    auto j = n.napiq();
    const auto& e = dev_of(j, "eth0");
    EXPECT_EQ(e["napis"].size(), 3u);
    EXPECT_EQ(e["napis"][0]["napi"], hex(c));
    ASSERT_FALSE(e["problems"].empty());
    EXPECT_NE(e["problems"][0].get<std::string>().find("napi_list: loop"), std::string::npos)
        << e["problems"].dump();
}

TEST(Napiq, UnreadableAndCorruptPointers) {
    Net n;
    addr_t d = n.add_dev("eth0", 2);
    addr_t p = n.mod_func("drv_poll", "drv");
    addr_t a = n.add_napi(d, p, 64, 1, LISTED | SCHED);
    n.img.write(a, "napi_struct", "thread", 0xffff888077770000ULL);  // unmapped task
    n.img.write(d, "net_device", "npinfo", 0xffff888066660000ULL);   // unmapped npinfo
    n.schedule_on(2, a);
    n.img.u64(a, 0xdead000000000100ULL);  // poll_list.next poisoned: CPU 2's walk stops
    n.add_dev("eth1", 3);
    n.img.u64(n.sd(3), 0);  // CPU 3's poll_list.next NULL
    auto j = n.napiq({"-c"});
    EXPECT_EQ(dev_of(j, "eth0")["netpoll"]["attached"], true);
    EXPECT_EQ(dev_of(j, "eth0")["netpoll"]["user"], nullptr);
    EXPECT_EQ(dev_of(j, "eth0")["netpoll"]["refcnt"], nullptr);
    EXPECT_EQ(napi_of(j, a)["thread"]["pid"], nullptr);
    EXPECT_EQ(napi_of(j, a)["poll_list_cpu"], 2);
    EXPECT_FALSE(j["cpus"][2]["problems"].empty());
    EXPECT_FALSE(j["cpus"][3]["problems"].empty());
    EXPECT_EQ(dev_of(j, "eth1")["napis"].size(), 0u);
    std::string text = n.fk.run("napiq", {"-c"});
    EXPECT_NE(text.find("CPU 3 PROBLEM: poll_list: null next"), std::string::npos) << text;
}

TEST(Napiq, NoStuckFindingWithoutEveryPollList) {
    // A NAPI that looks unlisted may sit on the part of a poll list that
    // could not be read: no stuck finding then, and the reason says so.
    {
        Net n;
        addr_t d = n.add_dev("eth0", 2);
        n.add_napi(d, n.mod_func("drv_poll", "drv"), 64, 1, LISTED | SCHED);
        n.img.u64(n.sd(1), 0xffff888012340000ULL);  // CPU 1's poll_list.next unreadable
        auto j = n.napiq();
        EXPECT_TRUE(j["findings"].empty());
        ASSERT_EQ(j["problems"].size(), 1u);
        EXPECT_EQ(j["problems"][0], "CPU 1: broken poll_list (see -c): stuck NAPIs not reported");
    }
    {
        Net n;
        n.t.remove_type("softnet_data");
        addr_t d = n.add_dev("eth0", 2);
        n.add_napi(d, n.mod_func("drv_poll", "drv"), 64, 1, LISTED | SCHED | DISABLE);
        auto j = n.napiq();
        EXPECT_EQ(kinds(j), std::vector<std::string>{"disable-pending"});
        EXPECT_TRUE(j["cpus"].empty());
        ASSERT_EQ(j["problems"].size(), 1u);
        EXPECT_NE(j["problems"][0].get<std::string>().find("softnet_data"), std::string::npos);
    }
}

TEST(Napiq, MaxBoundsTheWalks) {
    Net n;
    addr_t d = n.add_dev("eth0", 2);
    addr_t p = n.mod_func("drv_poll", "drv");
    for (unsigned i = 0; i < 20; ++i) n.add_napi(d, p, 64, i + 1);
    auto j = n.napiq({"--max", "5"});
    EXPECT_EQ(dev_of(j, "eth0")["napis"].size(), 5u);
    EXPECT_NE(dev_of(j, "eth0")["problems"][0].get<std::string>().find("truncated"), std::string::npos);
}

TEST(Napiq, MissingMemberIsOneLine) {
    Net n;
    n.t.remove_member("napi_struct", "dev_list");
    n.add_dev("eth0", 2);
    try {
        n.napiq();
        FAIL() << "no error";
    } catch (const LayoutError& e) {
        EXPECT_STREQ(e.what(), "layout: struct napi_struct has no member 'dev_list'");
    }
}

TEST(Napiq, CtrlCStopsTheWalk) {
    Net n;
    addr_t d = n.add_dev("eth0", 2);
    addr_t p = n.mod_func("drv_poll", "drv");
    for (unsigned i = 0; i < 50; ++i) n.add_napi(d, p, 64, i + 1);
    n.t.interrupt_after(3);
    EXPECT_THROW(n.napiq(), Interrupted);
}
