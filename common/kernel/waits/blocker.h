// What a sleeping task waits for, whatever the kind of wait: one record
// tagged by kind, filled by one reader per kind (a mutex, an rwsem, a
// completion, an RCU grace period, a socket lock, a net device's references).
// Each reader proves its answer from the kernel object's own state: the
// task's waiter record lies in the frame of that kind's wait function on its
// stack and is linked into the object's wait list, and the object's fields
// agree (a mutex with a waiter has WAITERS set, a semaphore with one has
// count 0...). What the kernel does not record (a semaphore's holder, a
// socket lock's owner) is said to be unknown, never guessed.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/json.h"
#include "kernel/sched/stack.h"

namespace netdbg {

struct Snapshot;

enum class WaitKind {
    Mutex,             // struct mutex (kernel/locking/mutex.c)
    RwSem,             // struct rw_semaphore (kernel/locking/rwsem.c)
    Semaphore,         // struct semaphore (kernel/locking/semaphore.c)
    Completion,        // struct completion (kernel/sched/completion.c)
    FlushWork,         // flush_work()'s struct wq_barrier (kernel/workqueue.c)
    RcuGracePeriod,    // synchronize_rcu() and friends (kernel/rcu/update.c:__wait_rcu_gp)
    RcuBarrier,        // rcu_barrier() (kernel/rcu/tree.c)
    SocketLock,        // lock_sock() (net/core/sock.c:__lock_sock)
    NetdevUnregister,  // netdev_run_todo() waiting for references (net/core/dev.c)
};

// "mutex", "rwsem", "semaphore", "completion", "flush_work", "rcu_gp",
// "rcu_barrier", "socket", "netdev_unregister": the JSON `kind`.
const char* wait_kind_key(WaitKind kind);
// "mutex", "rwsem", ..., "RCU grace period", "socket lock", "device unregister": for text.
const char* wait_kind_name(WaitKind kind);

// A task a blocker leads to. Holders are proven by the object's state (the
// mutex's owner word, the worker whose current work is the flushed one, a
// reader on the RCU node's blocked list); candidates are not, and always
// carry why they are shown.
struct BlockerTask {
    addr_t task = 0;
    std::string role;  // "owner", "writer", "running the work", "preempted RCU reader", "last reader (recorded in owner)"
    int cpu = -1;      // for a CPU holding up a grace period: that CPU
};

struct Blocker {
    WaitKind kind = WaitKind::Mutex;
    addr_t object = 0;     // the lock, completion, struct sock, net_device, rcu_state
    std::string name;      // symbol, "symbol+0x8 [module]", or a description; "" when unknown
    std::string mode;      // "R" / "W" for rwsem waits, else ""
    std::vector<BlockerTask> holders;     // proven: a chain goes on through them
    std::vector<BlockerTask> candidates;  // not proven: shown marked, never followed
    // One line on who holds it, as the kernel records it (or does not):
    // "held by 2 readers; the kernel records only the last reader to take it".
    std::string holder_note;
    std::vector<std::string> details;  // further lines for --group and lockowner
    std::vector<std::string> findings; // damage met while reading the object
    json fields = json::object();      // the kind's own JSON fields

    // "rwsem nd_rwsem_w", "completion ffff888004c8a000", "RCU grace period gp_seq 2985"
    std::string label() const;
    addr_t first_holder() const { return holders.empty() ? 0 : holders.front().task; }
};

// Where on a task's stack a wait function runs: frame `frame` of the call
// chain, whose function is `function` (its name without .constprop/.isra
// suffixes), with its locals in [lo, hi).
struct WaitSite {
    const Task& task;
    const StackWords& stack;
    const CallChain& chain;
    std::size_t frame = 0;
    std::string function;
    addr_t lo = 0, hi = 0;

    // The stack words in [lo, hi), with their addresses.
    template <class F>
    void for_each_word(F&& f) const {
        for (addr_t a = lo & ~addr_t{7}; a + 8 <= hi; a += 8) {
            if (a < stack.base) continue;
            std::size_t i = (a - stack.base) / 8;
            if (i >= stack.words.size()) break;
            f(a, stack.words[i]);
        }
    }
};

// One reader per kind of wait.
class WaitReader {
public:
    virtual ~WaitReader() = default;
    // Whether `function` is on this kind's wait path, so that its frame may
    // hold the waiter record (e.g. "rwsem_down_write_slowpath").
    virtual bool waits_in(std::string_view function) const = 0;
    // The blocker, when the site's frame holds a waiter of this kind that
    // the object's own state confirms; nullopt otherwise.
    virtual std::optional<Blocker> find(const WaitSite& site) = 0;
};

// The name of a kernel object for display: "rtnl_mutex",
// "nd_chain_mutex [nd_rtnl_stuck]", "rcu_state+0x51680", or "".
std::string object_name(Kernel& k, addr_t addr);

// False when addr is exactly a data symbol whose debug-info type is another
// than `type` ("struct mutex"): the head a waiter leads to must belong to an
// object of the kind waited on. True when nothing says otherwise.
bool symbol_type_allows(Kernel& k, addr_t addr, std::string_view type);

// The task's label for blocker lines: "nd_rww_holder (pid 91)", or the
// address when it is not a listed task.
std::string blocker_task_label(const Snapshot& s, addr_t task);

// Who holds it, in one line: "held by nd_rww_holder (pid 91, writer)",
// "held up by CPU 3: nd_rcu_spinner (pid 90)...", or the holder note; then
// the candidates, marked as such.
std::string blocker_holder_text(const Snapshot& s, const Blocker& b);
// The blocker as JSON: kind, object, name, mode, holders, candidates,
// owner (the first holder, kept for the mutex-era consumers), findings,
// details and the kind's own fields under its kind key.
json blocker_json(const Snapshot& s, const Blocker& b);

// A function name without the compiler's clone suffixes:
// "__mutex_lock.constprop.0" -> "__mutex_lock".
std::string_view base_function_name(std::string_view name);

}  // namespace netdbg
