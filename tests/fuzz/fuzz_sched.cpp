// libFuzzer target: the task list, runqueues and mutexes of a fuzzed
// scheduler image. init_task.tasks with processes and a thread, two CPUs'
// runqueues, rtnl_mutex owned by a kworker with two waiters on its
// wait_list, and two heap mutexes in a deadlock cycle; the input corrupts
// task fields, list links, stacks, waiters and pages. for_each_task,
// read_mutex and the uninterruptible, rtnlowner and lockowner commands
// (text and JSON), cpus and kstack (CPU 1's saved registers, preempt count
// and watchdog timestamp fuzzed too) must end with findings or one
// netdbg::Error line.
#include <fmt/format.h>

#include "fake_kernel.h"
#include "fuzz_image.h"
#include "core/kernel.h"
#include "kernel/locking/mutex.h"
#include "kernel/sched/task.h"

using namespace netdbg;
using namespace netdbg::test;

namespace {

constexpr addr_t kPerCpuVars = 0x1b000;  // __preempt_count, watchdog_touch_ts

struct Scenario : SchedScenario {
    addr_t lock_a = 0;
    std::unique_ptr<fuzz::HostileImage> image;

    Scenario() {
        auto proc = [&](int pid, std::uint64_t state, int cpu = 0) { return task(pid, 100 + pid, state, cpu); };
        addr_t owner = proc(10, TASK_UNINTERRUPTIBLE);
        fk.make_kworker(owner, "linkwatch_event", "events");
        fk.set_owner(kRtnlMutex, owner);
        fk.block_on_mutex(proc(11, TASK_UNINTERRUPTIBLE), kRtnlMutex);
        addr_t w = proc(12, TASK_UNINTERRUPTIBLE, 1);
        fk.add_thread(w, {.pid = 13, .comm = "t12", .state = TASK_INTERRUPTIBLE, .cpu = 1});
        fk.block_on_mutex(w, kRtnlMutex, "rtnl_net_lock");
        addr_t running = proc(14, TASK_RUNNING, 1);
        fk.set_curr(1, running);
        // CPU 1's saved registers: in the running task's stack, preempt
        // count and watchdog timestamps in its per-CPU area (cpus, kstack).
        CpuRegisters regs;
        regs.ip = fk.ret("nd_spin_fn");
        regs.sp = fk.sp_of(running);
        regs.cs = 0x10;
        fk.target.set_cpu_registers(1, regs);
        fk.target.add_symbol("__preempt_count", kPerCpuVars, std::string("int"));
        fk.target.add_symbol("watchdog_touch_ts", kPerCpuVars + 8, std::string("unsigned long"));
        for (int c = 0; c < 2; ++c) fk.target.map(kPerCpuBase + 0x100000ULL * c + kPerCpuVars, 16);
        // AB-BA: 20 holds a, waits for b; 21 holds b, waits for a.
        lock_a = fk.new_mutex("nd_lock_a");
        addr_t lock_b = fk.new_mutex();
        addr_t p20 = proc(20, TASK_UNINTERRUPTIBLE), p21 = proc(21, TASK_UNINTERRUPTIBLE);
        fk.set_owner(lock_a, p20);
        fk.set_owner(lock_b, p21);
        fk.block_on_mutex(p20, lock_b, "nd_deadlock_b");
        fk.block_on_mutex(p21, lock_a, "nd_deadlock_a");
        fk.put_frames(proc(30, TASK_UNINTERRUPTIBLE), 0, {"__schedule", "schedule", "io_schedule", "filemap_fault"});

        std::size_t task = fk.img.size("task_struct"), rq = fk.img.size("rq"), mutex = fk.img.size("mutex");
        image = std::make_unique<fuzz::HostileImage>(
            fk.target, std::vector<fuzz::Region>{{fk.init_task, task},
                                                 {kRtnlMutex, mutex},
                                                 {lock_a, mutex},
                                                 {fk.rq(0), rq},
                                                 {fk.rq(1), rq},
                                                 {kPerCpuBase + 0x100000ULL + kPerCpuVars, 16},
                                                 {kJiffies, 8},
                                                 fuzz::heap_of(fk.img)});
    }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static Scenario s;
    static FakeTarget& t = s.fk.target;
    static const std::vector<fuzz::HostileImage::Action> actions = {
        [] {
            Kernel k(t);
            TaskWalk w = for_each_task(k, 1000);
            TaskStates states(k);
            for (const Task& task : w.tasks) states.uninterruptible(task, true);
        },
        [] {
            Kernel k(t);
            read_mutex(k, kRtnlMutex, 100);
        },
        fuzz::command(t, "uninterruptible", {}),
        fuzz::command(t, "uninterruptible", {"--group", "--json"}),
        fuzz::command(t, "uninterruptible", {"--all", "--group"}),
        fuzz::command(t, "uninterruptible", {"--graph"}),
        fuzz::command(t, "rtnlowner", {"-s"}),
        fuzz::command(t, "rtnlowner", {"--json"}),
        fuzz::command(t, "lockowner", {"nd_lock_a", "-s", "--json"}),
        fuzz::command(t, "lockowner", {fmt::format("{:#x}", s.lock_a)}),
        fuzz::command(t, "cpus", {}),
        fuzz::command(t, "cpus", {"--json", "-v"}),
        fuzz::command(t, "kstack", {"-a"}),
        fuzz::command(t, "kstack", {"11", "--json"}),
    };
    s.image->run(data, size, actions);
    return 0;
}
