// check_list() and the listcheck command on synthetic images: every finding
// kind for list_head, hlist, BSD LIST and singly linked lists, loops whose
// entry point is the first entry or the head itself, lists of length 1.
#include <gtest/gtest.h>

#include <chrono>

#include "core/error.h"
#include "fake_kernel.h"
#include "core/kernel.h"
#include "kernel/lib/list_check.h"

using namespace netdbg;
using netdbg::test::FakeKernel;
using nlohmann::ordered_json;

namespace {

constexpr addr_t kP1 = 0xdead000000000100ULL;
constexpr addr_t kP2 = 0xdead000000000122ULL;

// struct ent { u64 key; struct list_head link; struct owner *owner; u8 payload[40]; }  (72 bytes)
// struct owner { int id; char pad[20]; struct list_head table; ... }                 (56 bytes, table at 24)
constexpr std::size_t kEntSize = 72, kLink = 8, kOwnerPtr = 24, kPayload = 32;
constexpr std::size_t kOwnerSize = 56, kTable = 24;

struct Lists {
    FakeKernel fk;
    netdbg::test::ImageBuilder& img = fk.img;
    netdbg::test::FakeTarget& t = fk.target;

    Lists() {
        t.add_type("ent", kEntSize);
        t.add_member("ent", "key", 0, 8);
        t.add_member("ent", "link", kLink, 16);
        t.add_member("ent", "owner", kOwnerPtr, 8);
        t.add_member("ent", "payload", kPayload, 40);
        t.add_type("owner", kOwnerSize);
        t.add_member("owner", "id", 0, 4);
        t.add_member("owner", "table", kTable, 16);
        t.add_type("hlist_head", 8);
        t.add_type("hlist_node", 16);
    }

    addr_t entry() {
        addr_t e = img.alloc(kEntSize, 8);
        for (std::size_t i = 0; i < 40; ++i) t.poke_as<std::uint8_t>(e + kPayload + i, static_cast<std::uint8_t>(i));
        return e;
    }
    // list_head list of n entries on head, each pointing back to owner.
    std::vector<addr_t> list(addr_t head, std::size_t n, addr_t owner = 0) {
        img.list_init(head);
        std::vector<addr_t> v;
        for (std::size_t i = 0; i < n; ++i) {
            addr_t e = entry();
            img.u64(e, i);
            img.u64(e + kOwnerPtr, owner);
            img.list_add_tail(e + kLink, head);
            v.push_back(e);
        }
        return v;
    }
    // hlist: head->first, node->next, node->pprev = &prev->next.
    std::vector<addr_t> hlist(addr_t head, std::size_t n) {
        std::vector<addr_t> v;
        addr_t slot = head;
        img.u64(head, 0);
        for (std::size_t i = 0; i < n; ++i) {
            addr_t e = entry();
            addr_t node = e + kLink;
            img.u64(slot, node);
            img.link(node, 0, slot);
            slot = node;
            v.push_back(e);
        }
        return v;
    }
    // BSD LIST: lh_first -> element; le_next -> element; le_prev = &prev le_next.
    std::vector<addr_t> bsd(addr_t head, std::size_t n) {
        std::vector<addr_t> v;
        addr_t slot = head;
        img.u64(head, 0);
        for (std::size_t i = 0; i < n; ++i) {
            addr_t e = entry();
            img.u64(slot, e);
            img.link(e + kLink, 0, slot);
            slot = e + kLink;
            v.push_back(e);
        }
        return v;
    }
    // Singly linked through a next pointer at +kLink, head = pointer slot.
    std::vector<addr_t> single(addr_t head, std::size_t n) {
        std::vector<addr_t> v;
        addr_t slot = head;
        img.u64(head, 0);
        for (std::size_t i = 0; i < n; ++i) {
            addr_t e = entry();
            img.u64(slot, e);
            img.u64(e + kLink, 0);
            slot = e + kLink;
            v.push_back(e);
        }
        return v;
    }

