#include "kernel/watchdog/watchdog.h"

#include <fmt/format.h>

namespace netdbg {

namespace {

// An integer variable read with the size its debug info gives (int,
// unsigned long), sign-extended from int.
std::optional<std::int64_t> read_int(Kernel& k, const char* name, addr_t offset = 0) {
    auto sym = k.try_symbol(name);
    if (!sym) return std::nullopt;
    auto type = k.target().symbol_type(name);
    bool wide = type && type->find("long") != std::string::npos;
    if (wide) {
        auto v = k.mem().read_u64(*sym + offset);
        if (!v) return std::nullopt;
        return static_cast<std::int64_t>(*v);
    }
    auto v = k.mem().read_u32(*sym + offset);
    if (!v) return std::nullopt;
    return static_cast<std::int32_t>(*v);
}

std::optional<std::uint64_t> read_percpu_ulong(Kernel& k, const char* name, addr_t offset) {
    auto sym = k.try_symbol(name);
    if (!sym) return std::nullopt;
    return k.mem().read_u64(*sym + offset);
}

}  // namespace

WatchdogSettings read_watchdog_settings(Kernel& k) {
    WatchdogSettings w;
    auto as_int = [](std::optional<std::int64_t> v) -> std::optional<int> {
        if (!v) return std::nullopt;
        return static_cast<int>(*v);
    };
    w.thresh = as_int(read_int(k, "watchdog_thresh"));
    if (auto v = read_int(k, "watchdog_enabled")) w.enabled = static_cast<std::uint64_t>(*v);
    w.softlockup_panic = as_int(read_int(k, "softlockup_panic"));
    w.hardlockup_panic = as_int(read_int(k, "hardlockup_panic"));
    if (auto v = read_int(k, "sysctl_hung_task_timeout_secs")) w.hung_task_timeout_secs = static_cast<std::uint64_t>(*v);
    w.hung_task_panic = as_int(read_int(k, "sysctl_hung_task_panic"));
    w.hung_task_warnings = as_int(read_int(k, "sysctl_hung_task_warnings"));
    return w;
}

CpuWatchdog read_cpu_watchdog(Kernel& k, int cpu) {
    CpuWatchdog c;
    c.cpu = cpu;
    auto off = k.target().per_cpu_offset(cpu);
    if (!off) return c;
    c.touch_ts = read_percpu_ulong(k, "watchdog_touch_ts", *off);
    c.report_ts = read_percpu_ulong(k, "watchdog_report_ts", *off);
    c.hrtimer_interrupts = read_percpu_ulong(k, "hrtimer_interrupts", *off);
    c.hrtimer_interrupts_saved = read_percpu_ulong(k, "hrtimer_interrupts_saved", *off);
    c.readable = c.touch_ts || c.report_ts || c.hrtimer_interrupts;
    return c;
}

SoftLockup soft_lockup(const WatchdogSettings& w, const CpuWatchdog& c, std::uint64_t now_ns) {
    SoftLockup s;
    auto thresh = w.softlockup_thresh();
    bool off = (w.enabled && !(*w.enabled & SOFT_WATCHDOG_ENABLED)) || (thresh && *thresh <= 0);
    if (off) {
        s.text = "off";
        return s;
    }
    if (!thresh || !c.touch_ts) {
        s.text = "?";
        return s;
    }
    s.thresh_s = *thresh;
    std::uint64_t now = now_ns >> 30;  // get_timestamp()
    s.age_s = now > *c.touch_ts ? now - *c.touch_ts : 0;
    s.touched = c.report_ts && *c.report_ts == SOFTLOCKUP_DELAY_REPORT;
    // is_softlockup() warns once now passes the last report by the
    // threshold; the duration it prints is now - touch_ts.
    s.stuck = !s.touched && *s.age_s > static_cast<std::uint64_t>(*thresh);
    if (s.stuck) s.text = fmt::format("stuck {}s > {}s", *s.age_s, *thresh);
    else if (s.touched) s.text = "touched";
    else s.text = "ok";
    return s;
}

}  // namespace netdbg
