// The scheduler's view at the dump's instant, gathered once per command:
// every task, who is current on each CPU, and "now".
#pragma once

#include <unordered_map>

#include "json.h"
#include "runqueue.h"
#include "task.h"
#include "workqueue.h"

namespace netdbg {

struct Snapshot {
    explicit Snapshot(Kernel& k);
    Kernel& k;
    TaskWalk walk;
    TaskIndex index;
    const TaskStates& states;
    std::uint64_t now = 0;
    std::unordered_map<addr_t, int> running;  // task -> CPU it is current on

    int running_cpu(addr_t task) const;
    // crash's two-letter state of a task ("RU", "UN", ...).
    const char* state(const Task& t) const { return state_name(states.letter(t)); }
    std::uint64_t since_last_arrival(const Task& t) const {
        return now > t.last_arrival ? now - t.last_arrival : 0;
    }
};

// "kworker/1:2 (pid 75)"
std::string task_label(const Task& t);
// The work function of a kworker, symbolized, or "".
std::string work_function(Kernel& k, const std::optional<WorkerInfo>& w);
// What a task is doing, for verdict lines: "running addrconf_dad_work" for
// a kworker with a work item, "on CPU 3" for a current task, else its state
// and wait function ("UN in rtnl_lock").
std::string task_activity(const Snapshot& s, const Task& t, const std::string& wait_func);
// Common JSON fields of a task.
json task_json(const Snapshot& s, const Task& t);

}  // namespace netdbg
