// lockowner: rtnlowner for any struct mutex.
#include "commands/commands.h"
#include "core/kernel.h"
#include "commands/lock_report.h"
#include "core/options.h"

namespace netdbg {

namespace {
int run(Kernel& k, const std::vector<std::string>& args, Output& out) {
    Options o("lockowner");
    o.add()("s,stack", "owner call chain")("json", "JSON output");
    o.parse(args);
    if (o.positional().size() != 1) throw Error("lockowner: usage: lockowner <symbol|address> [-s] [--json]");
    addr_t mutex = resolve_mutex_argument(k, o.positional()[0]);
    return run_lock_command(k, "lockowner", mutex, o.has("stack"), o.has("json"), out);
}
}  // namespace

Command lockowner_command() {
    return make_command("lockowner", run);
}

}  // namespace netdbg
