// workq, the workqueue/timer/module readers under it, on synthetic images
// built the way kernel/workqueue.c, kernel/time/timer.c and kernel/module
// leave their structures (Linux 6.1 layouts, plus the variants other
// versions use), hostile ones included.
#include <algorithm>
#include <cstring>
#include <map>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "core/error.h"
#include "fake_kernel.h"
#include "fake_workqueue.h"
#include "core/json.h"
#include "core/kernel.h"
#include "kernel/module/module.h"
#include "kernel/time/timer.h"
#include "kernel/workqueue/workqueue.h"

using namespace netdbg;
using namespace netdbg::test;

namespace {

std::vector<std::string> kinds(const json& j) {
    std::vector<std::string> out;
    for (const auto& f : j["findings"]) out.push_back(f["kind"].get<std::string>() + " " + (f["work"].is_null() ? "-" : f["work"].get<std::string>()));
    return out;
}

bool has(const std::vector<std::string>& v, const std::string& s) {
    return std::find(v.begin(), v.end(), s) != v.end();
}

std::string hx(addr_t a) { return hex(a); }

}  // namespace

// ---------------------------------------------------------------- workq

TEST(Workq, ResetAfterRemoveShapeIsFoundAndFlagged) {
    WqKernel w(2);
    ResetAfterRemove s(w);
    int rc = 0;
    json j = w.run({}, &rc);
    EXPECT_EQ(rc, 1);
    EXPECT_EQ(j["jiffies"], kNow);
    EXPECT_EQ(j["hz"], 250);

    // Pending on CPU 1's normal pool, in worklist order, then the inactive ones.
    std::vector<std::string> pending;
    for (const auto& p : j["pending"]) pending.push_back(p["work"].get<std::string>() + " " + p["list"].get<std::string>());
    EXPECT_EQ(pending, (std::vector<std::string>{hx(s.stats) + " worklist", hx(s.link) + " worklist",
                                                 hx(s.reset) + " worklist", hx(s.vmstat) + " worklist",
                                                 hx(s.retry0) + " inactive", hx(s.retry1) + " inactive"}));
    const json& p0 = j["pending"][0];
    EXPECT_EQ(p0["symbol"], "nd_rr_stats_work_fn");
    EXPECT_EQ(p0["module"], "nd_reset_remove");
    EXPECT_EQ(p0["module_state"], "GOING");
    EXPECT_EQ(p0["workqueue"], "events");
    EXPECT_EQ(p0["pool_id"], 2);
    EXPECT_EQ(p0["cpu"], 1);
    EXPECT_EQ(p0["flags"], "PENDING|PWQ");
    EXPECT_EQ(j["pending"][1]["workqueue"], "nd_rr_wq");
    EXPECT_EQ(j["pending"][2]["running"], true);
    EXPECT_EQ(j["pending"][3]["module"], nullptr);
    EXPECT_EQ(j["pending"][3]["kernel_text"], true);
    EXPECT_EQ(j["pending"][4]["workqueue"], "nd_rr_fw");
    EXPECT_EQ(j["pending"][4]["flags"], "PENDING|INACTIVE|PWQ");
    EXPECT_EQ(j["pending"][4]["cpu"], nullptr);

    // Busy: the reset worker on CPU 1, the fw worker in the unbound pool.
    ASSERT_EQ(j["busy"].size(), 2u);
    std::map<int, json> busy;
    for (const auto& b : j["busy"]) busy[b["pid"].get<int>()] = b;
    EXPECT_EQ(busy[53]["work"], hx(s.reset));
    EXPECT_EQ(busy[53]["symbol"], "nd_rr_reset_work_fn");
    EXPECT_EQ(busy[53]["workqueue"], "events");
    EXPECT_EQ(busy[53]["running_on_cpu"], 1);
    EXPECT_EQ(busy[53]["since_last_arrival_ns"], 500000000ULL);
    EXPECT_EQ(busy[53]["pending"], true);
    EXPECT_EQ(busy[53]["worker"], hx(s.worker.worker));
    EXPECT_EQ(busy[9]["state"], "UN");
    EXPECT_EQ(busy[9]["workqueue"], "nd_rr_fw");
    EXPECT_EQ(busy[9]["pool_id"], 8);
    EXPECT_EQ(busy[9]["cpu"], nullptr);

    // Delayed: found on the wheels by delayed_work_timer_fn.
    ASSERT_EQ(j["delayed"].size(), 2u);
    EXPECT_EQ(j["delayed"][0]["work"], hx(s.watchdog));
    EXPECT_EQ(j["delayed"][0]["symbol"], "nd_rr_watchdog_fn");
    EXPECT_EQ(j["delayed"][0]["expires_in_jiffies"], 75000);
    EXPECT_EQ(j["delayed"][0]["expires_in_ns"], 300000000000LL);
    EXPECT_EQ(j["delayed"][0]["cpu"], 0);
    EXPECT_EQ(j["delayed"][0]["workqueue"], "events");
    EXPECT_EQ(j["delayed"][1]["module"], "e1000e");
    EXPECT_EQ(j["delayed"][1]["module_state"], "LIVE");
    EXPECT_EQ(j["delayed"][1]["deferrable"], true);
    EXPECT_EQ(j["delayed"][1]["base"], 1);

    auto k = kinds(j);
    EXPECT_TRUE(has(k, "module_going " + hx(s.reset))) << j["findings"].dump(1);
    EXPECT_TRUE(has(k, "running_and_pending " + hx(s.reset)));
    EXPECT_TRUE(has(k, "module_going " + hx(s.stats)));
    EXPECT_TRUE(has(k, "module_going " + hx(s.link)));
    EXPECT_TRUE(has(k, "module_going " + hx(s.fw_work)));
    EXPECT_TRUE(has(k, "module_going " + hx(s.retry0)));
    EXPECT_TRUE(has(k, "module_going " + hx(s.watchdog)));
    EXPECT_FALSE(has(k, "module_going " + hx(s.e1000)));
    EXPECT_FALSE(has(k, "module_going " + hx(s.vmstat)));
    // Once per (kind, work): running and pending reset is one module_going.
    EXPECT_EQ(std::count(k.begin(), k.end(), "module_going " + hx(s.reset)), 1);
    EXPECT_EQ(k.size(), 8u) << j["findings"].dump(1);
    EXPECT_TRUE(j["problems"].empty()) << j["problems"].dump();

    // Pools: 4 per-CPU (2 CPUs x 2) and the unbound one, each once.
    EXPECT_EQ(j["pools"].size(), 5u);
    EXPECT_EQ(j["pools"][1]["highpri"], true);
    EXPECT_EQ(j["pools"][2]["worklist"], 4);
    EXPECT_EQ(j["pools"][2]["busy"], 1);
    EXPECT_EQ(j["pools"][2]["since_watchdog_ts_ns"], 1000000000ULL);
}

