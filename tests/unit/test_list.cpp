#include <gtest/gtest.h>

#include "core/error.h"
#include "fake_kernel.h"
#include "fake_target.h"
#include "core/kernel.h"
#include "kernel/lib/list.h"

using namespace netdbg;
using netdbg::test::FakeTarget;
using netdbg::test::ImageBuilder;

namespace {

constexpr std::uint64_t kPoison1 = 0xdead000000000100ULL;
constexpr std::uint64_t kPoison2 = 0xdead000000000122ULL;

struct ListTest : ::testing::Test {
    FakeTarget t;
    ImageBuilder img{t};
    addr_t head = img.alloc(16, 16);
    ListTest() { netdbg::test::add_list_poison_text(t); }

    ListWalk walk(std::size_t max = 1000000, std::vector<addr_t>* seen = nullptr) {
        Kernel k(t);
        std::vector<addr_t> local;
        auto& out = seen ? *seen : local;
        return walk_list(k, head, max, [&](addr_t n) {
            out.push_back(n);
            return true;
        });
    }
    const ListFinding* find(const ListWalk& w, ListFault f) {
        for (const auto& x : w.findings)
            if (x.fault == f) return &x;
        return nullptr;
    }
};

}  // namespace

TEST_F(ListTest, Empty) {
    img.list_init(head);
    std::vector<addr_t> seen;
    ListWalk w = walk(1000, &seen);
    EXPECT_TRUE(w.complete);
    EXPECT_EQ(w.count, 0u);
    EXPECT_TRUE(w.findings.empty());
    EXPECT_TRUE(seen.empty());
}

TEST_F(ListTest, OneEntry) {
    auto nodes = img.make_list(head, 1);
    std::vector<addr_t> seen;
    ListWalk w = walk(1000, &seen);
    EXPECT_TRUE(w.complete);
    EXPECT_EQ(w.count, 1u);
    EXPECT_EQ(seen, nodes);
}

TEST_F(ListTest, NormalListInOrder) {
    auto nodes = img.make_list(head, 37);
    std::vector<addr_t> seen;
    ListWalk w = walk(1000, &seen);
    EXPECT_TRUE(w.complete);
    EXPECT_TRUE(w.findings.empty());
    EXPECT_EQ(w.count, 37u);
    EXPECT_EQ(seen, nodes);
}

TEST_F(ListTest, UnreadableHead) {
    ListWalk w;
    {
        Kernel k(t);
        w = walk_list(k, 0xdeadbeef, 10, [](addr_t) { return true; });
    }
    EXPECT_FALSE(w.complete);
    ASSERT_EQ(w.findings.size(), 1u);
    EXPECT_EQ(w.findings[0].fault, ListFault::Unreadable);
    EXPECT_EQ(w.findings[0].node, 0xdeadbeefu);
}

TEST_F(ListTest, LoopEnteringAtFirstEntry) {
    auto n = img.make_list(head, 3);
    img.u64(n[2], n[0]);  // C->next = A: the head is never reached again
    ListWalk w = walk();
    EXPECT_FALSE(w.complete);
    const ListFinding* f = find(w, ListFault::Loop);
    ASSERT_NE(f, nullptr);
    EXPECT_EQ(f->cycle_length, 3u);
    EXPECT_EQ(f->cycle_entry, n[0]);
    EXPECT_EQ(f->cycle_entry_index, 0u);
    EXPECT_EQ(f->node, n[2]);  // the entry whose next re-enters
    EXPECT_EQ(f->actual, n[0]);
    EXPECT_EQ(w.count, 3u);  // distinct entries
    EXPECT_EQ(w.findings.size(), 1u) << w.findings[0].describe();
}

TEST_F(ListTest, LoopReenteringMidList) {
    auto n = img.make_list(head, 10);
    img.u64(n[9], n[4]);  // entries 4..9 form a cycle of 6
    std::vector<addr_t> seen;
    ListWalk w = walk(1000000, &seen);
    const ListFinding* f = find(w, ListFault::Loop);
    ASSERT_NE(f, nullptr);
    EXPECT_EQ(f->cycle_length, 6u);
    EXPECT_EQ(f->cycle_entry, n[4]);
    EXPECT_EQ(f->cycle_entry_index, 4u);
    EXPECT_EQ(f->node, n[9]);
    EXPECT_EQ(w.count, 10u);
    ASSERT_GE(seen.size(), 10u);
    EXPECT_EQ(std::vector<addr_t>(seen.begin(), seen.begin() + 10), n);
    EXPECT_NE(f->describe().find("cycle of 6 entries"), std::string::npos) << f->describe();
    EXPECT_EQ(w.findings.size(), 1u);
}

