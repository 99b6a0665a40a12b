// netdbg::Target on top of crash's API. No crash header here: the crash
// calls live in crash_target.cpp, each behind crashglue::guarded().
#pragma once

#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/target.h"

namespace netdbg::crashglue {

class CrashTarget : public Target {
public:
    bool read(addr_t addr, void* buf, std::size_t len) override;

    std::optional<addr_t> symbol_address(const std::string& name) override;
    std::optional<std::string> symbol_type(const std::string& name) override;
    std::optional<std::size_t> array_length(const std::string& name) override;
    std::optional<SymbolInfo> symbolize(addr_t addr) override;

    std::optional<std::size_t> type_size(const std::string& type) override;
    std::optional<MemberInfo> member(const std::string& type, const std::string& member) override;
    std::optional<std::int64_t> enum_value(const std::string& name) override;

    int cpu_count() override;
    std::optional<addr_t> per_cpu_offset(int cpu) override;
    std::size_t thread_size() override;

    // Ctrl-C pending, or the command's output went away (`| head` exited).
    bool interrupted() override;

    // crash's own unwinder, only for tasks crash's task table knows.
    std::optional<std::vector<addr_t>> call_chain(addr_t task) override;
    std::string unreadable_reason(addr_t addr) override;

    // The CPU's NT_PRSTATUS note, which crash keeps for kdump-compressed
    // (diskdump.c) and ELF (netdump.c) dumps.
    std::optional<CpuRegisters> cpu_registers(int cpu) override;

    std::optional<std::string> kernel_debug_file() override;
    std::optional<std::string> module_debug_file(const std::string& module) override;

    // The front end points this at its "output is broken" flag while a
    // command runs, so walks stop once nobody reads their output.
    void set_stop_flag(const bool* flag) { stop_flag_ = flag; }

private:
    std::optional<std::string> gdb_output(const std::string& cmd);
    std::optional<std::string> gdb_whatis(const std::string& name);
    bool load_enumerators(const std::string& name);
    const bool* stop_flag_ = nullptr;
    // Enumerators by name, and those gdb does not know (nullopt).
    std::unordered_map<std::string, std::optional<std::int64_t>> enumerators_;
};

}  // namespace netdbg::crashglue