    ListShape shape(ListKind kind, std::vector<std::uint8_t> poison = {0x5a, 0x6b, 0xa5}) {
        ListShape s;
        s.kind = kind;
        s.node_offset = kLink;
        s.entry_size = kEntSize;
        s.poison_bytes = std::move(poison);
        return s;
    }
    ListWalk walk(const ListShape& s, addr_t head, addr_t owner = 0, std::vector<addr_t>* seen = nullptr) {
        Kernel k(t);
        return check_list(k, s, head, owner, [&](const ListEntryView& e) {
            if (seen) seen->push_back(e.entry);
            return true;
        });
    }
};

// The one finding of a walk (a copy: walks are often temporaries).
ListFinding only(const ListWalk& w) {
    EXPECT_EQ(w.findings.size(), 1u);
    if (w.findings.size() != 1)
        for (const auto& f : w.findings) ADD_FAILURE() << "finding: " << f.describe();
    return w.findings.empty() ? ListFinding{ListFault::Truncated, SIZE_MAX} : w.findings[0];
}

}  // namespace

// The derivation of LIST_POISON1/2 from __list_del_entry_valid's code.
TEST(ListPoisonDelta, FoundInMovabsPair) {
    std::vector<std::uint8_t> code = {0x48, 0x8b, 0x17, 0x49, 0xbf};  // movabs $P1,%r15
    for (int i = 0; i < 8; ++i) code.push_back(static_cast<std::uint8_t>((0xdead000000000100ULL + 0) >> (8 * i)));
    code.insert(code.end(), {0x48, 0xb8});  // movabs $P2,%rax
    for (int i = 0; i < 8; ++i) code.push_back(static_cast<std::uint8_t>(0xdead000000000122ULL >> (8 * i)));
    auto d = poison_delta_in_code(code.data(), code.size());
    ASSERT_TRUE(d);
    EXPECT_EQ(*d, 0xdead000000000000ULL);
    // One value alone, or a pair not 0x22 apart, is not the poison pair.
    EXPECT_FALSE(poison_delta_in_code(code.data(), 15));
    code[code.size() - 8] = 0x30;
    EXPECT_FALSE(poison_delta_in_code(code.data(), code.size()));
}

TEST(ListPoisonDelta, AnotherDeltaIsFollowed) {
    netdbg::test::FakeTarget t;
    netdbg::test::add_list_poison_text(t, 0x1234000000000000ULL);
    Kernel k(t);
    const ListPoison& lp = k.get<ListPoison>();
    EXPECT_TRUE(lp.derived);
    EXPECT_EQ(lp.source, "__list_del_entry_valid");
    EXPECT_EQ(lp.poison1, 0x1234000000000100ULL);
    EXPECT_EQ(lp.poison2, 0x1234000000000122ULL);
    EXPECT_FALSE(lp.is(kP1));
}

TEST(ListPoisonDelta, MissingCodeMeansDeltaZeroAndSaysSo) {
    netdbg::test::FakeTarget t;
    Kernel k(t);
    const ListPoison& lp = k.get<ListPoison>();
    EXPECT_FALSE(lp.derived);
    EXPECT_EQ(lp.poison1, 0x100u);
    EXPECT_NE(lp.source.find("assumed 0"), std::string::npos);
}

// ------------------------------------------------------------ list_head

TEST(CheckList, CleanListWithNodeInsideTheEntry) {
    Lists L;
    addr_t head = L.img.alloc(16, 16);
    auto e = L.list(head, 50, 0x1111);
    std::vector<addr_t> seen;
    ListShape s = L.shape(ListKind::ListHead);
    s.backptr = MemberInfo{kOwnerPtr, 8};
    ListWalk w = L.walk(s, head, 0x1111, &seen);
    EXPECT_TRUE(w.complete);
    EXPECT_TRUE(w.findings.empty());
    EXPECT_EQ(w.count, 50u);
    EXPECT_EQ(seen, e);
}