TEST(Workq, TextOutputLeadsWithTheVerdictAndNamesTheModule) {
    WqKernel w(2);
    ResetAfterRemove s(w);
    std::string out = w.text();
    auto first = out.substr(0, out.find('\n'));
    EXPECT_EQ(first, "workq: 5 pools, 3 workqueues; 4 pending (2 inactive), 2 delayed; 2 busy; 8 findings; jiffies " +
                         std::to_string(kNow) + " (HZ 250)");
    EXPECT_NE(out.find(fmt::format("running work {:016x} (nd_rr_reset_work_fn [nd_reset_remove]) in kworker/1:1 (pid "
                                   "53): module nd_reset_remove is being unloaded (state GOING)",
                                   s.reset)),
              std::string::npos)
        << out;
    EXPECT_NE(out.find("is running in kworker/1:1 (pid 53) and pending again"), std::string::npos);
    EXPECT_NE(out.find("BUSY WORKERS"), std::string::npos);
    EXPECT_NE(out.find("PENDING WORKS"), std::string::npos);
    EXPECT_NE(out.find("DELAYED WORKS"), std::string::npos);
    EXPECT_NE(out.find("in 300.000s"), std::string::npos) << out;
    EXPECT_NE(out.find("POOLS"), std::string::npos);
}

TEST(Workq, PendingAndBusySelectSections) {
    WqKernel w(2);
    ResetAfterRemove s(w);
    json p = w.run({"--pending"});
    EXPECT_TRUE(p["busy"].is_null());
    EXPECT_EQ(p["pending"].size(), 6u);
    for (const auto& f : p["findings"]) EXPECT_NE(f["where"], "running");
    json b = w.run({"--busy"});
    EXPECT_TRUE(b["pending"].is_null());
    EXPECT_TRUE(b["delayed"].is_null());
    EXPECT_EQ(b["busy"].size(), 2u);
    for (const auto& f : b["findings"]) EXPECT_EQ(f["where"], "running");
    std::string t = w.text({"--busy"});
    EXPECT_EQ(t.find("PENDING WORKS"), std::string::npos);
    EXPECT_EQ(t.find("POOLS"), std::string::npos);
}

