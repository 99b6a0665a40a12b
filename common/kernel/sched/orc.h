// The kernel's ORC unwinder (arch/x86/kernel/unwind_orc.c) run on a
// sleeping task: the exact call chain /proc/PID/stack would show, from the
// orc_unwind tables of vmlinux and of each module, without DWARF and without
// the debugger's task table.
#pragma once

#include <optional>
#include <vector>

#include "kernel/sched/stack.h"

namespace netdbg {

// Return addresses of a task that is not on a CPU and the stack slots that
// hold them, innermost first (__schedule first). nullopt when the kernel has no ORC tables or the
// unwind fails before reaching the entry frame (then fall back to a scan).
std::optional<std::vector<StackFrame>> orc_call_chain(Kernel& k, const Task& t);

}  // namespace netdbg