TEST(CheckList, ListOfLengthOneEveryKind) {
    Lists L;
    addr_t h1 = L.img.alloc(16, 16), h2 = L.img.alloc(8, 8), h3 = L.img.alloc(8, 8), h4 = L.img.alloc(8, 8);
    auto a = L.list(h1, 1);
    auto b = L.hlist(h2, 1);
    auto c = L.bsd(h3, 1);
    auto d = L.single(h4, 1);
    for (auto [kind, head, want] : {std::tuple{ListKind::ListHead, h1, a[0]}, std::tuple{ListKind::HList, h2, b[0]},
                                    std::tuple{ListKind::Bsd, h3, c[0]}, std::tuple{ListKind::Single, h4, d[0]}}) {
        std::vector<addr_t> seen;
        ListWalk w = L.walk(L.shape(kind), head, 0, &seen);
        EXPECT_TRUE(w.complete) << list_kind_name(kind);
        EXPECT_EQ(w.count, 1u) << list_kind_name(kind);
        EXPECT_EQ(seen, std::vector<addr_t>{want}) << list_kind_name(kind);
    }
}

TEST(CheckList, ListOfLengthOneLoopingOnItself) {
    Lists L;
    addr_t head = L.img.alloc(16, 16);
    auto e = L.list(head, 1);
    L.img.u64(e[0] + kLink, e[0] + kLink);  // next = itself, never the head
    ListWalk w = L.walk(L.shape(ListKind::ListHead), head);
    ListFinding f = only(w);
    EXPECT_EQ(f.fault, ListFault::Loop);
    EXPECT_EQ(f.cycle_length, 1u);
    EXPECT_EQ(f.cycle_entry_index, 0u);
    EXPECT_EQ(f.cycle_entry, e[0]);
    EXPECT_EQ(f.index, 0u);
    EXPECT_EQ(w.count, 1u);
}

TEST(CheckList, LoopEnteringAtTheFirstEntryNeverReturnsToTheHead) {
    Lists L;
    addr_t head = L.img.alloc(16, 16);
    auto e = L.list(head, 5);
    L.img.u64(e[4] + kLink, e[0] + kLink);  // last->next = first
    ListWalk w = L.walk(L.shape(ListKind::ListHead), head);
    ListFinding f = only(w);
    EXPECT_EQ(f.fault, ListFault::Loop);
    EXPECT_EQ(f.index, 4u);  // the entry whose next re-enters
    EXPECT_EQ(f.entry, e[4]);
    EXPECT_EQ(f.node, e[4] + kLink);
    EXPECT_EQ(f.cycle_entry, e[0]);
    EXPECT_EQ(f.cycle_entry_index, 0u);
    EXPECT_EQ(f.cycle_length, 5u);
    EXPECT_EQ(f.expected, head);  // it should have come back to the head
    EXPECT_EQ(f.actual, e[0] + kLink);
    EXPECT_EQ(w.count, 5u);
    EXPECT_FALSE(w.complete);
}

TEST(CheckList, PerEntryFindingsInsideALoopAreReportedOnce) {
    Lists L;
    addr_t head = L.img.alloc(16, 16);
    auto e = L.list(head, 8, 0x1111);
    L.img.u64(e[7] + kLink, e[2] + kLink);
    L.img.u64(e[5] + kOwnerPtr, 0x2222);  // inside the cycle: seen twice by the walk
    ListShape s = L.shape(ListKind::ListHead);
    s.backptr = MemberInfo{kOwnerPtr, 8};
    s.backptr_name = "owner";
    ListWalk w = L.walk(s, head, 0x1111);
    ASSERT_EQ(w.findings.size(), 2u);
    EXPECT_EQ(w.findings[0].fault, ListFault::WrongBackptr);
    EXPECT_EQ(w.findings[0].index, 5u);
    EXPECT_EQ(w.findings[0].expected, 0x1111u);
    EXPECT_EQ(w.findings[0].actual, 0x2222u);
    EXPECT_EQ(w.findings[0].what, "owner");
    EXPECT_EQ(w.findings[1].fault, ListFault::Loop);
    EXPECT_EQ(w.findings[1].cycle_entry_index, 2u);
    EXPECT_EQ(w.findings[1].cycle_length, 6u);
    EXPECT_EQ(w.count, 8u);
}

TEST(CheckList, BadPrevNamesTheEntryWithTheWrongPrev) {
    Lists L;
    addr_t head = L.img.alloc(16, 16);
    auto e = L.list(head, 8);
    L.img.u64(e[6] + kLink + 8, e[4] + kLink);  // entry 6's prev -> entry 4
    ListWalk w = L.walk(L.shape(ListKind::ListHead), head);
    ListFinding f = only(w);
    EXPECT_EQ(f.fault, ListFault::BadPrev);
    EXPECT_EQ(f.index, 6u);
    EXPECT_EQ(f.entry, e[6]);
    EXPECT_EQ(f.expected, e[5] + kLink);
    EXPECT_EQ(f.actual, e[4] + kLink);
    EXPECT_EQ(w.count, 8u);  // the walk goes on
}

