// The functions inlined at a frame's address (innermost first), from the
// kernel's or the module's debug info as the debugger loaded it: the frames
// drgn's stack_trace() shows marked "(inlined)" and crash's bt leaves out.
#pragma once

#include <string>
#include <vector>

#include "core/kernel.h"

namespace netdbg {

// pc: a frame's address; exact: the CPU's own ip (else a return address,
// looked up one byte back, inside the call).
std::vector<std::string> inlined_calls(Kernel& k, addr_t pc, bool exact);

}  // namespace netdbg
