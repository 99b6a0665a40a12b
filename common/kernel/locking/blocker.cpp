#include "kernel/locking/blocker.h"

#include <algorithm>

namespace netdbg {

BlockerFinder::BlockerFinder(Kernel& k, const TaskIndex& index)
    : k_(k), index_(index), L_(k.get<MutexLayout>()), thread_size_(k.target().thread_size()) {}

const MutexState* BlockerFinder::mutex(addr_t addr) const {
    auto it = mutexes_.find(addr);
    return it == mutexes_.end() ? nullptr : &it->second;
}

// A waiter node sits on the stack of the task it names. The task need not
// be in the index (a damaged task list): then read it to see its stack.
bool BlockerFinder::is_waiter_node(addr_t node) {
    auto task = k_.mem().read_u64(node - L_.waiter_list + L_.waiter_task);
    if (!task) return false;
    addr_t stack;
    if (const Task* t = index_.find(*task)) {
        stack = t->stack;
    } else {
        auto t2 = read_task(k_, *task);
        if (!t2) return false;
        stack = t2->stack;
    }
    return node >= stack && node < stack + thread_size_;
}

std::optional<addr_t> BlockerFinder::wait_list_head(addr_t node) {
    std::optional<addr_t> head;
    walk_list(k_, node, 1000000, [&](addr_t n) {
        if (is_waiter_node(n)) return true;
        head = n;
        return false;
    });
    return head;
}

std::optional<Blocker> BlockerFinder::find(const Task& t, const StackWords& stack) {
    if (!L_.wait_list) return std::nullopt;
    Memory& mem = k_.mem();
    for (std::size_t i = 0; i < stack.words.size(); ++i) {
        if (stack.words[i] != t.addr) continue;
        addr_t waiter = stack.base + 8 * i - L_.waiter_task;
        addr_t node = waiter + L_.waiter_list;
        addr_t mutex_addr;
        if (auto it = node_to_mutex_.find(node); it != node_to_mutex_.end()) {
            mutex_addr = it->second;
        } else {
            auto next = mem.read_u64(node);
            auto prev = mem.read_u64(node + 8);
            if (!next || !prev) continue;
            auto next_prev = mem.read_u64(*next + 8);
            auto prev_next = mem.read_u64(*prev);
            if (!next_prev || !prev_next || *next_prev != node || *prev_next != node) continue;
            auto head = wait_list_head(node);
            if (!head) continue;
            mutex_addr = *head - L_.wait_list->offset;
            if (!mutexes_.count(mutex_addr)) {
                MutexState m;
                try {
                    m = read_mutex(k_, mutex_addr);
                } catch (const Error&) {
                    continue;
                }
                std::size_t n = 0;
                walk_list(k_, *head, m.walk.count, [&](addr_t wn) {
                    if (n++ < m.waiters.size()) node_to_mutex_.emplace(wn, mutex_addr);
                    return true;
                });
                mutexes_.emplace(mutex_addr, std::move(m));
            }
        }
        const MutexState& m = mutexes_.at(mutex_addr);
        if (std::find(m.waiters.begin(), m.waiters.end(), t.addr) == m.waiters.end()) continue;
        return Blocker{m.addr, m.name, m.owner, m.flags};
    }
    return std::nullopt;
}

}  // namespace netdbg
