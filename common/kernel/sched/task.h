// task_struct: reading one task, walking every task (init_task.tasks and
// each thread group, as the kernel's for_each_process_thread() does), and
// decoding its state like fs/proc/array.c:task_state_array.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/kernel.h"
#include "kernel/lib/list.h"

namespace netdbg {

// include/linux/sched.h: per-process flags.
constexpr std::uint32_t PF_WQ_WORKER = 0x00000020;
constexpr std::uint32_t PF_KTHREAD = 0x00200000;

struct TaskLayout {
    explicit TaskLayout(Kernel& k);
    StructLayout s;
    MemberInfo tasks, pid, tgid, comm, state, exit_state, flags, stack, cpu;
    std::size_t thread_sp = 0;  // task_struct.thread.sp
    std::optional<MemberInfo> on_cpu, last_arrival, last_switch_time;
    // Threads: signal->thread_head/thread_node (>= 6.7 and backports), or
    // the older thread_group ring.
    std::optional<MemberInfo> signal, thread_node, thread_group;
    std::size_t signal_thread_head = 0;
    // to_kthread(): worker_private (>= 5.17) or set_child_tid.
    std::optional<MemberInfo> kthread_ptr;
    Span span;
};

struct Task {
    addr_t addr = 0;
    int pid = 0;
    int tgid = 0;
    std::string comm;
    std::uint64_t state = 0;       // __state / state
    std::uint64_t exit_state = 0;
    std::uint32_t flags = 0;
    int cpu = 0;
    bool on_cpu = false;
    std::uint64_t last_arrival = 0;  // sched_info.last_arrival, ns of rq clock
    std::optional<std::uint64_t> last_switch_time;  // jiffies (hung-task detector)
    addr_t stack = 0;
    addr_t sp = 0;           // thread.sp: saved stack pointer of a sleeping task
    addr_t kthread_ptr = 0;  // struct kthread *, for kthreads
    bool idle_task = false;  // a CPU's swapper
};

std::optional<Task> read_task(Kernel& k, addr_t task);

// Every task: init_task, every thread of every process, and the other CPUs'
// idle tasks. Unreadable tasks and broken lists end that part of the walk;
// the problems met are returned as text lines.
struct TaskWalk {
    std::vector<Task> tasks;
    std::vector<std::string> problems;
};
TaskWalk for_each_task(Kernel& k, std::size_t max = 1000000);

// Whether a task read on its own is one the kernel lists, without walking
// the list: a process's init_task.tasks node, or a thread's node in its
// group, has a neighbour that points back to it; an idle task (pid 0, which
// copy_process() never links) is one of idle_tasks.
bool task_is_listed(Kernel& k, const Task& t, const std::vector<addr_t>& idle_tasks);

// Tasks by address, for blocker and owner lookups.
class TaskIndex {
public:
    explicit TaskIndex(const std::vector<Task>& tasks);
    const Task* find(addr_t addr) const;

private:
    std::unordered_map<addr_t, const Task*> by_addr_;
};

// State letters of fs/proc/array.c:task_state_array, read from the dump.
class TaskStates {
public:
    explicit TaskStates(Kernel& k);
    char letter(const Task& t) const;
    // D state as the kernel reports it; TASK_IDLE only when include_idle.
    bool uninterruptible(const Task& t, bool include_idle) const;
    bool idle(const Task& t) const;  // TASK_IDLE

private:
    std::string letters_;  // "RSDTtXZPI" on 4.14+
    std::uint64_t report_ = 0x7f;
};

// crash's two-letter state names (RU, IN, UN, ...).
const char* state_name(char letter);

}  // namespace netdbg
