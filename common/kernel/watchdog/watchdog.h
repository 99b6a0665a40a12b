// The lockup detectors as the dump has them (kernel/watchdog.c): each CPU's
// soft-lockup timestamps and hrtimer interrupt counts, the thresholds, and
// the hung-task detector's settings (kernel/hung_task.c). Every value is
// optional: a kernel built without a detector has no symbols for it.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/kernel.h"

namespace netdbg {

// kernel/watchdog.c: watchdog_enabled bits.
constexpr std::uint64_t NMI_WATCHDOG_ENABLED = 1;
constexpr std::uint64_t SOFT_WATCHDOG_ENABLED = 2;
// kernel/watchdog.c: a touched watchdog's report timestamp.
constexpr std::uint64_t SOFTLOCKUP_DELAY_REPORT = ~std::uint64_t{0};

struct WatchdogSettings {
    std::optional<int> thresh;                // watchdog_thresh, seconds
    std::optional<std::uint64_t> enabled;     // watchdog_enabled
    std::optional<int> softlockup_panic;
    std::optional<int> hardlockup_panic;
    std::optional<std::uint64_t> hung_task_timeout_secs;
    std::optional<int> hung_task_panic;
    std::optional<int> hung_task_warnings;
    // Unknown (no watchdog_enabled) counts as on when watchdog_thresh exists.
    bool soft_enabled() const { return enabled ? (*enabled & SOFT_WATCHDOG_ENABLED) != 0 : thresh.has_value(); }
    bool nmi_enabled() const { return enabled && (*enabled & NMI_WATCHDOG_ENABLED); }
    // get_softlockup_thresh(): watchdog_thresh * 2, seconds.
    std::optional<int> softlockup_thresh() const {
        if (!thresh) return std::nullopt;
        return *thresh * 2;
    }
};

WatchdogSettings read_watchdog_settings(Kernel& k);

struct CpuWatchdog {
    int cpu = 0;
    // get_timestamp(): running_clock() >> 30, about seconds.
    std::optional<std::uint64_t> touch_ts, report_ts;
    std::optional<std::uint64_t> hrtimer_interrupts, hrtimer_interrupts_saved;
    bool readable = false;  // at least one counter could be read
};

CpuWatchdog read_cpu_watchdog(Kernel& k, int cpu);

// The soft-lockup watchdog's view of a CPU at `now_ns` (the dump's clock):
// is_softlockup() with the kernel's own arithmetic.
struct SoftLockup {
    std::optional<std::uint64_t> age_s;  // now - touch_ts, in the kernel's ~1 s units
    int thresh_s = 0;
    bool stuck = false;
    bool touched = false;  // report_ts reset by touch_softlockup_watchdog()
    std::string text;      // "ok", "stuck 24s > 20s", "touched", "off", "?"
};

SoftLockup soft_lockup(const WatchdogSettings& w, const CpuWatchdog& c, std::uint64_t now_ns);

}  // namespace netdbg
