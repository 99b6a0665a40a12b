#include "kernel/net/qdisc.h"

#include <algorithm>
#include <cstring>

#include <fmt/format.h>

#include "kernel/time/timer.h"

namespace netdbg {

QdiscStats& QdiscStats::operator+=(const QdiscStats& o) {
    qlen += o.qlen;
    backlog += o.backlog;
    drops += o.drops;
    requeues += o.requeues;
    overlimits += o.overlimits;
    bytes += o.bytes;
    packets += o.packets;
    return *this;
}

QdiscLayout::QdiscLayout(Kernel& k) : s(k.target(), "Qdisc") {
    Target& t = k.target();
    flags = s.require("flags");
    ops = s.require("ops");
    handle = s.require("handle");
    parent = s.require("parent");
    limit = s.find("limit");
    dev_queue = s.find("dev_queue");
    cpu_bstats = s.find("cpu_bstats");
    cpu_qstats = s.find("cpu_qstats");
    refcnt = s.find("refcnt");
    MemberInfo q = s.require("q");
    StructLayout qh(t, "qdisc_skb_head");
    MemberInfo qlen = qh.require("qlen");
    q_qlen = {q.offset + qlen.offset, qlen.size};
    if (auto g = s.find("gso_skb")) {
        StructLayout sh(t, "sk_buff_head");
        MemberInfo l = sh.require("qlen");
        gso_skb_qlen = MemberInfo{g->offset + l.offset, l.size};
    }
    qstats = s.require("qstats");
    StructLayout gq(t, "gnet_stats_queue");
    qstats_size = gq.size();
    qs_qlen = gq.offset("qlen");
    qs_backlog = gq.offset("backlog");
    qs_drops = gq.offset("drops");
    qs_requeues = gq.offset("requeues");
    qs_overlimits = gq.offset("overlimits");
    // gnet_stats_basic_sync (u64_stats_t bytes, packets; 5.18+) or
    // gnet_stats_basic_packed (u64 bytes; u32 packets).
    MemberInfo bstats = s.require("bstats");
    std::string btype = t.member("gnet_stats_basic_sync", "bytes") ? "gnet_stats_basic_sync" : "gnet_stats_basic_packed";
    StructLayout gb(t, btype);
    MemberInfo by = gb.require("bytes"), pk = gb.require("packets");
    cpu_bytes = by.offset;
    cpu_bytes_size = by.size;
    cpu_packets = pk.offset;
    cpu_packets_size = pk.size;
    bstats_bytes = MemberInfo{bstats.offset + by.offset, by.size};
    bstats_packets = MemberInfo{bstats.offset + pk.offset, pk.size};
    MemberInfo id = StructLayout(t, "Qdisc_ops").require("id");
    ops_id = id.offset;
    ops_id_size = id.size;
    for (const MemberInfo& m : {flags, ops, handle, parent, q_qlen, qstats}) span.add(m);
    for (const auto& m : {limit, dev_queue, cpu_bstats, cpu_qstats, gso_skb_qlen, bstats_bytes, bstats_packets})
        if (m) span.add(*m);
}

namespace {

bool qdisc_name(const std::string& s) {
    return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-' || (c >= 'A' && c <= 'Z');
    });
}

QdiscStats read_gnet_queue(const QdiscLayout& L, const std::uint8_t* p) {
    auto u32 = [&](std::size_t off) {
        std::uint32_t v;
        std::memcpy(&v, p + off, 4);
        return v;
    };
    QdiscStats s;
    s.qlen = u32(L.qs_qlen);
    s.backlog = u32(L.qs_backlog);
    s.drops = u32(L.qs_drops);
    s.requeues = u32(L.qs_requeues);
    s.overlimits = u32(L.qs_overlimits);
    return s;
}

std::uint64_t uint_at(const std::uint8_t* p, std::size_t size) {
    std::uint64_t v = 0;
    std::memcpy(&v, p, std::min<std::size_t>(size, 8));
    if (size == 4) v &= 0xffffffffULL;
    return v;
}

