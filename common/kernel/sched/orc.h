// The kernel's ORC unwinder (arch/x86/kernel/unwind_orc.c): the exact call
// chain /proc/PID/stack would show, from the orc_unwind tables of vmlinux
// and of each module, without DWARF and without the debugger's task table.
// It starts either from a sleeping task's switch frame or from a CPU's
// registers saved in the dump, and it follows pt_regs frames from one stack
// to the next (IRQ and exception stacks back to the task stack), as
// get_stack_info() allows.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "kernel/sched/stack.h"

namespace netdbg {

// One stack an unwind may run on: [lo, hi).
struct StackArea {
    addr_t lo = 0, hi = 0;
    std::string name;  // "task", "IRQ", "NMI", "#DF", "#DB", "#MC", "#VC", "#VC2"
    bool contains(addr_t a, std::size_t len) const { return a >= lo && a + len <= hi && a + len >= a; }
};

struct OrcFrame {
    addr_t pc = 0;
    addr_t slot = 0;     // where the return address (or the pt_regs ip) sits; 0: a CPU register
    addr_t sp = 0;       // the stack pointer of this frame
    bool exact = false;  // pc is where the code was (interrupted or stopped), not a return address
    std::string stack;   // the StackArea name of sp
};

enum class OrcStop {
    EndOfStack,  // the entry frame of a kernel thread or of a system call
    UserMode,    // pt_regs of user mode: the kernel stack ends here
    OffStack,    // the next frame is on no stack we know (the old behaviour's end)
    Failed,      // no ORC entry, an unreadable word, a frame not moving up
};

struct OrcUnwind {
    std::vector<OrcFrame> frames;
    OrcStop stop = OrcStop::Failed;
    std::string why;  // for Failed and OffStack: what stopped it
    bool complete() const { return stop == OrcStop::EndOfStack || stop == OrcStop::UserMode; }
};

// Whether the kernel has ORC tables (vmlinux's __start_orc_unwind...).
bool orc_available(Kernel& k);

// From a sleeping task's switch frame (struct inactive_task_frame at
// thread.sp), on its own stack.
OrcUnwind orc_unwind_task(Kernel& k, const Task& t);

// From a CPU's registers (the first pc is exact), across the given stacks.
OrcUnwind orc_unwind_regs(Kernel& k, const CpuRegisters& regs, const std::vector<StackArea>& stacks);

// Return addresses of a task that is not on a CPU and the stack slots that
// hold them, innermost first (__schedule first). nullopt when the kernel has
// no ORC tables or the unwind fails before reaching the entry frame (then
// fall back to a scan).
std::optional<std::vector<StackFrame>> orc_call_chain(Kernel& k, const Task& t);

}  // namespace netdbg
