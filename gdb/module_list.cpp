#include "module_list.h"

#include <fmt/format.h>

#include "list.h"

namespace netdbg::gdbglue {

ModuleLayout::ModuleLayout(Kernel& k) : s(k.target(), "module") {
    Target& t = k.target();
    list = s.require("list");
    name = s.require("name");
    // Where the module's text starts: core_layout.base (4.5 to 6.3),
    // mem[MOD_TEXT].base (6.4+, MOD_TEXT == 0), module_core (older).
    if (auto core = s.find("core_layout")) {
        text_base = core->offset + StructLayout(t, "module_layout").offset("base");
    } else if (auto mem = s.find("mem")) {
        text_base = mem->offset + StructLayout(t, "module_memory").offset("base");
    } else {
        text_base = s.require_any({"module_core"}).offset;
    }
    sect_attrs = s.find("sect_attrs");
    if (!sect_attrs) return;
    StructLayout attrs_l(t, "module_sect_attrs");
    StructLayout attr_l(t, "module_sect_attr");
    auto n = attrs_l.find("nsections");
    auto a = attrs_l.find("attrs");
    auto addr = attr_l.find("address");
    if (!n || !a || !addr) {  // another layout (6.14+): text base only
        sect_attrs.reset();
        return;
    }
    nsections = n->offset;
    attrs = a->offset;
    attr_size = attr_l.size();
    attr_address = addr->offset;
    if (auto battr = attr_l.find("battr")) {
        // 5.8+: the name is battr.attr.name
        std::size_t attr = StructLayout(t, "bin_attribute").offset("attr");
        attr_name = battr->offset + attr + StructLayout(t, "attribute").offset("name");
    } else {
        attr_name = attr_l.require("name").offset;
    }
}

namespace {

std::vector<ModuleSection> module_sections(Kernel& k, const ModuleLayout& L, addr_t mod) {
    std::vector<ModuleSection> out;
    auto sa = k.mem().read_u64(mod + L.sect_attrs->offset);
    if (!sa || !*sa) return out;
    auto n = k.mem().read_u32(*sa + L.nsections);
    if (!n || *n > 1024) return out;
    for (std::uint32_t i = 0; i < *n; ++i) {
        addr_t at = *sa + L.attrs + i * L.attr_size;
        auto addr = k.mem().read_u64(at + L.attr_address);
        auto name_ptr = k.mem().read_u64(at + L.attr_name);
        auto name = name_ptr ? k.mem().read_cstring(*name_ptr, 128) : std::nullopt;
        if (!addr || !name || name->empty()) continue;
        out.push_back({*name, *addr});
    }
    return out;
}

}  // namespace

std::vector<KernelModule> for_each_module(Kernel& k, std::vector<std::string>* problems, std::size_t max) {
    const ModuleLayout& L = k.get<ModuleLayout>();
    addr_t head = k.symbol("modules");
    std::vector<addr_t> nodes;
    ListWalk w = walk_list(k, head, max, [&](addr_t node) {
        nodes.push_back(node);
        return true;
    });
    nodes.resize(std::min(nodes.size(), w.count));
    if (problems)
        for (const auto& f : w.findings) problems->push_back("modules: " + f.describe());
    std::vector<KernelModule> out;
    for (addr_t node : nodes) {
        k.check_interrupt();
        KernelModule m;
        m.addr = node - L.list.offset;
        auto name = k.mem().read_cstring(m.addr + L.name.offset, L.name.size);
        auto text = k.mem().read_u64(m.addr + L.text_base);
        if (!name || !text) {
            if (problems) problems->push_back(fmt::format("module {:016x}: unreadable", m.addr));
            continue;
        }
        m.name = *name;
        m.text = *text;
        if (L.sect_attrs) m.sections = module_sections(k, L, m.addr);
        out.push_back(std::move(m));
    }
    return out;
}

}  // namespace netdbg::gdbglue
