// Layout presets (Linux 6.1 x86_64 member names, and an older naming) and a
// scheduler-scenario builder on top of FakeTarget: tasks and threads on
// init_task.tasks, per-CPU runqueues, kernel stacks with return addresses,
// tasks blocked on mutexes the way __mutex_lock_common() leaves them.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "fake_target.h"

namespace netdbg::test {

// include/linux/sched.h
constexpr std::uint64_t TASK_RUNNING = 0x0;
constexpr std::uint64_t TASK_INTERRUPTIBLE = 0x1;
constexpr std::uint64_t TASK_UNINTERRUPTIBLE = 0x2;
constexpr std::uint64_t TASK_STOPPED = 0x4;
constexpr std::uint64_t TASK_TRACED = 0x8;
constexpr std::uint64_t EXIT_DEAD = 0x10;
constexpr std::uint64_t EXIT_ZOMBIE = 0x20;
constexpr std::uint64_t TASK_PARKED = 0x40;
constexpr std::uint64_t TASK_WAKEKILL = 0x100;
constexpr std::uint64_t TASK_NOLOAD = 0x400;
constexpr std::uint64_t TASK_KILLABLE = TASK_WAKEKILL | TASK_UNINTERRUPTIBLE;  // 0x102
constexpr std::uint64_t TASK_IDLE_STATE = TASK_UNINTERRUPTIBLE | TASK_NOLOAD;  // 0x402
constexpr std::uint64_t TASK_FREEZABLE = 0x2000;                              // 6.1+

constexpr std::uint32_t kPF_WQ_WORKER = 0x20;
constexpr std::uint32_t kPF_KTHREAD = 0x00200000;

// Fixed addresses of the synthetic kernel.
constexpr addr_t kStext = 0xffffffff81000000ULL;
constexpr addr_t kEtext = 0xffffffff82000000ULL;
constexpr addr_t kSchedTextStart = 0xffffffff81a00000ULL;
constexpr addr_t kSchedTextEnd = 0xffffffff81a10000ULL;
constexpr addr_t kLockTextStart = 0xffffffff81a10000ULL;
constexpr addr_t kLockTextEnd = 0xffffffff81a11000ULL;
constexpr addr_t kInitTask = 0xffffffff82c12940ULL;
constexpr addr_t kTaskStateArray = 0xffffffff82200000ULL;
constexpr addr_t kRtnlMutex = 0xffffffff82d0c4a0ULL;
constexpr addr_t kJiffies = 0xffffffff82e05000ULL;
constexpr addr_t kRunqueues = 0x2c1c0ULL;  // per-CPU symbol
constexpr addr_t kPerCpuBase = 0xffff88803fc00000ULL;

enum class Layout { Linux61, Legacy };

// Types and members only (no symbols).
void add_linux61_layout(FakeTarget& t);
// task_struct.state (8 bytes), task_struct.cpu, thread_group ring (no
// thread_node / signal_struct.thread_head), set_child_tid (no worker_private).
void add_legacy_layout(FakeTarget& t);

// __list_del_entry_valid() as x86_64 compiles it (lib/list_debug.c): it
// compares with LIST_POISON1/2 = 0x100/0x122 + delta, movabs immediates in
// its code, where netdbg reads POISON_POINTER_DELTA.
constexpr addr_t kListDelEntryValid = 0xffffffff81fff000ULL;
void add_list_poison_text(FakeTarget& t, addr_t delta = 0xdead000000000000ULL);

struct TaskSpec {
    int pid = 0;
    std::string comm;
    std::uint64_t state = TASK_RUNNING;
    int cpu = 0;
    std::uint64_t last_arrival = 0;
    std::uint32_t flags = 0;
    int tgid = 0;  // 0: pid
    std::uint64_t exit_state = 0;
};

class FakeKernel {
public:
    explicit FakeKernel(int cpus = 2, Layout layout = Layout::Linux61);
    FakeKernel(const FakeKernel&) = delete;
    FakeKernel& operator=(const FakeKernel&) = delete;

    FakeTarget target;
    ImageBuilder img{target};
    Layout layout;
    addr_t init_task = kInitTask;
    std::vector<addr_t> idle;  // per CPU; idle[0] == init_task

    // ---- text: functions are created on first use; known scheduler and
    // lock primitives go to .sched.text / .spinlock.text.
    addr_t func(const std::string& name);
    // A return address inside name (preceded by a call instruction).
    addr_t ret(const std::string& name);

    // ---- tasks
    addr_t new_task(const TaskSpec& spec);  // not linked anywhere
    addr_t add_process(const TaskSpec& spec);  // a thread-group leader on init_task.tasks
    addr_t add_thread(addr_t leader, const TaskSpec& spec);
    addr_t stack_of(addr_t task) const { return img.read(task, "task_struct", "stack"); }
    addr_t sp_of(addr_t task) const;
    void set_state(addr_t task, std::uint64_t state);
    void set_cpu(addr_t task, int cpu);
    // Return addresses of the named functions at sp + offset, one per word.
    void put_frames(addr_t task, std::size_t offset, const std::vector<std::string>& funcs);

    // ---- runqueues
    addr_t rq(int cpu) const { return kRunqueues + kPerCpuBase + 0x100000ULL * cpu; }
    void set_clock(int cpu, std::uint64_t ns);
    void set_curr(int cpu, addr_t task);

    // ---- mutexes
    // A struct mutex: a typed data symbol when name is given, else on the heap.
    addr_t new_mutex(const std::string& symbol = "");
    void set_owner(addr_t mutex, addr_t task, std::uint64_t flags = 0);
    // __mutex_lock_common(): a mutex_waiter on the task's stack (sp+0x40),
    // list_add_tail on the wait_list, WAITERS set, D state, and return
    // addresses __schedule/schedule/schedule_preempt_disabled/__mutex_lock
    // below it and __mutex_lock_slowpath/mutex_lock/caller/caller's caller
    // above it. Returns the waiter.
    addr_t block_on_mutex(addr_t task, addr_t mutex, const std::string& caller = "rtnl_lock");
    static constexpr std::size_t kWaiterOffset = 0x40;  // from sp

    // ---- workqueues: makes task a kworker executing func on workqueue wq.
    addr_t make_kworker(addr_t task, const std::string& func, const std::string& wq);

    // ---- commands, on a fresh Kernel (its page cache sees the image as is)
    std::string run(const std::string& command, const std::vector<std::string>& args, int* rc = nullptr);
    nlohmann::ordered_json run_json(const std::string& command, std::vector<std::string> args, int* rc = nullptr);

private:
    addr_t signal_of(addr_t task);
    void add_idle(int cpu);
    std::map<std::string, addr_t> funcs_;
    addr_t next_text_ = kStext + 0x100000;
    addr_t next_sched_ = kSchedTextStart + 0x100;
    addr_t next_lock_ = kLockTextStart + 0x100;
    addr_t next_data_ = 0xffffffff82f00000ULL;
};

// The scheduler scenario of the D-state tests: two CPUs whose clocks read
// 1000 s and 999 s, and processes "t<pid>" that last ran at a given second.
struct SchedScenario {
    static constexpr std::uint64_t kSec = 1000000000ULL;
    FakeKernel fk{2};
    SchedScenario();
    addr_t task(int pid, std::uint64_t last_arrival_s, std::uint64_t state = TASK_UNINTERRUPTIBLE, int cpu = 0);
};

}  // namespace netdbg::test
