// The CPU view: ORC from a CPU's saved registers across the IRQ stack, the
// preempt count and soft-lockup arithmetic, and the cpus and kstack
// commands on a synthetic kernel (a stuck CPU holding a mutex, an idle one,
// an unreadable run queue).
#include <gtest/gtest.h>

#include <fmt/format.h>

#include "core/json.h"
#include "fake_kernel.h"
#include "kernel/sched/orc.h"
#include "kernel/sched/preempt.h"
#include "kernel/watchdog/watchdog.h"

using namespace netdbg;
using namespace netdbg::test;
using nlohmann::ordered_json;

namespace {

constexpr std::uint64_t kSec = 1000000000ULL;

// ---- ORC: a function on the IRQ stack, interrupting a task ------------------
constexpr addr_t kText = 0xffffffff81000000ULL;
constexpr addr_t kOrcIp = 0xffffffff82000000ULL;
constexpr addr_t kOrc = 0xffffffff82001000ULL;
constexpr addr_t kTaskStack = 0xffffc90000100000ULL;
constexpr addr_t kIrqStack = 0xffffc90000200000ULL;
constexpr std::size_t kSize = 16384;
constexpr addr_t kMid = kText + 0x2000, kTop = kText + 0x3000, kIrqFn = kText + 0x5000, kIrqEntry = kText + 0x6000;

std::uint16_t bits(unsigned sp_reg, unsigned type, bool end) {
    return static_cast<std::uint16_t>(sp_reg | type << 8 | (end ? 1u : 0u) << 10);
}

struct IrqImage {
    FakeTarget t;
    CpuRegisters regs;
    addr_t irq_sp = kIrqStack + kSize - 512;
    addr_t task_sp = kTaskStack + kSize - 256;
    addr_t pt_regs = 0;
    std::vector<StackArea> stacks{{kTaskStack, kTaskStack + kSize, "task"}, {kIrqStack, kIrqStack + kSize, "IRQ"}};

    IrqImage() {
        t.map(kText, 0x10000);
        t.map(kOrcIp, 0x2000);
        t.map(kTaskStack, kSize);
        t.map(kIrqStack, kSize);
        t.set_thread_size(kSize);
        t.add_type("orc_entry", 6);
        t.add_member("orc_entry", "end", 4, 2);  // <= 6.2: type 0 CALL, 1 REGS
        t.add_symbol("_stext", kText);
        t.add_symbol("_etext", kText + 0x10000);
        struct E { addr_t ip; std::int16_t sp_off; std::uint16_t bits; };
        const E entries[] = {
            {kText + 0x1000, 16, bits(5, 0, false)},
            {kMid, 32, bits(5, 0, false)},       // CALL, cfa = sp + 32
            {kTop, 0, bits(0, 0, true)},         // end of stack
            {kIrqFn, 8, bits(5, 0, false)},      // CALL, cfa = sp + 8
            {kIrqEntry, 0, bits(5, 1, false)},   // REGS at sp
        };
        for (std::size_t i = 0; i < std::size(entries); ++i) {
            addr_t at = kOrcIp + 4 * i;
            t.poke_as<std::int32_t>(at, static_cast<std::int32_t>(entries[i].ip - at));
            std::uint8_t e[6] = {static_cast<std::uint8_t>(entries[i].sp_off),
                                 static_cast<std::uint8_t>(entries[i].sp_off >> 8), 0, 0,
                                 static_cast<std::uint8_t>(entries[i].bits),
                                 static_cast<std::uint8_t>(entries[i].bits >> 8)};
            t.poke(kOrc + 6 * i, e, sizeof e);
        }
        t.add_symbol("__start_orc_unwind_ip", kOrcIp);
        t.add_symbol("__stop_orc_unwind_ip", kOrcIp + 4 * std::size(entries));
        t.add_symbol("__start_orc_unwind", kOrc);

        // The CPU stopped in irqfn on the IRQ stack; irqfn returns into
        // irqentry, whose pt_regs hold where the task was: in mid.
        regs.ip = kIrqFn + 4;
        regs.sp = irq_sp;
        regs.cs = 0x10;
        regs.flags = 0x46;  // IF clear
        t.poke_as<addr_t>(irq_sp, kIrqEntry + 0x10);
        pt_regs = irq_sp + 8;
        t.poke_as<addr_t>(pt_regs + 128, kMid + 0x20);  // ip
        t.poke_as<addr_t>(pt_regs + 136, 0x10);         // cs
        t.poke_as<addr_t>(pt_regs + 152, task_sp);      // sp
        t.poke_as<addr_t>(task_sp + 24, kTop + 8);      // mid's return address
    }
};

std::vector<addr_t> pcs(const OrcUnwind& u) {
    std::vector<addr_t> out;
    for (const auto& f : u.frames) out.push_back(f.pc);
    return out;
}

}  // namespace

