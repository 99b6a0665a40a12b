// A kernel call chain (kernel/sched/kstack.h) as text lines and as JSON,
// shared by kstack and cpus.
#pragma once

#include <string>

#include "core/command.h"
#include "core/json.h"
#include "kernel/sched/kstack.h"

namespace netdbg {

// "orc, complete, 14 frames" / "orc from CPU 1 registers, stopped: no ORC entry for ..."
std::string chain_summary(const KernelStack& s);
// The registers line of an on-CPU task: "RIP: ... RSP: ... RFLAGS: 00000246 (IRQs on) CS: 0010 (kernel)".
std::string registers_line(Kernel& k, const CpuRegisters& r);
// One line per frame, each starting with indent:
//   #0  task  ffffc900004cbd48  ffffffff81b2c5d5  __schedule+0x2f5
// a frame where the code was (a CPU's or an interrupted context's RIP) ends in "<- RIP".
void render_frames(Kernel& k, const KernelStack& s, const std::string& indent, Output& out);
json chain_json(Kernel& k, const KernelStack& s);
json registers_json(const CpuRegisters& r);

}  // namespace netdbg
