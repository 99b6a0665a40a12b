// Workqueues, timers and modules on top of FakeKernel, built the way
// kernel/workqueue.c, kernel/time/timer.c and kernel/module leave them
// (Linux 6.1 layouts; the flag bits vary), and the reset-after-remove
// scenario: the workq tests' kernel and the fuzz_workq image.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "fake_kernel.h"
#include "core/json.h"
#include "kernel/time/timer.h"

namespace netdbg::test {

constexpr addr_t kCpuWorkerPools = 0x31380ULL;  // per-CPU symbols
constexpr addr_t kTimerBases = 0x20980ULL;
constexpr addr_t kWorkqueues = 0xffffffff82a59070ULL;
constexpr addr_t kUnboundPoolHash = 0xffffffff832efb20ULL;
constexpr addr_t kModules = 0xffffffff82b27160ULL;
constexpr addr_t kJiffies64 = 0xffffffff82e06000ULL;
constexpr addr_t kTickNsec = 0xffffffff8333ffa0ULL;
constexpr std::size_t kWheel = 32;  // hlist heads per timer base (576 on 6.1)
constexpr std::uint64_t kNow = 4294894932ULL;

// include/linux/workqueue.h (6.1, no CONFIG_DEBUG_OBJECTS_WORK)
constexpr std::uint64_t PENDING = 1, INACTIVE = 2, PWQ = 4;

// The workqueue, timer and module layouts of Linux 6.1 (offsets from its
// debug info) on top of FakeKernel's, which already has worker,
// pool_workqueue and workqueue_struct with some members.
inline void add_wq_layout(FakeTarget& t, unsigned flag_bits = 8) {
    t.add_members("work_struct", {{"data", 0, 8}, {"entry", 8, 16}, {"func", 24, 8}});

    t.add_struct("worker_pool", 768,
                 {{"lock", 0, 4},
                  {"cpu", 4, 4},
                  {"node", 8, 4},
                  {"id", 12, 4},
                  {"flags", 16, 4},
                  {"watchdog_ts", 24, 8},
                  {"nr_running", 32, 4},
                  {"worklist", 40, 16},
                  {"nr_workers", 56, 4},
                  {"nr_idle", 60, 4},
                  {"busy_hash", 160, 512},
                  {"workers", 680, 16},
                  {"attrs", 720, 8},
                  {"hash_node", 728, 16}});
    t.add_struct("workqueue_attrs", 24, {{"nice", 0, 4}});

    // worker: entry (0), current_work/func/pwq from FakeKernel; hentry is
    // in the same anonymous union, which crash may not resolve: left out.
    t.add_members("worker", {{"scheduled", 0x30, 16}, {"task", 0x40, 8}, {"pool", 0x48, 8}, {"last_active", 0x60, 8}});

    t.add_members(
        "pool_workqueue",
        {{"nr_active", 0x5c, 4}, {"max_active", 0x60, 4}, {"inactive_works", 0x68, 16}, {"pwqs_node", 0x78, 16}});
    t.add_members("workqueue_struct", {{"list", 0x10, 16}, {"flags", 0x120, 4}});

    t.add_struct("timer_list", 40, {{"entry", 0, 16}, {"expires", 16, 8}, {"function", 24, 8}, {"flags", 32, 4}});
    t.add_struct("delayed_work", 88, {{"work", 0, 32}, {"timer", 32, 40}, {"wq", 72, 8}, {"cpu", 80, 4}});
    t.add_struct("timer_base", 112 + 8 * kWheel, {{"clk", 16, 8}, {"vectors", 112, 8 * kWheel}});

    t.add_struct(
        "module", 896,
        {{"state", 0, 4}, {"list", 8, 16}, {"name", 24, 56}, {"core_layout", 320, 80}, {"init_layout", 400, 80}});
    t.add_struct("module_layout", 80, {{"base", 0, 8}, {"size", 8, 4}, {"text_size", 12, 4}});

    t.add_enum("WORK_STRUCT_PENDING_BIT", 0);
    t.add_enum("WORK_STRUCT_INACTIVE_BIT", 1);
    t.add_enum("WORK_STRUCT_PWQ_BIT", 2);
    t.add_enum("WORK_STRUCT_LINKED_BIT", 3);
    t.add_enum("WORK_STRUCT_FLAG_BITS", flag_bits);
    t.add_enum("MODULE_STATE_LIVE", 0);
    t.add_enum("MODULE_STATE_COMING", 1);
    t.add_enum("MODULE_STATE_GOING", 2);
    t.add_enum("MODULE_STATE_UNFORMED", 3);
}

struct Module {
    addr_t addr = 0, base = 0;
    std::map<std::string, addr_t> funcs;
};

// A kernel with workqueues: per-CPU pools on every CPU, the workqueues
// list, timer wheels, a module list, jiffies and tick_nsec.
struct WqKernel {
    explicit WqKernel(int cpus = 2, unsigned flag_bits = 8) : fk(cpus), img(fk.img), t(fk.target), bits(flag_bits) {
        add_wq_layout(t, flag_bits);
        pool_size = img.size("worker_pool");
        t.add_symbol("cpu_worker_pools", kCpuWorkerPools, std::string("struct worker_pool [2]"), 2);
        t.add_symbol("timer_bases", kTimerBases, std::string("struct timer_base [2]"), 2);
        for (int c = 0; c < cpus; ++c) {
            for (int i = 0; i < 2; ++i) {
                addr_t p = cpu_pool(c, i);
                t.map(p, pool_size);
                init_pool(p, 2 * c + i, c, i == 1 ? -20 : 0);
            }
            t.map(timer_base(c, 0), 2 * img.size("timer_base"));
        }
        t.map(kWorkqueues, 16);
        t.add_symbol("workqueues", kWorkqueues, std::string("struct list_head"));
        img.list_init(kWorkqueues);
        t.map(kUnboundPoolHash, 64 * 8);
        t.add_symbol("unbound_pool_hash", kUnboundPoolHash, std::string("struct hlist_head [64]"), 64);
        t.map(kModules, 16);
        t.add_symbol("modules", kModules, std::string("struct list_head"));
        img.list_init(kModules);
        t.map(kJiffies64, 8);
        t.add_symbol("jiffies_64", kJiffies64, std::string("u64"));
        img.u64(kJiffies64, kNow);
        t.map(kTickNsec, 8);
        t.add_symbol("tick_nsec", kTickNsec, std::string("unsigned long"));
        img.u64(kTickNsec, 3999986);  // HZ 250, as NTP leaves it
        timer_fn = fk.func("delayed_work_timer_fn");
    }

