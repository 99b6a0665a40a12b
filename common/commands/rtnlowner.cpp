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
    return run_lock_command(k, "rtnlowner", rtnl, WaitKind::Mutex, o.has("stack"), o.has("json"), out);
}
}  // namespace

Command rtnlowner_command() {
    return make_command("rtnlowner", run);
}

}  // namespace netdbg
