// The scheduler's view at the dump's instant, gathered once per command:
// the tasks, who is current on each CPU, and "now".
#pragma once

#include <memory>
#include <unordered_map>

#include "core/json.h"
#include "kernel/sched/runqueue.h"
#include "kernel/sched/task.h"
#include "kernel/workqueue/workqueue.h"

namespace netdbg {

// All: every task is walked (uninterruptible). Referenced: no walk; a task
// is read when a command asks for it and checked with task_is_listed(), so
// a lock report reads its owner and waiters only (a few pages over a
// gdbstub, not every task_struct of the machine).
enum class TaskScope { All, Referenced };

struct Snapshot {
    explicit Snapshot(Kernel& k, TaskScope scope = TaskScope::All);
    Kernel& k;
    TaskScope scope;
    TaskWalk walk;  // empty for Referenced
    TaskIndex index;
    const TaskStates& states;
    std::uint64_t now = 0;
    std::unordered_map<addr_t, int> running;  // task -> CPU it is current on
    std::vector<addr_t> idle_tasks;           // each CPU's rq->idle

    // The task at addr, or null when it is not a task the kernel lists.
    const Task* task(addr_t addr) const;
    int running_cpu(addr_t task) const;
    // crash's two-letter state of a task ("RU", "UN", ...).
    const char* state(const Task& t) const { return state_name(states.letter(t)); }
    std::uint64_t since_last_arrival(const Task& t) const {
        return now > t.last_arrival ? now - t.last_arrival : 0;
    }

private:
    mutable std::unordered_map<addr_t, std::unique_ptr<Task>> read_;  // Referenced: addr -> task or null
};

// "kworker/1:2 (pid 75)"
std::string task_label(const Task& t);
// The work function of a kworker, symbolized, or "".
std::string work_function(Kernel& k, const std::optional<WorkerInfo>& w);
// What a task is doing, for verdict lines and the ends of chains: "running
// addrconf_dad_work" for a kworker with a work item, "running on CPU 3 for
// 2.1s" for a current task, else its state and wait function ("UN in
// rtnl_lock", "IN in msleep_interruptible, until a timer expires").
std::string task_activity(const Snapshot& s, const Task& t, const std::string& wait_func);
// Common JSON fields of a task.
json task_json(const Snapshot& s, const Task& t);

}  // namespace netdbg