    FakeKernel fk;
    ImageBuilder& img;
    FakeTarget& t;
    unsigned bits;
    std::size_t pool_size = 0;
    addr_t timer_fn = 0;
    addr_t next_module = 0xffffffffc0200000ULL;

    // pool_workqueue.inactive_works, delayed_works before 5.15.
    const char* inactive() const { return img.has("pool_workqueue", "inactive_works") ? "inactive_works" : "delayed_works"; }
    addr_t cpu_pool(int cpu, int i) const { return kCpuWorkerPools + kPerCpuBase + 0x100000ULL * cpu + i * pool_size; }
    addr_t timer_base(int cpu, int b) const {
        return kTimerBases + kPerCpuBase + 0x100000ULL * cpu + b * img.size("timer_base");
    }

    void init_pool(addr_t p, int id, int cpu, int nice) {
        img.write(p, "worker_pool", "id", static_cast<std::uint32_t>(id));
        img.write(p, "worker_pool", "cpu", static_cast<std::uint32_t>(cpu));
        img.write(p, "worker_pool", "watchdog_ts", kNow - 250);
        img.write(p, "worker_pool", "nr_workers", 2);
        img.write(p, "worker_pool", "nr_idle", 1);
        img.list_init(p + img.offset("worker_pool", "worklist"));
        img.list_init(p + img.offset("worker_pool", "workers"));
        addr_t attrs = img.alloc("workqueue_attrs");
        img.write(attrs, "workqueue_attrs", "nice", static_cast<std::uint32_t>(nice));
        img.write(p, "worker_pool", "attrs", attrs);
    }

    addr_t unbound_pool(int id, int nice = 0) {
        addr_t p = img.alloc("worker_pool", 64);
        init_pool(p, id, -1, nice);
        addr_t node = p + img.offset("worker_pool", "hash_node");
        addr_t head = kUnboundPoolHash + 8 * (id % 64);
        addr_t first = img.u64(head);
        img.u64(node, first);
        img.u64(node + 8, head);
        if (first) img.u64(first + 8, node);
        img.u64(head, node);
        return p;
    }

