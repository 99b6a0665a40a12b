#include "kernel/sched/inlined_calls.h"

#include <memory>
#include <optional>

#include "core/dwarf_inlines.h"
#include "kernel/module/module_sections.h"

namespace netdbg {

namespace {

// Read once per session: the DWARF files, the image's move (KASLR), the
// modules' section addresses.
struct InlineSources {
    explicit InlineSources(Kernel&) {}
    mutable DwarfInlines dwarf;
    mutable std::optional<std::optional<std::int64_t>> image_offset;
    mutable std::unique_ptr<std::vector<KernelModule>> modules;
};

}  // namespace

std::vector<std::string> inlined_calls(Kernel& k, addr_t pc, bool exact) {
    const InlineSources& src = k.get<InlineSources>();
    auto sym = k.target().symbolize(pc);
    if (!sym) return {};
    addr_t at = exact ? pc : pc - 1;
    if (sym->module.empty()) {
        auto path = k.target().kernel_debug_file();
        if (!path) return {};
        if (!src.image_offset) {
            auto run = k.try_symbol("_text");
            auto file = src.dwarf.symbol_value(*path, "_text");
            src.image_offset = run && file ? std::optional<std::int64_t>(static_cast<std::int64_t>(*run - *file))
                                           : std::nullopt;
        }
        if (!*src.image_offset) return {};
        return src.dwarf.inlined_at(*path, nullptr, at - static_cast<addr_t>(**src.image_offset));
    }
    auto path = k.target().module_debug_file(sym->module);
    if (!path) return {};
    if (!src.modules) {
        src.modules = std::make_unique<std::vector<KernelModule>>();
        try {
            *src.modules = modules_with_sections(k, nullptr);
        } catch (const LayoutError&) {
        }
    }
    for (const KernelModule& m : *src.modules) {
        if (m.name != sym->module) continue;
        DwarfInlines::SectionAddresses sections;
        for (const ModuleSection& s : m.sections) sections[s.name] = s.addr;
        if (sections.empty() && m.text) sections[".text"] = m.text;
        return src.dwarf.inlined_at(*path, &sections, at);
    }
    return {};
}

}  // namespace netdbg
