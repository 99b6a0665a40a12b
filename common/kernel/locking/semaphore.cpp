#include "kernel/locking/semaphore.h"

#include <algorithm>

#include <fmt/format.h>

#include "kernel/sched/snapshot.h"
#include "kernel/waits/object_cache.h"

namespace netdbg {

SemaphoreLayout::SemaphoreLayout(Kernel& k) : s(k.target(), "semaphore") {
    count = s.require("count");
    wait_list = s.require("wait_list");
    last_holder = s.find("last_holder");
    StructLayout w(k.target(), "semaphore_waiter");
    waiter = {w.offset("task"), w.offset("list")};
}

SemaphoreState read_semaphore(Kernel& k, addr_t addr, std::size_t max) {
    const SemaphoreLayout& L = k.get<SemaphoreLayout>();
    SemaphoreState sem;
    sem.addr = addr;
    sem.name = object_name(k, addr);
    auto count = k.mem().read_u32(addr + L.count.offset);
    if (!count) throw Error(fmt::format("cannot read struct semaphore at {:016x}{}", addr, k.mem().unreadable_note(addr)));
    sem.count = *count;
    if (L.last_holder) sem.last_holder = k.mem().read_u64(addr + L.last_holder->offset);
    sem.waiters = read_wait_list(k, addr + L.wait_list.offset, L.waiter, max);
    return sem;
}

Blocker semaphore_blocker(const Snapshot& s, const SemaphoreState& sem) {
    Blocker b;
    b.kind = WaitKind::Semaphore;
    b.object = sem.addr;
    b.name = sem.name;
    if (sem.last_holder && *sem.last_holder) {
        b.holder_note = "the kernel records only the last task to take it (semaphore.last_holder)";
        b.candidates.push_back({*sem.last_holder, "last holder recorded in semaphore.last_holder"});
    } else {
        b.holder_note = "the kernel records no holder of a semaphore";
    }
    for (const auto& f : sem.waiters.walk.findings) b.findings.push_back("wait_list " + f.describe());
    json waiters = json::array();
    for (addr_t t : sem.waiters.tasks) {
        const Task* task = s.task(t);
        waiters.push_back({{"task", hex(t)}, {"pid", task ? json(task->pid) : json(nullptr)}});
    }
    b.fields = {{"count", sem.count}, {"waiters", waiters}};
    if (sem.last_holder) b.fields["last_holder"] = hex(*sem.last_holder);
    return b;
}

namespace {

// down*() -> __down*() -> __down_common(); rwsems' down_read/down_write
// are not semaphore waits.
bool is_semaphore_wait_function(std::string_view fn) {
    static constexpr std::string_view names[] = {"down",           "down_interruptible", "down_killable",
                                                 "down_timeout",   "__down",             "__down_common",
                                                 "__down_interruptible", "__down_killable", "__down_timeout"};
    return std::find(std::begin(names), std::end(names), fn) != std::end(names);
}

class SemaphoreWaits : public WaitReader {
public:
    explicit SemaphoreWaits(const Snapshot& s) : s_(s) {
        try {
            L_ = &s.k.get<SemaphoreLayout>();
        } catch (const LayoutError&) {
        }
    }
    bool waits_in(std::string_view fn) const override { return L_ && is_semaphore_wait_function(fn); }

    std::optional<Blocker> find(const WaitSite& site) override {
        Kernel& k = s_.k;
        for (const StackWaiter& w : stack_waiters(k, s_, site, L_->waiter)) {
            addr_t addr = w.head - L_->wait_list.offset;
            const SemaphoreState* sem = cache_.get(addr, [&](addr_t a) { return read_semaphore(k, a); });
            // __down_common() queues only when count is 0, and up() hands the
            // semaphore to the first waiter without raising count: while
            // anyone waits, count is 0.
            if (!sem || sem->count != 0) continue;
            const auto& tasks = sem->waiters.tasks;
            if (std::find(tasks.begin(), tasks.end(), site.task.addr) == tasks.end()) continue;
            if (!symbol_type_allows(k, addr, "struct semaphore")) continue;
            return semaphore_blocker(s_, *sem);
        }
        return std::nullopt;
    }

private:
    const Snapshot& s_;
    const SemaphoreLayout* L_ = nullptr;
    ObjectCache<SemaphoreState> cache_;
};

}  // namespace

std::unique_ptr<WaitReader> semaphore_wait_reader(const Snapshot& s) { return std::make_unique<SemaphoreWaits>(s); }

}  // namespace netdbg