TEST(OrcRegs, UnwindsFromTheIrqStackBackToTheTaskStack) {
    IrqImage img;
    Kernel k(img.t);
    OrcUnwind u = orc_unwind_regs(k, img.regs, img.stacks);
    EXPECT_TRUE(u.complete()) << u.why;
    EXPECT_EQ(u.stop, OrcStop::EndOfStack);
    EXPECT_EQ(pcs(u), (std::vector<addr_t>{kIrqFn + 4, kIrqEntry + 0x10, kMid + 0x20, kTop + 8}));
    ASSERT_EQ(u.frames.size(), 4u);
    EXPECT_TRUE(u.frames[0].exact);
    EXPECT_EQ(u.frames[0].slot, 0u);
    EXPECT_EQ(u.frames[0].stack, "IRQ");
    EXPECT_FALSE(u.frames[1].exact);
    EXPECT_EQ(u.frames[1].slot, img.irq_sp);
    EXPECT_TRUE(u.frames[2].exact);  // the interrupted pc, from pt_regs
    EXPECT_EQ(u.frames[2].slot, img.pt_regs + 128);
    EXPECT_EQ(u.frames[2].stack, "task");
    EXPECT_EQ(u.frames[3].slot, img.task_sp + 24);
}

TEST(OrcRegs, UserModeRegistersHaveNoKernelFrames) {
    IrqImage img;
    img.regs.cs = 0x33;
    Kernel k(img.t);
    OrcUnwind u = orc_unwind_regs(k, img.regs, img.stacks);
    EXPECT_EQ(u.stop, OrcStop::UserMode);
    EXPECT_TRUE(u.frames.empty());
}

TEST(OrcRegs, InterruptedUserModeEndsTheChain) {
    IrqImage img;
    img.t.poke_as<addr_t>(img.pt_regs + 136, 0x33);
    Kernel k(img.t);
    OrcUnwind u = orc_unwind_regs(k, img.regs, img.stacks);
    EXPECT_EQ(u.stop, OrcStop::UserMode);
    EXPECT_EQ(pcs(u), (std::vector<addr_t>{kIrqFn + 4, kIrqEntry + 0x10}));
}

TEST(OrcRegs, UnknownStackStopsWithAReason) {
    IrqImage img;
    img.stacks.pop_back();  // the IRQ stack is not known
    Kernel k(img.t);
    OrcUnwind u = orc_unwind_regs(k, img.regs, img.stacks);
    EXPECT_EQ(u.stop, OrcStop::Failed);
    EXPECT_FALSE(u.complete());
    EXPECT_NE(u.why.find("no stack"), std::string::npos) << u.why;
    ASSERT_EQ(u.frames.size(), 1u);
    EXPECT_EQ(u.frames[0].pc, kIrqFn + 4);
}

TEST(OrcRegs, ReturningToAStackAlreadyLeftFails) {
    IrqImage img;
    // mid's "return address" leads to irqfn, whose frame is back on the
    // IRQ stack: a loop between stacks.
    img.t.poke_as<addr_t>(img.task_sp + 24, kIrqEntry + 0x10);
    img.t.poke_as<addr_t>(img.pt_regs + 152 + 0, img.task_sp);
    Kernel k(img.t);
    OrcUnwind u = orc_unwind_regs(k, img.regs, img.stacks);
    EXPECT_FALSE(u.complete());
}