TEST(CheckList, HeadPrevMustBeTheLastEntry) {
    Lists L;
    addr_t head = L.img.alloc(16, 16);
    auto e = L.list(head, 3);
    L.img.u64(head + 8, e[0] + kLink);
    ListFinding f = only(L.walk(L.shape(ListKind::ListHead), head));
    EXPECT_EQ(f.fault, ListFault::BadPrev);
    EXPECT_EQ(f.node, head);
    EXPECT_EQ(f.expected, e[2] + kLink);
}

TEST(CheckList, ListPoisonInNextAndPrev) {
    Lists L;
    addr_t head = L.img.alloc(16, 16);
    auto e = L.list(head, 4);
    L.img.u64(e[1] + kLink, kP1);
    ListWalk w = L.walk(L.shape(ListKind::ListHead), head);
    ListFinding f = only(w);
    EXPECT_EQ(f.fault, ListFault::Poison);
    EXPECT_EQ(f.index, 1u);
    EXPECT_EQ(f.entry, e[1]);
    EXPECT_EQ(f.actual, kP1);
    EXPECT_EQ(w.count, 2u);

    auto g = L.list(head, 4);
    L.img.u64(g[2] + kLink + 8, kP2);
    ListFinding p = only(L.walk(L.shape(ListKind::ListHead), head));
    EXPECT_EQ(p.fault, ListFault::Poison);
    EXPECT_EQ(p.index, 2u);
    EXPECT_EQ(p.actual, kP2);
}

TEST(CheckList, NullNextAndUnreadableNext) {
    Lists L;
    addr_t head = L.img.alloc(16, 16);
    auto e = L.list(head, 4);
    L.img.u64(e[2] + kLink, 0);
    ListFinding n = only(L.walk(L.shape(ListKind::ListHead), head));
    EXPECT_EQ(n.fault, ListFault::Null);
    EXPECT_EQ(n.index, 2u);
    EXPECT_EQ(n.entry, e[2]);

    auto g = L.list(head, 4);
    L.img.u64(g[1] + kLink, 0xffff8880dead0000ULL);
    ListWalk w = L.walk(L.shape(ListKind::ListHead), head);
    ListFinding u = only(w);
    EXPECT_EQ(u.fault, ListFault::Unreadable);
    EXPECT_EQ(u.index, 2u);
    EXPECT_EQ(u.actual, 0xffff8880dead0000ULL);
    EXPECT_EQ(u.entry, 0xffff8880dead0000ULL - kLink);
    EXPECT_EQ(w.count, 2u);
}

TEST(CheckList, UnreadableHead) {
    Lists L;
    ListWalk w = L.walk(L.shape(ListKind::HList), 0xffff8880dead0000ULL);
    EXPECT_EQ(only(w).fault, ListFault::Unreadable);
    EXPECT_EQ(w.count, 0u);
}

TEST(CheckList, MaxTruncates) {
    Lists L;
    addr_t head = L.img.alloc(16, 16);
    L.list(head, 10);
    ListShape s = L.shape(ListKind::ListHead);
    s.max = 4;
    ListWalk w = L.walk(s, head);
    EXPECT_EQ(only(w).fault, ListFault::Truncated);
    EXPECT_EQ(w.count, 4u);
    s.max = 10;
    EXPECT_TRUE(L.walk(s, head).complete);
}

// ------------------------------------------------------------ poison

