// The table of every command, in the order `netdbg` lists them.
#include "commands/commands.h"

namespace netdbg {

const std::vector<Command>& commands() {
    static const std::vector<Command> table = {
        netdbg_command(),
        rtnlowner_command(),
        lockowner_command(),
        uninterruptible_command(),
        listcheck_command(),
        aclist_command(),
        napiq_command(),
        workq_command(),
    };
    return table;
}

const Command* find_command(std::string_view name) {
    for (const auto& c : commands())
        if (c.name == name) return &c;
    return nullptr;
}

}  // namespace netdbg