TEST(OrcRegs, PtRegsPointingOffEveryStackIsOffStack) {
    IrqImage img;
    img.t.poke_as<addr_t>(img.pt_regs + 152, 0xffff888000000000ULL);
    Kernel k(img.t);
    OrcUnwind u = orc_unwind_regs(k, img.regs, img.stacks);
    EXPECT_EQ(u.stop, OrcStop::OffStack);
    EXPECT_EQ(u.frames.size(), 2u);
}

TEST(OrcRegs, UnreadablePtRegsFails) {
    IrqImage img;
    img.t.unmap(kTaskStack, kSize);
    Kernel k(img.t);
    OrcUnwind u = orc_unwind_regs(k, img.regs, img.stacks);
    EXPECT_EQ(u.stop, OrcStop::Failed);
}

// ---- preempt count -----------------------------------------------------------------

TEST(Preempt, DecodesTheCountAndTheInvertedNeedResched) {
    EXPECT_EQ(PreemptCount{0x80000000u}.context(), "-");
    EXPECT_FALSE(PreemptCount{0x80000000u}.need_resched());
    EXPECT_TRUE(PreemptCount{0x00000001u}.need_resched());
    EXPECT_EQ(PreemptCount{0x80000001u}.context(), "preempt off (1)");
    EXPECT_EQ(PreemptCount{0x80010101u}.context(), "hardirq, softirq, preempt off (1)");
    EXPECT_EQ(PreemptCount{0x80100000u}.context(), "NMI");
    EXPECT_EQ(PreemptCount{0x80000200u}.context(), "bh off");
    EXPECT_EQ(PreemptCount{0x80020000u}.context(), "hardirq (2)");
}

TEST(Preempt, ReadsThe61PerCpuVariableOrPcpuHot) {
    FakeKernel fk(2);
    constexpr addr_t kCount = 0x1a000;  // per-CPU symbol
    for (int c = 0; c < 2; ++c) fk.target.map(kPerCpuBase + 0x100000ULL * c + kCount, 64);
    fk.target.poke_as<std::uint32_t>(kPerCpuBase + 0x100000ULL + kCount, 0x80000003u);
    {
        fk.target.add_symbol("__preempt_count", kCount, std::string("int"));
        Kernel k(fk.target);
        auto p = read_preempt_count(k, 1);
        ASSERT_TRUE(p);
        EXPECT_EQ(p->preempt(), 3u);
    }
    fk.target.remove_symbol("__preempt_count");
    {
        Kernel k(fk.target);
        EXPECT_FALSE(read_preempt_count(k, 1));  // neither layout
    }
    fk.target.add_symbol("pcpu_hot", kCount - 8, std::string("struct pcpu_hot"));
    fk.target.add_struct("pcpu_hot", 64, {{"current_task", 0, 8}, {"preempt_count", 8, 4}});
    Kernel k(fk.target);
    auto p = read_preempt_count(k, 1);
    ASSERT_TRUE(p);
    EXPECT_EQ(p->raw, 0x80000003u);
}

// ---- soft-lockup watchdog arithmetic -------------------------------------------------

TEST(Watchdog, SoftLockupAgeInTheKernelsUnits) {
    WatchdogSettings w;
    w.thresh = 10;
    w.enabled = SOFT_WATCHDOG_ENABLED;
    CpuWatchdog c;
    std::uint64_t now = 100ULL << 30;
    c.touch_ts = 75;
    SoftLockup s = soft_lockup(w, c, now);
    EXPECT_TRUE(s.stuck);
    EXPECT_EQ(*s.age_s, 25u);
    EXPECT_EQ(s.text, "stuck 25s > 20s");
    c.touch_ts = 85;
    EXPECT_FALSE(soft_lockup(w, c, now).stuck);
    EXPECT_EQ(soft_lockup(w, c, now).text, "ok");
    c.touch_ts = 75;
    c.report_ts = SOFTLOCKUP_DELAY_REPORT;
    EXPECT_EQ(soft_lockup(w, c, now).text, "touched");
    w.enabled = NMI_WATCHDOG_ENABLED;
    EXPECT_EQ(soft_lockup(w, c, now).text, "off");
    w.enabled.reset();
    w.thresh.reset();
    EXPECT_EQ(soft_lockup(w, c, now).text, "?");
}