TEST(CheckList, SlabPoisonInAnEntryIsOneFindingAndHidesItsBackPointer) {
    Lists L;
    addr_t head = L.img.alloc(16, 16);
    auto e = L.list(head, 6, 0x1111);
    for (std::size_t i = kOwnerPtr; i < kEntSize; ++i) L.t.poke_as<std::uint8_t>(e[3] + i, 0x6b);
    ListShape s = L.shape(ListKind::ListHead);
    s.backptr = MemberInfo{kOwnerPtr, 8};
    ListWalk w = L.walk(s, head, 0x1111);
    ListFinding f = only(w);
    EXPECT_EQ(f.fault, ListFault::Poisoned);
    EXPECT_EQ(f.index, 3u);
    EXPECT_EQ(f.entry, e[3]);
    EXPECT_EQ(f.byte, 0x6b);
    EXPECT_EQ(f.offset, kOwnerPtr);
    EXPECT_EQ(f.length, kEntSize - kOwnerPtr);
    EXPECT_EQ(f.actual, 0x6b6b6b6b6b6b6b6bULL);
    EXPECT_TRUE(w.complete == false);
    EXPECT_EQ(w.count, 6u);
}

TEST(CheckList, AFreedEntryStillLinkedIsOnePoisonedFinding) {
    // kfree() with slab poisoning: the whole entry, links included, is 0x6b.
    Lists L;
    addr_t head = L.img.alloc(16, 16);
    auto e = L.list(head, 5);
    for (std::size_t i = 0; i < kEntSize; ++i) L.t.poke_as<std::uint8_t>(e[2] + i, 0x6b);
    ListWalk w = L.walk(L.shape(ListKind::ListHead), head);
    ListFinding f = only(w);
    EXPECT_EQ(f.fault, ListFault::Poisoned);
    EXPECT_EQ(f.index, 2u);
    EXPECT_EQ(f.offset, 0u);
    EXPECT_EQ(f.length, kEntSize);
    EXPECT_EQ(w.count, 3u);  // the walk cannot go past it
}

TEST(CheckList, UserPoisonByteOnlyWhenAsked) {
    Lists L;
    addr_t head = L.img.alloc(16, 16);
    auto e = L.list(head, 4);
    for (std::size_t i = kPayload; i < kEntSize; ++i) L.t.poke_as<std::uint8_t>(e[1] + i, 0xec);
    EXPECT_TRUE(L.walk(L.shape(ListKind::ListHead), head).findings.empty());
    ListFinding f = only(L.walk(L.shape(ListKind::ListHead, parse_poison_bytes("0xEC")), head));
    EXPECT_EQ(f.fault, ListFault::Poisoned);
    EXPECT_EQ(f.byte, 0xec);
    EXPECT_EQ(f.offset, kPayload);
    EXPECT_EQ(f.length, 40u);
}

TEST(CheckList, AShortRunIsNotPoison) {
    // Seven bytes never cover an aligned word; an unaligned 8-byte run does
    // not either.
    Lists L;
    addr_t head = L.img.alloc(16, 16);
    auto e = L.list(head, 2);
    for (std::size_t i = 0; i < 8; ++i) L.t.poke_as<std::uint8_t>(e[0] + kPayload + 3 + i, 0x6b);
    EXPECT_TRUE(L.walk(L.shape(ListKind::ListHead), head).findings.empty());
}

TEST(CheckList, ParsePoisonBytes) {
    EXPECT_EQ(parse_poison_bytes("auto"), (std::vector<std::uint8_t>{0x5a, 0x6b, 0xa5}));
    EXPECT_TRUE(parse_poison_bytes("none").empty());
    EXPECT_EQ(parse_poison_bytes("0xEC,0x11"), (std::vector<std::uint8_t>{0x5a, 0x6b, 0xa5, 0xec, 0x11}));
    EXPECT_EQ(parse_poison_bytes("6b"), (std::vector<std::uint8_t>{0x5a, 0x6b, 0xa5}));
    EXPECT_THROW(parse_poison_bytes("0x100"), Error);
    EXPECT_THROW(parse_poison_bytes("0xEC,"), Error);
    EXPECT_THROW(parse_poison_bytes("ec!"), Error);
}

// ------------------------------------------------------------ hlist

