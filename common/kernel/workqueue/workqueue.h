// kernel/workqueue.c: worker pools, their pending work items and busy
// workers, workqueues and their pool_workqueues, delayed works whose timers
// are pending; and the worker behind a kworker task (task_worker), found
// the way wq_worker_comm() does: kthread_data(task) is the struct worker.
#pragma once

#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "kernel/sched/task.h"
#include "kernel/time/timer.h"

namespace netdbg {

struct WorkerLayout {
    explicit WorkerLayout(Kernel& k);
    std::size_t kthread_data = 0;  // struct kthread.data
    MemberInfo current_work, current_func;
    std::optional<MemberInfo> current_pwq, desc;
    std::size_t pwq_wq = 0, wq_name = 0, wq_name_size = 0;
};

struct WorkerInfo {
    addr_t worker = 0;
    addr_t current_work = 0;
    addr_t current_func = 0;
    std::string workqueue;  // name of the workqueue the work was queued on
    std::string desc;       // set_worker_desc()
};

// The worker of a PF_WQ_WORKER task, or nullopt for other tasks.
std::optional<WorkerInfo> task_worker(Kernel& k, const Task& t);

// ---- work items ----------------------------------------------------------

// struct work_struct and the WORK_STRUCT_* bits of work->data
// (include/linux/workqueue.h), taken from the kernel's enums when the debug
// info has them.
struct WorkLayout {
    explicit WorkLayout(Kernel& k);
    StructLayout s;
    MemberInfo data, entry, func;
    std::uint64_t pending = 1, inactive = 2, pwq = 4, linked = 8;  // masks
    unsigned flag_bits = 8;  // WORK_STRUCT_FLAG_BITS: pwqs are aligned to it
    // get_work_pwq(): the pool_workqueue of a queued work, or 0.
    addr_t pwq_of(std::uint64_t data) const;
};

struct Work {
    addr_t addr = 0;
    bool readable = false;
    std::uint64_t data = 0;
    addr_t func = 0;
    addr_t pwq = 0;           // get_work_pwq()
    std::uint8_t poison = 0;  // 0x6b / 0xec when the work_struct holds poison
};

Work read_work(Kernel& k, addr_t work);
// "PENDING|PWQ|LINKED": the flag bits set in data.
std::string work_flags(const WorkLayout& L, std::uint64_t data);

// ---- pools, workers, workqueues ------------------------------------------

struct WorkqueueLayout {
    explicit WorkqueueLayout(Kernel& k);
    // struct worker_pool
    StructLayout pool;
    MemberInfo p_cpu, p_id, p_flags, p_watchdog_ts, p_nr_running, p_worklist, p_nr_workers, p_nr_idle,
        p_busy_hash, p_hash_node;
    std::optional<MemberInfo> p_node, p_attrs;
    std::optional<std::size_t> attrs_nice;  // workqueue_attrs.nice
    Span pool_span;
    // struct worker (hentry shares an anonymous union with entry at 0)
    std::size_t w_hentry = 0;
    MemberInfo w_current_work, w_current_func, w_scheduled, w_task;
    std::optional<MemberInfo> w_current_pwq, w_desc, w_last_active;
    Span worker_span;
    // struct pool_workqueue
    MemberInfo pwq_pool, pwq_wq, pwq_inactive, pwq_node;  // inactive_works (5.15+) / delayed_works
    std::optional<MemberInfo> pwq_nr_active, pwq_max_active;
    Span pwq_span;
    // struct workqueue_struct
    MemberInfo wq_pwqs, wq_list, wq_name;
    std::optional<MemberInfo> wq_flags;
    Span wq_span;
    // symbols
    addr_t cpu_worker_pools = 0;  // per-CPU struct worker_pool [NR_STD_WORKER_POOLS]
    std::size_t nr_std_pools = 2;
    std::optional<addr_t> workqueues, unbound_pool_hash;
    std::size_t unbound_hash_size = 0;
};

struct WorkerPool {
    addr_t addr = 0;
    int id = -1;
    int cpu = -1;          // -1: unbound
    int std_index = -1;    // index in cpu_worker_pools (0 normal, 1 highpri), -1 unbound
    bool highpri = false;  // nice < 0
    int nice = 0;
    int node = -1;
    std::uint32_t flags = 0;
    std::uint64_t watchdog_ts = 0;  // jiffies: last time a work was started
    int nr_running = 0, nr_workers = 0, nr_idle = 0;
    std::string label() const;  // "cpu 1", "cpu 1 H", "unbound"
};

struct Workqueue {
    addr_t addr = 0;
    std::string name;
    std::uint32_t flags = 0;
    std::vector<addr_t> pwqs;
};

// Where a pending work item waits.
enum class WorkList { Worklist, Scheduled, Inactive };
const char* work_list_name(WorkList w);

struct QueuedWork {
    Work work;
    WorkList list = WorkList::Worklist;
    addr_t pool = 0;
    addr_t worker = 0;       // Scheduled: the worker whose scheduled list holds it
    addr_t list_pwq = 0;     // Inactive: the pwq whose inactive list holds it
    std::string workqueue;   // from get_work_pwq()
};

struct BusyWorker {
    addr_t worker = 0, pool = 0, task = 0;
    addr_t current_work = 0, current_func = 0, current_pwq = 0;
    std::string workqueue, desc;
    std::optional<std::uint64_t> last_active;  // jiffies it last went idle
};

struct WorkqueueState {
    std::vector<Workqueue> workqueues;
    std::vector<WorkerPool> pools;
    std::vector<QueuedWork> pending;
    std::vector<BusyWorker> busy;
    std::vector<std::string> problems;
};

std::optional<WorkerPool> read_worker_pool(Kernel& k, addr_t pool);
// Every workqueue on the `workqueues` list, with its pwqs.
std::vector<Workqueue> for_each_workqueue(Kernel& k, std::vector<std::string>& problems, std::size_t max);
// Per-CPU pools (cpu_worker_pools), then the pools the workqueues' pwqs
// and unbound_pool_hash lead to, each once.
std::vector<WorkerPool> for_each_worker_pool(Kernel& k, const std::vector<Workqueue>& wqs,
                                             std::vector<std::string>& problems, std::size_t max);
// The name of a pwq's workqueue ("" when unreadable).
std::string pwq_workqueue_name(Kernel& k, addr_t pwq);
// Everything above plus each pool's worklist, its busy workers (busy_hash)
// and their scheduled lists, and each pwq's inactive works.
WorkqueueState read_workqueue_state(Kernel& k, std::size_t max);

// ---- delayed works -------------------------------------------------------

struct DelayedWork {
    PendingTimer timer;
    addr_t dwork = 0;  // struct delayed_work *
    Work work;
    addr_t wq = 0;
    std::string workqueue;
    int target_cpu = -1;  // delayed_work.cpu
};

struct DelayedWorkLayout {
    explicit DelayedWorkLayout(Kernel& k);
    MemberInfo work, timer, wq, cpu;
    std::optional<addr_t> timer_fn;  // delayed_work_timer_fn
};

// The timers of `timers` whose function is delayed_work_timer_fn, as
// delayed works.
std::vector<DelayedWork> delayed_works(Kernel& k, const TimerWalk& timers);

}  // namespace netdbg