    // A workqueue with one pwq per pool given; pwqs are aligned to
    // 1 << WORK_STRUCT_FLAG_BITS as the kernel aligns them.
    struct Wq {
        addr_t addr = 0;
        std::map<addr_t, addr_t> pwq;  // pool -> pwq
    };
    Wq new_wq(const std::string& name, const std::vector<addr_t>& pools) {
        Wq w;
        w.addr = img.alloc("workqueue_struct");
        img.write_str(w.addr, "workqueue_struct", "name", name);
        img.list_init(w.addr + img.offset("workqueue_struct", "pwqs"));
        img.list_add_tail(w.addr + img.offset("workqueue_struct", "list"), kWorkqueues);
        for (addr_t pool : pools) {
            addr_t pwq = img.alloc(img.size("pool_workqueue"), std::size_t{1} << bits);
            img.write(pwq, "pool_workqueue", "pool", pool);
            img.write(pwq, "pool_workqueue", "wq", w.addr);
            img.list_init(pwq + img.offset("pool_workqueue", inactive()));
            img.list_add_tail(pwq + img.offset("pool_workqueue", "pwqs_node"),
                              w.addr + img.offset("workqueue_struct", "pwqs"));
            w.pwq[pool] = pwq;
        }
        return w;
    }

    addr_t new_work(addr_t func) {
        addr_t w = img.alloc("work_struct", 32);
        img.write(w, "work_struct", "func", func);
        img.list_init(w + img.offset("work_struct", "entry"));
        return w;
    }
    void set_queued(addr_t work, addr_t pwq, std::uint64_t extra = 0) {
        img.write(work, "work_struct", "data", pwq | PENDING | PWQ | extra);
    }
    // insert_work(): on the pool's worklist.
    void queue(addr_t work, const Wq& wq, addr_t pool) {
        set_queued(work, wq.pwq.at(pool));
        img.list_add_tail(work + img.offset("work_struct", "entry"), pool + img.offset("worker_pool", "worklist"));
    }
    // max_active reached: on the pwq's inactive_works.
    void queue_inactive(addr_t work, const Wq& wq, addr_t pool) {
        addr_t pwq = wq.pwq.at(pool);
        set_queued(work, pwq, INACTIVE);
        img.list_add_tail(work + img.offset("work_struct", "entry"), pwq + img.offset("pool_workqueue", inactive()));
    }

    // A worker of pool executing work (in busy_hash), with its task.
    struct Busy {
        addr_t worker = 0, task = 0;
    };
    Busy busy(addr_t pool, const Wq& wq, addr_t work, addr_t func, const TaskSpec& spec) {
        Busy b;
        b.task = fk.add_process(spec);
        b.worker = fk.make_kworker(b.task, "worker_thread", "unused");
        img.write(b.worker, "worker", "current_work", work);
        img.write(b.worker, "worker", "current_func", func);
        img.write(b.worker, "worker", "current_pwq", wq.pwq.at(pool));
        img.write(b.worker, "worker", "task", b.task);
        img.write(b.worker, "worker", "pool", pool);
        img.write(b.worker, "worker", "last_active", kNow - 1000);
        img.list_init(b.worker + img.offset("worker", "scheduled"));
        img.write_str(b.worker, "worker", "desc", "desc");
        // hash_add(pool->busy_hash, &worker->hentry, work): bucket by hash.
        addr_t head = pool + img.offset("worker_pool", "busy_hash") + 8 * ((work >> 4) % 64);
        addr_t first = img.u64(head);
        img.u64(b.worker, first);
        img.u64(b.worker + 8, head);
        if (first) img.u64(first + 8, b.worker);
        img.u64(head, b.worker);
        return b;
    }

    // A delayed work whose timer is pending on cpu's wheel, base b.
    addr_t delayed(addr_t func, const Wq& wq, int cpu, std::uint64_t expires, int b = 0, std::uint32_t flags = 0) {
        addr_t d = img.alloc("delayed_work", 64);
        img.write(d, "work_struct", "func", func);
        img.write(d, "work_struct", "data", PENDING);  // no pwq until the timer fires
        img.list_init(d + img.offset("work_struct", "entry"));
        addr_t timer = d + img.offset("delayed_work", "timer");
        img.write(timer, "timer_list", "function", timer_fn);
        img.write(timer, "timer_list", "expires", expires);
        img.write(timer, "timer_list", "flags", flags | static_cast<std::uint32_t>(cpu));
        img.write(d, "delayed_work", "wq", wq.addr);
        img.write(d, "delayed_work", "cpu", static_cast<std::uint32_t>(cpu));
        add_timer(timer, cpu, b, expires % kWheel);
        return d;
    }
    void add_timer(addr_t timer, int cpu, int b, std::size_t bucket) {
        addr_t head = timer_base(cpu, b) + img.offset("timer_base", "vectors") + 8 * bucket;
        addr_t first = img.u64(head);
        img.u64(timer, first);
        img.u64(timer + 8, head);
        if (first) img.u64(first + 8, timer);
        img.u64(head, timer);
    }

