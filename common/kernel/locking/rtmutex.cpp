#include "kernel/locking/rtmutex.h"

#include <unordered_set>

#include <fmt/format.h>

namespace netdbg {

RtMutexLayout::RtMutexLayout(Kernel& k) : s(k.target(), "rt_mutex_base") {
    owner = s.require("owner");
    waiters = s.require("waiters");
    StructLayout w(k.target(), "rt_mutex_waiter");
    if (auto e = w.find("tree_entry")) {
        waiter_node = e->offset;
        if (auto p = w.find("prio")) waiter_prio = p->offset;
    } else {
        StructLayout node(k.target(), "rt_waiter_node");
        waiter_node = w.offset("tree") + node.offset("entry");
        if (auto p = node.find("prio")) waiter_prio = w.offset("tree") + p->offset;
    }
    waiter_task = w.offset("task");
    waiter_lock = w.offset("lock");
}

namespace {

// struct rb_node { __rb_parent_color, rb_right, rb_left }.
constexpr std::size_t kRbRight = 8, kRbLeft = 16;

}  // namespace

RtMutexState read_rt_mutex(Kernel& k, addr_t base, std::size_t max) {
    const RtMutexLayout& L = k.get<RtMutexLayout>();
    RtMutexState r;
    r.base = base;
    auto owner = k.mem().read_u64(base + L.owner.offset);
    auto root = k.mem().read_u64(base + L.waiters.offset);
    if (!owner || !root) throw Error(fmt::format("cannot read struct rt_mutex_base at {:016x}", base));
    r.owner = *owner & ~RT_MUTEX_HAS_WAITERS;
    r.has_waiters = *owner & RT_MUTEX_HAS_WAITERS;
    // In-order walk (leftmost first: the highest priority), iterative and
    // bounded; a node met twice is a loop, not an endless walk.
    std::vector<addr_t> stack;
    std::unordered_set<addr_t> seen;
    addr_t cur = *root;
    auto finding = [&](ListFault f, addr_t node) {
        ListFinding x{};
        x.fault = f;
        x.index = r.waiters.size();
        x.node = node;
        r.walk.findings.push_back(x);
    };
    while (cur || !stack.empty()) {
        k.check_interrupt();
        while (cur) {
            if (!seen.insert(cur).second) {
                finding(ListFault::Loop, cur);
                return r;
            }
            if (seen.size() > max) {
                finding(ListFault::Truncated, cur);
                return r;
            }
            stack.push_back(cur);
            auto left = k.mem().read_u64(cur + kRbLeft);
            if (!left) {
                finding(ListFault::Unreadable, cur);
                return r;
            }
            cur = *left;
        }
        addr_t node = stack.back();
        stack.pop_back();
        addr_t waiter = node - L.waiter_node;
        RtMutexWaiter w;
        w.waiter = waiter;
        w.task = k.mem().read_u64(waiter + L.waiter_task).value_or(0);
        if (L.waiter_prio)
            if (auto p = k.mem().read_u32(waiter + *L.waiter_prio)) w.prio = static_cast<int>(*p);
        r.waiters.push_back(w);
        ++r.walk.count;
        auto right = k.mem().read_u64(node + kRbRight);
        if (!right) {
            finding(ListFault::Unreadable, node);
            return r;
        }
        cur = *right;
    }
    r.walk.complete = true;
    return r;
}

bool is_rt_mutex_wait_function(std::string_view fn) {
    return fn.starts_with("rt_mutex_slowlock") || fn.starts_with("__rt_mutex_slowlock") ||
           fn.starts_with("__rt_mutex_lock") || fn.starts_with("rt_mutex_lock") || fn.starts_with("__mutex_lock") ||
           fn.starts_with("mutex_lock") || fn.starts_with("rwbase_") || fn.starts_with("__rwbase_") ||
           fn.starts_with("down_read") || fn.starts_with("down_write") || fn.starts_with("__down_read") ||
           fn.starts_with("__down_write");
}

RtLockUser rt_lock_user(Kernel& k, const CallChain& chain, std::size_t from_frame) {
    for (std::size_t i = from_frame; i < chain.frames.size(); ++i) {
        std::string name = k.function_name(chain.frames[i].pc);
        std::string_view fn = base_function_name(name);
        if (fn.starts_with("rwbase_read") || fn.starts_with("__rwbase_read") || fn.starts_with("down_read") ||
            fn.starts_with("__down_read"))
            return RtLockUser::RwSemRead;
        if (fn.starts_with("rwbase_write") || fn.starts_with("down_write") || fn.starts_with("__down_write"))
            return RtLockUser::RwSemWrite;
        if (fn.starts_with("mutex_lock") || fn.starts_with("__mutex_lock") || fn.starts_with("_mutex_lock"))
            return RtLockUser::Mutex;
    }
    return RtLockUser::Other;
}

std::optional<RtWait> rt_mutex_wait(Kernel& k, const WaitSite& site) {
    const RtMutexLayout& L = k.get<RtMutexLayout>();
    std::optional<RtWait> found;
    site.for_each_word([&](addr_t at, addr_t word) {
        if (found || word != site.task.addr || at < L.waiter_task) return;
        addr_t waiter = at - L.waiter_task;
        auto base = k.mem().read_u64(waiter + L.waiter_lock);
        if (!base || !*base) return;
        RtMutexState r;
        try {
            r = read_rt_mutex(k, *base, 10000);
        } catch (const Interrupted&) {
            throw;
        } catch (const Error&) {
            return;
        }
        if (!r.has_waiters) return;
        for (const RtMutexWaiter& w : r.waiters)
            if (w.waiter == waiter && w.task == site.task.addr) found = RtWait{waiter, *base};
    });
    return found;
}

}  // namespace netdbg
