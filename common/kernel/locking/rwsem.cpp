#include "kernel/locking/rwsem.h"

#include <algorithm>

#include <fmt/format.h>

#include "kernel/locking/mutex.h"
#include "kernel/locking/rtmutex.h"
#include "kernel/sched/snapshot.h"
#include "kernel/sched/stack.h"
#include "kernel/waits/object_cache.h"
#include "kernel/waits/stack_waiter.h"

namespace netdbg {

RwsemLayout::RwsemLayout(Kernel& k) : s(k.target(), "rw_semaphore") {
    if (!s.find("count"))
        if (auto rb = s.find("rwbase")) {
            StructLayout base(k.target(), "rwbase_rt");
            rt_readers = rb->offset + base.offset("readers");
            rtmutex = rb->offset + base.offset("rtmutex");
            return;
        }
    count = s.require("count");
    owner = s.require("owner");
    wait_list = s.require("wait_list");
    StructLayout w(k.target(), "rwsem_waiter");
    waiter_list = w.offset("list");
    waiter_task = w.offset("task");
    waiter_type = w.offset("type");
    if (auto v = k.target().enum_value("RWSEM_WAITING_FOR_READ")) waiting_for_read = *v;
}

RwsemState read_rwsem(Kernel& k, addr_t addr, std::size_t max) {
    const RwsemLayout& L = k.get<RwsemLayout>();
    RwsemState r;
    r.addr = addr;
    r.name = object_name(k, addr);
    if (L.rtmutex) {
        auto readers = k.mem().read_u32(addr + *L.rt_readers);
        if (!readers) throw Error(fmt::format("cannot read struct rw_semaphore at {:016x}", addr));
        RtMutexState m = read_rt_mutex(k, addr + *L.rtmutex, max);
        r.rt = true;
        r.count = *readers;
        r.owner_word = m.owner | (m.has_waiters ? RT_MUTEX_HAS_WAITERS : 0);
        if (r.writer_pending()) r.waiters.push_back({r.owner(), false});
        for (const RtMutexWaiter& w : m.waiters) r.waiters.push_back({w.task, std::nullopt});
        r.walk = std::move(m.walk);
        return r;
    }
    auto count = k.mem().read_u64(addr + L.count.offset);
    auto owner = k.mem().read_u64(addr + L.owner.offset);
    if (!count || !owner) throw Error(fmt::format("cannot read struct rw_semaphore at {:016x}", addr));
    r.count = *count;
    r.owner_word = *owner;
    std::vector<addr_t> nodes;
    r.walk = walk_list(k, addr + L.wait_list.offset, max, [&](addr_t node) {
        nodes.push_back(node);
        return true;
    });
    nodes.resize(std::min(nodes.size(), r.walk.count));
    for (addr_t node : nodes) {
        addr_t w = node - L.waiter_list;
        auto task = k.mem().read_u64(w + L.waiter_task);
        auto type = k.mem().read_u32(w + L.waiter_type);
        r.waiters.push_back({task ? *task : 0, type && static_cast<std::int64_t>(*type) == L.waiting_for_read});
    }
    return r;
}

std::string rwsem_count_flags(const RwsemState& r) {
    if (r.rt) {
        std::string out = r.count & RWBASE_READER_BIAS ? "READER_BIAS" : r.count == RWBASE_WRITER_BIAS ? "WRITER_BIAS" : "WRITER_PENDING";
        return r.has_waiters() ? out + "|HAS_WAITERS" : out;
    }
    std::uint64_t count = r.count;
    std::string out;
    auto add = [&](std::uint64_t bit, const char* name) {
        if (count & bit) out += out.empty() ? name : std::string("|") + name;
    };
    add(RWSEM_WRITER_LOCKED, "WRITER");
    add(RWSEM_FLAG_WAITERS, "WAITERS");
    add(RWSEM_FLAG_HANDOFF, "HANDOFF");
    return out.empty() ? "-" : out;
}

Blocker rwsem_blocker(const Snapshot& s, const RwsemState& r, addr_t waiter_task) {
    Blocker b;
    b.kind = WaitKind::RwSem;
    b.object = r.addr;
    b.name = r.name;
    for (const RwsemWaiter& w : r.waiters)
        if (w.task == waiter_task && w.read) b.mode = *w.read ? "R" : "W";
    std::uint64_t readers = r.readers();
    if (r.writer_pending()) {
        b.holder_note = fmt::format(
            "held by {} reader{}, which PREEMPT_RT's rwbase_rt does not record; the writer {} holds its rt_mutex "
            "and waits for them to leave",
            readers, readers == 1 ? "" : "s", blocker_task_label(s, r.owner()));
    } else if (r.writer_locked()) {
        if (r.owner()) b.holders.push_back({r.owner(), "writer"});
        else b.holder_note = "write-locked, but the owner word names no writer";
    } else if (readers) {
        b.holder_note = fmt::format("held by {} reader{}; the kernel records only the last reader to take it",
                                    readers, readers == 1 ? "" : "s");
        if (r.reader_owned() && r.owner())
            b.candidates.push_back({r.owner(), "last reader to take it (rw_semaphore.owner); it may have released it"});
    } else {
        b.holder_note = "not held (waiters being woken)";
    }
    for (const auto& f : r.walk.findings) b.findings.push_back("wait_list " + f.describe());
    json waiters = json::array();
    for (const RwsemWaiter& w : r.waiters) {
        const Task* t = s.task(w.task);
        std::optional<bool> read = w.read;
        if (!read && t) {
            // PREEMPT_RT's rt_mutex waiter does not say R or W: the calls
            // the waiter came through do (down_read / down_write).
            RtLockUser user = rt_lock_user(s.k, call_chain(s.k, *t), 0);
            if (user == RtLockUser::RwSemRead || user == RtLockUser::RwSemWrite) read = user == RtLockUser::RwSemRead;
        }
        waiters.push_back({{"task", hex(w.task)},
                           {"pid", t ? json(t->pid) : json(nullptr)},
                           {"mode", read ? json(*read ? "R" : "W") : json(nullptr)}});
    }
    b.fields = {{"count", fmt::format("0x{:016x}", r.count)},
                {"count_flags", rwsem_count_flags(r)},
                {"owner_word", fmt::format("0x{:016x}", r.owner_word)},
                {"readers", readers},
                {"reader_owned", r.reader_owned()},
                {"waiters", waiters}};
    return b;
}

namespace {

// rwsem_down_{read,write}_slowpath() and the down_read*/down_write*
// entries they may be inlined into.
bool is_rwsem_wait_function(std::string_view fn) {
    return fn.starts_with("rwsem_down_") || fn.starts_with("down_read") || fn.starts_with("down_write") ||
           fn.starts_with("__down_read") || fn.starts_with("__down_write");
}

// An rwsem waiter proven: the waiters flag set (rwsem_add_waiter()'s
// callers set RWSEM_FLAG_WAITERS with the first waiter, rwsem_del_waiter()
// clears it with the last; on PREEMPT_RT, RT_MUTEX_HAS_WAITERS), the task
// among the waiters, and the symbol, if any, typed struct rw_semaphore.
bool proven(Kernel& k, const RwsemState* r, addr_t task) {
    return r && r->has_waiters() &&
           std::any_of(r->waiters.begin(), r->waiters.end(), [&](const RwsemWaiter& x) { return x.task == task; }) &&
           symbol_type_allows(k, r->addr, "struct rw_semaphore");
}

class RwsemWaits : public WaitReader {
public:
    explicit RwsemWaits(const Snapshot& s) : s_(s) {
        try {
            L_ = &s.k.get<RwsemLayout>();
        } catch (const LayoutError&) {
        }
    }
    bool waits_in(std::string_view fn) const override {
        if (!L_) return false;
        return L_->rtmutex ? is_rt_mutex_wait_function(fn) || fn.starts_with("rwbase_write_lock")
                           : is_rwsem_wait_function(fn);
    }

