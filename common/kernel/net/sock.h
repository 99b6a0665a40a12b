// struct sock (include/net/sock.h): what a socket is (family, type,
// protocol, addresses from sk->__sk_common, the inode of its struct socket)
// and its socket lock (socket_lock_t sk_lock: `owned` by a user context,
// waiters on sk_lock.wq). lock_sock() sleeps in __lock_sock() with a
// DEFINE_WAIT wait_queue_entry on its stack, queued on sk_lock.wq; the
// owner of a socket lock is never recorded.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/kernel.h"
#include "kernel/lib/list.h"
#include "kernel/waits/blocker.h"
#include "kernel/waits/stack_waiter.h"

namespace netdbg {

struct SockLayout {
    explicit SockLayout(Kernel& k);
    // sock.__sk_common.*
    MemberInfo family, rcv_saddr, num, daddr, dport;
    std::optional<MemberInfo> v6_rcv_saddr, v6_daddr;
    std::optional<MemberInfo> type, protocol;  // sock.sk_type, sk_protocol (plain members since 5.6)
    std::size_t lock_owned = 0;                // sock.sk_lock.owned
    std::size_t owned_size = 4;
    std::size_t wait_head = 0;                 // sock.sk_lock.wq.head
    std::optional<std::size_t> sk_socket;      // sock.sk_socket
    // struct socket
    std::optional<std::size_t> socket_sk, socket_type;
    std::optional<std::size_t> socket_ino;  // container_of(socket, socket_alloc, socket)->vfs_inode.i_ino, from socket
    WaiterShape waiter;                      // struct wait_queue_entry {private, entry}
};

struct SockState {
    addr_t addr = 0;
    int family = 0;
    int type = -1;      // -1: unknown
    int protocol = -1;  // -1: unknown
    std::string local, remote;  // "127.0.0.1:7777", "[::1]:22"; remote "" when unconnected
    addr_t socket = 0;          // struct socket, or 0
    std::optional<std::uint64_t> inode;
    std::uint32_t owned = 0;
    WaitList waiters;  // sk_lock.wq
    std::vector<std::string> problems;  // why it may not be a socket
};

// Reads a struct sock and its lock's wait queue (at most max waiters).
// Throws Error when the sock cannot be read.
SockState read_sock(Kernel& k, addr_t sk, std::size_t max = 100000);

// "AF_INET", "SOCK_DGRAM", "IPPROTO_UDP"; a number when unknown.
std::string address_family_name(int family);
std::string socket_type_name(int type);
std::string ip_protocol_name(int protocol);
// "UDP 127.0.0.1:7777", "TCP 10.0.0.1:22 -> 10.0.0.2:5555",
// "AF_UNIX SOCK_STREAM inode 12345".
std::string sock_description(const SockState& s);

// The reader of socket lock waits (__lock_sock()'s wait_queue_entry).
std::unique_ptr<WaitReader> socket_lock_wait_reader(const Snapshot& s);

}  // namespace netdbg