TEST(Workq, FuncSelectsByFunction) {
    WqKernel w(2);
    ResetAfterRemove s(w);
    json j = w.run({"--func", "nd_rr_fw_retry_fn"});
    ASSERT_EQ(j["pending"].size(), 2u);
    EXPECT_EQ(j["busy"].size(), 0u);
    EXPECT_EQ(j["delayed"].size(), 0u);
    EXPECT_EQ(j["findings"].size(), 2u);
    json none = w.run({"--func", "no_such_function"});
    EXPECT_EQ(none["pending"].size(), 0u);
    EXPECT_EQ(none["findings"].size(), 0u);
}

TEST(Workq, FunctionInNoModuleAndPoisonedWorksAreFlagged) {
    WqKernel w(2);
    addr_t pool = w.cpu_pool(0, 0);
    auto events = w.new_wq("events", {pool});
    // A function pointer into nothing (an unloaded module's old text).
    addr_t stray = w.new_work(0xffffffffc0ff0010ULL);
    w.queue(stray, events, pool);
    // A queued work whose func was overwritten with POISON_FREE.
    addr_t freed = w.new_work(0x6b6b6b6b6b6b6b6bULL);
    w.queue(freed, events, pool);
    // A busy worker whose current work was freed (poisoned) and one whose
    // current work is unmapped.
    addr_t gone = w.new_work(w.fk.func("nf_conntrack_gc"));
    w.busy(pool, events, gone, w.fk.func("nf_conntrack_gc"), {.pid = 70, .comm = "kworker/0:2"});
    for (std::size_t i = 0; i < 32; i += 8) w.img.u64(gone + i, i == 24 ? 0xa56b6b6b6b6b6b6bULL : 0x6b6b6b6b6b6b6b6bULL);
    w.busy(pool, events, 0xffff8880dead0000ULL, w.fk.func("nf_conntrack_gc"), {.pid = 71, .comm = "kworker/0:3"});
    json j = w.run({});
    auto k = kinds(j);
    EXPECT_TRUE(has(k, "no_module " + hx(stray))) << j["findings"].dump(1);
    EXPECT_TRUE(has(k, "no_module " + hx(freed)));
    EXPECT_TRUE(has(k, "poisoned " + hx(freed)));
    EXPECT_TRUE(has(k, "poisoned " + hx(gone)));
    EXPECT_TRUE(has(k, "unreadable 0xffff8880dead0000"));
    EXPECT_FALSE(has(k, "no_module " + hx(gone)));
    for (const auto& b : j["busy"])
        EXPECT_EQ(b["work_memory"], b["pid"] == 70 ? "poisoned" : "unreadable");
}

TEST(Workq, WorkStructBitsComeFromTheKernelsEnums) {
    // CONFIG_DEBUG_OBJECTS_WORK: WORK_STRUCT_FLAG_BITS is 9 and pwqs are
    // 512-aligned; color bits up to bit 8 must not leak into the pwq.
    WqKernel w(1, 9);
    addr_t pool = w.cpu_pool(0, 0);
    auto wq = w.new_wq("kblockd", {pool});
    addr_t work = w.new_work(w.fk.func("blk_mq_run_work_fn"));
    w.queue(work, wq, pool);
    w.set_queued(work, wq.pwq.at(pool), 0x100);  // a color bit at bit 8
    json j = w.run({});
    ASSERT_EQ(j["pending"].size(), 1u);
    EXPECT_EQ(j["pending"][0]["pwq"], hx(wq.pwq.at(pool)));
    EXPECT_EQ(j["pending"][0]["workqueue"], "kblockd");

    // Bits moved (6.9+ names them differently; here the pwq bit is 3).
    WqKernel v(1);
    v.t.add_enum("WORK_STRUCT_PWQ_BIT", 3);
    v.t.add_enum("WORK_STRUCT_LINKED_BIT", 2);
    addr_t p2 = v.cpu_pool(0, 0);
    auto wq2 = v.new_wq("events", {p2});
    addr_t w2 = v.new_work(v.fk.func("vmstat_update"));
    v.queue(w2, wq2, p2);
    v.img.write(w2, "work_struct", "data", wq2.pwq.at(p2) | PENDING | 8);
    json j2 = v.run({});
    EXPECT_EQ(j2["pending"][0]["workqueue"], "events");
    EXPECT_EQ(j2["pending"][0]["flags"], "PENDING|PWQ");
    v.img.write(w2, "work_struct", "data", wq2.pwq.at(p2) | PENDING | 4);  // LINKED now, no pwq
    json j3 = v.run({});
    EXPECT_EQ(j3["pending"][0]["workqueue"], nullptr);
    EXPECT_EQ(j3["pending"][0]["flags"], "PENDING|LINKED");
}

