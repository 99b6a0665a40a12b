// libFuzzer target: the trace ring buffer, the event formats and the saved
// cmdlines of a fuzzed image (fake_trace: a wrapped ring on CPU 0, a work
// item started and never ended on CPU 1). The input corrupts page links
// and their HEAD flags, record headers and lengths, page commits, event
// formats and their field lists, and makes pages unreadable; the readers,
// libtraceevent's printing and the ftrace command (text, JSON, --stalls,
// trace.dat) must end with findings or one netdbg::Error line.
#include <unistd.h>

#include "core/kernel.h"
#include "fake_trace.h"
#include "fuzz_image.h"
#include "kernel/trace/ring_buffer.h"
#include "kernel/trace/saved_cmdlines.h"
#include "kernel/trace/trace_array.h"
#include "kernel/trace/trace_events.h"

using namespace netdbg;
using namespace netdbg::test;

namespace {

struct Scenario {
    FakeTrace f{2, 4};
    std::unique_ptr<fuzz::HostileImage> image;
    std::string dat = "/tmp/netdbg-fuzz-ftrace-" + std::to_string(getpid()) + ".dat";

    Scenario() {
        for (int i = 0; i < 4; ++i) {
            PageWriter w;
            for (int e = 0; e < 4; ++e) w.event(e ? 10 : 0, tick_event(100 + i, static_cast<std::uint32_t>(e), f.tick_fn));
            w.time_extend(1ULL << 28);
            w.event(3, tick_event(100 + i, 9, f.tick_fn), true);
            f.page(0, i, 1000000000ULL * static_cast<std::uint64_t>((i + 2) % 4 + 1), w);
        }
        f.set_head(0, 2);
        f.set_commit(0, 1);
        f.set_counters(0, 20, 0);
        PageWriter w;
        w.event(0, tick_event(200, 1, 0));
        w.event(10, work_start_event(200, 0xffff888000001000ULL, f.work_fn));
        f.page(1, 0, 500, w);
        f.set_commit(1, 0);
        f.add_comm(100, "ticker");
        image = std::make_unique<fuzz::HostileImage>(f.t, std::vector<fuzz::Region>{fuzz::heap_of(f.img)});
    }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static Scenario s;
    static FakeTarget& t = s.f.t;
    static const std::vector<fuzz::HostileImage::Action> actions = {
        [] {
            Kernel k(t);
            read_ring_buffers(k, s.f.trace_buffer, 64);
        },
        [] {
            Kernel k(t);
            read_event_formats(k, 64);
            read_saved_cmdlines(k);
            std::vector<std::string> problems;
            trace_instances(k, problems, 16);
        },
        fuzz::command(t, "ftrace", {"--max-pages", "64"}),
        fuzz::command(t, "ftrace", {"--json"}),
        fuzz::command(t, "ftrace", {"--stalls"}),
        fuzz::command(t, "ftrace", {"-c", "0", "--last", "3", "-e", "test:*"}),
        fuzz::command(t, "ftrace", {"--stalls", "-o", s.dat}),
    };
    s.image->run(data, size, actions);
    return 0;
}
