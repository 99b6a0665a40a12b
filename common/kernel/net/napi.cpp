#include "kernel/net/napi.h"

#include <algorithm>

#include <fmt/format.h>

#include "kernel/lib/list.h"

namespace netdbg {

namespace {
// Every NAPI_STATE_* enumerator some kernel had; which exist, and their
// bits, come from the debug info.
constexpr const char* kStateNames[] = {"SCHED",          "MISSED",        "DISABLE",          "NPSVC",
                                       "HASHED",         "LISTED",        "NO_BUSY_POLL",     "IN_BUSY_POLL",
                                       "PREFER_BUSY_POLL", "THREADED",    "SCHED_THREADED",   "HAS_NOTIFIER",
                                       "THREADED_BUSY_POLL"};
}  // namespace

NapiLayout::NapiLayout(Kernel& k) : s(k.target(), "napi_struct") {
    poll_list = s.require("poll_list");
    state = s.require("state");
    dev_list = s.require("dev_list");
    weight = s.find("weight");
    poll = s.find("poll");
    poll_owner = s.find("poll_owner");
    dev = s.find("dev");
    napi_id = s.find("napi_id");
    thread = s.find("thread");
    rx_count = s.find("rx_count");
    gro_hash = s.find("gro_hash");
    if (gro_hash) {
        StructLayout gl(k.target(), "gro_list");
        gro_list_size = gl.size();
        gro_list_count = gl.offset("count");
    } else {
        gro_count = s.find("gro_count");
    }
    StructLayout nd(k.target(), "net_device");
    napi_list = nd.offset("napi_list");
    for (const MemberInfo& m : {poll_list, state, dev_list}) span.add(m);
    for (const auto& m : {weight, poll, poll_owner, dev, napi_id, thread, rx_count, gro_hash, gro_count})
        if (m) span.add(*m);
}

NapiStates::NapiStates(Kernel& k) {
    Target& t = k.target();
    if (!t.enum_value("NAPI_STATE_SCHED")) return;
    for (const char* name : kStateNames) {
        auto v = t.enum_value(std::string("NAPI_STATE_") + name);
        if (v && *v >= 0 && *v < 64) bits_.emplace_back(name, static_cast<int>(*v));
    }
    std::sort(bits_.begin(), bits_.end(), [](const auto& a, const auto& b) { return a.second < b.second; });
}

std::optional<int> NapiStates::bit(std::string_view name) const {
    for (const auto& [n, b] : bits_)
        if (n == name) return b;
    return std::nullopt;
}

bool NapiStates::test(std::uint64_t state, std::string_view name) const {
    auto b = bit(name);
    return b && (state >> *b & 1);
}

std::vector<std::string> NapiStates::decode(std::uint64_t state) const {
    std::vector<std::string> out;
    for (int b = 0; b < 64; ++b) {
        if (!(state >> b & 1)) continue;
        std::string name = fmt::format("bit{}", b);
        for (const auto& [n, nb] : bits_)
            if (nb == b) name = n;
        out.push_back(name);
    }
    return out;
}

std::optional<Napi> read_napi(Kernel& k, addr_t addr) {
    const NapiLayout& L = k.get<NapiLayout>();
    auto o = Object::read(k.mem(), addr, L.span.end, L.span.begin);
    if (!o) return std::nullopt;
    Napi n;
    n.addr = addr;
    n.state = o->uint(L.state.offset, L.state.size);
    n.poll_next = o->u64(L.poll_list.offset);
    n.unlisted = n.poll_next == addr + L.poll_list.offset || n.poll_next == 0;
    if (L.weight) n.weight = static_cast<int>(o->uint(L.weight->offset, L.weight->size));
    if (L.poll) n.poll = o->u64(L.poll->offset);
    if (L.poll_owner) n.poll_owner = static_cast<int>(o->uint(L.poll_owner->offset, L.poll_owner->size));
    if (L.dev) n.dev = o->u64(L.dev->offset);
    if (L.napi_id) n.napi_id = static_cast<unsigned>(o->uint(L.napi_id->offset, L.napi_id->size));
    if (L.thread) n.thread = o->u64(L.thread->offset);
    if (L.rx_count) n.rx_count = o->uint(L.rx_count->offset, L.rx_count->size);
    if (L.gro_hash && L.gro_list_size) {
        std::uint64_t sum = 0;
        for (std::size_t b = 0; b + L.gro_list_size <= L.gro_hash->size; b += L.gro_list_size)
            sum += o->get<std::uint32_t>(L.gro_hash->offset + b + L.gro_list_count);
        n.gro_count = sum;
    } else if (L.gro_count) {
        n.gro_count = o->uint(L.gro_count->offset, L.gro_count->size);
    }
    return n;
}

std::vector<Napi> netdev_for_each_napi(Kernel& k, addr_t dev, std::vector<std::string>* problems,
                                       std::size_t max) {
    const NapiLayout& L = k.get<NapiLayout>();
    std::vector<std::pair<std::size_t, Napi>> seen;  // (walk index, NAPI)
    std::size_t index = 0;
    ListWalk w = walk_list(k, dev + L.napi_list, max, [&](addr_t node) {
        addr_t napi = node - L.dev_list.offset;
        if (auto n = read_napi(k, napi)) {
            seen.emplace_back(index, std::move(*n));
        } else if (problems) {
            problems->push_back(fmt::format("napi_struct {:016x}: unreadable", napi));
        }
        ++index;
        return true;
    });
    // On a loop the visitor saw entries twice; keep the distinct ones.
    std::vector<Napi> out;
    for (auto& [i, n] : seen)
        if (i < w.count) out.push_back(std::move(n));
    if (problems)
        for (const auto& f : w.findings) problems->push_back("napi_list: " + f.describe());
    return out;
}

}  // namespace netdbg