TEST(Workq, ScheduledListOfABusyWorkerIsPending) {
    WqKernel w(1);
    addr_t pool = w.cpu_pool(0, 0);
    auto events = w.new_wq("events", {pool});
    addr_t running = w.new_work(w.fk.func("flush_to_ldisc"));
    auto b = w.busy(pool, events, running, w.fk.func("flush_to_ldisc"), {.pid = 40, .comm = "kworker/0:1"});
    // A second queueing of the running work, moved to the executing
    // worker's scheduled list by process_one_work()'s collision check.
    addr_t barrier = w.new_work(w.fk.func("wq_barrier_func"));
    w.set_queued(barrier, events.pwq.at(pool), 8);
    w.img.list_add_tail(barrier + 8, b.worker + w.img.offset("worker", "scheduled"));
    json j = w.run({});
    ASSERT_EQ(j["pending"].size(), 1u);
    EXPECT_EQ(j["pending"][0]["list"], "scheduled");
    EXPECT_EQ(j["pending"][0]["worker"], hx(b.worker));
    EXPECT_EQ(j["pending"][0]["symbol"], "wq_barrier_func");
    EXPECT_EQ(j["pending"][0]["flags"], "PENDING|PWQ|LINKED");
}

TEST(Workq, FreedTimerOnAWheelIsAFindingAndTheWalkGoesOn) {
    WqKernel w(2);
    auto events = w.new_wq("events", {w.cpu_pool(0, 0)});
    addr_t good = w.delayed(w.fk.func("vmstat_shepherd"), events, 1, kNow + 10);
    // A freed delayed work still queued: its node links to a live timer
    // first, then it is poisoned from its timer on.
    addr_t freed = w.delayed(w.fk.func("nd_rr_req_timeout_fn"), events, 1, kNow + 10);
    addr_t timer = freed + w.img.offset("delayed_work", "timer");
    for (std::size_t i = 0; i < 56; i += 8) w.img.u64(timer + i, 0x6b6b6b6b6b6b6b6bULL);
    json j = w.run({"--pending"});
    auto k = kinds(j);
    ASSERT_TRUE(has(k, "timer_poisoned -")) << j["findings"].dump(1);
    for (const auto& f : j["findings"]) {
        if (f["kind"] == "timer_poisoned") {
            EXPECT_EQ(f["timer"], hx(timer));
        }
    }
    // The live timer behind it is lost to the walk (the poisoned node's
    // next is poison): the finding says so, and no problem line repeats it.
    for (const auto& f : j["findings"]) {
        if (f["kind"] == "timer_poisoned") {
            EXPECT_NE(f["text"].get<std::string>().find("the bucket's walk stops there"), std::string::npos);
        }
    }
    EXPECT_TRUE(j["problems"].empty()) << j["problems"].dump(1);
    // A broken bucket without a freed timer is a problem line.
    addr_t lone = w.img.alloc("timer_list");
    w.img.write(lone, "timer_list", "function", w.fk.func("process_timeout"));
    w.add_timer(lone, 0, 0, 3);
    w.img.u64(lone + 8, 0x1234);  // pprev
    json j2 = w.run({"--pending"});
    ASSERT_EQ(j2["problems"].size(), 1u);
    EXPECT_NE(j2["problems"][0].get<std::string>().find("timer wheel of CPU 0 base 0 bucket 3: bad pprev"),
              std::string::npos)
        << j2["problems"].dump();
    (void)good;
}

