// crash front end: `crash> extend netdbg.so` registers every entry of
// netdbg::commands() with crash; one dispatcher runs them.
#include <cstdio>
#include <cstring>
#include <exception>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/command.h"
#include "crash_guard.h"
#include "crash_target.h"
#include "core/error.h"
#include "core/failure.h"
#include "core/kernel.h"
#include "taskfix.h"

#include "crash_defs.h"  // last: its macros must not reach C++ headers

namespace netdbg::crashglue {
namespace {

// Command output to crash's fp (the terminal, a redirect file or a pipe).
// A failed write (EPIPE once `| head` exits) marks it broken; later writes
// are dropped and the target reports interrupted() so walks stop.
class CrashOutput : public Output {
public:
    explicit CrashOutput(FILE* f) : f_(f) {}
    void write(std::string_view text) override {
        if (broken_ || text.empty()) return;
        if (std::fwrite(text.data(), 1, text.size(), f_) != text.size() || std::ferror(f_)) broken_ = true;
    }
    void flush() {
        if (!broken_ && std::fflush(f_) != 0) broken_ = true;
    }
    bool broken() const { return broken_; }
    const bool* broken_flag() const { return &broken_; }

private:
    FILE* f_;
    bool broken_ = false;
};

// Strings and arrays handed to crash; they must outlive the registration.
struct Registration {
    std::vector<std::unique_ptr<char[]>> strings;
    std::vector<std::vector<char*>> help;
    std::vector<struct command_table_entry> table;

    char* keep(const std::string& s) {
        auto p = std::make_unique<char[]>(s.size() + 1);
        std::memcpy(p.get(), s.c_str(), s.size() + 1);
        strings.push_back(std::move(p));
        return strings.back().get();
    }
};

Registration* registration = nullptr;

// Commands that only make sense inside crash (not in netdbg::commands(),
// which the gdb front end shares).
const std::vector<Command>& crash_only_commands() {
    static const std::vector<Command> table = {taskfix_command()};
    return table;
}

const Command* find_any_command(const std::string& name) {
    if (const Command* c = find_command(name)) return c;
    for (const auto& c : crash_only_commands())
        if (c.name == name) return &c;
    return nullptr;
}

// One analysed kernel per crash session, made on first use. Plain pointers,
// owned by netdbg_fini(): a static object's destructor would run from
// __cxa_finalize in an order of its own and free them a second time.
CrashTarget* session_target = nullptr;
Kernel* session_kernel = nullptr;

Kernel& session() {
    if (!session_kernel) {
        auto target = std::make_unique<CrashTarget>();
        session_kernel = new Kernel(*target);
        session_target = target.release();
    }
    return *session_kernel;
}

// error(INFO) prints "<command>: <message>" and never jumps.
void report(const std::string& message) { __error(INFO, const_cast<char*>("%s\n"), message.c_str()); }

void run(const std::string& name, const std::vector<std::string>& argv) {
    SignalScope signals;  // SIGINT/SIGPIPE held until the output is flushed
    const Command* cmd = find_any_command(name);
    if (!cmd) {
        report("unknown netdbg command: " + name);
        return;
    }
    CrashOutput out(fp);
    auto failure = failure_of([&] {
        Kernel& kernel = session();
        if (pc->flags & LIVE_SYSTEM) kernel.drop_memory();  // a live kernel moved on
        session_target->set_stop_flag(out.broken_flag());
        cmd->run(kernel, argv, out);
    });
    // Interrupted because the reader left: nobody to tell.
    bool quiet = failure && failure->interrupted && out.broken();
    if (session_target) session_target->set_stop_flag(nullptr);
    out.flush();
    if (failure && !quiet) report(failure->message);
    // ~SignalScope consumes a pending Ctrl-C or SIGPIPE before unblocking.
}

}  // namespace
}  // namespace netdbg::crashglue

// crash calls commands as void f(void) with the words in args[0..argcnt).
extern "C" void netdbg_crash_dispatch(void) {
    using namespace netdbg::crashglue;
    try {
        std::string name = argcnt > 0 && args[0] ? args[0] : (pc->curcmd ? pc->curcmd : "");
        std::vector<std::string> argv;
        for (int i = 1; i < argcnt && args[i]; ++i) argv.emplace_back(args[i]);
        run(name, argv);
    } catch (...) {
        // Nothing may leave a C entry point called by crash.
        report("internal error");
    }
}

extern "C" {

// Named netdbg_init/netdbg_fini rather than _init/_fini: those names are
// taken by crti.o's ELF entry points; crash only needs the constructor.
__attribute__((constructor)) void netdbg_init(void) {
    using namespace netdbg::crashglue;
    try {
        auto* reg = new Registration;
        std::vector<const netdbg::Command*> cmds;
        for (const auto& c : netdbg::commands()) cmds.push_back(&c);
        for (const auto& c : crash_only_commands()) cmds.push_back(&c);
        reg->help.reserve(cmds.size());
        reg->table.reserve(cmds.size() + 1);
        for (const netdbg::Command* cp : cmds) {
            const netdbg::Command& c = *cp;
            std::vector<char*> help;
            help.push_back(reg->keep(c.name));
            help.push_back(reg->keep(c.summary));
            help.push_back(reg->keep(c.synopsis.empty() ? " " : c.synopsis));
            for (const auto& line : c.description) help.push_back(reg->keep(line));
            help.push_back(nullptr);
            reg->help.push_back(std::move(help));
            struct command_table_entry e;
            std::memset(&e, 0, sizeof e);
            e.name = reg->keep(c.name);
            e.func = netdbg_crash_dispatch;
            e.help_data = reg->help.back().data();
            e.flags = 0;
            reg->table.push_back(e);
        }
        struct command_table_entry end;
        std::memset(&end, 0, sizeof end);
        reg->table.push_back(end);
        registration = reg;
        register_extension(registration->table.data());
        // crash 8.0.2 on a kernel with a flexible pid.numbers[]: say so once.
        if (auto notice = taskfix_notice()) std::fprintf(fp, "%s\n", notice->c_str());
    } catch (const std::exception& e) {
        std::fprintf(stderr, "netdbg: cannot register commands: %s\n", e.what());
    }
}

__attribute__((destructor)) void netdbg_fini(void) {
    using namespace netdbg::crashglue;
    delete session_kernel;
    session_kernel = nullptr;
    delete session_target;
    session_target = nullptr;
    delete registration;
    registration = nullptr;
}

}  // extern "C"
