#include "kernel/locking/mutex.h"

#include <algorithm>

#include <fmt/format.h>

#include "kernel/locking/rtmutex.h"
#include "kernel/sched/snapshot.h"
#include "kernel/waits/object_cache.h"
#include "kernel/waits/stack_waiter.h"

namespace netdbg {

MutexLayout::MutexLayout(Kernel& k) : s(k.target(), "mutex") {
    if (!s.find("owner"))
        if (auto rt = s.find("rtmutex")) {
            rtmutex = rt->offset;
            owner = k.get<RtMutexLayout>().owner;
            owner.offset += rt->offset;
            return;
        }
    owner = s.require("owner");
    wait_list = s.find("wait_list");
    owner_has_flags = !s.find("count");
    StructLayout w(k.target(), "mutex_waiter");
    waiter_list = w.offset("list");
    waiter_task = w.offset("task");
}

std::string mutex_flag_names(std::uint64_t flags) {
    std::string out;
    auto add = [&](std::uint64_t bit, const char* name) {
        if (flags & bit) out += out.empty() ? name : std::string("|") + name;
    };
    add(MUTEX_FLAG_WAITERS, "WAITERS");
    add(MUTEX_FLAG_HANDOFF, "HANDOFF");
    add(MUTEX_FLAG_PICKUP, "PICKUP");
    return out.empty() ? "-" : out;
}

MutexState read_mutex(Kernel& k, addr_t addr, std::size_t max) {
    const MutexLayout& L = k.get<MutexLayout>();
    MutexState m;
    m.addr = addr;
    m.name = object_name(k, addr);
    auto owner = k.mem().read_u64(addr + L.owner.offset);
    if (!owner) throw Error(fmt::format("cannot read struct mutex at {:016x}{}", addr, k.mem().unreadable_note(addr)));
    m.owner = L.owner_has_flags ? (*owner & ~MUTEX_FLAGS) : *owner;
    m.flags = L.owner_has_flags ? (*owner & MUTEX_FLAGS) : 0;
    if (L.rtmutex) {
        // RT_MUTEX_HAS_WAITERS is bit 0 too: shown as WAITERS.
        RtMutexState r = read_rt_mutex(k, addr + *L.rtmutex, max);
        for (const RtMutexWaiter& w : r.waiters) m.waiters.push_back(w.task);
        m.walk = std::move(r.walk);
        return m;
    }
    if (!L.wait_list) return m;
    addr_t head = addr + L.wait_list->offset;
    std::vector<addr_t> nodes;
    m.walk = walk_list(k, head, max, [&](addr_t node) {
        nodes.push_back(node);
        return true;
    });
    nodes.resize(std::min(nodes.size(), m.walk.count));
    for (addr_t node : nodes) {
        auto task = k.mem().read_u64(node - L.waiter_list + L.waiter_task);
        m.waiters.push_back(task ? *task : 0);
    }
    return m;
}

Blocker mutex_blocker(const MutexState& m) {
    Blocker b;
    b.kind = WaitKind::Mutex;
    b.object = m.addr;
    b.name = m.name;
    if (m.owner) b.holders.push_back({m.owner, "owner"});
    else if (m.flags & MUTEX_FLAG_WAITERS) b.holder_note = "no owner, but WAITERS is set";
    else b.holder_note = "not held";
    for (const auto& f : m.walk.findings) b.findings.push_back("wait_list " + f.describe());
    b.fields = {{"owner_word", fmt::format("0x{:016x}", m.owner | m.flags)},
                {"flags", mutex_flag_names(m.flags)},
                {"waiter_count", m.waiters.size()}};
    return b;
}

namespace {

// __mutex_lock_common() is inlined into __mutex_lock() and its relatives.
bool is_mutex_wait_function(std::string_view fn) {
    return fn.starts_with("__mutex_lock") || fn.starts_with("mutex_lock") || fn.starts_with("__ww_mutex_lock") ||
           fn.starts_with("ww_mutex_lock");
}

// A mutex waiter proven: WAITERS set (__mutex_add_waiter() sets it with the
// first waiter, __mutex_remove_waiter() clears it with the last; on
// PREEMPT_RT, RT_MUTEX_HAS_WAITERS likewise), the task on its waiter list,
// and the symbol, if any, typed struct mutex.
bool proven(Kernel& k, const MutexState* m, addr_t task) {
    return m && (m->flags & MUTEX_FLAG_WAITERS) &&
           std::find(m->waiters.begin(), m->waiters.end(), task) != m->waiters.end() &&
           symbol_type_allows(k, m->addr, "struct mutex");
}

class MutexWaits : public WaitReader {
public:
    explicit MutexWaits(const Snapshot& s) : s_(s) {
        try {
            L_ = &s.k.get<MutexLayout>();
        } catch (const LayoutError&) {
        }
    }
    bool waits_in(std::string_view fn) const override {
        if (!L_) return false;
        if (L_->rtmutex) return is_rt_mutex_wait_function(fn);
        return L_->wait_list && is_mutex_wait_function(fn);
    }

    std::optional<Blocker> find(const WaitSite& site) override {
        Kernel& k = s_.k;
        auto read = [&](addr_t a) { return read_mutex(k, a); };
        if (L_->rtmutex) {
            // The rt_mutex_waiter names its lock; the calls it came through
            // say the lock is a mutex (an rwsem's rt_mutex is read by rwsem.cpp).
            auto w = rt_mutex_wait(k, site);
            if (!w || rt_lock_user(k, site.chain, site.frame) != RtLockUser::Mutex) return std::nullopt;
            const MutexState* m = cache_.get(w->base - *L_->rtmutex, read);
            if (!proven(k, m, site.task.addr)) return std::nullopt;
            return mutex_blocker(*m);
        }
        for (const StackWaiter& w : stack_waiters(k, s_, site, {L_->waiter_task, L_->waiter_list})) {
            const MutexState* m = cache_.get(w.head - L_->wait_list->offset, read);
            if (proven(k, m, site.task.addr)) return mutex_blocker(*m);
        }
        return std::nullopt;
    }

private:
    const Snapshot& s_;
    const MutexLayout* L_ = nullptr;
    ObjectCache<MutexState> cache_;
};

}  // namespace

std::unique_ptr<WaitReader> mutex_wait_reader(const Snapshot& s) { return std::make_unique<MutexWaits>(s); }


}  // namespace netdbg
