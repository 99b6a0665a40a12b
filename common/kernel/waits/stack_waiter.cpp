#include "kernel/waits/stack_waiter.h"

#include "kernel/sched/snapshot.h"

namespace netdbg {

namespace {

// A record's list node lies on the stack of the task it names. That task
// need not be listed (a damaged task list): then it is read on its own.
bool is_waiter_node(Kernel& k, const Snapshot& s, addr_t node, WaiterShape shape) {
    auto task = k.mem().read_u64(node - shape.list + shape.task);
    if (!task || !*task) return false;
    addr_t stack;
    if (const Task* t = s.task(*task)) {
        stack = t->stack;
    } else {
        auto t2 = read_task(k, *task);
        if (!t2) return false;
        stack = t2->stack;
    }
    return node >= stack && node < stack + k.target().thread_size();
}

bool linked(Kernel& k, addr_t node) {
    auto next = k.mem().read_u64(node);
    auto prev = k.mem().read_u64(node + 8);
    if (!next || !prev) return false;
    auto next_prev = k.mem().read_u64(*next + 8);
    auto prev_next = k.mem().read_u64(*prev);
    return next_prev && prev_next && *next_prev == node && *prev_next == node;
}

}  // namespace

std::vector<StackWaiter> stack_waiters(Kernel& k, const Snapshot& s, const WaitSite& site, WaiterShape shape) {
    std::vector<StackWaiter> out;
    site.for_each_word([&](addr_t at, addr_t word) {
        if (word != site.task.addr || at < shape.task) return;
        addr_t waiter = at - shape.task;
        addr_t node = waiter + shape.list;
        if (node < site.stack.base || !linked(k, node)) return;
        std::optional<addr_t> head;
        walk_list(k, node, 100000, [&](addr_t n) {
            if (is_waiter_node(k, s, n, shape)) return true;
            head = n;
            return false;
        });
        if (head) out.push_back({waiter, node, *head});
    });
    return out;
}

WaitList read_wait_list(Kernel& k, addr_t head, WaiterShape shape, std::size_t max) {
    WaitList w;
    std::vector<addr_t> nodes;
    w.walk = walk_list(k, head, max, [&](addr_t node) {
        nodes.push_back(node);
        return true;
    });
    nodes.resize(std::min(nodes.size(), w.walk.count));
    for (addr_t node : nodes) {
        auto task = k.mem().read_u64(node - shape.list + shape.task);
        w.waiters.push_back(node - shape.list);
        w.tasks.push_back(task ? *task : 0);
    }
    return w;
}

}  // namespace netdbg