// ---- the commands on a synthetic kernel ------------------------------------------------

namespace {

constexpr addr_t kTouchTs = 0x1b000;  // per-CPU symbols
constexpr addr_t kPreempt = 0x1b100;

// CPU 0 idle, CPU 1 runs pid 10 for 50 s with preemption off while it
// holds nd_stuck_mutex, on which pid 11 waits.
struct StuckScenario : SchedScenario {
    addr_t runner = 0, waiter = 0, mutex = 0;
    StuckScenario() {
        fk.set_clock(1, 1000 * kSec);
        runner = task(10, 950, TASK_RUNNING, 1);
        fk.set_curr(1, runner);
        waiter = task(11, 960);
        mutex = fk.new_mutex("nd_stuck_mutex");
        fk.set_owner(mutex, runner);
        fk.block_on_mutex(waiter, mutex, "nd_stuck_fn");
        FakeTarget& t = fk.target;
        t.add_symbol("watchdog_touch_ts", kTouchTs, std::string("unsigned long"));
        t.add_symbol("__preempt_count", kPreempt, std::string("int"));
        t.add_symbol("watchdog_thresh", kJiffies + 0x100, std::string("int"));
        t.add_symbol("watchdog_enabled", kJiffies + 0x108, std::string("unsigned long"));
        t.map(kJiffies + 0x100, 0x10);
        fk.img.u64(kJiffies + 0x100, 10);
        fk.img.u64(kJiffies + 0x108, SOFT_WATCHDOG_ENABLED);
        for (int c = 0; c < 2; ++c) {
            addr_t base = kPerCpuBase + 0x100000ULL * c;
            t.map(base + kTouchTs, 0x200);
            std::uint64_t now_units = (1000 * kSec) >> 30;
            fk.img.u64(base + kTouchTs, c == 1 ? now_units - 47 : now_units - 1);
            t.poke_as<std::uint32_t>(base + kPreempt, c == 1 ? 0x80000001u : 0x80000000u);
        }
    }
};

const ordered_json& cpu_row(const ordered_json& j, int cpu) { return j["cpus"][static_cast<std::size_t>(cpu)]; }

}  // namespace

TEST(Cpus, NamesTheStuckCpuItsTaskAndTheMutexItHolds) {
    StuckScenario s;
    int rc = -1;
    ordered_json j = s.fk.run_json("cpus", {}, &rc);
    EXPECT_EQ(rc, 1);
    ASSERT_EQ(j["cpus"].size(), 2u);
    EXPECT_EQ(j["stuck"], ordered_json::array({1}));
    const auto& idle = cpu_row(j, 0);
    EXPECT_TRUE(idle["idle"]);
    EXPECT_EQ(idle["softlockup"]["stuck"], false);
    const auto& busy = cpu_row(j, 1);
    EXPECT_FALSE(busy["idle"]);
    EXPECT_EQ(busy["task"]["pid"], 10);
    EXPECT_EQ(busy["running_for_ns"], 50 * kSec);
    EXPECT_EQ(busy["preempt_count"]["preempt"], 1);
    EXPECT_EQ(busy["softlockup"]["age_s"], 47);
    EXPECT_EQ(busy["softlockup"]["thresh_s"], 20);
    EXPECT_EQ(busy["softlockup"]["stuck"], true);
    ASSERT_EQ(busy["holds"].size(), 1u);
    EXPECT_EQ(busy["holds"][0]["name"], "nd_stuck_mutex");
    EXPECT_EQ(busy["holds"][0]["waiters"], 1);
    EXPECT_EQ(busy["registers"], nullptr);  // the fake dump saved none
    std::string text = s.fk.run("cpus", {});
    EXPECT_EQ(text.rfind("CPU1 stuck 50.000s in t10 (pid 10, ", 0), 0u) << text;
    EXPECT_NE(text.find("with preemption off; holds nd_stuck_mutex (1 waiter)"), std::string::npos) << text;
    EXPECT_NE(text.find("stuck 47s > 20s"), std::string::npos) << text;
    EXPECT_NE(text.find("no saved registers"), std::string::npos) << text;
}

