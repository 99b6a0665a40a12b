#include "kernel/net/softnet.h"

#include <fmt/format.h>

#include "kernel/lib/list.h"
#include "kernel/net/napi.h"

namespace netdbg {

SoftnetLayout::SoftnetLayout(Kernel& k) : s(k.target(), "softnet_data") {
    softnet_data = k.symbol("softnet_data");
    poll_list = s.require("poll_list");
    processed = s.find("processed");
    dropped = s.find("dropped");
    time_squeeze = s.find("time_squeeze");
    received_rps = s.find("received_rps");
    input_pkt_queue = s.find("input_pkt_queue");
    process_queue = s.find("process_queue");
    backlog = s.find("backlog");
    if (input_pkt_queue || process_queue) qlen = StructLayout(k.target(), "sk_buff_head").offset("qlen");
    span.add(poll_list);
    for (const auto& m : {processed, dropped, time_squeeze, received_rps})
        if (m) span.add(*m);
    for (const auto& q : {input_pkt_queue, process_queue})
        if (q) span.add(q->offset + qlen, 4);
}

std::vector<Softnet> for_each_softnet(Kernel& k, std::size_t max, std::vector<std::string>* problems) {
    const SoftnetLayout& L = k.get<SoftnetLayout>();
    const NapiLayout& NL = k.get<NapiLayout>();
    std::vector<Softnet> out;
    int n = k.target().cpu_count();
    for (int cpu = 0; cpu < n; ++cpu) {
        k.check_interrupt();
        auto off = k.target().per_cpu_offset(cpu);
        if (!off) continue;
        Softnet sn;
        sn.cpu = cpu;
        sn.sd = L.softnet_data + *off;
        auto o = Object::read(k.mem(), sn.sd, L.span.end, L.span.begin);
        if (!o) {
            if (problems) problems->push_back(fmt::format("CPU {}: softnet_data {:016x} unreadable", cpu, sn.sd));
            continue;
        }
        auto u32 = [&](const std::optional<MemberInfo>& m) -> std::optional<std::uint32_t> {
            if (!m) return std::nullopt;
            return static_cast<std::uint32_t>(o->uint(m->offset, m->size));
        };
        sn.processed = u32(L.processed);
        sn.dropped = u32(L.dropped);
        sn.time_squeeze = u32(L.time_squeeze);
        sn.received_rps = u32(L.received_rps);
        if (L.input_pkt_queue) sn.input_qlen = o->get<std::uint32_t>(L.input_pkt_queue->offset + L.qlen);
        if (L.process_queue) sn.process_qlen = o->get<std::uint32_t>(L.process_queue->offset + L.qlen);
        if (L.backlog) sn.backlog = sn.sd + L.backlog->offset;
        ListWalk w = walk_list(k, sn.sd + L.poll_list.offset, max, [&](addr_t node) {
            sn.poll_list.push_back(node - NL.poll_list.offset);
            return true;
        });
        if (sn.poll_list.size() > w.count) sn.poll_list.resize(w.count);
        sn.complete = w.complete;
        for (const auto& f : w.findings) sn.problems.push_back("poll_list: " + f.describe());
        out.push_back(std::move(sn));
    }
    return out;
}

}  // namespace netdbg
