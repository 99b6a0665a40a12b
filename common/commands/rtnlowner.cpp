// rtnlowner: who holds rtnl_mutex, what it is doing, and who waits.
#include "commands/commands.h"
#include "core/kernel.h"
#include "commands/lock_report.h"
#include "core/options.h"

namespace netdbg {

namespace {
int run(Kernel& k, const std::vector<std::string>& args, Output& out) {
    Options o("rtnlowner");
    o.add()("s,stack", "owner call chain")("json", "JSON output");
    o.parse(args);
    if (!o.positional().empty()) throw Error("rtnlowner: takes no arguments (for another mutex: lockowner)");
    addr_t rtnl = k.symbol("rtnl_mutex");
    return run_lock_command(k, "rtnlowner", rtnl, o.has("stack"), o.has("json"), out);
}
}  // namespace

Command rtnlowner_command() {
    return {
        "rtnlowner",
        "who holds rtnl_mutex, and who waits for it",
        "[-s] [--json]",
        {
            "  Answers whether rtnl_mutex is held, by which task, what that task is",
            "  doing (for a kworker: the work function it executes), and lists the",
            "  waiters in queue order with how long each has been blocked.",
            "",
            "  The first line is the verdict. Times are the kernel's sched clock in",
            "  seconds, as dmesg and ftrace print them: LAST-ARRIVAL is",
            "  sched_info.last_arrival, BLOCKED-FOR is the dump's now (the newest",
            "  per-CPU rq->clock) minus it. \"held for >= T\" is the longest a waiter",
            "  has been blocked.",
            "",
            "    -s  show the owner's call chain (crash's unwinder when it knows the",
            "        task, else a scan of return addresses on its stack, so labelled).",
            "  --json  print one JSON document (see README, \"JSON output\").",
            "",
            "EXAMPLES",
#include "examples/rtnlowner.inc"
        },
        run,
    };
}

}  // namespace netdbg
