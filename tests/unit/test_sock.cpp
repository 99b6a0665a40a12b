// Socket lock waits through BlockerFinder: __lock_sock()'s wait_queue_entry
// on sk->sk_lock.wq, the socket's description, and the refusals (not owned,
// not a sock, a looping wait list).
#include <gtest/gtest.h>

#include <algorithm>

#include "core/kernel.h"
#include "fake_kernel.h"
#include "kernel/net/sock.h"
#include "kernel/sched/snapshot.h"
#include "kernel/sched/stack.h"
#include "kernel/waits/finder.h"

using namespace netdbg;
using namespace netdbg::test;

namespace {

constexpr std::size_t kSkLock = 152;
constexpr std::size_t kWaitHead = kSkLock + 8 + 8;  // sk_lock.wq.head
constexpr std::size_t kEntryOffset = 0x40;          // the wait_queue_entry, from sp

void add_sock_layouts(FakeTarget& t) {
    t.add_struct("wait_queue_entry", 40, {{"flags", 0, 4}, {"private", 8, 8}, {"func", 16, 8}, {"entry", 24, 16}});
    t.add_struct("wait_queue_head", 24, {{"lock", 0, 4}, {"head", 8, 16}});
    t.add_struct("socket_lock_t", 32, {{"slock", 0, 4}, {"owned", 4, 4}, {"wq", 8, 24}});
    t.add_struct("sock_common", 136,
                 {{"skc_addrpair", 0, 8},
                  {"skc_daddr", 0, 4},
                  {"skc_rcv_saddr", 4, 4},
                  {"skc_portpair", 12, 4},
                  {"skc_dport", 12, 2},
                  {"skc_num", 14, 2},
                  {"skc_family", 16, 2},
                  {"skc_state", 18, 1},
                  {"skc_v6_daddr", 56, 16},
                  {"skc_v6_rcv_saddr", 72, 16}});
    t.add_struct("sock", 776,
                 {{"__sk_common", 0, 136},
                  {"sk_lock", kSkLock, 32},
                  {"sk_type", 514, 2},
                  {"sk_protocol", 516, 2},
                  {"sk_socket", 624, 8}});
    t.add_struct("socket", 128, {{"state", 0, 4}, {"type", 4, 2}, {"flags", 8, 8}, {"file", 16, 8}, {"sk", 24, 8}});
    t.add_struct("inode", 632, {{"i_ino", 64, 8}});
    t.add_struct("socket_alloc", 768, {{"socket", 0, 128}, {"vfs_inode", 128, 632}});
}

struct SockScenario {
    FakeKernel fk{2};
    ImageBuilder& img = fk.img;
    FakeTarget& t = fk.target;
    addr_t waiter, waiter2;

    SockScenario() {
        add_sock_layouts(t);
        waiter = fk.add_process({.pid = 71, .comm = "nd_sender", .state = TASK_UNINTERRUPTIBLE, .cpu = 1});
        waiter2 = fk.add_process({.pid = 72, .comm = "nd_sender2", .state = TASK_UNINTERRUPTIBLE, .cpu = 0});
    }

    // A struct sock with its struct socket (in a socket_alloc, inode ino).
    addr_t new_sock(int family, int type, int protocol, std::uint64_t ino = 4242) {
        addr_t sk = img.alloc("sock");
        img.write(sk, "sock_common", "skc_family", family);
        img.write(sk, "sock", "sk_type", type);
        img.write(sk, "sock", "sk_protocol", protocol);
        img.list_init(sk + kWaitHead);
        img.write(sk + kSkLock, "socket_lock_t", "owned", 1);
        addr_t alloc = img.alloc("socket_alloc");
        img.write(alloc, "socket", "sk", sk);
        img.write(alloc, "socket", "type", type);
        img.write(alloc + 128, "inode", "i_ino", ino);
        img.write(sk, "sock", "sk_socket", alloc);
        return sk;
    }
    void ipv4(addr_t sk, std::array<std::uint8_t, 4> local, unsigned lport, std::array<std::uint8_t, 4> remote = {},
              unsigned rport = 0) {
        t.poke(sk + 4, local.data(), 4);
        t.poke(sk + 0, remote.data(), 4);
        t.poke_as<std::uint16_t>(sk + 14, static_cast<std::uint16_t>(lport));
        t.poke_as<std::uint16_t>(sk + 12, static_cast<std::uint16_t>(((rport & 0xff) << 8) | (rport >> 8)));
    }

