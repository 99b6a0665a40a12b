#include "core/kernel.h"

#include <fmt/format.h>

namespace netdbg {

addr_t Kernel::symbol(const std::string& name) {
    auto a = target_.symbol_address(name);
    if (!a) throw Error(fmt::format("symbol not found: {}", name));
    return *a;
}

std::string Kernel::symbolize(addr_t addr) {
    auto s = target_.symbolize(addr);
    if (!s) return fmt::format("{:016x}", addr);
    std::string out = s->name;
    if (s->offset) out += fmt::format("+{:#x}", s->offset);
    if (!s->module.empty()) out += fmt::format(" [{}]", s->module);
    return out;
}

std::string Kernel::function_name(addr_t addr) {
    auto s = target_.symbolize(addr);
    return s ? s->name : std::string();
}

StructLayout::StructLayout(Target& target, std::string type) : target_(target), type_(std::move(type)) {
    auto size = target_.type_size(type_);
    if (!size) throw LayoutError(fmt::format("layout: no type 'struct {}' in the debug info", type_));
    size_ = *size;
}

std::optional<MemberInfo> StructLayout::find(const std::string& member) const {
    return target_.member(type_, member);
}

MemberInfo StructLayout::require(const std::string& member) const {
    auto m = find(member);
    if (!m) throw LayoutError(fmt::format("layout: struct {} has no member '{}'", type_, member));
    return *m;
}

MemberInfo StructLayout::require_any(std::initializer_list<const char*> names) const {
    std::string tried;
    for (const char* n : names) {
        if (auto m = find(n)) return *m;
        tried += tried.empty() ? n : std::string("' or '") + n;
    }
    throw LayoutError(fmt::format("layout: struct {} has no member '{}'", type_, tried));
}

}  // namespace netdbg
