#include "kernel/sched/kstack.h"

#include <fmt/format.h>

#include "kernel/sched/cpu_stacks.h"

namespace netdbg {

const OrcFrame* KernelStack::task_frame() const {
    // The interrupted context (the last exact pc on the task stack) under
    // any interrupt entry frames; else the first frame on the task stack.
    const OrcFrame* first = nullptr;
    const OrcFrame* exact = nullptr;
    for (const OrcFrame& f : frames) {
        if (f.stack != "task") continue;
        if (!first) first = &f;
        if (f.exact) exact = &f;
    }
    if (exact) return exact;
    if (first) return first;
    return frames.empty() ? nullptr : &frames.front();
}

namespace {

void from_unwind(KernelStack& s, OrcUnwind u) {
    s.frames = std::move(u.frames);
    s.complete = u.complete();
    s.user_mode = s.frames.empty() && u.stop == OrcStop::UserMode;
    if (!s.complete) s.note = u.why.empty() ? "unwind stopped" : u.why;
}

// The debugger's unwinder, then a scan: the chain without ORC.
void fallback(Kernel& k, const Task& t, KernelStack& s) {
    if (auto pcs = k.target().call_chain(t.addr)) {
        s.source = "unwinder";
        s.frames.clear();
        for (addr_t pc : *pcs) s.frames.push_back({pc, 0, 0, false, ""});
        return;
    }
    s.source = "stack scan";
    s.frames.clear();
    for (const StackFrame& f : scan_call_chain(k, t)) s.frames.push_back({f.pc, f.slot, 0, false, "task"});
}

}  // namespace

KernelStack kernel_stack(Kernel& k, const Task& t, int running_cpu) {
    KernelStack s;
    s.cpu = running_cpu;
    if (running_cpu < 0) {
        s.source = "orc";
        OrcUnwind u = orc_unwind_task(k, t);
        if (u.stop != OrcStop::Failed || !u.frames.empty()) {
            from_unwind(s, std::move(u));
            if (s.complete || s.frames.size() > 1) return s;
        } else {
            s.note = u.why;
        }
        std::string why = s.note;
        fallback(k, t, s);
        s.complete = false;
        s.note = why.empty() ? "no ORC unwind" : "ORC: " + why;
        return s;
    }
    s.regs = k.target().cpu_registers(running_cpu);
    if (!s.regs) {
        s.problems.push_back(fmt::format("CPU {}: no saved registers in the dump", running_cpu));
        fallback(k, t, s);
        s.note = "no saved registers for this CPU";
        return s;
    }
    s.source = fmt::format("orc from CPU {} registers", running_cpu);
    std::vector<StackArea> stacks = cpu_stack_areas(k, running_cpu, t, s.problems);
    from_unwind(s, orc_unwind_regs(k, *s.regs, stacks));
    return s;
}


}  // namespace netdbg
