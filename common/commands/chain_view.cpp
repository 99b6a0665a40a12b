#include "commands/chain_view.h"

#include <fmt/format.h>

#include "core/table.h"
#include "kernel/sched/inlined_calls.h"

namespace netdbg {

namespace {
constexpr std::uint64_t X86_EFLAGS_IF = 0x200;
}

std::string chain_summary(const KernelStack& s) {
    if (s.user_mode) return s.source + ", the CPU is in user mode: no kernel frames";
    std::string out = fmt::format("{}, {}, {} frame{}", s.source, s.complete ? "complete" : "partial", s.frames.size(),
                                  s.frames.size() == 1 ? "" : "s");
    if (!s.note.empty()) out += " (" + s.note + ")";
    return out;
}

std::string registers_line(Kernel& k, const CpuRegisters& r) {
    return fmt::format("RIP: {:016x} ({})  RSP: {:016x}  RBP: {:016x}  RFLAGS: {:08x} (IRQs {})  CS: {:04x} ({})",
                       r.ip, k.symbolize(r.ip), r.sp, r.bp, r.flags, (r.flags & X86_EFLAGS_IF) ? "on" : "off",
                       r.cs, (r.cs & 3) ? "user" : "kernel");
}

void render_frames(Kernel& k, const KernelStack& s, const std::string& indent, Output& out) {
    Table t({">#", "STACK", "SLOT", "PC", "FUNCTION"}, indent);
    for (std::size_t i = 0; i < s.frames.size(); ++i) {
        const OrcFrame& f = s.frames[i];
        std::string stack = f.stack.empty() ? "-" : f.stack;
        std::string slot = f.slot ? fmt::format("{:016x}", f.slot) : std::string("regs");
        // Inlined calls first, innermost on top, as drgn's stack_trace() prints them.
        for (const std::string& fn : inlined_calls(k, f.pc, f.exact))
            t.row({"", stack, slot, fmt::format("{:016x}", f.pc), fn + " (inlined)"});
        std::string func = k.symbolize(f.pc);
        if (f.exact) func += f.slot ? "  <- interrupted here" : "  <- RIP";
        t.row({fmt::format("#{}", i), stack, slot, fmt::format("{:016x}", f.pc), func});
    }
    t.render(out);
}

json registers_json(const CpuRegisters& r) {
    return {{"ip", hex(r.ip)},      {"sp", hex(r.sp)},       {"bp", hex(r.bp)},
            {"flags", hex(r.flags)}, {"cs", hex(r.cs)},      {"irqs_off", !(r.flags & X86_EFLAGS_IF)},
            {"user_mode", (r.cs & 3) != 0}};
}

json chain_json(Kernel& k, const KernelStack& s) {
    json j;
    j["source"] = s.source;
    j["complete"] = s.complete;
    j["note"] = s.note.empty() ? json(nullptr) : json(s.note);
    j["user_mode"] = s.user_mode;
    j["frames"] = json::array();
    for (const OrcFrame& f : s.frames) {
        json fj;
        fj["pc"] = hex(f.pc);
        fj["slot"] = f.slot ? json(hex(f.slot)) : json(nullptr);
        fj["sp"] = f.sp ? json(hex(f.sp)) : json(nullptr);
        fj["stack"] = f.stack.empty() ? json(nullptr) : json(f.stack);
        fj["exact"] = f.exact;
        auto sym = k.target().symbolize(f.pc);
        fj["function"] = sym ? json(sym->name) : json(nullptr);
        fj["offset"] = sym ? json(sym->offset) : json(nullptr);
        fj["module"] = sym && !sym->module.empty() ? json(sym->module) : json(nullptr);
        fj["symbol"] = k.symbolize(f.pc);
        fj["inlined"] = inlined_calls(k, f.pc, f.exact);  // innermost first
        j["frames"].push_back(fj);
    }
    j["problems"] = s.problems;
    return j;
}

}  // namespace netdbg
