// The kernel's loaded modules (common/kernel/module/module.h's for_each_module) with
// the section addresses sysfs shows in /sys/module/NAME/sections: what
// add-symbol-file needs to place a module's .ko where it was loaded.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/kernel.h"

namespace netdbg {

// mod->sect_attrs (CONFIG_SYSFS): struct module_sect_attrs.
struct ModuleSectionLayout {
    explicit ModuleSectionLayout(Kernel& k);
    std::optional<MemberInfo> sect_attrs;  // nullopt: no section addresses
    std::size_t nsections = 0, attrs = 0, attr_size = 0, attr_address = 0, attr_name = 0;
};

struct ModuleSection {
    std::string name;  // ".text", ".data", ".bss", ...
    addr_t addr = 0;
};

struct KernelModule {
    addr_t addr = 0;   // struct module
    std::string name;  // mod->name, '_' spelling
    addr_t text = 0;   // where its .text was loaded (the core text base)
    std::vector<ModuleSection> sections;  // empty without sect_attrs
};

// The modules in list order (newest first, as lsmod prints them); broken
// links end the walk and unreadable modules are left out, with a line in
// *problems for each.
std::vector<KernelModule> modules_with_sections(Kernel& k, std::vector<std::string>* problems,
                                                std::size_t max = 4096);

}  // namespace netdbg