    std::optional<Blocker> find(const WaitSite& site) override {
        Kernel& k = s_.k;
        auto read = [&](addr_t a) { return read_rwsem(k, a); };
        if (L_->rtmutex && site.function.starts_with("rwbase_write_lock")) return pending_writer(site);
        if (L_->rtmutex) {
            // The rt_mutex_waiter names the rwbase's rt_mutex; the calls it
            // came through say it is an rwsem, and whether to read or write.
            auto w = rt_mutex_wait(k, site);
            if (!w) return std::nullopt;
            RtLockUser user = rt_lock_user(k, site.chain, site.frame);
            if (user != RtLockUser::RwSemRead && user != RtLockUser::RwSemWrite) return std::nullopt;
            const RwsemState* r = cache_.get(w->base - *L_->rtmutex, read);
            if (!proven(k, r, site.task.addr)) return std::nullopt;
            Blocker b = rwsem_blocker(s_, *r, site.task.addr);
            b.mode = user == RtLockUser::RwSemRead ? "R" : "W";
            return b;
        }
        for (const StackWaiter& w : stack_waiters(k, s_, site, {L_->waiter_task, L_->waiter_list})) {
            const RwsemState* r = cache_.get(w.head - L_->wait_list.offset, read);
            if (proven(k, r, site.task.addr)) return rwsem_blocker(s_, *r, site.task.addr);
        }
        return std::nullopt;
    }

private:
    // PREEMPT_RT's rwbase_write_lock() sleeps, holding the rwsem's rt_mutex,
    // until the readers counted in rwbase_rt.readers leave: the task is on
    // no wait list. The rwsem is proven by its own state: an rw_semaphore
    // (pointed to from the stack below the rwbase_write_lock() frame, where
    // schedule() saved the registers) whose rt_mutex owner is this task and
    // whose readers word says a writer is pending with readers inside.
    std::optional<Blocker> pending_writer(const WaitSite& site) {
        Kernel& k = s_.k;
        auto read = [&](addr_t a) { return read_rwsem(k, a); };
        addr_t lo = site.chain.frames.empty() ? site.lo : std::min(site.lo, site.chain.frames[0].slot);
        WaitSite below = site;
        below.lo = lo;
        const RtMutexLayout& M = k.get<RtMutexLayout>();
        std::optional<Blocker> found;
        below.for_each_word([&](addr_t, addr_t word) {
            if (found || word < 0xffff800000000000ULL) return;
            for (addr_t a : {word, word - *L_->rtmutex}) {
                // The owner word first: most stack words point elsewhere.
                auto owner = k.mem().read_u64(a + *L_->rtmutex + M.owner.offset);
                if (!owner || (*owner & ~RT_MUTEX_HAS_WAITERS) != site.task.addr) continue;
                const RwsemState* r = cache_.get(a, read);
                if (!r || !r->writer_pending() || r->owner() != site.task.addr || !r->readers() ||
                    !symbol_type_allows(k, a, "struct rw_semaphore"))
                    continue;
                found = rwsem_blocker(s_, *r, site.task.addr);
                found->mode = "W";
                return;
            }
        });
        return found;
    }

    const Snapshot& s_;
    const RwsemLayout* L_ = nullptr;
    ObjectCache<RwsemState> cache_;
};

}  // namespace

std::unique_ptr<WaitReader> rwsem_wait_reader(const Snapshot& s) { return std::make_unique<RwsemWaits>(s); }

}  // namespace netdbg