TEST(Workq, HostileListsStayBoundedAndAreReported) {
    WqKernel w(1);
    addr_t pool = w.cpu_pool(0, 0);
    auto events = w.new_wq("events", {pool});
    std::vector<addr_t> works;
    for (int i = 0; i < 5; ++i) {
        works.push_back(w.new_work(w.fk.func("vmstat_update")));
        w.queue(works.back(), events, pool);
    }
    // The last work's next goes back to the second one: a loop.
    w.img.u64(works[4] + 8, works[1] + 8);
    // A busy_hash bucket whose node points to itself.
    addr_t bucket = pool + w.img.offset("worker_pool", "busy_hash") + 8 * 5;
    addr_t wk = w.img.alloc("worker");
    w.img.u64(bucket, wk);
    w.img.u64(wk, wk);
    w.img.u64(wk + 8, bucket);
    // An unreadable unbound pool in unbound_pool_hash.
    w.img.u64(kUnboundPoolHash + 8 * 3, 0xffff8880bad00000ULL);
    json j = w.run({});
    EXPECT_EQ(j["pending"].size(), 5u);
    std::string problems = j["problems"].dump();
    EXPECT_NE(problems.find("pool 0 worklist: loop"), std::string::npos) << problems;
    EXPECT_NE(problems.find("busy_hash[5]: loop"), std::string::npos) << problems;
    EXPECT_NE(problems.find("unbound_pool_hash[3]: unreadable"), std::string::npos) << problems;
    json m = w.run({"--max", "2"});
    EXPECT_EQ(m["pending"].size(), 2u);
    EXPECT_NE(m["problems"].dump().find("truncated"), std::string::npos);
}

TEST(Workq, MissingMembersAndBadArgumentsGiveOneLine) {
    WqKernel w(1);
    w.t.remove_member("worker_pool", "busy_hash");
    try {
        w.text();
        FAIL() << "no error";
    } catch (const Error& e) {
        EXPECT_STREQ(e.what(), "layout: struct worker_pool has no member 'busy_hash'");
    }
    WqKernel v(1);
    EXPECT_THROW(v.text({"--max", "x"}), Error);
    EXPECT_THROW(v.text({"--max", "0"}), Error);
    EXPECT_THROW(v.text({"extra"}), Error);
    EXPECT_THROW(v.text({"--bogus"}), Error);
}

TEST(Workq, OlderKernelsWithoutSymbolsStillAnswer) {
    // No tick_nsec (HZ unknown), no jiffies_64 (jiffies), no unbound_pool_hash.
    WqKernel w(1);
    w.t.remove_symbol("tick_nsec");
    w.t.remove_symbol("jiffies_64");
    w.t.remove_symbol("unbound_pool_hash");
    w.t.remove_member("pool_workqueue", "inactive_works");
    w.t.add_member("pool_workqueue", "delayed_works", 0x68, 16);  // before 5.15
    auto events = w.new_wq("events", {w.cpu_pool(0, 0)});
    w.delayed(w.fk.func("vmstat_shepherd"), events, 0, 0x100004000ULL + 100);
    json j = w.run({});
    EXPECT_EQ(j["hz"], nullptr);
    EXPECT_EQ(j["jiffies"], 0x100004000ULL);  // FakeKernel's jiffies
    EXPECT_EQ(j["delayed"][0]["expires_in_jiffies"], 100);
    EXPECT_EQ(j["delayed"][0]["expires_in_ns"], nullptr);
}

TEST(Workq, InterruptStopsTheCommand) {
    WqKernel w(2);
    ResetAfterRemove s(w);
    w.t.interrupt_after(0);
    EXPECT_THROW(w.text(), Interrupted);
}

// ---------------------------------------------------------------- modules

TEST(Module, StatesRegionsAndLookups) {
    WqKernel w(1);
    Module a = w.module("nd_reset_remove", 2, {"nd_rr_reset_work_fn"});
    Module b = w.module("dummy", 0, {"dummy_xmit"});
    Kernel k(w.t);
    ModuleIndex idx(k);
    ASSERT_EQ(idx.modules().size(), 2u);
    EXPECT_EQ(idx.modules()[0].state_name, "GOING");
    EXPECT_TRUE(idx.modules()[0].going);
    EXPECT_EQ(idx.modules()[1].state_name, "LIVE");
    const ModuleInfo* m = idx.find(a.funcs["nd_rr_reset_work_fn"]);
    ASSERT_NE(m, nullptr);
    EXPECT_EQ(m->name, "nd_reset_remove");
    EXPECT_TRUE(m->in_text(a.base + 0x1fff));
    EXPECT_FALSE(m->in_text(a.base + 0x2000));  // data
    EXPECT_TRUE(m->contains(a.base + 0x3fff));
    EXPECT_EQ(idx.find(a.base + 0x4000), nullptr);
    EXPECT_EQ(m->core_base(), a.base);
    auto mo = module_of(k, b.base + 0x10);
    ASSERT_TRUE(mo.has_value());
    EXPECT_EQ(mo->name, "dummy");
    EXPECT_FALSE(module_of(k, 0xffffffff81000000ULL).has_value());
    EXPECT_TRUE(in_kernel_text(k, 0xffffffff81000000ULL));
    EXPECT_FALSE(in_kernel_text(k, a.base));
}

