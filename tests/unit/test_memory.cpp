#include <gtest/gtest.h>

#include "core/error.h"
#include "fake_target.h"
#include "core/memory.h"

using namespace netdbg;
using netdbg::test::FakeTarget;

namespace {
constexpr addr_t kBase = 0xffff888010000000ULL;
}

TEST(Memory, ReadAcrossPageBoundary) {
    FakeTarget t;
    t.map(kBase, 2 * 4096);
    std::uint8_t pattern[32];
    for (int i = 0; i < 32; ++i) pattern[i] = static_cast<std::uint8_t>(0xa0 + i);
    t.poke(kBase + 4096 - 16, pattern, sizeof pattern);
    Memory mem(t);
    std::uint8_t got[32] = {};
    ASSERT_TRUE(mem.read(kBase + 4096 - 16, got, sizeof got));
    EXPECT_EQ(0, std::memcmp(pattern, got, sizeof got));
    EXPECT_EQ(mem.target_reads(), 2u);  // one request per page
    EXPECT_EQ(mem.read_u64(kBase + 4096 - 4), 0xb3b2b1b0afaeadacULL);
}

TEST(Memory, UnreadablePageFailsWholeRead) {
    FakeTarget t;
    t.map(kBase, 4096);  // next page unmapped
    Memory mem(t);
    std::uint8_t buf[16];
    EXPECT_FALSE(mem.read(kBase + 4096 - 8, buf, sizeof buf));
    EXPECT_FALSE(mem.read(kBase + 4096, buf, 1));
    EXPECT_FALSE(mem.read_u64(0xdeadbeef).has_value());
    EXPECT_TRUE(mem.read(kBase + 4096 - 8, buf, 8));
    // A read that wraps around the address space is refused, not performed.
    EXPECT_FALSE(mem.read(0xfffffffffffffff8ULL, buf, 16));
}

TEST(Memory, CachesPages) {
    FakeTarget t;
    t.map(kBase, 4096);
    t.poke_as<std::uint64_t>(kBase + 8, 42);
    Memory mem(t);
    for (int i = 0; i < 100; ++i) EXPECT_EQ(mem.read_u64(kBase + 8), 42u);
    EXPECT_EQ(mem.read_u32(kBase + 100), 0u);
    EXPECT_EQ(t.read_calls(), 1u);
    EXPECT_EQ(mem.target_reads(), 1u);
    // An unreadable page is remembered too.
    EXPECT_FALSE(mem.read_u64(kBase + 8192));
    EXPECT_FALSE(mem.read_u64(kBase + 8192 + 16));
    EXPECT_EQ(t.read_calls(), 2u);
}

TEST(Memory, DropForgetsCachedPages) {
    FakeTarget t;
    t.map(kBase, 4096);
    t.poke_as<std::uint64_t>(kBase, 1);
    Memory mem(t);
    EXPECT_EQ(mem.read_u64(kBase), 1u);
    t.poke_as<std::uint64_t>(kBase, 2);  // the live target ran
    EXPECT_EQ(mem.read_u64(kBase), 1u);  // still the cached page
    mem.drop();
    EXPECT_EQ(mem.read_u64(kBase), 2u);
    EXPECT_EQ(t.read_calls(), 2u);
    // A page that became readable is seen after drop().
    EXPECT_FALSE(mem.read_u64(kBase + 4096));
    t.map(kBase + 4096, 8);
    mem.drop();
    EXPECT_EQ(mem.read_u64(kBase + 4096), 0u);
}

TEST(Memory, BoundedCacheStillReadsCorrectly) {
    FakeTarget t;
    t.map(kBase, 8 * 4096);
    for (int p = 0; p < 8; ++p) t.poke_as<std::uint64_t>(kBase + 4096 * p, 100 + p);
    Memory mem(t, 2);
    for (int round = 0; round < 3; ++round)
        for (int p = 0; p < 8; ++p) EXPECT_EQ(mem.read_u64(kBase + 4096 * p), 100u + p);
    // A read spanning pages right at the eviction point.
    std::uint64_t two[2];
    EXPECT_TRUE(mem.read(kBase + 4096 * 3 - 8, two, sizeof two));
    EXPECT_EQ(two[1], 103u);
}

