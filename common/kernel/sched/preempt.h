// A CPU's preempt count (include/linux/preempt.h): the per-CPU
// __preempt_count (6.1), or pcpu_hot.preempt_count on later kernels. On
// x86 bit 31 is PREEMPT_NEED_RESCHED, inverted (clear: a reschedule is due).
#pragma once

#include <optional>
#include <string>

#include "core/kernel.h"

namespace netdbg {

struct PreemptCount {
    std::uint32_t raw = 0;
    unsigned preempt() const { return raw & 0xff; }          // PREEMPT_MASK
    unsigned softirq() const { return (raw >> 8) & 0xff; }   // SOFTIRQ_MASK: bit 0 serving, the rest bh-off depth * 2
    unsigned hardirq() const { return (raw >> 16) & 0xf; }   // HARDIRQ_MASK
    unsigned nmi() const { return (raw >> 20) & 0xf; }       // NMI_MASK
    bool need_resched() const { return !(raw & 0x80000000u); }
    bool serving_softirq() const { return softirq() & 1; }
    unsigned bh_disabled() const { return softirq() >> 1; }

    // "NMI", "hardirq", "softirq", "preempt off (1)", "bh off", or "-".
    std::string context() const;
};

struct PreemptLayout {
    explicit PreemptLayout(Kernel& k);
    std::optional<addr_t> counter;  // per-CPU address
    std::size_t size = 4;
};

std::optional<PreemptCount> read_preempt_count(Kernel& k, int cpu);

}  // namespace netdbg