TEST(Module, MemArrayLayoutOf64) {
    // 6.4+: struct module_memory mem[MOD_MEM_NUM_TYPES].
    WqKernel w(1);
    w.t.remove_member("module", "core_layout");
    w.t.remove_member("module", "init_layout");
    w.t.add_type("module_memory", 0x30);
    w.t.add_member("module_memory", "base", 0, 8);
    w.t.add_member("module_memory", "size", 8, 4);
    w.t.add_member("module", "mem", 320, 7 * 0x30);
    w.t.add_enum("MOD_TEXT", 0);
    w.t.add_enum("MOD_DATA", 1);
    w.t.add_enum("MOD_INIT_TEXT", 4);
    addr_t mod = w.img.alloc("module");
    w.img.write(mod, "module", "state", 1);
    w.img.write_str(mod, "module", "name", "virtio_net");
    w.img.u64(mod + 320 + 0 * 0x30, 0xffffffffc0300000ULL);  // MOD_TEXT
    w.img.write(mod + 320 + 0 * 0x30, "module_memory", "size", 0x3000);
    w.img.u64(mod + 320 + 1 * 0x30, 0xffffffffc0310000ULL);  // MOD_DATA
    w.img.write(mod + 320 + 1 * 0x30, "module_memory", "size", 0x1000);
    w.img.list_add_tail(mod + 8, kModules);
    Kernel k(w.t);
    auto m = module_of(k, 0xffffffffc0310800ULL);
    ASSERT_TRUE(m.has_value());
    EXPECT_EQ(m->name, "virtio_net");
    EXPECT_EQ(m->state_name, "COMING");
    EXPECT_FALSE(m->in_text(0xffffffffc0310800ULL));
    EXPECT_TRUE(m->in_text(0xffffffffc0302fffULL));
    EXPECT_FALSE(module_of(k, 0xffffffffc0303000ULL).has_value());
}

TEST(Module, BrokenListIsAProblemNotACrash) {
    WqKernel w(1);
    Module a = w.module("a", 0, {});
    w.img.u64(a.addr + 8, 0xffff8880bad00000ULL);  // list.next unreadable
    Kernel k(w.t);
    std::vector<std::string> problems;
    auto mods = for_each_module(k, &problems);
    EXPECT_EQ(mods.size(), 1u);
    ASSERT_FALSE(problems.empty());
    EXPECT_NE(problems[0].find("modules list: unreadable"), std::string::npos) << problems[0];
    w.t.remove_symbol("modules");
    problems.clear();
    EXPECT_TRUE(for_each_module(k, &problems).empty());
    EXPECT_EQ(problems.size(), 1u);
}

// ---------------------------------------------------------------- timers, hlist

TEST(Timer, EveryPendingTimerOfEveryCpuAndBase) {
    WqKernel w(2);
    auto events = w.new_wq("events", {w.cpu_pool(0, 0)});
    w.delayed(w.fk.func("a_fn"), events, 0, kNow + 3);
    w.delayed(w.fk.func("b_fn"), events, 0, kNow + 3);  // same bucket
    w.delayed(w.fk.func("c_fn"), events, 1, kNow + 7, 1);
    addr_t plain = w.img.alloc("timer_list");
    w.img.write(plain, "timer_list", "function", w.fk.func("process_timeout"));
    w.add_timer(plain, 1, 0, 9);
    Kernel k(w.t);
    TimerWalk tw = for_each_pending_timer(k);
    EXPECT_TRUE(tw.problems.empty());
    ASSERT_EQ(tw.timers.size(), 4u);
    EXPECT_EQ(tw.timers[0].cpu, 0);
    EXPECT_EQ(tw.timers[2].cpu, 1);
    EXPECT_EQ(tw.timers[2].bucket, 9u);
    EXPECT_EQ(tw.timers[3].base, 1);
    auto d = delayed_works(k, tw);
    ASSERT_EQ(d.size(), 3u);  // process_timeout is no delayed work
    EXPECT_EQ(d[0].workqueue, "events");
    EXPECT_EQ(d[0].target_cpu, 0);
    EXPECT_EQ(kernel_hz(k), 250u);
    EXPECT_EQ(read_jiffies(k), kNow);
}

