#include "kernel/sched/completion.h"

#include <algorithm>

#include <fmt/format.h>

#include "kernel/locking/mutex.h"
#include "kernel/sched/snapshot.h"
#include "kernel/waits/object_cache.h"

namespace netdbg {

CompletionLayout::CompletionLayout(Kernel& k) {
    StructLayout c(k.target(), "completion");
    StructLayout head(k.target(), "swait_queue_head");
    StructLayout q(k.target(), "swait_queue");
    done = c.require("done");
    task_list = c.offset("wait") + head.offset("task_list");
    waiter = {q.offset("task"), q.offset("task_list")};
}

CompletionState read_completion(Kernel& k, addr_t addr, std::size_t max) {
    const CompletionLayout& L = k.get<CompletionLayout>();
    CompletionState c;
    c.addr = addr;
    c.name = object_name(k, addr);
    auto done = k.mem().read_u32(addr + L.done.offset);
    if (!done) throw Error(fmt::format("cannot read struct completion at {:016x}{}", addr, k.mem().unreadable_note(addr)));
    c.done = *done;
    c.waiters = read_wait_list(k, addr + L.task_list, L.waiter, max);
    return c;
}

namespace {

// wait_for_completion*() -> __wait_for_common() -> do_wait_for_common(),
// inlined into one another as the compiler saw fit.
bool is_completion_wait_function(std::string_view fn) {
    return fn.starts_with("wait_for_completion") || fn == "__wait_for_common" || fn == "wait_for_common" ||
           fn == "wait_for_common_io" || fn == "do_wait_for_common";
}

Blocker completion_blocker(const Snapshot& s, const CompletionState& c) {
    Blocker b;
    b.kind = WaitKind::Completion;
    b.object = c.addr;
    b.name = c.name;
    b.holder_note = "the kernel records no task that will complete it";
    for (const auto& f : c.waiters.walk.findings) b.findings.push_back("wait list " + f.describe());
    json waiters = json::array();
    for (addr_t t : c.waiters.tasks) {
        const Task* task = s.task(t);
        waiters.push_back({{"task", hex(t)}, {"pid", task ? json(task->pid) : json(nullptr)}});
    }
    b.fields = {{"done", c.done}, {"waiters", waiters}};
    return b;
}

class CompletionWaits : public WaitReader {
public:
    CompletionWaits(const Snapshot& s, std::vector<std::unique_ptr<CompletionUser>> users)
        : s_(s), users_(std::move(users)) {
        try {
            L_ = &s.k.get<CompletionLayout>();
        } catch (const LayoutError&) {
        }
    }
    bool waits_in(std::string_view fn) const override { return L_ && is_completion_wait_function(fn); }

    std::optional<Blocker> find(const WaitSite& site) override {
        Kernel& k = s_.k;
        for (const StackWaiter& w : stack_waiters(k, s_, site, L_->waiter)) {
            addr_t addr = w.head - L_->task_list;
            const CompletionState* c = cache_.get(addr, [&](addr_t a) { return read_completion(k, a); });
            if (!c) continue;
            const auto& tasks = c->waiters.tasks;
            if (std::find(tasks.begin(), tasks.end(), site.task.addr) == tasks.end()) continue;
            if (!symbol_type_allows(k, addr, "struct completion")) continue;
            for (auto& u : users_)
                if (auto b = u->find({site, *c})) return b;
            return completion_blocker(s_, *c);
        }
        return std::nullopt;
    }

private:
    const Snapshot& s_;
    std::vector<std::unique_ptr<CompletionUser>> users_;
    const CompletionLayout* L_ = nullptr;
    ObjectCache<CompletionState> cache_;
};

}  // namespace

std::unique_ptr<WaitReader> completion_wait_reader(const Snapshot& s,
                                                   std::vector<std::unique_ptr<CompletionUser>> users) {
    return std::make_unique<CompletionWaits>(s, std::move(users));
}

}  // namespace netdbg
