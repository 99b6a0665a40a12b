// struct Qdisc (include/net/sch_generic.h): kind (ops->id), handle,
// parent, flags, and the counters `tc -s qdisc` prints, summed as the
// kernel's dump does: a qdisc with TCQ_F_CPUSTATS (the lockless pfifo_fast)
// keeps q.qlen at 0 and its numbers in the per-CPU cpu_qstats/cpu_bstats
// (qdisc_qlen_sum(), gnet_stats_add_queue()); the others in q.qlen,
// qstats and bstats. A packet the driver refused sits in gso_skb
// (dev_requeue_skb()), already counted in qlen. The hierarchy under a
// device's root is read as far as the per-TX-queue children of mq/mqprio.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/kernel.h"

namespace netdbg {

// include/net/sch_generic.h
constexpr std::uint32_t TCQ_F_BUILTIN = 0x1;
constexpr std::uint32_t TCQ_F_INGRESS = 0x2;
constexpr std::uint32_t TCQ_F_MQROOT = 0x8;
constexpr std::uint32_t TCQ_F_CPUSTATS = 0x20;
constexpr std::uint32_t TCQ_F_NOLOCK = 0x100;

struct QdiscLayout {
    explicit QdiscLayout(Kernel& k);
    StructLayout s;
    MemberInfo flags, ops, handle, parent, q_qlen, qstats;
    std::optional<MemberInfo> limit, dev_queue, cpu_bstats, cpu_qstats, gso_skb_qlen, bstats_bytes, bstats_packets,
        refcnt;
    std::size_t qs_qlen = 0, qs_backlog = 0, qs_drops = 0, qs_requeues = 0, qs_overlimits = 0;  // gnet_stats_queue
    std::size_t qstats_size = 0;
    std::size_t cpu_bytes = 0, cpu_packets = 0, cpu_bytes_size = 8, cpu_packets_size = 8;  // gnet_stats_basic_*
    std::size_t ops_id = 0, ops_id_size = 16;
    Span span;
};

struct QdiscStats {
    std::uint64_t qlen = 0, backlog = 0, drops = 0, requeues = 0, overlimits = 0;
    std::uint64_t bytes = 0, packets = 0;
    QdiscStats& operator+=(const QdiscStats& o);
};

struct Qdisc {
    addr_t addr = 0;
    std::string kind;  // ops->id: "pfifo_fast", "mq", "noqueue", "noop"
    addr_t ops = 0;
    std::uint32_t flags = 0, handle = 0, parent = 0;
    std::optional<std::uint32_t> limit;
    addr_t dev_queue = 0;
    std::uint32_t gso_skb = 0;  // packets requeued in gso_skb (counted in qlen)
    bool per_cpu_stats = false;
    QdiscStats stats;  // as tc -s sums them
};

// The qdisc at addr, or nullopt with `why` set: unreadable, ops unreadable,
// an ops->id that is no qdisc name (freed memory, slab poison).
std::optional<Qdisc> read_qdisc(Kernel& k, addr_t addr, std::string* why = nullptr);

// "8001:", "ffff:", "0:" as tc prints a handle; parent "root", "8001:1".
std::string tc_handle(std::uint32_t h);
std::string tc_parent(std::uint32_t parent);

}  // namespace netdbg