TEST(Cpus, SavedRegistersGiveModeAndIrqState) {
    StuckScenario s;
    CpuRegisters r;
    r.ip = s.fk.ret("nd_stuck_fn");
    r.sp = s.fk.sp_of(s.runner);
    r.cs = 0x10;
    r.flags = 0x46;
    s.fk.target.set_cpu_registers(1, r);
    ordered_json j = s.fk.run_json("cpus", {});
    const auto& busy = cpu_row(j, 1);
    EXPECT_EQ(busy["mode"], "kernel");
    EXPECT_EQ(busy["irqs_off"], true);
    EXPECT_EQ(busy["registers"]["ip"], hex(r.ip));
    EXPECT_NE(busy["context"].get<std::string>().find("irqs off"), std::string::npos);
    r.cs = 0x33;
    r.flags = 0x246;
    s.fk.target.set_cpu_registers(1, r);
    j = s.fk.run_json("cpus", {});
    EXPECT_EQ(cpu_row(j, 1)["mode"], "user");
    EXPECT_EQ(cpu_row(j, 1)["irqs_off"], false);
}

TEST(Cpus, AnUnreadableRunQueueIsSaidInItsRowOnly) {
    StuckScenario s;
    s.fk.target.unmap(s.fk.rq(0), s.fk.img.size("rq"));
    int rc = -1;
    ordered_json j = s.fk.run_json("cpus", {}, &rc);
    ASSERT_EQ(j["cpus"].size(), 2u);
    EXPECT_EQ(cpu_row(j, 0)["task"], nullptr);
    EXPECT_EQ(cpu_row(j, 0)["problems"][0], "run queue unreadable");
    EXPECT_EQ(cpu_row(j, 1)["task"]["pid"], 10);
    std::string text = s.fk.run("cpus", {});
    EXPECT_NE(text.find("run queue unreadable"), std::string::npos) << text;
}

TEST(Cpus, WithoutWatchdogSymbolsNothingIsStuck) {
    SchedScenario s;
    int rc = -1;
    ordered_json j = s.fk.run_json("cpus", {}, &rc);
    EXPECT_EQ(rc, 0);
    EXPECT_EQ(j["stuck"].size(), 0u);
    EXPECT_EQ(cpu_row(j, 0)["softlockup"]["text"], "?");
}

TEST(Kstack, TakesAPidOrATaskAndRefusesOthers) {
    StuckScenario s;
    ordered_json j = s.fk.run_json("kstack", {"11"});
    ASSERT_EQ(j["tasks"].size(), 1u);
    EXPECT_EQ(j["tasks"][0]["pid"], 11);
    EXPECT_EQ(j["tasks"][0]["running_on_cpu"], nullptr);
    // No ORC tables in the fake kernel: the chain comes from a stack scan.
    EXPECT_EQ(j["tasks"][0]["call_chain"]["source"], "stack scan");
    EXPECT_EQ(j["tasks"][0]["call_chain"]["complete"], false);
    j = s.fk.run_json("kstack", {fmt::format("{:x}", s.waiter)});
    EXPECT_EQ(j["tasks"][0]["pid"], 11);
    EXPECT_THROW(s.fk.run("kstack", {"4242"}), Error);
    EXPECT_THROW(s.fk.run("kstack", {"ffff888012345678"}), Error);
    EXPECT_THROW(s.fk.run("kstack", {}), Error);
    j = s.fk.run_json("kstack", {"-a"});
    ASSERT_EQ(j["tasks"].size(), 2u);
    EXPECT_EQ(j["tasks"][1]["pid"], 10);
    EXPECT_EQ(j["tasks"][1]["running_on_cpu"], 1);
}
