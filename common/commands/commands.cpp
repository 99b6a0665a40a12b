// The table of every command, in the order `netdbg` lists them.
#include "commands/commands.h"

namespace netdbg {

namespace {
struct HelpPage {
    const char* name;
    const char* summary;
    const char* synopsis;
    const char* const* lines;
    std::size_t count;
};
#include "help_pages.inc"
}  // namespace

Command make_command(const std::string& name, CommandFn run) {
    Command c{name, "", "", {}, std::move(run)};
    for (const auto& page : help_page_table) {
        if (name != page.name) continue;
        c.summary = page.summary;
        c.synopsis = page.synopsis;
        c.description.assign(page.lines, page.lines + page.count);
    }
    return c;
}

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
        netdev_command(),
        cpus_command(),
        kstack_command(),
        ftrace_command(),
    };
    return table;
}

const Command* find_command(std::string_view name) {
    for (const auto& c : commands())
        if (c.name == name) return &c;
    return nullptr;
}

}  // namespace netdbg
