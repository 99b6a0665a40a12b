#include "kernel/net/netdev_queue.h"

#include <fmt/format.h>

namespace netdbg {

NetdevQueueLayout::NetdevQueueLayout(Kernel& k) : s(k.target(), "netdev_queue") {
    Target& t = k.target();
    size = s.size();
    state = s.require("state");
    qdisc = s.require("qdisc");
    qdisc_sleeping = s.require("qdisc_sleeping");
    dev = s.find("dev");
    trans_start = s.find("trans_start");
    trans_timeout = s.find("trans_timeout");
    xmit_lock_owner = s.find("xmit_lock_owner");
    if (auto dql = s.find("dql")) {
        auto nq = t.member("dql", "num_queued");
        auto nc = t.member("dql", "num_completed");
        auto lim = t.member("dql", "limit");
        if (nq && nc && lim) {
            dql_num_queued = dql->offset + nq->offset;
            dql_num_completed = dql->offset + nc->offset;
            dql_limit = dql->offset + lim->offset;
        }
    }
    StructLayout nd(t, "net_device");
    tx = nd.require("_tx");
    num_tx_queues = nd.require("num_tx_queues");
    real_num_tx_queues = nd.require("real_num_tx_queues");
    num_rx_queues = nd.find("num_rx_queues");
    real_num_rx_queues = nd.find("real_num_rx_queues");
    span.add(state);
    span.add(qdisc);
    span.add(qdisc_sleeping);
    for (const auto& m : {dev, trans_start, trans_timeout}) 
        if (m) span.add(*m);
    for (const auto& o : {dql_num_queued, dql_num_completed, dql_limit})
        if (o) span.add(*o, 4);
}

QueueStates::QueueStates(Kernel& k) {
    for (const char* n : {"DRV_XOFF", "STACK_XOFF", "FROZEN"})
        if (auto v = k.target().enum_value(std::string("__QUEUE_STATE_") + n); v && *v >= 0 && *v < 64)
            bits_.emplace_back(n, static_cast<int>(*v));
}

std::optional<int> QueueStates::bit(std::string_view name) const {
    for (const auto& [n, b] : bits_)
        if (n == name) return b;
    return std::nullopt;
}

bool QueueStates::test(std::uint64_t state, std::string_view name) const {
    auto b = bit(name);
    return b && (state >> *b) & 1;
}

std::vector<std::string> QueueStates::decode(std::uint64_t state) const {
    std::vector<std::string> out;
    std::uint64_t known = 0;
    for (const auto& [n, b] : bits_) {
        known |= std::uint64_t{1} << b;
        if ((state >> b) & 1) out.push_back(n);
    }
    for (int b = 0; b < 64; ++b)
        if ((state & ~known) >> b & 1) out.push_back(fmt::format("bit{}", b));
    return out;
}

namespace {

// netif_alloc_netdev_queues(): 1 .. 0xffff queues.
constexpr unsigned kMaxQueues = 0xffff;

std::optional<unsigned> read_count(Kernel& k, addr_t at, std::size_t size) {
    if (size == 2) {
        auto v = k.mem().read_as<std::uint16_t>(at);
        return v ? std::optional<unsigned>(*v) : std::nullopt;
    }
    auto v = k.mem().read_u32(at);
    return v ? std::optional<unsigned>(*v) : std::nullopt;
}

}  // namespace

TxQueues netdev_tx_queues(Kernel& k, addr_t dev, std::size_t max) {
    const NetdevQueueLayout& L = k.get<NetdevQueueLayout>();
    TxQueues out;
    auto num = read_count(k, dev + L.num_tx_queues.offset, L.num_tx_queues.size);
    auto real = read_count(k, dev + L.real_num_tx_queues.offset, L.real_num_tx_queues.size);
    auto array = k.mem().read_u64(dev + L.tx.offset);
    if (!num || !real || !array) {
        out.findings.push_back(fmt::format("net_device {:016x}: TX queue fields unreadable", dev));
        return out;
    }
    out.num = *num;
    out.real_num = *real;
    out.array = *array;
    if (L.num_rx_queues)
        out.rx_num = read_count(k, dev + L.num_rx_queues->offset, L.num_rx_queues->size);
    if (L.real_num_rx_queues)
        out.rx_real_num = read_count(k, dev + L.real_num_rx_queues->offset, L.real_num_rx_queues->size);
    if (out.num == 0 || out.num > kMaxQueues) {
        out.findings.push_back(fmt::format("num_tx_queues is {} (the kernel allows 1 to {}): TX queues not read",
                                           out.num, kMaxQueues));
        return out;
    }
    if (out.real_num > out.num)
        out.findings.push_back(
            fmt::format("real_num_tx_queues {} is above num_tx_queues {}", out.real_num, out.num));
    if (!out.array) {
        out.findings.push_back("_tx is NULL");
        return out;
    }
    std::size_t n = std::min<std::size_t>(out.num, max);
    if (n < out.num) out.findings.push_back(fmt::format("only the first {} of {} TX queues read", n, out.num));
    for (std::size_t i = 0; i < n; ++i) {
        k.check_interrupt();
        addr_t a = out.array + i * L.size;
        auto o = Object::read(k.mem(), a, L.span.end, L.span.begin);
        if (!o) {
            out.findings.push_back(fmt::format("TX queue {} at {:016x} unreadable: the rest not read", i, a));
            break;
        }
        TxQueue q;
        q.index = static_cast<unsigned>(i);
        q.addr = a;
        q.state = o->uint(L.state.offset, L.state.size);
        q.qdisc = o->u64(L.qdisc.offset);
        q.qdisc_sleeping = o->u64(L.qdisc_sleeping.offset);
        if (L.dev) q.dev = o->u64(L.dev->offset);
        if (L.trans_start) q.trans_start = o->uint(L.trans_start->offset, L.trans_start->size);
        if (L.trans_timeout)
            q.trans_timeout = static_cast<std::int64_t>(o->uint(L.trans_timeout->offset, L.trans_timeout->size));
        if (L.dql_limit) {
            q.dql_limit = o->get<std::uint32_t>(*L.dql_limit);
            q.dql_inflight = o->get<std::uint32_t>(*L.dql_num_queued) - o->get<std::uint32_t>(*L.dql_num_completed);
        }
        if (L.dev && q.dev != dev) {
            out.findings.push_back(fmt::format("TX queue {} at {:016x}: dev {:016x} is not its device: the rest not read",
                                               i, a, q.dev));
            break;
        }
        out.queues.push_back(q);
    }
    return out;
}

}  // namespace netdbg
