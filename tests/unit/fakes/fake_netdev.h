// The data path of the synthetic network (on top of fake_net.h): the
// net_device members netdev reads (link state, MTU, queues, refcount,
// stats, reg_state), struct netdev_queue with its dql, struct Qdisc with
// per-CPU stats, Qdisc_ops, the __QUEUE_STATE_*, __LINK_STATE_* and
// NETREG_* enums (6.1 x86_64 member names; offsets of this image).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "fake_net.h"

namespace netdbg::test {

namespace netdev_off {
constexpr std::size_t kTxqSize = 0x140;  // sizeof(struct netdev_queue)
constexpr std::size_t kTodoList = 0x168;  // net_device.todo_list
constexpr addr_t kPcpuArea = 0x2f000ULL;  // per-CPU allocations of the fakes (refcounts, qdisc stats)
}  // namespace netdev_off

// After add_net_layout(): the members and types netdev reads, and the enums.
void add_netdev_layout(FakeTarget& t);

// Maps kPcpuArea on every CPU of the fake kernel.
void map_pcpu_area(FakeKernel& fk);

// dev->_tx of n queues (dev back-pointers set, state 0), the counts, the
// link fields of a running device with carrier, and per-CPU refcounts
// refs[cpu] (from the per-CPU area at slot `pcpu`).
void setup_netdev(FakeKernel& fk, addr_t dev, unsigned ntx, std::vector<std::int32_t> refs, addr_t pcpu,
                  int watchdog_timeo, addr_t ops_with_timeout);

addr_t txq(FakeKernel& fk, addr_t dev, unsigned i);

// A Qdisc of kind `id` (its Qdisc_ops allocated with the name), flags;
// per-CPU stats at `pcpu` when flags has TCQ_F_CPUSTATS (qlen per CPU).
addr_t add_qdisc(FakeKernel& fk, const std::string& id, std::uint32_t flags, std::uint32_t handle,
                 std::uint32_t parent, std::vector<std::uint32_t> qlen, addr_t pcpu = 0);

}  // namespace netdbg::test