TEST(CheckList, HlistCleanAndBadPprev) {
    Lists L;
    addr_t head = L.img.alloc(8, 8);
    auto e = L.hlist(head, 6);
    std::vector<addr_t> seen;
    ListWalk ok = L.walk(L.shape(ListKind::HList), head, 0, &seen);
    EXPECT_TRUE(ok.complete);
    EXPECT_EQ(seen, e);
    L.img.u64(e[0] + kLink + 8, head + 0x40);  // first's pprev must be &head->first
    L.img.u64(e[3] + kLink + 8, e[1] + kLink);
    ListWalk w = L.walk(L.shape(ListKind::HList), head);
    ASSERT_EQ(w.findings.size(), 2u);
    EXPECT_EQ(w.findings[0].index, 0u);
    EXPECT_EQ(w.findings[0].expected, head);
    EXPECT_EQ(w.findings[1].fault, ListFault::BadPrev);
    EXPECT_EQ(w.findings[1].index, 3u);
    EXPECT_EQ(w.findings[1].expected, e[2] + kLink);
    EXPECT_EQ(w.findings[1].actual, e[1] + kLink);
}

TEST(CheckList, HlistDeletedNodeStillLinked) {
    Lists L;
    addr_t head = L.img.alloc(8, 8);
    auto e = L.hlist(head, 4);
    L.img.link(e[2] + kLink, kP1, kP2);  // hlist_del() poisons both
    ListWalk w = L.walk(L.shape(ListKind::HList), head);
    ListFinding f = only(w);  // one deleted entry, one finding
    EXPECT_EQ(f.fault, ListFault::Poison);
    EXPECT_EQ(f.index, 2u);
    EXPECT_EQ(f.actual, kP2);
    EXPECT_EQ(f.expected, e[1] + kLink);
    EXPECT_EQ(w.count, 3u);
}

TEST(CheckList, HlistLoopBackToTheHeadItself) {
    Lists L;
    addr_t head = L.img.alloc(8, 8);
    auto e = L.hlist(head, 3);
    L.img.u64(e[2] + kLink, head);  // last->next = (struct hlist_node *)head
    ListWalk w = L.walk(L.shape(ListKind::HList), head);
    ListFinding f = only(w);
    EXPECT_EQ(f.fault, ListFault::Loop);
    EXPECT_EQ(f.cycle_entry_index, kHeadIndex);
    EXPECT_EQ(f.cycle_entry, head);
    EXPECT_EQ(f.index, 2u);
    EXPECT_EQ(f.entry, e[2]);
    EXPECT_EQ(w.count, 3u);
    EXPECT_NE(f.describe().find("the head"), std::string::npos) << f.describe();
}

TEST(CheckList, HlistLoopMidList) {
    Lists L;
    addr_t head = L.img.alloc(8, 8);
    auto e = L.hlist(head, 7);
    L.img.u64(e[6] + kLink, e[3] + kLink);
    ListWalk w = L.walk(L.shape(ListKind::HList), head);
    // e[3]'s pprev is right for the first visit; the repeat is not reported.
    ListFinding f = only(w);
    EXPECT_EQ(f.fault, ListFault::Loop);
    EXPECT_EQ(f.cycle_entry_index, 3u);
    EXPECT_EQ(f.cycle_length, 4u);
    EXPECT_EQ(f.expected, 0u);
    EXPECT_EQ(w.count, 7u);
}

// ------------------------------------------------------------ BSD LIST

TEST(CheckList, BsdListNextPointsAtTheElement) {
    Lists L;
    addr_t head = L.img.alloc(8, 8);
    auto e = L.bsd(head, 5);
    std::vector<addr_t> seen;
    ListWalk w = L.walk(L.shape(ListKind::Bsd), head, 0, &seen);
    EXPECT_TRUE(w.complete);
    EXPECT_EQ(seen, e);
}

TEST(CheckList, BsdBadLePrevAndLoop) {
    Lists L;
    addr_t head = L.img.alloc(8, 8);
    auto e = L.bsd(head, 6);
    L.img.u64(e[2] + kLink + 8, head);  // le_prev should be &e[1]->le_next
    ListFinding f = only(L.walk(L.shape(ListKind::Bsd), head));
    EXPECT_EQ(f.fault, ListFault::BadPrev);
    EXPECT_EQ(f.index, 2u);
    EXPECT_EQ(f.expected, e[1] + kLink);
    EXPECT_EQ(f.actual, head);

    auto g = L.bsd(head, 6);
    L.img.u64(g[5] + kLink, g[0]);  // le_next of the last = the first element
    ListWalk w = L.walk(L.shape(ListKind::Bsd), head);
    ListFinding l = only(w);
    EXPECT_EQ(l.fault, ListFault::Loop);
    EXPECT_EQ(l.cycle_entry, g[0]);
    EXPECT_EQ(l.cycle_entry_index, 0u);
    EXPECT_EQ(l.cycle_length, 6u);
    EXPECT_EQ(l.actual, g[0]);  // the element pointer as stored
    EXPECT_EQ(w.count, 6u);
}

