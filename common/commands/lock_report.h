// The answer to "who holds this lock and who waits for it", shared by
// rtnlowner and lockowner: a struct mutex, rw_semaphore or semaphore, its
// holder as the kernel records it (or that it does not), what the holder is
// doing and what it waits on itself, and the waiters in queue order.
#pragma once

#include <optional>
#include <vector>

#include "core/command.h"
#include "kernel/locking/mutex.h"
#include "kernel/locking/rwsem.h"
#include "kernel/locking/semaphore.h"
#include "kernel/sched/snapshot.h"
#include "kernel/sched/stack.h"

namespace netdbg {

struct LockWaiter {
    addr_t task_addr = 0;
    const Task* task = nullptr;  // nullptr: not a task of the task list
    std::string wait_function;
    std::string mode;  // rwsem: "R" / "W"
};

struct LockReport {
    WaitKind kind = WaitKind::Mutex;  // Mutex, RwSem or Semaphore
    std::optional<MutexState> mutex;
    std::optional<RwsemState> rwsem;
    std::optional<SemaphoreState> semaphore;
    Blocker lock;                  // the kind-agnostic view: holders, note, candidates, findings
    const Task* owner = nullptr;   // the first holder, when it is a listed task
    std::optional<WorkerInfo> owner_worker;
    std::string owner_wait_function;
    std::optional<Blocker> owner_waits_for;  // what the owner itself waits on, any kind
    std::optional<CallChain> owner_chain;    // with -s
    std::vector<LockWaiter> waiters;
    std::optional<std::uint64_t> held_at_least;  // ns, from the oldest waiter

    addr_t addr() const { return lock.object; }
    std::string display_name() const;
};

// The kind of lock at addr: from its symbol's debug-info type, else `kind`.
LockReport build_lock_report(const Snapshot& s, addr_t lock, WaitKind kind, bool with_chain);
std::string lock_verdict(const Snapshot& s, const LockReport& r);
void render_lock_report(const Snapshot& s, const LockReport& r, Output& out);
json lock_report_json(const Snapshot& s, const LockReport& r);
// The shared body of rtnlowner and lockowner: returns 1 when the walk of
// the wait list had findings.
int run_lock_command(Kernel& k, const std::string& command, addr_t lock, WaitKind kind, bool with_chain,
                     bool as_json, Output& out);
// Rendering of a call chain under a heading, shared with other commands.
void render_call_chain(Kernel& k, const CallChain& c, const std::string& indent, Output& out);
json call_chain_json(Kernel& k, const CallChain& c);

// Resolves a user's argument (symbol, symbol loaded with mod -s, or hex
// address) to a lock: the kind from the symbol's debug-info type ("struct
// mutex", "struct rw_semaphore", "struct semaphore"); an address is taken
// as `fallback` (lockowner -t) and checked to look like one.
std::pair<addr_t, WaitKind> resolve_lock_argument(Kernel& k, const std::string& arg, WaitKind fallback);

}  // namespace netdbg