// gnet_stats_add_queue_cpu() and gnet_stats_add_basic(): the per-CPU sums.
bool add_per_cpu(Kernel& k, const QdiscLayout& L, addr_t cpu_qstats, addr_t cpu_bstats, QdiscStats& s) {
    int n = k.target().cpu_count();
    std::size_t bsize = std::max(L.cpu_bytes + L.cpu_bytes_size, L.cpu_packets + L.cpu_packets_size);
    std::vector<std::uint8_t> buf(std::max(L.qstats_size, bsize));
    for (int cpu = 0; cpu < n; ++cpu) {
        auto off = k.target().per_cpu_offset(cpu);
        if (!off) continue;
        if (cpu_qstats) {
            if (!k.mem().read(cpu_qstats + *off, buf.data(), L.qstats_size)) return false;
            QdiscStats c = read_gnet_queue(L, buf.data());
            s.qlen += c.qlen;
            s.backlog += c.backlog;
            s.drops += c.drops;
            s.requeues += c.requeues;
            s.overlimits += c.overlimits;
        }
        if (cpu_bstats) {
            if (!k.mem().read(cpu_bstats + *off, buf.data(), bsize)) return false;
            s.bytes += uint_at(buf.data() + L.cpu_bytes, L.cpu_bytes_size);
            s.packets += uint_at(buf.data() + L.cpu_packets, L.cpu_packets_size);
        }
    }
    return true;
}

}  // namespace

std::optional<Qdisc> read_qdisc(Kernel& k, addr_t addr, std::string* why) {
    const QdiscLayout& L = k.get<QdiscLayout>();
    auto fail = [&](std::string w) -> std::optional<Qdisc> {
        if (why) *why = std::move(w);
        return std::nullopt;
    };
    if (!addr) return fail("NULL");
    auto o = Object::read(k.mem(), addr, L.span.end, L.span.begin);
    if (!o) return fail("unreadable");
    Qdisc q;
    q.addr = addr;
    q.ops = o->u64(L.ops.offset);
    if (is_poison_word(q.ops)) return fail(fmt::format("ops holds slab poison {:016x} (freed)", q.ops));
    auto id = k.mem().read_cstring(q.ops + L.ops_id, L.ops_id_size);
    if (!id) return fail(fmt::format("ops {:016x} unreadable", q.ops));
    if (!qdisc_name(*id) || id->size() >= L.ops_id_size) return fail(fmt::format("ops {:016x} has no qdisc name", q.ops));
    q.kind = *id;
    q.flags = static_cast<std::uint32_t>(o->uint(L.flags.offset, L.flags.size));
    q.handle = static_cast<std::uint32_t>(o->uint(L.handle.offset, L.handle.size));
    q.parent = static_cast<std::uint32_t>(o->uint(L.parent.offset, L.parent.size));
    if (L.limit) q.limit = static_cast<std::uint32_t>(o->uint(L.limit->offset, L.limit->size));
    if (L.dev_queue) q.dev_queue = o->u64(L.dev_queue->offset);
    if (L.gso_skb_qlen) q.gso_skb = static_cast<std::uint32_t>(o->uint(L.gso_skb_qlen->offset, L.gso_skb_qlen->size));
    // qdisc_qlen_sum(): qstats.qlen plus the per-CPU qlens or q.qlen.
    // tc_fill_qdisc(): with per-CPU stats the counters are the per-CPU
    // sums alone (gnet_stats_add_queue() skips qstats), the qlen is
    // qdisc_qlen_sum().
    q.stats = read_gnet_queue(L, o->data(L.qstats.offset, L.qstats_size));
    q.per_cpu_stats = (q.flags & TCQ_F_CPUSTATS) != 0;
    addr_t cq = L.cpu_qstats ? o->u64(L.cpu_qstats->offset) : 0;
    addr_t cb = L.cpu_bstats ? o->u64(L.cpu_bstats->offset) : 0;
    if (q.per_cpu_stats && (cq || cb)) {
        if (cq) q.stats = QdiscStats{q.stats.qlen, 0, 0, 0, 0, 0, 0};
        if (!add_per_cpu(k, L, cq, cb, q.stats)) return fail("per-CPU stats unreadable");
    } else {
        q.stats.qlen += o->uint(L.q_qlen.offset, L.q_qlen.size);
    }
    if (!q.per_cpu_stats || !cb) {
        if (L.bstats_bytes) q.stats.bytes = o->uint(L.bstats_bytes->offset, L.bstats_bytes->size);
        if (L.bstats_packets) q.stats.packets = o->uint(L.bstats_packets->offset, L.bstats_packets->size);
    }
    return q;
}

std::string tc_handle(std::uint32_t h) {
    return fmt::format("{:x}:", h >> 16);
}

std::string tc_parent(std::uint32_t parent) {
    if (parent == 0xffffffffU) return "root";
    if (parent == 0xfffffff1U) return "ingress";
    // tc's print_tc_classid(): "8001:", ":1" for major 0, "8001:1"
    if ((parent >> 16) == 0) return fmt::format(":{:x}", parent & 0xffff);
    if ((parent & 0xffff) == 0) return fmt::format("{:x}:", parent >> 16);
    return fmt::format("{:x}:{:x}", parent >> 16, parent & 0xffff);
}

}  // namespace netdbg
