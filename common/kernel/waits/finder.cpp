#include "kernel/waits/finder.h"

#include <algorithm>

#include "kernel/locking/mutex.h"
#include "kernel/locking/rwsem.h"
#include "kernel/locking/semaphore.h"
#include "kernel/net/netdev_todo.h"
#include "kernel/net/sock.h"
#include "kernel/rcu/rcu_wait.h"
#include "kernel/sched/completion.h"
#include "kernel/sched/snapshot.h"
#include "kernel/workqueue/flush.h"

namespace netdbg {

std::pair<addr_t, addr_t> frame_range(const StackWords& stack, const CallChain& chain, std::size_t i) {
    addr_t top = stack.base + 8 * stack.words.size();
    addr_t lo = chain.frames[i].slot + 8;
    addr_t hi = top;
    if (!chain.scanned()) {
        // The next frame whose slot is known (a debugger's frame may have none).
        for (std::size_t j = i + 1; j < chain.frames.size(); ++j) {
            if (chain.frames[j].slot < lo) continue;
            hi = chain.frames[j].slot;
            break;
        }
    }
    return {lo, std::max(lo, std::min(hi, top))};
}

BlockerFinder::BlockerFinder(const Snapshot& s) : s_(s) {
    // A completion's waiter is read once; what the completion belongs to
    // (flush_work's barrier, an RCU wait) decides the kind.
    std::vector<std::unique_ptr<CompletionUser>> users;
    users.push_back(flush_work_completion_user(s));
    users.push_back(rcu_completion_user(s));
    readers_.push_back(mutex_wait_reader(s));
    readers_.push_back(rwsem_wait_reader(s));
    readers_.push_back(semaphore_wait_reader(s));
    readers_.push_back(completion_wait_reader(s, std::move(users)));
    readers_.push_back(socket_lock_wait_reader(s));
    readers_.push_back(netdev_unregister_wait_reader(s));
}

BlockerFinder::~BlockerFinder() = default;

std::optional<Blocker> BlockerFinder::find(const Task& t, const StackWords& stack, const CallChain& chain) {
    auto found = walk(t, stack, chain, false);
    if (found.empty()) return std::nullopt;
    return std::move(found.front());
}

std::vector<Blocker> BlockerFinder::find_all(const Task& t, const StackWords& stack, const CallChain& chain) {
    return walk(t, stack, chain, true);
}

std::vector<Blocker> BlockerFinder::walk(const Task& t, const StackWords& stack, const CallChain& chain, bool all) {
    std::vector<Blocker> found;
    if (!stack.readable) return found;
    for (std::size_t i = 0; i < chain.frames.size(); ++i) {
        if (!chain.frames[i].slot) continue;
        std::string name = s_.k.function_name(chain.frames[i].pc);
        std::string_view fn = base_function_name(name);
        for (auto& r : readers_) {
            if (!r->waits_in(fn)) continue;
            auto [lo, hi] = frame_range(stack, chain, i);
            WaitSite site{t, stack, chain, i, std::string(fn), lo, hi};
            auto b = r->find(site);
            if (!b) continue;
            bool again = std::any_of(found.begin(), found.end(), [&](const Blocker& x) {
                return x.kind == b->kind && x.object == b->object;
            });
            if (!again) found.push_back(std::move(*b));
            if (!all) return found;
            break;
        }
    }
    return found;
}

}  // namespace netdbg