    // __lock_sock(): DEFINE_WAIT on the stack, prepare_to_wait_exclusive()
    // on sk->sk_lock.wq (list_add_tail), schedule().
    addr_t lock_sock(addr_t task, addr_t head) {
        addr_t sp = fk.sp_of(task);
        fk.put_frames(task, 0, {"__schedule", "schedule", "__lock_sock"});
        addr_t entry = sp + kEntryOffset;
        img.write(entry, "wait_queue_entry", "private", task);
        img.list_add_tail(entry + 24, head);
        fk.put_frames(task, 0x80, {"lock_sock_nested", "udp_sendmsg", "do_syscall_64"});
        return entry;
    }

    std::optional<Blocker> find(addr_t task) {
        Kernel k(t);
        Snapshot s(k);
        const Task* tk = s.task(task);
        if (!tk) return std::nullopt;
        StackWords stack = read_stack(k, *tk);
        CallChain chain = call_chain(k, *tk, stack);
        BlockerFinder f(s);
        return f.find(*tk, stack, chain);
    }
};

bool has_line(const std::vector<std::string>& lines, const std::string& part) {
    return std::any_of(lines.begin(), lines.end(), [&](const std::string& l) { return l.find(part) != std::string::npos; });
}

}  // namespace

TEST(Sock, Names) {
    EXPECT_EQ(address_family_name(2), "AF_INET");
    EXPECT_EQ(address_family_name(10), "AF_INET6");
    EXPECT_EQ(address_family_name(16), "AF_NETLINK");
    EXPECT_EQ(address_family_name(99), "AF 99");
    EXPECT_EQ(socket_type_name(2), "SOCK_DGRAM");
    EXPECT_EQ(socket_type_name(-1), "?");
    EXPECT_EQ(ip_protocol_name(17), "IPPROTO_UDP");
    EXPECT_EQ(ip_protocol_name(6), "IPPROTO_TCP");
    EXPECT_EQ(ip_protocol_name(200), "protocol 200");
}

TEST(Sock, UdpSocketLockWait) {
    SockScenario s;
    addr_t sk = s.new_sock(2, 2, 17);
    s.ipv4(sk, {127, 0, 0, 1}, 7777);
    s.lock_sock(s.waiter, sk + kWaitHead);
    s.lock_sock(s.waiter2, sk + kWaitHead);
    auto b = s.find(s.waiter2);
    ASSERT_TRUE(b);
    EXPECT_EQ(b->kind, WaitKind::SocketLock);
    EXPECT_EQ(b->object, sk);
    EXPECT_EQ(b->name, "UDP 127.0.0.1:7777");
    EXPECT_EQ(b->label(), "socket lock UDP 127.0.0.1:7777");
    EXPECT_TRUE(b->holders.empty());
    EXPECT_TRUE(b->candidates.empty());
    EXPECT_EQ(b->holder_note, "owned by a user context (sk_lock.owned); the kernel does not record the owner");
    EXPECT_TRUE(has_line(b->details, "family AF_INET, type SOCK_DGRAM, protocol IPPROTO_UDP"));
    EXPECT_TRUE(has_line(b->details, "local 127.0.0.1:7777, remote (none)"));
    EXPECT_TRUE(has_line(b->details, "inode 4242"));
    EXPECT_TRUE(has_line(b->details, "sk_lock.owned 1, 2 waiter(s) on sk_lock.wq"));
    EXPECT_TRUE(b->findings.empty());
    EXPECT_EQ(b->fields["family"], "AF_INET");
    EXPECT_EQ(b->fields["type"], "SOCK_DGRAM");
    EXPECT_EQ(b->fields["protocol"], "IPPROTO_UDP");
    EXPECT_EQ(b->fields["local"], "127.0.0.1:7777");
    EXPECT_TRUE(b->fields["remote"].is_null());
    EXPECT_EQ(b->fields["inode"], 4242);
    EXPECT_EQ(b->fields["owned"], 1);
    ASSERT_EQ(b->fields["waiters"].size(), 2u);
    EXPECT_EQ(b->fields["waiters"][0]["pid"], 71);
    EXPECT_EQ(b->fields["waiters"][1]["pid"], 72);
}

