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
    return {
        "lockowner",
        "who holds a struct mutex, and who waits for it",
        "<symbol|address> [-s] [--json]",
        {
            "  The same answer as rtnlowner for any struct mutex, given by symbol",
            "  (module symbols once loaded with \"mod -s MODULE file.ko\") or by",
            "  address. An address that is not a mutex (unreadable, or whose",
            "  wait_list is not a list) and a symbol of another type are refused",
            "  with a message. A damaged wait_list is walked as far as it goes and",
            "  reported as a FINDING.",
            "",
            "    -s  show the owner's call chain.",
            "  --json  print one JSON document.",
            "",
            "EXAMPLES",
#include "examples/lockowner.inc"
        },
        run,
    };
}

}  // namespace netdbg
