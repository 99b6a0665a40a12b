// taskfix: gives crash its task table back on kernels whose struct pid ends
// in the flexible numbers[] (6.5's b69f0aeb0689, backported to 6.1.y).
//
// crash 8.0.2 reads SIZE(pid) bytes of each struct pid in the pid xarray and
// takes upid.ns from pid.numbers[0]; with numbers[] that entry lies just past
// SIZE(pid), so no pid matches init_pid_ns and the table keeps only the idle
// and on-CPU tasks. taskfix adds one struct upid to crash's SIZE(pid), as the
// kernel's pid allocation does, and rebuilds the table. crash-only: gdb has
// no task table to repair.
#pragma once

#include <optional>
#include <string>

#include "core/command.h"

namespace netdbg::crashglue {

Command taskfix_command();

// The line `extend netdbg.so` prints when crash's task table needs taskfix,
// nullopt when it does not (or cannot tell). Never throws.
std::optional<std::string> taskfix_notice();

}  // namespace netdbg::crashglue
