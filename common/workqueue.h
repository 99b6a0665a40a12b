// kernel/workqueue.c: the worker behind a kworker task and the work item it
// executes (worker->current_work, current_func), found the way
// wq_worker_comm() does: kthread_data(task) is the struct worker.
#pragma once

#include <optional>
#include <string>

#include "task.h"

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

}  // namespace netdbg
