// libFuzzer target: the wait readers on a fuzzed image holding every lock
// kind of the waits scenario: an rwsem held for write with a reader and a
// writer waiting, an rwsem held by two readers with a writer waiting, a
// semaphore with two waiters, a bare completion, and a flush_work() whose
// worker waits for a mutex held by a sleeping task. The input corrupts
// counts and owner words, wait lists, waiter records on the stacks, the
// barrier and the worker; BlockerFinder, the rwsem, semaphore and completion
// readers, and uninterruptible and lockowner (text and JSON) must end with
// findings or one netdbg::Error line.
#include "core/kernel.h"
#include "fake_waits.h"
#include "fuzz_image.h"
#include "kernel/locking/rwsem.h"
#include "kernel/locking/semaphore.h"
#include "kernel/sched/completion.h"
#include "kernel/sched/snapshot.h"
#include "kernel/waits/finder.h"

using namespace netdbg;
using namespace netdbg::test;

namespace {

struct Scenario : SchedScenario {
    FakeWaits w{fk};
    addr_t rw = 0, rr = 0, sem = 0, done = 0;
    std::unique_ptr<fuzz::HostileImage> image;

    Scenario() {
        auto proc = [&](int pid, std::uint64_t state, int cpu = 0) { return task(pid, 100 + pid, state, cpu); };
        rw = w.new_rwsem("nd_rwsem_w");
        w.rwsem_write_locked(rw, proc(10, TASK_INTERRUPTIBLE));
        w.block_on_rwsem(proc(11, TASK_UNINTERRUPTIBLE), rw, true);
        w.block_on_rwsem(proc(12, TASK_UNINTERRUPTIBLE, 1), rw, false);
        rr = w.new_rwsem("nd_rwsem_r");
        proc(20, TASK_INTERRUPTIBLE);
        w.rwsem_read_locked(rr, 2, proc(21, TASK_INTERRUPTIBLE));
        w.block_on_rwsem(proc(22, TASK_UNINTERRUPTIBLE), rr, false);
        sem = w.new_semaphore("nd_sem", 0);
        w.block_on_semaphore(proc(30, TASK_UNINTERRUPTIBLE), sem);
        w.block_on_semaphore(proc(31, TASK_UNINTERRUPTIBLE, 1), sem);
        done = w.new_completion("nd_never_done");
        w.block_on_completion(proc(40, TASK_UNINTERRUPTIBLE), done);
        addr_t holder = proc(50, TASK_INTERRUPTIBLE);
        addr_t kw = proc(51, TASK_UNINTERRUPTIBLE);
        addr_t m = fk.new_mutex("nd_flush_mutex");
        fk.set_owner(m, holder);
        w.flush_running_work(proc(52, TASK_UNINTERRUPTIBLE), kw, "nd_flush_work_fn", "nd_flush_wq");
        fk.block_on_mutex(kw, m, "nd_flush_work_fn");
        std::size_t task = fk.img.size("task_struct"), rq = fk.img.size("rq");
        image = std::make_unique<fuzz::HostileImage>(
            fk.target, std::vector<fuzz::Region>{{fk.init_task, task},
                                                 {fk.rq(0), rq},
                                                 {fk.rq(1), rq},
                                                 {kJiffies, 8},
                                                 fuzz::heap_of(fk.img)});
    }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static Scenario s;
    static FakeTarget& t = s.fk.target;
    static const std::vector<fuzz::HostileImage::Action> actions = {
        [] {
            Kernel k(t);
            Snapshot snap(k);
            BlockerFinder finder(snap);
            for (const Task& task : snap.walk.tasks) {
                StackWords stack = read_stack(k, task);
                finder.find_all(task, stack, call_chain(k, task, stack));
            }
        },
        [] {
            Kernel k(t);
            read_rwsem(k, s.rr, 100);
        },
        [] {
            Kernel k(t);
            read_semaphore(k, s.sem, 100);
        },
        [] {
            Kernel k(t);
            read_completion(k, s.done, 100);
        },
        fuzz::command(t, "uninterruptible", {}),
        fuzz::command(t, "uninterruptible", {"--group", "--json"}),
        fuzz::command(t, "uninterruptible", {"--group"}),
        fuzz::command(t, "uninterruptible", {"--graph"}),
        fuzz::command(t, "lockowner", {"nd_rwsem_w", "-s", "--json"}),
        fuzz::command(t, "lockowner", {"nd_rwsem_r"}),
        fuzz::command(t, "lockowner", {"nd_sem", "--json"}),
    };
    s.image->run(data, size, actions);
    return 0;
}
