// kernel/module: the `modules` list, each module's state and memory, and
// the module an address lies in (as __module_address() answers it), plus
// whether an address is kernel text at all.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/kernel.h"

namespace netdbg {

// One memory region of a module: core or init, text or not.
struct ModuleRegion {
    addr_t base = 0;
    std::uint64_t size = 0;
    bool text = false;
    bool init = false;
    bool contains(addr_t a) const { return a >= base && a - base < size; }
};

struct ModuleLayout {
    explicit ModuleLayout(Kernel& k);
    StructLayout s;
    MemberInfo state, list, name;
    // Where the memory regions are described, newest first:
    //  mem[MOD_MEM_NUM_TYPES] of struct module_memory (6.4+),
    //  core_layout/init_layout of struct module_layout (4.5 - 6.3),
    //  module_core/core_size/core_text_size and the init_ ones (older).
    enum class Style { Mem, Layout, Legacy } style = Style::Layout;
    // Mem: the array, its element size, base/size inside an element, and
    // which element indexes are text and init (from enum mod_mem_type).
    MemberInfo mem;
    std::size_t mem_elem = 0, mem_base = 0;
    MemberInfo mem_size;
    std::vector<bool> mem_text, mem_init;
    // Layout: core_layout/init_layout and base/size/text_size inside.
    MemberInfo core_layout, init_layout;
    std::size_t lay_base = 0;
    MemberInfo lay_size, lay_text_size;
    // Legacy.
    MemberInfo module_core, core_size, core_text_size, module_init, init_size, init_text_size;
    // enum module_state, from the debug info (0..3 when it is missing).
    std::int64_t live = 0, coming = 1, going = 2, unformed = 3;
    Span span;
};

struct ModuleInfo {
    addr_t addr = 0;  // struct module *
    std::string name;
    std::int64_t state = 0;
    std::string state_name;  // "LIVE", "COMING", "GOING", "UNFORMED" or the number
    bool going = false;      // MODULE_STATE_GOING: being unloaded
    std::vector<ModuleRegion> regions;

    const ModuleRegion* region_of(addr_t a) const;
    bool contains(addr_t a) const { return region_of(a) != nullptr; }
    bool in_text(addr_t a) const;
    addr_t core_base() const;  // first non-init region's base, 0 when none
};

std::optional<ModuleInfo> read_module(Kernel& k, addr_t mod);

// Every module on the `modules` list, in list order. A broken list ends the
// walk; the problems met are appended as text lines.
std::vector<ModuleInfo> for_each_module(Kernel& k, std::vector<std::string>* problems = nullptr,
                                        std::size_t max = 100000);

// The module list read once, for many lookups in one command.
class ModuleIndex {
public:
    explicit ModuleIndex(Kernel& k, std::size_t max = 100000);
    const ModuleInfo* find(addr_t addr) const;
    const std::vector<ModuleInfo>& modules() const { return modules_; }
    const std::vector<std::string>& problems() const { return problems_; }

private:
    std::vector<ModuleInfo> modules_;
    std::vector<std::string> problems_;
};

// The module whose memory holds addr (one walk of the list per call: use a
// ModuleIndex for many addresses).
std::optional<ModuleInfo> module_of(Kernel& k, addr_t addr);

// vmlinux text: [_stext, _etext) (stack.h KernelText).
bool in_kernel_text(Kernel& k, addr_t addr);

}  // namespace netdbg
