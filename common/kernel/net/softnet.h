// Per-CPU struct softnet_data (include/linux/netdevice.h): the NAPIs on
// each CPU's poll_list in order, the backlog queue length and the counters
// /proc/net/softnet_stat prints (processed, dropped, time_squeeze).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/kernel.h"

namespace netdbg {

struct SoftnetLayout {
    explicit SoftnetLayout(Kernel& k);
    StructLayout s;
    addr_t softnet_data = 0;  // per-CPU symbol
    MemberInfo poll_list;
    std::optional<MemberInfo> processed, dropped, time_squeeze, received_rps, input_pkt_queue, process_queue,
        backlog;
    std::size_t qlen = 0;  // sk_buff_head.qlen
    Span span;
};

struct Softnet {
    int cpu = 0;
    addr_t sd = 0;
    std::optional<std::uint32_t> processed, dropped, time_squeeze, received_rps;
    std::optional<std::uint32_t> input_qlen, process_qlen;  // backlog = their sum
    addr_t backlog = 0;  // &sd->backlog, the CPU's own NAPI (process_backlog)
    std::vector<addr_t> poll_list;  // napi_struct addresses, in list order
    bool complete = false;          // the poll_list walk came back to its head
    std::vector<std::string> problems;
};

// Every CPU with a per-CPU area, in CPU order; unreadable CPUs are skipped
// with a problem line in `problems`.
std::vector<Softnet> for_each_softnet(Kernel& k, std::size_t max, std::vector<std::string>* problems);

}  // namespace netdbg
