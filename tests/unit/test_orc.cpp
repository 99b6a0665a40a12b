// The ORC unwinder on a synthetic kernel: three functions with their ORC
// entries, a sleeping task's stack, and corrupted variants.
#include <gtest/gtest.h>

#include "fake_target.h"
#include "kernel/sched/orc.h"

using namespace netdbg;
using netdbg::test::FakeTarget;

namespace {

constexpr addr_t kText = 0xffffffff81000000ULL;
constexpr addr_t kOrcIp = 0xffffffff82000000ULL;
constexpr addr_t kOrc = 0xffffffff82001000ULL;
constexpr addr_t kStack = 0xffffc90000100000ULL;
constexpr std::size_t kThreadSize = 16384;

// Functions: sched at +0x1000, mid at +0x2000, top at +0x3000 (the entry
// frame of a kthread), and an undefined gap at +0x4000.
constexpr addr_t kSched = kText + 0x1000, kMid = kText + 0x2000, kTop = kText + 0x3000, kGap = kText + 0x4000;

std::uint16_t bits(unsigned sp_reg, unsigned bp_reg, unsigned type, bool end) {
    return static_cast<std::uint16_t>(sp_reg | bp_reg << 4 | type << 8 | (end ? 1u : 0u) << 10);
}

struct OrcImage {
    FakeTarget t;
    Task task;
    addr_t sp = kStack + kThreadSize - 256;

    OrcImage() {
        t.map(kText, 0x10000);
        t.map(kOrcIp, 0x2000);
        t.map(kStack, kThreadSize);
        t.set_thread_size(kThreadSize);
        t.add_type("orc_entry", 6);
        t.add_member("orc_entry", "end", 4, 2);  // the <= 6.2 layout
        t.add_symbol("_stext", kText);
        t.add_symbol("_etext", kText + 0x10000);
        struct E { addr_t ip; std::int16_t sp_off; std::uint16_t bits; };
        const E entries[] = {
            {kSched, 16, bits(5, 0, 0, false)},  // CALL, cfa = sp + 16
            {kMid, 32, bits(5, 0, 0, false)},    // CALL, cfa = sp + 32
            {kTop, 0, bits(0, 0, 0, true)},      // end of stack
            {kGap, 0, bits(0, 0, 0, false)},     // undefined
        };
        for (std::size_t i = 0; i < std::size(entries); ++i) {
            addr_t at = kOrcIp + 4 * i;
            t.poke_as<std::int32_t>(at, static_cast<std::int32_t>(entries[i].ip - at));
            std::uint8_t e[6] = {};
            e[0] = static_cast<std::uint8_t>(entries[i].sp_off);
            e[1] = static_cast<std::uint8_t>(entries[i].sp_off >> 8);
            e[4] = static_cast<std::uint8_t>(entries[i].bits);
            e[5] = static_cast<std::uint8_t>(entries[i].bits >> 8);
            t.poke(kOrc + 6 * i, e, sizeof e);
        }
        t.add_symbol("__start_orc_unwind_ip", kOrcIp);
        t.add_symbol("__stop_orc_unwind_ip", kOrcIp + 4 * std::size(entries));
        t.add_symbol("__start_orc_unwind", kOrc);

        // inactive_task_frame at sp, then sched's frame (16 bytes), then mid's (32).
        t.poke_as<addr_t>(sp + 6 * 8, kSched + 0x10);
        addr_t sp1 = sp + 56;
        t.poke_as<addr_t>(sp1 + 16 - 8, kMid + 0x20);
        addr_t sp2 = sp1 + 16;
        t.poke_as<addr_t>(sp2 + 32 - 8, kTop + 0x8);
        task.addr = 0xffff888000100000ULL;
        task.stack = kStack;
        task.sp = sp;
    }
};

std::vector<addr_t> pcs(const std::vector<StackFrame>& frames) {
    std::vector<addr_t> out;
    for (const auto& f : frames) out.push_back(f.pc);
    return out;
}

}  // namespace

TEST(Orc, UnwindsASleepingTaskToTheEntryFrame) {
    OrcImage img;
    Kernel k(img.t);
    auto chain = orc_call_chain(k, img.task);
    ASSERT_TRUE(chain);
    EXPECT_EQ(pcs(*chain), (std::vector<addr_t>{kSched + 0x10, kMid + 0x20, kTop + 0x8}));
    EXPECT_EQ((*chain)[0].slot, img.sp + 48);
    EXPECT_EQ((*chain)[1].slot, img.sp + 56 + 8);
}

TEST(Orc, ReturnAddressOutsideTextGivesNoChain) {
    OrcImage img;
    img.t.poke_as<addr_t>(img.sp + 56 + 8, 0xdeadbeefULL);
    Kernel k(img.t);
    EXPECT_FALSE(orc_call_chain(k, img.task));
}

TEST(Orc, UndefinedEntryGivesNoChain) {
    OrcImage img;
    img.t.poke_as<addr_t>(img.sp + 56 + 8, kGap + 4);
    Kernel k(img.t);
    EXPECT_FALSE(orc_call_chain(k, img.task));
}

TEST(Orc, FrameLeavingTheStackGivesNoChain) {
    OrcImage img;
    img.task.sp = kStack + kThreadSize - 40;  // the inactive frame would cross the top
    Kernel k(img.t);
    EXPECT_FALSE(orc_call_chain(k, img.task));
}

TEST(Orc, KernelWithoutOrcTables) {
    OrcImage img;
    img.t.remove_symbol("__start_orc_unwind");
    Kernel k(img.t);
    EXPECT_FALSE(orc_call_chain(k, img.task));
}
