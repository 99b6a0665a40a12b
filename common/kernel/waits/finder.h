// Finds what a sleeping task waits for: walks its call chain from the
// innermost frame out, and asks the reader of each kind whose wait function
// that frame runs whether the frame holds one of its waiters. The first
// proven answer wins, so a mutex_lock() inside rcu_barrier() inside
// netdev_run_todo() is a mutex wait (whose holder then leads on).
#pragma once

#include <memory>
#include <optional>
#include <vector>

#include "kernel/waits/blocker.h"

namespace netdbg {

class BlockerFinder {
public:
    explicit BlockerFinder(const Snapshot& s);
    ~BlockerFinder();
    std::optional<Blocker> find(const Task& t, const StackWords& stack, const CallChain& chain);
    // Every wait along the chain, innermost first: the first is what the
    // task waits for, the others are waits it is inside of (rcu_barrier()
    // called by netdev_run_todo() for a device whose references leaked).
    std::vector<Blocker> find_all(const Task& t, const StackWords& stack, const CallChain& chain);

private:
    std::vector<Blocker> walk(const Task& t, const StackWords& stack, const CallChain& chain, bool all);
    const Snapshot& s_;
    std::vector<std::unique_ptr<WaitReader>> readers_;
};

// The locals of frame i's function: above the slot of its return address
// (pushed when it called frame i-1's function) and below the slot of the
// return address into its caller. For a stack scan, whose frames may be
// stale, up to the top of the stack.
std::pair<addr_t, addr_t> frame_range(const StackWords& stack, const CallChain& chain, std::size_t i);

}  // namespace netdbg
