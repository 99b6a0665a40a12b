#include "kernel/trace/saved_cmdlines.h"

#include <cstring>

#include <fmt/format.h>

namespace netdbg {

SavedCmdlines read_saved_cmdlines(Kernel& k, std::size_t max) {
    SavedCmdlines out;
    auto sym = k.try_symbol("savedcmd");
    if (!sym) {
        out.problems.push_back("no savedcmd: comms come from the task list only");
        return out;
    }
    Memory& mem = k.mem();
    StructLayout s(k.target(), "saved_cmdlines_buffer");
    MemberInfo to_pid = s.require("map_cmdline_to_pid"), num = s.require("cmdline_num"),
               names = s.require("saved_cmdlines");
    auto buf = mem.read_u64(*sym);
    if (!buf || !*buf) {
        out.problems.push_back("savedcmd is NULL or unreadable");
        return out;
    }
    auto n = mem.read_u32(*buf + num.offset);
    auto pids = mem.read_u64(*buf + to_pid.offset);
    // saved_cmdlines is a flexible array at the end (6.1.81+, 6.8+) or a pointer.
    std::optional<addr_t> text = names.size == 0 ? std::optional<addr_t>(*buf + names.offset)
                                                 : mem.read_u64(*buf + names.offset);
    if (!n || !pids || !text || *n > max) {
        out.problems.push_back(fmt::format("savedcmd {:016x}: unreadable or {} entries", *buf, n.value_or(0)));
        return out;
    }
    constexpr std::size_t comm_len = 16;  // TASK_COMM_LEN
    std::vector<std::uint32_t> map(*n);
    std::vector<char> comms(*n * comm_len);
    if (!mem.read(*pids, map.data(), map.size() * 4) || !mem.read(*text, comms.data(), comms.size())) {
        out.problems.push_back(fmt::format("savedcmd {:016x}: its {} entries are unreadable", *buf, *n));
        return out;
    }
    for (std::size_t i = 0; i < map.size(); ++i) {
        if (map[i] == UINT32_MAX || map[i] == 0) continue;  // NO_CMDLINE_MAP
        const char* c = comms.data() + i * comm_len;
        out.comm[static_cast<int>(map[i])] = std::string(c, strnlen(c, comm_len));
    }
    return out;
}

}  // namespace netdbg
