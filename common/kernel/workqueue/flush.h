// flush_work() and cancel_work_sync() (kernel/workqueue.c:__flush_work):
// the flusher sleeps on the completion of a struct wq_barrier {work, done,
// task} on its own stack. insert_wq_barrier() links the barrier's work at
// the front of the running worker's `scheduled` list when the flushed work
// is running, else right behind the flushed work on its pool's worklist.
// So the barrier leads to the work flushed and to the worker running it,
// whose own wait continues the chain.
#pragma once

#include <memory>

#include "kernel/sched/completion.h"

namespace netdbg {

std::unique_ptr<CompletionUser> flush_work_completion_user(const Snapshot& s);

}  // namespace netdbg
