// struct napi_struct (include/linux/netdevice.h): the NAPI instances of a
// net device (dev->napi_list, as the kernel's list_for_each_entry over
// napi_list does), read fault-tolerantly, with the NAPI_STATE_* bits taken
// from the kernel's own enum: the bits moved (MISSED came before DISABLE in
// 4.11, LISTED replaced HASHED in 5.11, THREADED came in 5.12).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/kernel.h"

namespace netdbg {

struct NapiLayout {
    explicit NapiLayout(Kernel& k);
    StructLayout s;
    MemberInfo poll_list, state, dev_list;
    std::optional<MemberInfo> weight, poll, poll_owner, dev, napi_id, thread, rx_count;
    // GRO: gro_hash[] of struct gro_list {list, count} (4.19+), or gro_count.
    std::optional<MemberInfo> gro_hash, gro_count;
    std::size_t gro_list_size = 0, gro_list_count = 0;
    std::size_t napi_list = 0;  // net_device.napi_list
    Span span;
};

// The NAPI_STATE_* enumerators this kernel has, by bit number.
class NapiStates {
public:
    explicit NapiStates(Kernel& k);
    // False when the debug info has no NAPI_STATE_SCHED: nothing decodes.
    bool known() const { return !bits_.empty(); }
    std::optional<int> bit(std::string_view name) const;  // "SCHED"
    bool test(std::uint64_t state, std::string_view name) const;
    // Names of the set bits, in bit order; unknown bits as "bit12".
    std::vector<std::string> decode(std::uint64_t state) const;
    const std::vector<std::pair<std::string, int>>& bits() const { return bits_; }

private:
    std::vector<std::pair<std::string, int>> bits_;  // ("SCHED", 0), ...
};

struct Napi {
    addr_t addr = 0;
    addr_t dev = 0;
    std::uint64_t state = 0;
    std::optional<int> weight;
    addr_t poll = 0;
    std::optional<int> poll_owner;  // -1: not held; absent without CONFIG_NETPOLL
    std::optional<unsigned> napi_id;
    addr_t thread = 0;
    std::optional<std::uint64_t> gro_count, rx_count;
    // napi->poll_list links to itself when the NAPI is on no poll list
    // (list_del_init() in napi_poll(), INIT_LIST_HEAD() at creation).
    bool unlisted = false;
    addr_t poll_next = 0;
};

std::optional<Napi> read_napi(Kernel& k, addr_t napi);

// dev->napi_list in list order (netif_napi_add() adds at the head, so the
// last NAPI added comes first). Problems are appended as text lines.
std::vector<Napi> netdev_for_each_napi(Kernel& k, addr_t dev, std::vector<std::string>* problems,
                                       std::size_t max);

}  // namespace netdbg
