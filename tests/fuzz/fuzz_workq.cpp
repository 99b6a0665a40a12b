// libFuzzer target: workqueues, worker pools, busy workers, pending timers
// and the module list of a fuzzed image: the reset-after-remove scenario
// (a module GOING whose reset work runs on CPU 1 and is pending again,
// inactive works on an ordered workqueue, delayed works on the timer
// wheels). The input corrupts work entries, pool lists, busy_hash chains,
// pwq pointers, timer hlists, module links and pages; the readers and the
// workq command (text and JSON) must end with findings or one
// netdbg::Error line.
#include "fake_workqueue.h"
#include "fuzz_image.h"
#include "core/kernel.h"
#include "kernel/module/module.h"
#include "kernel/time/timer.h"
#include "kernel/workqueue/workqueue.h"

using namespace netdbg;
using namespace netdbg::test;

namespace {

struct Scenario {
    WqKernel w{2};
    ResetAfterRemove s{w};
    std::unique_ptr<fuzz::HostileImage> image;

    Scenario() {
        std::vector<fuzz::Region> regions{
            {kWorkqueues, 16}, {kUnboundPoolHash, 64 * 8}, {kModules, 16}, {kJiffies64, 8}};
        for (int c = 0; c < 2; ++c) {
            regions.push_back({w.cpu_pool(c, 0), 2 * w.pool_size});
            regions.push_back({w.timer_base(c, 0), 2 * w.img.size("timer_base")});
        }
        regions.push_back(fuzz::heap_of(w.img));
        image = std::make_unique<fuzz::HostileImage>(w.t, regions);
    }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static Scenario s;
    static FakeTarget& t = s.w.t;
    static const std::vector<fuzz::HostileImage::Action> actions = {
        [] {
            Kernel k(t);
            read_workqueue_state(k, 100);
        },
        [] {
            Kernel k(t);
            TimerWalk timers = for_each_pending_timer(k, 100);
            delayed_works(k, timers);
        },
        [] {
            Kernel k(t);
            std::vector<std::string> problems;
            for (const ModuleInfo& m : for_each_module(k, &problems, 100)) module_of(k, m.core_base() + 0x100);
        },
        fuzz::command(t, "workq", {"--max", "100"}),
        fuzz::command(t, "workq", {"--json", "--max", "100"}),
        fuzz::command(t, "workq", {"--pending"}),
        fuzz::command(t, "workq", {"--busy", "--json"}),
        fuzz::command(t, "workq", {"--func", "nd_rr_reset_work_fn", "--json"}),
    };
    s.image->run(data, size, actions);
    return 0;
}