TEST_F(ListTest, SelfLoopingEntry) {
    auto n = img.make_list(head, 2);
    img.u64(n[1], n[1]);
    ListWalk w = walk();
    const ListFinding* f = find(w, ListFault::Loop);
    ASSERT_NE(f, nullptr);
    EXPECT_EQ(f->cycle_length, 1u);
    EXPECT_EQ(f->cycle_entry, n[1]);
    EXPECT_EQ(f->cycle_entry_index, 1u);
    EXPECT_EQ(w.count, 2u);
}

TEST_F(ListTest, LongLoopTerminatesQuickly) {
    auto n = img.make_list(head, 3000);
    img.u64(n[2999], n[1000]);
    ListWalk w = walk();
    const ListFinding* f = find(w, ListFault::Loop);
    ASSERT_NE(f, nullptr);
    EXPECT_EQ(f->cycle_length, 2000u);
    EXPECT_EQ(f->cycle_entry_index, 1000u);
    EXPECT_EQ(w.count, 3000u);
}

TEST_F(ListTest, LoopThroughHeadIsANormalList) {
    // Every circular list loops through its head: that is the end, not a fault.
    auto n = img.make_list(head, 5);
    std::vector<addr_t> seen;
    ListWalk w = walk(1000, &seen);
    EXPECT_TRUE(w.complete);
    EXPECT_EQ(find(w, ListFault::Loop), nullptr);
    EXPECT_EQ(seen.size(), 5u);
}

TEST_F(ListTest, BrokenNextPrev) {
    auto n = img.make_list(head, 4);
    img.u64(n[2] + 8, 0xffff888012345678ULL);  // n[2]->prev should be n[1]
    std::vector<addr_t> seen;
    ListWalk w = walk(1000, &seen);
    EXPECT_FALSE(w.complete);
    EXPECT_EQ(w.count, 4u);  // the walk goes on along next
    const ListFinding* f = find(w, ListFault::BadPrev);
    ASSERT_NE(f, nullptr);
    EXPECT_EQ(f->index, 2u);  // n[2] is entry 2
    EXPECT_EQ(f->node, n[2]);
    EXPECT_EQ(f->expected, n[1]);
    EXPECT_EQ(f->actual, 0xffff888012345678ULL);
}

TEST_F(ListTest, BrokenHeadPrev) {
    auto n = img.make_list(head, 3);
    img.u64(head + 8, n[1]);  // head->prev should be the last entry
    ListWalk w = walk();
    EXPECT_FALSE(w.complete);
    const ListFinding* f = find(w, ListFault::BadPrev);
    ASSERT_NE(f, nullptr);
    EXPECT_EQ(f->node, head);
    EXPECT_EQ(f->expected, n[2]);
    EXPECT_EQ(f->actual, n[1]);
}

TEST_F(ListTest, UnreadableNext) {
    auto n = img.make_list(head, 3);
    img.u64(n[1], 0xffff8880dead0000ULL);  // unmapped
    ListWalk w = walk();
    EXPECT_FALSE(w.complete);
    EXPECT_EQ(w.count, 2u);
    ASSERT_EQ(w.findings.size(), 1u);
    EXPECT_EQ(w.findings[0].fault, ListFault::Unreadable);
    EXPECT_EQ(w.findings[0].node, 0xffff8880dead0000ULL);
    EXPECT_EQ(w.findings[0].index, 2u);
}

TEST_F(ListTest, NullNext) {
    auto n = img.make_list(head, 3);
    img.u64(n[0], 0);
    ListWalk w = walk();
    EXPECT_FALSE(w.complete);
    EXPECT_EQ(w.count, 1u);
    ASSERT_EQ(w.findings.size(), 1u);
    EXPECT_EQ(w.findings[0].fault, ListFault::Null);
    EXPECT_EQ(w.findings[0].node, n[0]);
}