TEST(Memory, RecycledPagesCarryNothingOver) {
    // One page of cache: each new page reuses the buffer of the last one.
    FakeTarget t;
    t.map(kBase, 4096);
    t.poke_as<std::uint64_t>(kBase, 0x1111);
    t.map(kBase + 2 * 4096, 4096);
    Memory mem(t, 1);
    EXPECT_EQ(mem.read_u64(kBase), 0x1111u);
    EXPECT_FALSE(mem.read_u64(kBase + 4096).has_value());  // unmapped, in A's old buffer
    EXPECT_EQ(mem.read_u64(kBase + 2 * 4096), 0u);          // readable again, its own bytes
    EXPECT_EQ(mem.read_u64(kBase), 0x1111u);
    EXPECT_EQ(mem.target_reads(), 4u);
    mem.drop();
    EXPECT_FALSE(mem.read_u64(kBase + 4096).has_value());
}

TEST(Memory, ReadCString) {
    FakeTarget t;
    t.map(kBase, 4096);
    const char text[] = "rtnl_lock";
    t.poke(kBase + 4096 - 4, text, 4);  // "rtnl" then the page ends
    Memory mem(t);
    EXPECT_FALSE(mem.read_cstring(kBase + 4096 - 4).has_value());
    EXPECT_EQ(mem.read_cstring(kBase + 4096 - 4, 3), "rtn");
    t.poke(kBase + 16, text, sizeof text);
    mem.drop();
    EXPECT_EQ(mem.read_cstring(kBase + 16), "rtnl_lock");
}

TEST(Memory, ObjectFieldsAndBounds) {
    FakeTarget t;
    t.map(kBase, 4096);
    t.poke_as<std::uint32_t>(kBase + 0x20, 0x12345678);
    t.poke(kBase + 0x30, "kworker/0:1\0", 12);
    Memory mem(t);
    auto o = Object::read(mem, kBase, 0x40, 0x20);
    ASSERT_TRUE(o);
    EXPECT_EQ(o->uint(0x20, 4), 0x12345678u);
    EXPECT_EQ(o->uint(0x20, 2), 0x5678u);
    EXPECT_EQ(o->cstring(0x30, 16), "kworker/0:1");
    EXPECT_THROW(o->u64(0x18), Error);  // before the read range
    EXPECT_THROW(o->u64(0x3c), Error);  // past its end
    EXPECT_THROW(o->uint(0x20, 3), Error);
    EXPECT_FALSE(Object::read(mem, kBase + 4000, 0x100));
}

TEST(Memory, ReadsInTheTargetsBlockSize) {
    // A live gdbstub answers 2 KiB per packet: one request per 2 KiB block.
    FakeTarget t;
    t.map(kBase, 2 * 4096);
    t.poke_as<std::uint64_t>(kBase + 2048 + 8, 0x1122334455667788ULL);
    t.set_read_block_size(2048);
    Memory mem(t);
    EXPECT_EQ(mem.read_u64(kBase + 2048 + 8), 0x1122334455667788ULL);
    EXPECT_EQ(mem.target_reads(), 1u);
    std::uint8_t buf[4096];
    ASSERT_TRUE(mem.read(kBase + 1024, buf, sizeof buf));  // blocks 0, 1 (cached), 2
    EXPECT_EQ(mem.target_reads(), 3u);
    EXPECT_EQ(0, std::memcmp(buf + 1024 + 8, "\x88\x77\x66\x55\x44\x33\x22\x11", 8));
    // A size that is no power of two up to a page falls back to pages.
    t.set_read_block_size(3000);
    Memory pages(t);
    ASSERT_TRUE(pages.read(kBase + 1024, buf, 2048));
    EXPECT_EQ(pages.target_reads(), 1u);
}
