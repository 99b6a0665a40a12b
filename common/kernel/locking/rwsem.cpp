#include "kernel/locking/rwsem.h"

#include <algorithm>

#include <fmt/format.h>

#include "kernel/locking/mutex.h"
#include "kernel/sched/snapshot.h"
#include "kernel/waits/object_cache.h"
#include "kernel/waits/stack_waiter.h"

namespace netdbg {

RwsemLayout::RwsemLayout(Kernel& k) : s(k.target(), "rw_semaphore") {
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

std::string rwsem_count_flags(std::uint64_t count) {
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
        if (w.task == waiter_task) b.mode = w.read ? "R" : "W";
    std::uint64_t readers = r.readers();
    if (r.writer_locked()) {
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
        waiters.push_back({{"task", hex(w.task)}, {"pid", t ? json(t->pid) : json(nullptr)}, {"mode", w.read ? "R" : "W"}});
    }
    b.fields = {{"count", fmt::format("0x{:016x}", r.count)},
                {"count_flags", rwsem_count_flags(r.count)},
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

class RwsemWaits : public WaitReader {
public:
    explicit RwsemWaits(const Snapshot& s) : s_(s) {
        try {
            L_ = &s.k.get<RwsemLayout>();
        } catch (const LayoutError&) {
        }
    }
    bool waits_in(std::string_view fn) const override { return L_ && is_rwsem_wait_function(fn); }

    std::optional<Blocker> find(const WaitSite& site) override {
        Kernel& k = s_.k;
        for (const StackWaiter& w : stack_waiters(k, s_, site, {L_->waiter_task, L_->waiter_list})) {
            addr_t addr = w.head - L_->wait_list.offset;
            const RwsemState* r = cache_.get(addr, [&](addr_t a) { return read_rwsem(k, a); });
            // rwsem_add_waiter()'s callers set RWSEM_FLAG_WAITERS with the
            // first waiter; rwsem_del_waiter() clears it with the last.
            if (!r || !(r->count & RWSEM_FLAG_WAITERS)) continue;
            if (std::none_of(r->waiters.begin(), r->waiters.end(),
                             [&](const RwsemWaiter& x) { return x.task == site.task.addr; }))
                continue;
            if (!symbol_type_allows(k, addr, "struct rw_semaphore")) continue;
            return rwsem_blocker(s_, *r, site.task.addr);
        }
        return std::nullopt;
    }

private:
    const Snapshot& s_;
    const RwsemLayout* L_ = nullptr;
    ObjectCache<RwsemState> cache_;
};

}  // namespace

std::unique_ptr<WaitReader> rwsem_wait_reader(const Snapshot& s) { return std::make_unique<RwsemWaits>(s); }

}  // namespace netdbg
