// lockowner: rtnlowner for any struct mutex, rw_semaphore or semaphore.
#include "commands/commands.h"
#include "core/kernel.h"
#include "commands/lock_report.h"
#include "core/options.h"

namespace netdbg {

namespace {
int run(Kernel& k, const std::vector<std::string>& args, Output& out) {
    Options o("lockowner");
    o.add()("s,stack", "owner call chain")("t,type", "mutex, rwsem or semaphore, for an address",
                                             cxxopts::value<std::string>())("json", "JSON output");
    o.parse(args);
    if (o.positional().size() != 1)
        throw Error("lockowner: usage: lockowner <symbol|address> [-t mutex|rwsem|semaphore] [-s] [--json]");
    WaitKind fallback = WaitKind::Mutex;
    if (o.has("type")) {
        std::string t = o.str("type");
        if (t == "rwsem") fallback = WaitKind::RwSem;
        else if (t == "semaphore") fallback = WaitKind::Semaphore;
        else if (t != "mutex") throw Error("lockowner: -t takes mutex, rwsem or semaphore, not '" + t + "'");
    }
    auto [lock, kind] = resolve_lock_argument(k, o.positional()[0], fallback);
    return run_lock_command(k, "lockowner", lock, kind, o.has("stack"), o.has("json"), out);
}
}  // namespace

Command lockowner_command() {
    return make_command("lockowner", run);
}

}  // namespace netdbg