// ------------------------------------------------------------ singly linked

TEST(CheckList, SinglyLinkedLoopLikeTheAnycastSeed) {
    Lists L;
    addr_t head = L.img.alloc(8, 8);
    auto e = L.single(head, 4);
    L.img.u64(e[3] + kLink, e[1]);  // last->next = entry 1
    std::vector<addr_t> seen;
    ListWalk w = L.walk(L.shape(ListKind::Single), head, 0, &seen);
    ListFinding f = only(w);
    EXPECT_EQ(f.fault, ListFault::Loop);
    EXPECT_EQ(f.index, 3u);
    EXPECT_EQ(f.entry, e[3]);
    EXPECT_EQ(f.cycle_entry, e[1]);
    EXPECT_EQ(f.cycle_entry_index, 1u);
    EXPECT_EQ(f.cycle_length, 3u);
    EXPECT_EQ(f.actual, e[1]);
    EXPECT_EQ(w.count, 4u);
    ASSERT_GE(seen.size(), 4u);
    EXPECT_EQ(std::vector<addr_t>(seen.begin(), seen.begin() + 4), e);
    EXPECT_LE(seen.size(), 16u);  // Brent stops within a few rounds
}

TEST(CheckList, SinglyLinkedLoopOnTheFirstEntryAndUnreadable) {
    Lists L;
    addr_t head = L.img.alloc(8, 8);
    auto e = L.single(head, 3);
    L.img.u64(e[2] + kLink, e[0]);
    ListFinding f = only(L.walk(L.shape(ListKind::Single), head));
    EXPECT_EQ(f.cycle_entry_index, 0u);
    EXPECT_EQ(f.cycle_length, 3u);

    L.img.u64(e[2] + kLink, 0xffff8880dead0000ULL);
    ListWalk w = L.walk(L.shape(ListKind::Single), head);
    EXPECT_EQ(only(w).fault, ListFault::Unreadable);
    EXPECT_EQ(w.count, 3u);
}

// ------------------------------------------------------------ cost

TEST(CheckList, WholeEntriesThroughThePageCache) {
    // 100000 entries of 72 bytes, allocated back to back: the walk reads
    // each page of the target once, never an entry at a time.
    Lists L;
    addr_t head = L.img.alloc(16, 16);
    const std::size_t n = 100000;
    addr_t base = L.img.alloc(n * kEntSize, 4096);
    L.img.list_init(head);
    addr_t prev = head;
    for (std::size_t i = 0; i < n; ++i) {
        addr_t node = base + i * kEntSize + kLink;
        L.img.link(node, head, prev);
        L.img.u64(prev, node);
        L.img.u64(head + 8, node);
        prev = node;
    }
    Kernel k(L.t);
    ListShape s = L.shape(ListKind::ListHead);
    auto none = [](const ListEntryView&) { return true; };
    std::uint64_t before = L.t.read_calls();
    ListWalk w = check_list(k, s, head, 0, none);
    EXPECT_TRUE(w.complete);
    EXPECT_EQ(w.count, n);
    std::uint64_t pages = n * kEntSize / 4096 + 2;
    EXPECT_LE(L.t.read_calls() - before, pages + 8);
    // Again from the page cache: the cost of the walk itself (the fake
    // target copies a byte at a time, so the first walk says little).
    auto t0 = std::chrono::steady_clock::now();
    ListWalk again = check_list(k, s, head, 0, none);
    auto dt = std::chrono::steady_clock::now() - t0;
    EXPECT_EQ(again.count, n);
    std::cout << "[          ] " << n << " cached entries in "
              << std::chrono::duration_cast<std::chrono::microseconds>(dt).count() << " us\n";
}
