// A task's complete kernel call chain, on a CPU or off it: for a sleeping
// task ORC from its switch frame (the chain /proc/PID/stack gives); for the
// task current on a CPU ORC from that CPU's registers as the dump saved
// them, across the IRQ and exception stacks back to the task stack. Only
// when ORC cannot: the debugger's own unwinder, then a scan of the stack.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "kernel/sched/orc.h"

namespace netdbg {

struct KernelStack {
    std::vector<OrcFrame> frames;  // innermost first
    std::string source;            // "orc", "orc from CPU 1 registers", "unwinder", "stack scan"
    bool complete = false;         // ORC reached the entry frame or user mode
    std::string note;              // why it is not complete, or ""
    int cpu = -1;                  // the CPU the task is current on, -1 off CPU
    std::optional<CpuRegisters> regs;  // that CPU's saved registers
    bool user_mode = false;        // the CPU was in user mode: no kernel frames
    std::vector<std::string> problems;

    // What the task runs under any interrupt: the interrupted pc on the
    // task's own stack, else its first frame there, else the first frame.
    const OrcFrame* task_frame() const;
};

// running_cpu: the CPU the task is current on (rq->curr), or -1.
KernelStack kernel_stack(Kernel& k, const Task& t, int running_cpu);

}  // namespace netdbg