TEST(Hlist, PprevLoopsAndPoison) {
    WqKernel w(1);
    Kernel k(w.t);
    addr_t head = w.img.alloc(8);
    std::vector<addr_t> n;
    for (int i = 0; i < 4; ++i) n.push_back(w.img.alloc(16));
    auto link = [&](std::size_t i, addr_t next, addr_t pprev) {
        w.img.u64(n[i], next);
        w.img.u64(n[i] + 8, pprev);
    };
    w.img.u64(head, n[0]);
    link(0, n[1], head);
    link(1, n[2], n[0]);
    link(2, n[3], n[1]);
    link(3, 0, n[2]);
    std::vector<addr_t> seen;
    HlistWalk ok = walk_hlist(k, head, 100, [&](addr_t a) {
        seen.push_back(a);
        return true;
    });
    EXPECT_TRUE(ok.complete);
    EXPECT_EQ(seen, n);

    link(2, n[3], n[0]);  // bad pprev
    Kernel k1(w.t);  // a fresh page cache sees the change
    HlistWalk bad = walk_hlist(k1, head, 100, [](addr_t) { return true; });
    ASSERT_EQ(bad.findings.size(), 1u);
    EXPECT_EQ(bad.findings[0].kind, HlistFinding::BadPprev);
    EXPECT_EQ(bad.findings[0].node, n[2]);
    link(2, n[3], n[1]);

    link(3, n[1], n[2]);  // loop back to n[1]
    Kernel k2(w.t);
    HlistWalk loop = walk_hlist(k2, head, 100, [](addr_t) { return true; });
    EXPECT_EQ(loop.count, 4u);
    ASSERT_FALSE(loop.findings.empty());
    EXPECT_EQ(loop.findings.back().kind, HlistFinding::Loop);

    link(3, 0x6b6b6b6b6b6b6b6bULL, n[2]);  // freed memory
    Kernel k3(w.t);
    HlistWalk poison = walk_hlist(k3, head, 100, [](addr_t) { return true; });
    ASSERT_EQ(poison.findings.size(), 1u);
    EXPECT_EQ(poison.findings[0].kind, HlistFinding::Poison);
    EXPECT_NE(poison.findings[0].describe().find("freed memory"), std::string::npos);

    HlistWalk trunc = walk_hlist(k3, head, 2, [](addr_t) { return true; });
    EXPECT_EQ(trunc.count, 2u);
    EXPECT_EQ(trunc.findings.back().kind, HlistFinding::Truncated);
}

TEST(Poison, WordsOfPoisonBytes) {
    EXPECT_TRUE(is_poison_word(0x6b6b6b6b6b6b6b6bULL));
    EXPECT_TRUE(is_poison_word(0xa56b6b6b6b6b6b6bULL));  // the object's last byte
    EXPECT_TRUE(is_poison_word(0xececececececececULL));
    EXPECT_FALSE(is_poison_word(0xa5ecececececececULL));
    EXPECT_FALSE(is_poison_word(0x6b6b6b6b6b6b6b6aULL));
    EXPECT_FALSE(is_poison_word(0xffff88800563cf50ULL));
    std::uint8_t buf[24] = {};
    EXPECT_EQ(poison_byte(buf, sizeof buf), 0);
    std::memset(buf + 16, 0xec, 8);
    EXPECT_EQ(poison_byte(buf, sizeof buf), 0xec);
}

// task_worker (used by rtnlowner/lock_report) still reads a kworker.
TEST(Workq, TaskWorkerStillReadsTheCurrentWork) {
    WqKernel w(1);
    addr_t t = w.fk.add_process({.pid = 12, .comm = "kworker/0:1"});
    addr_t worker = w.fk.make_kworker(t, "linkwatch_event", "events");
    Kernel k(w.t);
    auto task = read_task(k, t);
    ASSERT_TRUE(task.has_value());
    auto wi = task_worker(k, *task);
    ASSERT_TRUE(wi.has_value());
    EXPECT_EQ(wi->worker, worker);
    EXPECT_EQ(wi->workqueue, "events");
    EXPECT_EQ(wi->current_func, w.fk.func("linkwatch_event"));
}