TEST_F(ListTest, Poison1InNext) {
    auto n = img.make_list(head, 3);
    img.u64(n[1], kPoison1);
    ListWalk w = walk();
    EXPECT_FALSE(w.complete);
    EXPECT_EQ(w.count, 2u);
    ASSERT_EQ(w.findings.size(), 1u);
    EXPECT_EQ(w.findings[0].fault, ListFault::Poison);
    EXPECT_EQ(w.findings[0].node, n[1]);
    EXPECT_EQ(w.findings[0].actual, kPoison1);
}

TEST_F(ListTest, Poison2InPrev) {
    auto n = img.make_list(head, 3);
    img.u64(n[1] + 8, kPoison2);
    ListWalk w = walk();
    EXPECT_FALSE(w.complete);
    const ListFinding* f = find(w, ListFault::Poison);
    ASSERT_NE(f, nullptr);
    EXPECT_EQ(f->node, n[1]);
    EXPECT_EQ(f->actual, kPoison2);
    EXPECT_EQ(find(w, ListFault::BadPrev), nullptr);
}

TEST_F(ListTest, PoisonValuesComeFromTheKernelCode) {
    Kernel k(t);
    EXPECT_TRUE(is_list_poison(k, 0xdead000000000100ULL));
    EXPECT_TRUE(is_list_poison(k, 0xdead000000000122ULL));
    EXPECT_FALSE(is_list_poison(k, 0x100));
    EXPECT_FALSE(is_list_poison(k, 0xdead000000000108ULL));
    EXPECT_FALSE(is_list_poison(k, 0xffff888000000100ULL));
    EXPECT_FALSE(is_list_poison(k, 0));
}

TEST_F(ListTest, MaxTruncates) {
    auto n = img.make_list(head, 10);
    std::vector<addr_t> seen;
    ListWalk w = walk(4, &seen);
    EXPECT_FALSE(w.complete);
    EXPECT_EQ(w.count, 4u);
    EXPECT_EQ(seen.size(), 4u);
    ASSERT_EQ(w.findings.size(), 1u);
    EXPECT_EQ(w.findings[0].fault, ListFault::Truncated);
    // Exactly max entries is complete, not truncated.
    ListWalk exact = walk(10);
    EXPECT_TRUE(exact.complete);
    EXPECT_EQ(exact.count, 10u);
}

TEST_F(ListTest, VisitStopsEarly) {
    img.make_list(head, 10);
    Kernel k(t);
    int calls = 0;
    ListWalk w = walk_list(k, head, 100, [&](addr_t) { return ++calls < 3; });
    EXPECT_EQ(calls, 3);
    EXPECT_FALSE(w.complete);
    EXPECT_TRUE(w.findings.empty());
}

TEST_F(ListTest, InterruptStopsALongWalk) {
    img.make_list(head, 10000);
    t.interrupt_after(0);
    Kernel k(t);
    std::size_t visited = 0;
    EXPECT_THROW(walk_list(k, head, 1000000,
                           [&](addr_t) {
                               ++visited;
                               return true;
                           }),
                 Interrupted);
    EXPECT_LT(visited, 10000u);
    EXPECT_GE(t.interrupted_calls(), 1u);
}

TEST_F(ListTest, InterruptStopsAnEndlessLoop) {
    auto n = img.make_list(head, 5000);
    img.u64(n[4999], n[0]);
    t.interrupt_after(0);
    Kernel k(t);
    EXPECT_THROW(walk_list(k, head, 1000000, [](addr_t) { return true; }), Interrupted);
}

// ListFinding documents index as "entry number" and node as "the list_head
// where it was seen": both must name the same entry, and describe() prints
// them as "entry <index> at <node>".
TEST_F(ListTest, FindingIndexNamesTheEntryAtNode) {
    auto n = img.make_list(head, 3);
    img.u64(n[0], 0);  // entry 0 has a NULL next
    ListWalk w = walk();
    ASSERT_EQ(w.findings.size(), 1u);
    EXPECT_EQ(w.findings[0].node, n[0]);
    EXPECT_EQ(w.findings[0].index, 0u) << w.findings[0].describe();

    auto m = img.make_list(head, 3);
    img.u64(m[1], kPoison1);  // entry 1 was list_del()ed
    ListWalk p = walk();
    ASSERT_EQ(p.findings.size(), 1u);
    EXPECT_EQ(p.findings[0].node, m[1]);
    EXPECT_EQ(p.findings[0].index, 1u) << p.findings[0].describe();
}
