// The answer to "who holds this mutex and who waits for it", shared by
// rtnlowner and lockowner.
#pragma once

#include <optional>
#include <vector>

#include "core/command.h"
#include "kernel/locking/mutex.h"
#include "kernel/sched/snapshot.h"
#include "kernel/sched/stack.h"

namespace netdbg {

struct LockWaiter {
    addr_t task_addr = 0;
    const Task* task = nullptr;  // nullptr: not a task of the task list
    std::string wait_function;
};

struct LockReport {
    MutexState mutex;
    const Task* owner = nullptr;
    std::optional<WorkerInfo> owner_worker;
    std::string owner_wait_function;
    std::optional<CallChain> owner_chain;  // with -s
    std::vector<LockWaiter> waiters;
    std::optional<std::uint64_t> held_at_least;  // ns, from the oldest waiter
};

LockReport build_lock_report(const Snapshot& s, addr_t mutex, bool with_chain);
std::string lock_verdict(const Snapshot& s, const LockReport& r);
void render_lock_report(const Snapshot& s, const LockReport& r, Output& out);
json lock_report_json(const Snapshot& s, const LockReport& r);
// The shared body of rtnlowner and lockowner: returns 1 when the walk of
// the wait list had findings.
int run_lock_command(Kernel& k, const std::string& command, addr_t mutex, bool with_chain, bool as_json,
                     Output& out);
// Rendering of a call chain under a heading, shared with other commands.
void render_call_chain(Kernel& k, const CallChain& c, const std::string& indent, Output& out);
json call_chain_json(Kernel& k, const CallChain& c);

}  // namespace netdbg
