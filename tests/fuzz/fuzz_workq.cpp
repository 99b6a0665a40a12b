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
#include "kernel.h"
#include "module.h"
#include "timer.h"
#include "workqueue.h"

using namespace netdbg;
using namespace netdbg::test;

namespace {

constexpr addr_t kHeap = 0xffff888004000000ULL;  // ImageBuilder's default

struct Scenario {
    WqKernel w{2};
    ResetAfterRemove s{w};
    std::unique_ptr<fuzz::HostileImage> image;

    Scenario() {
        std::vector<fuzz::Region> regions{{kWorkqueues, 16}, {kUnboundPoolHash, 64 * 8}, {kModules, 16}, {kJiffies64, 8}};
        for (int c = 0; c < 2; ++c) {
            regions.push_back({w.cpu_pool(c, 0), 2 * w.pool_size});
            regions.push_back({w.timer_base(c, 0), 2 * w.img.size("timer_base")});
        }
        addr_t end = w.img.alloc(1, 8);
        regions.push_back({kHeap, end - kHeap});
        image = std::make_unique<fuzz::HostileImage>(w.t, regions);
    }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static Scenario s;
    static FakeTarget& t = s.w.t;
    auto command = [](std::vector<std::string> args) -> fuzz::HostileImage::Action {
        return [=] { fuzz::run_command(t, "workq", args); };
    };
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
        command({"--max", "100"}),
        command({"--json", "--max", "100"}),
        command({"--pending"}),
        command({"--busy", "--json"}),
        command({"--func", "nd_rr_reset_work_fn", "--json"}),
    };
    s.image->run(data, size, actions);
    return 0;
}
