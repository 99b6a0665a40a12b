// aclist: the IPv6 anycast (or, with --mc, multicast) addresses of every
// device's inet6_dev, with the integrity of each list and the rtnl context.
#include <limits>

#include <fmt/format.h>

#include "commands/commands.h"
#include "kernel/net/ipv6.h"
#include "kernel/lib/list_check.h"
#include "commands/lock_report.h"
#include "kernel/net/netdevice.h"
#include "core/options.h"
#include "core/table.h"
#include "kernel/time/timer.h"

namespace netdbg {

namespace {

// jiffies and HZ at the dump, for ages.
struct Clock {
    std::optional<std::uint64_t> jiffies;
    std::uint64_t hz = 0;  // 0: unknown
    explicit Clock(Kernel& k) : jiffies(read_jiffies(k)), hz(kernel_hz(k).value_or(0)) {}
    // Milliseconds from stamp to the dump, if both are known.
    std::optional<std::int64_t> ago_ms(const std::optional<std::uint64_t>& stamp) const {
        if (!stamp || !jiffies || hz == 0) return std::nullopt;
        auto d = static_cast<std::int64_t>(*jiffies - *stamp);
        // A stamp that far from jiffies is garbage, not a time of this boot.
        constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max() / 1000;
        if (d > kMax || d < -kMax) return std::nullopt;
        return d * 1000 / static_cast<std::int64_t>(hz);
    }
};

std::string age_text(const std::optional<std::int64_t>& ms) {
    if (!ms) return "-";
    return fmt::format("{}{}.{:03}s", *ms < 0 ? "-" : "", std::llabs(*ms) / 1000, std::llabs(*ms) % 1000);
}

// "rtnl_mutex held by kworker/1:2 (pid 62, running nd_ac_loop_work_fn
// [nd_ac_loop]); 0 waiters": the lists are changed under rtnl.
struct RtnlContext {
    std::string line;
    json j = nullptr;
};

RtnlContext rtnl_context(Kernel& k) {
    RtnlContext c;
    auto rtnl = k.try_symbol("rtnl_mutex");
    if (!rtnl) {
        c.line = "rtnl_mutex: no such symbol";
        return c;
    }
    try {
        Snapshot s(k, TaskScope::Referenced);
        LockReport r = build_lock_report(s, *rtnl, WaitKind::Mutex, false);
        c.line = lock_verdict(s, r);
        addr_t owner = r.lock.first_holder();
        c.j = {{"verdict", c.line},
               {"held", owner != 0},
               {"owner_task", owner ? json(hex(owner)) : json(nullptr)},
               {"owner_pid", r.owner ? json(r.owner->pid) : json(nullptr)},
               {"owner_comm", r.owner ? json(r.owner->comm) : json(nullptr)},
               {"waiters", r.waiters.size()}};
    } catch (const Interrupted&) {
        throw;
    } catch (const Error& e) {
        c.line = std::string("rtnl_mutex: ") + e.what();
    }
    return c;
}

struct DeviceList {
    NetDevice dev;
    In6List list;
    std::vector<ListFinding> findings;  // the list's, plus inet6_dev.dev
};

std::string loop_text(const ListFinding& f) {
    if (f.cycle_entry_index == kHeadIndex)
        return fmt::format("loop: entry {} points back to the head after {} entries", f.index, f.index + 1);
    return fmt::format("loop: entry {} -> entry {} after {} entries, cycle of {}", f.index, f.cycle_entry_index,
                       f.index + 1, f.cycle_length);
}

std::string short_text(const ListFinding& f) {
    if (f.fault == ListFault::Loop) return loop_text(f);
    if (f.fault == ListFault::WrongBackptr) return fmt::format("wrong back-pointer {} (entry {})", f.what, f.index);
    return fmt::format("{} (entry {})", list_fault_name(f.fault), f.index);
}

std::string device_verdict(const DeviceList& d) {
    if (d.findings.empty()) return "ok";
    std::string s;
    for (const ListFinding& f : d.findings) s += (s.empty() ? "" : "; ") + short_text(f);
    return s;
}

int run(Kernel& k, const std::vector<std::string>& args, Output& out) {
    Options o("aclist");
    o.add()("mc", "multicast list (mc_list) instead")("all-netns", "every network namespace")("json", "JSON output");
    o.parse(args);
    if (o.positional().size() > 1) throw Error("usage: aclist [DEV] [--mc] [--all-netns] [--json]");
    bool mc = o.has("mc"), all_netns = o.has("all-netns"), as_json = o.has("json");
    const std::string only = o.positional().empty() ? "" : o.positional()[0];
    const In6ListLayout& L = mc ? static_cast<const In6ListLayout&>(k.get<IfMcAddr6Layout>())
                                : static_cast<const In6ListLayout&>(k.get<IfAcAddr6Layout>());
    const Inet6DevLayout& IL = k.get<Inet6DevLayout>();
    const char* what = mc ? "multicast" : "anycast";

    std::vector<std::string> problems;
    std::vector<DeviceList> devices;
    std::size_t total = 0, nfindings = 0;
    for (NetDevice& d : netdevs(k, all_netns, only, &problems)) {
        k.check_interrupt();
        if (!d.ip6_ptr) continue;
        DeviceList dl;
        dl.dev = std::move(d);
        addr_t idev = dl.dev.ip6_ptr;
        auto back = k.mem().read_u64(idev + IL.dev.offset);
        if (!back) {
            problems.push_back(fmt::format("{}: inet6_dev {:016x} unreadable", dl.dev.name, idev));
            continue;
        }
        if (*back != dl.dev.addr) {
            ListFinding f{ListFault::WrongBackptr, kHeadIndex, idev, dl.dev.addr, *back};
            f.entry = idev;
            f.what = "inet6_dev.dev";
            dl.findings.push_back(f);
        }
        dl.list = mc ? inet6_dev_mc_list(k, idev, dl.dev.addr) : inet6_dev_ac_list(k, idev, dl.dev.addr);
        for (const ListFinding& f : dl.list.walk.findings) dl.findings.push_back(f);
        total += dl.list.entries.size();
        nfindings += dl.findings.size();
        devices.push_back(std::move(dl));
    }

    std::string verdict = fmt::format("{} {} {} on {} device{}", total, what, total == 1 ? "entry" : "entries",
                                      devices.size(), devices.size() == 1 ? "" : "s");
    if (!nfindings) {
        verdict += ", no findings";
    } else {
        verdict += fmt::format(", {} finding{}:", nfindings, nfindings == 1 ? "" : "s");
        const char* sep = " ";
        for (const DeviceList& d : devices) {
            if (d.findings.empty()) continue;
            verdict += fmt::format("{}{}'s {}: {}", sep, d.dev.name, L.list, device_verdict(d));
            sep = "; ";
        }
    }
    RtnlContext rtnl = rtnl_context(k);
    Clock clock(k);

    if (as_json) {
        json j;
        j["command"] = "aclist";
        j["list"] = L.list;
        j["verdict"] = verdict;
        j["entry_count"] = total;
        j["device_count"] = devices.size();
        j["finding_count"] = nfindings;
        j["jiffies"] = clock.jiffies ? json(*clock.jiffies) : json(nullptr);
        j["hz"] = clock.hz ? json(clock.hz) : json(nullptr);
        j["rtnl"] = rtnl.j.is_null() ? json{{"verdict", rtnl.line}} : rtnl.j;
        j["devices"] = json::array();
        for (const DeviceList& d : devices) {
            json dj = {{"name", d.dev.name},
                       {"ifindex", d.dev.ifindex},
                       {"net", hex(d.dev.net)},
                       {"net_device", hex(d.dev.addr)},
                       {"inet6_dev", hex(d.dev.ip6_ptr)},
                       {"head", hex(d.list.head)},
                       {"entry_count", d.list.entries.size()},
                       {"complete", d.findings.empty() && d.list.walk.complete},
                       {"verdict", device_verdict(d)}};
            json entries = json::array();
            std::size_t i = 0;
            for (const In6ListEntry& e : d.list.entries) {
                auto opt = [](const auto& v) { return v ? json(*v) : json(nullptr); };
                json ej = {{"index", i++},
                           {"entry", hex(e.addr)},
                           {"addr", in6_ntop(e.in6)},
                           {"hex", in6_hex(e.in6)},
                           {"users", opt(e.users)},
                           {"refcnt", opt(e.refcnt)},
                           {"flags", opt(e.flags)},
                           {"cstamp", opt(e.cstamp)},
                           {"tstamp", opt(e.tstamp)},
                           {"created_ago_ms", opt(clock.ago_ms(e.cstamp))},
                           {"updated_ago_ms", opt(clock.ago_ms(e.tstamp))}};
                if (!mc) ej["route"] = e.rt ? json(hex(*e.rt)) : json(nullptr);
                entries.push_back(std::move(ej));
            }
            dj["entries"] = std::move(entries);
            json fj = json::array();
            for (const ListFinding& f : d.findings) {
                json x = list_finding_json(f);
                if (f.index == kHeadIndex) x["index"] = nullptr;
                fj.push_back(std::move(x));
            }
            dj["findings"] = std::move(fj);
            j["devices"].push_back(std::move(dj));
        }
        j["problems"] = problems;
        write_json(out, j);
        return nfindings ? 1 : 0;
    }

    out.write(verdict + "\n");
    out.write(rtnl.line + "\n");
    if (!devices.empty()) {
        out.write("\n");
        std::vector<std::string> head = {"DEVICE", ">IFINDEX", "INET6_DEV", ">ENTRIES", "VERDICT"};
        if (all_netns) head.insert(head.begin(), "NET");
        Table t(head, "  ");
        for (const DeviceList& d : devices) {
            std::vector<std::string> row = {d.dev.name, std::to_string(d.dev.ifindex),
                                            fmt::format("{:016x}", d.dev.ip6_ptr),
                                            std::to_string(d.list.entries.size()), device_verdict(d)};
            if (all_netns) row.insert(row.begin(), fmt::format("{:016x}", d.dev.net));
            t.row(std::move(row));
        }
        t.render(out);
    }
    for (const DeviceList& d : devices) {
        if (d.list.entries.empty() && d.findings.empty()) continue;
        out.write(fmt::format("\n  {} (ifindex {}): {} of inet6_dev {:016x}\n", d.dev.name, d.dev.ifindex, L.list,
                              d.dev.ip6_ptr));
        if (!d.list.entries.empty()) {
            Table t({">#", mc ? "IFMCADDR6" : "IFACADDR6", "ADDRESS", ">USERS", ">REFCNT", "FLAGS", ">CREATED",
                     ">UPDATED", mc ? "" : "ROUTE"},
                    "    ");
            std::size_t i = 0;
            for (const In6ListEntry& e : d.list.entries) {
                auto num = [](const auto& v) { return v ? std::to_string(*v) : std::string("-"); };
                std::string flags = !e.flags ? "-" : mc ? maf_flag_names(*e.flags) : fmt::format("{:#x}", *e.flags);
                t.row({std::to_string(i++), fmt::format("{:016x}", e.addr), in6_ntop(e.in6), num(e.users),
                       num(e.refcnt), flags, age_text(clock.ago_ms(e.cstamp)), age_text(clock.ago_ms(e.tstamp)),
                       e.rt ? fmt::format("{:016x}", *e.rt) : ""});
            }
            t.render(out);
        }
        for (const ListFinding& f : d.findings) out.write("    FINDING: " + f.describe() + "\n");
    }
    for (const auto& p : problems) out.write("  PROBLEM: " + p + "\n");
    return nfindings ? 1 : 0;
}

}  // namespace

Command aclist_command() {
    return make_command("aclist", run);
}

}  // namespace netdbg
