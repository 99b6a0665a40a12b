// The command table shared by both front ends: name, help page and entry
// point. crash and gdb register every entry of commands() under its name.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace netdbg {

class Kernel;

// Where a command writes its text; the front end decides how it reaches
// the user (crash's fp, gdb.write).
class Output {
public:
    virtual ~Output() = default;
    virtual void write(std::string_view text) = 0;
};

class StringOutput : public Output {
public:
    void write(std::string_view text) override { str.append(text); }
    std::string str;
};

using CommandFn = std::function<int(Kernel&, const std::vector<std::string>&, Output&)>;

struct Command {
    std::string name;
    std::string summary;                  // one line, for `help` listings
    std::string synopsis;                 // arguments, as crash prints them
    std::vector<std::string> description; // help page body: DESCRIPTION and EXAMPLES lines
    // Runs with argv without the command name. Throws netdbg::Error for
    // anything the user must be told; returns 0 (clean) or 1 (findings).
    CommandFn run;
};

// The command `name` with its help page (summary, synopsis, description and
// examples) from docs/commands/<name>.md, built into the library by
// common/commands/help_pages.py. A command without a page gets an empty one
// (a unit test insists that every command has its page).
Command make_command(const std::string& name, CommandFn run);

const std::vector<Command>& commands();
const Command* find_command(std::string_view name);

}  // namespace netdbg
