#include "kernel/sched/preempt.h"

#include <fmt/format.h>

namespace netdbg {

std::string PreemptCount::context() const {
    std::string out;
    auto add = [&](const std::string& s) { out += (out.empty() ? "" : ", ") + s; };
    if (nmi()) add("NMI");
    if (hardirq()) add(hardirq() > 1 ? fmt::format("hardirq ({})", hardirq()) : std::string("hardirq"));
    if (serving_softirq()) add("softirq");
    if (bh_disabled()) add("bh off");
    if (preempt()) add(fmt::format("preempt off ({})", preempt()));
    return out.empty() ? "-" : out;
}

PreemptLayout::PreemptLayout(Kernel& k) {
    if (auto sym = k.try_symbol("__preempt_count")) {
        counter = *sym;
    } else if (auto hot = k.try_symbol("pcpu_hot")) {
        if (auto m = k.target().member("pcpu_hot", "preempt_count")) {
            counter = *hot + m->offset;
            size = m->size;
        }
    }
}

std::optional<PreemptCount> read_preempt_count(Kernel& k, int cpu) {
    const PreemptLayout& L = k.get<PreemptLayout>();
    auto off = k.target().per_cpu_offset(cpu);
    if (!L.counter || !off) return std::nullopt;
    auto v = k.mem().read_u32(*L.counter + *off);
    if (!v) return std::nullopt;
    return PreemptCount{*v};
}

}  // namespace netdbg