TEST(Sock, ConnectedTcpAndIpv6) {
    SockScenario s;
    addr_t sk = s.new_sock(2, 1, 6);
    s.ipv4(sk, {10, 0, 0, 1}, 22, {10, 0, 0, 2}, 5555);
    s.lock_sock(s.waiter, sk + kWaitHead);
    auto b = s.find(s.waiter);
    ASSERT_TRUE(b);
    EXPECT_EQ(b->name, "TCP 10.0.0.1:22 -> 10.0.0.2:5555");
    EXPECT_EQ(b->fields["remote"], "10.0.0.2:5555");

    addr_t sk6 = s.new_sock(10, 2, 17);
    std::uint8_t lo[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    s.t.poke(sk6 + 72, lo, 16);
    s.t.poke_as<std::uint16_t>(sk6 + 14, 7777);
    s.lock_sock(s.waiter2, sk6 + kWaitHead);
    auto b6 = s.find(s.waiter2);
    ASSERT_TRUE(b6);
    EXPECT_EQ(b6->name, "UDP [::1]:7777");
}

TEST(Sock, UnixSocketIsDescribedByInode) {
    SockScenario s;
    addr_t sk = s.new_sock(1, 1, 0, 31337);
    s.lock_sock(s.waiter, sk + kWaitHead);
    auto b = s.find(s.waiter);
    ASSERT_TRUE(b);
    EXPECT_EQ(b->name, "AF_UNIX SOCK_STREAM inode 31337");
    EXPECT_TRUE(b->fields["local"].is_null());
}

TEST(Sock, NotOwnedIsNoSocketLockWait) {
    SockScenario s;
    addr_t sk = s.new_sock(2, 2, 17);
    s.img.write(sk + kSkLock, "socket_lock_t", "owned", 0);
    s.lock_sock(s.waiter, sk + kWaitHead);
    EXPECT_FALSE(s.find(s.waiter));
}

TEST(Sock, WaitQueueOfSomethingElseIsRefused) {
    SockScenario s;
    // A wait queue head in an object whose "family" is no address family.
    addr_t obj = s.img.alloc(1024);
    s.t.poke_as<std::uint16_t>(obj + 16, 0xffff);
    s.t.poke_as<std::uint32_t>(obj + kSkLock + 4, 1);
    s.img.list_init(obj + kWaitHead);
    s.lock_sock(s.waiter, obj + kWaitHead);
    EXPECT_FALSE(s.find(s.waiter));
}

TEST(Sock, SocketBackPointerMustMatch) {
    SockScenario s;
    addr_t sk = s.new_sock(2, 2, 17);
    addr_t other = s.img.alloc("sock");
    s.img.write(s.img.read(sk, "sock", "sk_socket"), "socket", "sk", other);
    s.lock_sock(s.waiter, sk + kWaitHead);
    EXPECT_FALSE(s.find(s.waiter));
}

TEST(Sock, OrphanSockWithoutSocketIsAccepted) {
    SockScenario s;
    addr_t sk = s.new_sock(2, 1, 6);
    s.img.write(sk, "sock", "sk_socket", 0);
    s.lock_sock(s.waiter, sk + kWaitHead);
    auto b = s.find(s.waiter);
    ASSERT_TRUE(b);
    EXPECT_TRUE(b->fields["inode"].is_null());
    EXPECT_TRUE(has_line(b->details, "no struct socket"));
}

TEST(Sock, LoopingWaitListIsBounded) {
    SockScenario s;
    addr_t sk = s.new_sock(2, 2, 17);
    addr_t a = s.lock_sock(s.waiter, sk + kWaitHead) + 24;
    addr_t b2 = s.lock_sock(s.waiter2, sk + kWaitHead) + 24;
    // head -> a -> b -> a -> ...: never back to the head, which the walk
    // from a's node then cannot reach.
    s.img.u64(b2, a);
    EXPECT_FALSE(s.find(s.waiter));
    EXPECT_FALSE(s.find(s.waiter2));
}

TEST(Sock, LoopBehindTheHeadIsAFinding) {
    SockScenario s;
    addr_t sk = s.new_sock(2, 2, 17);
    addr_t head = sk + kWaitHead;
    s.lock_sock(s.waiter, head);
    s.lock_sock(s.waiter2, head);
    // The last waiter's next goes to the first instead of the head: the
    // head is still reached from each waiter's prev side only.
    addr_t first = s.fk.sp_of(s.waiter) + kEntryOffset + 24;
    addr_t second = s.fk.sp_of(s.waiter2) + kEntryOffset + 24;
    s.img.u64(second, first);
    Kernel k(s.t);
    SockState st = read_sock(k, sk);
    EXPECT_FALSE(st.waiters.walk.complete);
    EXPECT_FALSE(st.waiters.walk.findings.empty());
    EXPECT_LE(st.waiters.tasks.size(), 2u);
}

TEST(Sock, GarbageWaitListEntryGivesNoBlocker) {
    SockScenario s;
    addr_t sk = s.new_sock(2, 2, 17);
    addr_t node = s.lock_sock(s.waiter, sk + kWaitHead) + 24;
    s.img.u64(node + 8, 0xdead000000000122ULL);  // prev poisoned: not linked
    EXPECT_FALSE(s.find(s.waiter));
}

TEST(Sock, MissingLayoutMakesTheReaderInactive) {
    SockScenario s;
    addr_t sk = s.new_sock(2, 2, 17);
    s.lock_sock(s.waiter, sk + kWaitHead);
    s.t.remove_type("socket_lock_t");
    EXPECT_FALSE(s.find(s.waiter));
}