    // A module with state and core memory [base, base + size), its first
    // text_size bytes text; funcs are placed in its text.
    Module module(const std::string& name, int state, const std::vector<std::string>& funcs) {
        Module m;
        m.addr = img.alloc("module");
        img.write(m.addr, "module", "state", static_cast<std::uint32_t>(state));
        img.write_str(m.addr, "module", "name", name);
        m.base = next_module;
        next_module += 0x10000;
        addr_t core = m.addr + img.offset("module", "core_layout");
        img.write(core, "module_layout", "base", m.base);
        img.write(core, "module_layout", "size", 0x4000);
        img.write(core, "module_layout", "text_size", 0x2000);
        t.map(m.base, 0x4000);
        addr_t f = m.base + 0x100;
        for (const auto& fn : funcs) {
            t.add_symbol(fn, f, std::nullopt, std::nullopt, name);
            m.funcs[fn] = f;
            f += 0x80;
        }
        img.list_add_tail(m.addr + img.offset("module", "list"), kModules);
        return m;
    }

    json run(std::vector<std::string> args, int* rc = nullptr) { return fk.run_json("workq", std::move(args), rc); }
    std::string text(std::vector<std::string> args = {}, int* rc = nullptr) { return fk.run("workq", args, rc); }
};

// The reset-after-remove shape: a module GOING whose reset work runs on
// CPU 1's pool and is pending there again, with two more of its works
// pending behind it, two inactive works on an ordered workqueue and two
// delayed works.
struct ResetAfterRemove {
    explicit ResetAfterRemove(WqKernel& w) {
        mod = w.module("nd_reset_remove", 2,
                       {"nd_rr_reset_work_fn", "nd_rr_stats_work_fn", "nd_rr_link_work_fn", "nd_rr_fw_retry_fn",
                        "nd_rr_watchdog_fn", "nd_rr_fw_work_fn"});
        other = w.module("e1000e", 0, {"e1000_watchdog_task"});
        pool = w.cpu_pool(1, 0);
        unbound = w.unbound_pool(8);
        events = w.new_wq("events", {w.cpu_pool(0, 0), w.cpu_pool(1, 0)});
        rrwq = w.new_wq("nd_rr_wq", {w.cpu_pool(0, 0), w.cpu_pool(1, 0)});
        fw = w.new_wq("nd_rr_fw", {unbound});
        reset = w.new_work(mod.funcs["nd_rr_reset_work_fn"]);
        stats = w.new_work(mod.funcs["nd_rr_stats_work_fn"]);
        link = w.new_work(mod.funcs["nd_rr_link_work_fn"]);
        vmstat = w.new_work(w.fk.func("vmstat_update"));
        w.queue(stats, events, pool);
        w.queue(link, rrwq, pool);
        w.queue(reset, events, pool);
        w.queue(vmstat, events, pool);
        worker = w.busy(pool, events, reset, mod.funcs["nd_rr_reset_work_fn"],
                        {.pid = 53, .comm = "kworker/1:1", .cpu = 1, .last_arrival = 9000000000ULL});
        w.fk.set_curr(1, worker.task);
        w.fk.set_clock(1, 9500000000ULL);
        fw_work = w.new_work(mod.funcs["nd_rr_fw_work_fn"]);
        fw_worker = w.busy(unbound, fw, fw_work, mod.funcs["nd_rr_fw_work_fn"],
                           {.pid = 9, .comm = "kworker/u8:0", .state = TASK_UNINTERRUPTIBLE, .cpu = 0,
                            .last_arrival = 3000000000ULL});
        retry0 = w.new_work(mod.funcs["nd_rr_fw_retry_fn"]);
        retry1 = w.new_work(mod.funcs["nd_rr_fw_retry_fn"]);
        w.queue_inactive(retry0, fw, unbound);
        w.queue_inactive(retry1, fw, unbound);
        watchdog = w.delayed(mod.funcs["nd_rr_watchdog_fn"], events, 0, kNow + 75000);
        e1000 = w.delayed(other.funcs["e1000_watchdog_task"], events, 1, kNow + 500, 1, TIMER_DEFERRABLE);
    }
    Module mod, other;
    addr_t pool, unbound;
    WqKernel::Wq events, rrwq, fw;
    addr_t reset, stats, link, vmstat, fw_work, retry0, retry1, watchdog, e1000;
    WqKernel::Busy worker, fw_worker;
};

}  // namespace netdbg::test
