// kernel/trace/trace.c: the saved cmdlines (savedcmd), the comm of each pid
// as it was when the pid last wrote an event; what the kernel's trace
// output and trace-cmd print before each event.
#pragma once

#include <string>
#include <unordered_map>
#include <vector>

#include "core/kernel.h"

namespace netdbg {

struct SavedCmdlines {
    std::unordered_map<int, std::string> comm;  // pid -> comm
    std::vector<std::string> problems;
};

SavedCmdlines read_saved_cmdlines(Kernel& k, std::size_t max = 1 << 16);

}  // namespace netdbg
