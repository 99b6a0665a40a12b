#include "kernel/module/module_sections.h"

#include "kernel/module/module.h"

namespace netdbg {

ModuleSectionLayout::ModuleSectionLayout(Kernel& k) {
    Target& t = k.target();
    sect_attrs = StructLayout(t, "module").find("sect_attrs");
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

std::vector<ModuleSection> module_sections(Kernel& k, const ModuleSectionLayout& L, addr_t mod) {
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

std::vector<KernelModule> modules_with_sections(Kernel& k, std::vector<std::string>* problems, std::size_t max) {
    const ModuleSectionLayout& L = k.get<ModuleSectionLayout>();
    std::vector<KernelModule> out;
    for (const ModuleInfo& m : for_each_module(k, problems, max)) {
        k.check_interrupt();
        KernelModule km;
        km.addr = m.addr;
        km.name = m.name;
        km.text = m.core_base();
        if (L.sect_attrs) km.sections = module_sections(k, L, m.addr);
        out.push_back(std::move(km));
    }
    return out;
}

}  // namespace netdbg
