#include "kernel/workqueue/flush.h"

#include <fmt/format.h>

#include "kernel/sched/snapshot.h"
#include "kernel/workqueue/workqueue.h"

namespace netdbg {

namespace {

struct BarrierLayout {
    explicit BarrierLayout(Kernel& k) {
        StructLayout b(k.target(), "wq_barrier");
        work = b.offset("work");
        done = b.offset("done");
        task = b.offset("task");
        StructLayout w(k.target(), "worker");
        worker_scheduled = w.offset("scheduled");
        worker_task = w.offset("task");
    }
    std::size_t work = 0, done = 0, task = 0;
    std::size_t worker_scheduled = 0, worker_task = 0;  // struct worker
};

// The worker whose `scheduled` list the barrier's work is on: walking the
// ring from the barrier, a node that is a worker's scheduled list head,
// proven by the worker's own task pointing back to it (kthread_data).
std::optional<BusyWorker> scheduled_on(const Snapshot& s, const BarrierLayout& L, addr_t barrier_entry) {
    Kernel& k = s.k;
    std::optional<BusyWorker> found;
    walk_list(k, barrier_entry, 10000, [&](addr_t node) {
        addr_t worker = node - L.worker_scheduled;
        auto task = k.mem().read_u64(worker + L.worker_task);
        if (!task) return true;
        const Task* t = s.task(*task);
        if (!t) return true;
        auto info = task_worker(k, *t);
        if (!info || info->worker != worker) return true;
        found = BusyWorker{};
        found->worker = worker;
        found->task = *task;
        found->current_work = info->current_work;
        found->current_func = info->current_func;
        found->workqueue = info->workqueue;
        return false;
    });
    return found;
}

class FlushWork : public CompletionUser {
public:
    explicit FlushWork(const Snapshot& s) : s_(s) {
        try {
            L_ = &s.k.get<BarrierLayout>();
            s.k.get<WorkLayout>();
        } catch (const LayoutError&) {
            L_ = nullptr;
        }
    }

    std::optional<Blocker> find(const CompletionWait& w) override {
        if (!L_) return std::nullopt;
        Kernel& k = s_.k;
        const Task& t = w.site.task;
        addr_t barr = w.completion.addr - L_->done;
        // The barrier lives on the flusher's stack and names it.
        if (barr < t.stack || barr + L_->task + 8 > t.stack + k.target().thread_size()) return std::nullopt;
        auto task = k.mem().read_u64(barr + L_->task);
        if (!task || *task != t.addr) return std::nullopt;
        const WorkLayout& WL = k.get<WorkLayout>();
        Work bw = read_work(k, barr + L_->work);
        if (!bw.readable || k.function_name(bw.func) != "wq_barrier_func") return std::nullopt;

        Blocker b;
        b.kind = WaitKind::FlushWork;
        addr_t entry = barr + L_->work + WL.entry.offset;
        json worker_json = nullptr;
        addr_t target = 0, func = 0;
        std::string wq;
        bool running = false;
        if (auto worker = scheduled_on(s_, *L_, entry)) {
            running = true;
            target = worker->current_work;
            func = worker->current_func;
            wq = worker->workqueue;
            b.holders.push_back({worker->task, "running the work"});
            const Task* wt = s_.task(worker->task);
            worker_json = {{"task", hex(worker->task)}, {"pid", wt ? json(wt->pid) : json(nullptr)},
                           {"worker", hex(worker->worker)}};
            b.details.push_back(fmt::format("work {:016x} {} (workqueue {}) runs on {}", target, k.symbolize(func),
                                            wq.empty() ? "-" : wq, blocker_task_label(s_, worker->task)));
        } else if (auto prev = k.mem().read_u64(entry + 8)) {
            // Not running yet: the flushed work is just before the barrier.
            Work pending = read_work(k, *prev - WL.entry.offset);
            if (pending.readable && k.function_name(pending.func) != "") {
                target = pending.addr;
                func = pending.func;
                wq = pwq_workqueue_name(k, pending.pwq);
                b.holder_note = "the work is queued and not running yet";
                b.details.push_back(fmt::format("work {:016x} {} (workqueue {}) is pending", target,
                                                k.symbolize(func), wq.empty() ? "-" : wq));
            }
        }
        if (!target) b.holder_note = "the flushed work was not found next to the barrier";
        b.object = target ? target : barr;
        std::string name = target ? object_name(k, target) : "";
        b.name = !name.empty() ? name : func ? k.function_name(func) : "";
        b.fields = {{"barrier", hex(barr)},
                    {"work", target ? json(hex(target)) : json(nullptr)},
                    {"function", func ? json(k.symbolize(func)) : json(nullptr)},
                    {"workqueue", wq},
                    {"running", running},
                    {"worker", worker_json}};
        return b;
    }

private:
    const Snapshot& s_;
    const BarrierLayout* L_ = nullptr;
};

}  // namespace

std::unique_ptr<CompletionUser> flush_work_completion_user(const Snapshot& s) {
    return std::make_unique<FlushWork>(s);
}

}  // namespace netdbg
