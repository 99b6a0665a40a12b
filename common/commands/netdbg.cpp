// `netdbg`: what netdbg sees of the kernel (version, release, CPUs, stack
// size) — a quick check that the front end, symbols and memory all work.
#include <fmt/format.h>

#include "commands/commands.h"
#include "core/error.h"
#include "core/kernel.h"

#ifndef NETDBG_VERSION
#define NETDBG_VERSION "0.1"
#endif

namespace netdbg {

namespace {

// init_uts_ns.name.release, as `uname -r` printed it on the analysed kernel.
std::string kernel_release(Kernel& kernel) {
    addr_t uts = kernel.symbol("init_uts_ns");
    StructLayout ns(kernel.target(), "uts_namespace");
    StructLayout utsname(kernel.target(), "new_utsname");
    MemberInfo name = ns.require("name");
    MemberInfo release = utsname.require("release");
    addr_t addr = uts + name.offset + release.offset;
    auto text = kernel.mem().read_cstring(addr, release.size);
    if (!text) throw Error(fmt::format("cannot read init_uts_ns.name.release at {:#x}", addr));
    return *text;
}

int run(Kernel& kernel, const std::vector<std::string>& args, Output& out) {
    bool verbose = false;
    for (const auto& a : args) {
        if (a == "-v")
            verbose = true;
        else
            throw Error(fmt::format("unknown argument '{}' (usage: netdbg [-v])", a));
    }
    Target& target = kernel.target();
    out.write(fmt::format("netdbg {}\n", NETDBG_VERSION));
    out.write(fmt::format("kernel release: {}\n", kernel_release(kernel)));
    out.write(fmt::format("cpus: {}\n", target.cpu_count()));
    out.write(fmt::format("thread size: {}\n", target.thread_size()));
    if (verbose) out.write(fmt::format("target reads: {}\n", kernel.mem().target_reads()));
    return 0;
}

}  // namespace

Command netdbg_command() {
    return make_command("netdbg", run);
}

}  // namespace netdbg
