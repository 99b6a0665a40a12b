#include "kernel/module/module.h"

#include <fmt/format.h>

#include "kernel/lib/list.h"
#include "kernel/sched/stack.h"

namespace netdbg {

namespace {
std::int64_t enum_or(Kernel& k, const char* name, std::int64_t fallback) {
    return k.target().enum_value(name).value_or(fallback);
}
}  // namespace

ModuleLayout::ModuleLayout(Kernel& k) : s(k.target(), "module") {
    Target& t = k.target();
    state = s.require("state");
    list = s.require("list");
    name = s.require("name");
    span.add(state);
    span.add(list);
    span.add(name);
    live = enum_or(k, "MODULE_STATE_LIVE", 0);
    coming = enum_or(k, "MODULE_STATE_COMING", 1);
    going = enum_or(k, "MODULE_STATE_GOING", 2);
    unformed = enum_or(k, "MODULE_STATE_UNFORMED", 3);
    if (auto m = s.find("mem")) {
        style = Style::Mem;
        mem = *m;
        StructLayout mm(t, "module_memory");
        mem_elem = mm.size();
        mem_base = mm.offset("base");
        mem_size = mm.require("size");
        if (mem_elem == 0) throw LayoutError("layout: struct module_memory has size 0");
        std::size_t n = mem.size / mem_elem;
        // include/linux/module.h: enum mod_mem_type
        std::int64_t text = enum_or(k, "MOD_TEXT", 0), init_text = enum_or(k, "MOD_INIT_TEXT", 4);
        std::int64_t init_data = enum_or(k, "MOD_INIT_DATA", 5), init_ro = enum_or(k, "MOD_INIT_RODATA", 6);
        for (std::size_t i = 0; i < n; ++i) {
            auto ii = static_cast<std::int64_t>(i);
            mem_text.push_back(ii == text || ii == init_text);
            mem_init.push_back(ii == init_text || ii == init_data || ii == init_ro);
        }
        span.add(mem);
    } else if (auto c = s.find("core_layout")) {
        style = Style::Layout;
        core_layout = *c;
        init_layout = s.require("init_layout");
        StructLayout ml(t, "module_layout");
        lay_base = ml.offset("base");
        lay_size = ml.require("size");
        lay_text_size = ml.require("text_size");
        span.add(core_layout);
        span.add(init_layout);
    } else if (auto c2 = s.find("module_core")) {
        style = Style::Legacy;
        module_core = *c2;
        core_size = s.require("core_size");
        core_text_size = s.require("core_text_size");
        module_init = s.require("module_init");
        init_size = s.require("init_size");
        init_text_size = s.require("init_text_size");
        for (const MemberInfo& m2 : {module_core, core_size, core_text_size, module_init, init_size, init_text_size})
            span.add(m2);
    } else {
        throw LayoutError("layout: struct module has no member 'mem', 'core_layout' or 'module_core'");
    }
}

const ModuleRegion* ModuleInfo::region_of(addr_t a) const {
    for (const ModuleRegion& r : regions)
        if (r.contains(a)) return &r;
    return nullptr;
}

bool ModuleInfo::in_text(addr_t a) const {
    const ModuleRegion* r = region_of(a);
    return r && r->text;
}

addr_t ModuleInfo::core_base() const {
    for (const ModuleRegion& r : regions)
        if (!r.init) return r.base;
    return 0;
}

std::optional<ModuleInfo> read_module(Kernel& k, addr_t mod) {
    const ModuleLayout& L = k.get<ModuleLayout>();
    auto o = Object::read(k.mem(), mod, L.span.end, L.span.begin);
    if (!o) return std::nullopt;
    ModuleInfo m;
    m.addr = mod;
    m.name = o->cstring(L.name.offset, L.name.size);
    m.state = static_cast<std::int64_t>(o->uint(L.state.offset, L.state.size));
    m.going = m.state == L.going;
    if (m.state == L.live) m.state_name = "LIVE";
    else if (m.state == L.coming) m.state_name = "COMING";
    else if (m.state == L.going) m.state_name = "GOING";
    else if (m.state == L.unformed) m.state_name = "UNFORMED";
    else m.state_name = std::to_string(m.state);
    auto add = [&](addr_t base, std::uint64_t size, std::uint64_t text_size, bool init) {
        if (!base || !size) return;
        text_size = std::min(text_size, size);
        if (text_size) m.regions.push_back({base, text_size, true, init});
        if (size > text_size) m.regions.push_back({base + text_size, size - text_size, false, init});
    };
    switch (L.style) {
        case ModuleLayout::Style::Mem:
            for (std::size_t i = 0; i < L.mem_text.size(); ++i) {
                std::size_t e = L.mem.offset + i * L.mem_elem;
                addr_t base = o->u64(e + L.mem_base);
                std::uint64_t size = o->uint(e + L.mem_size.offset, L.mem_size.size);
                add(base, size, L.mem_text[i] ? size : 0, L.mem_init[i]);
            }
            break;
        case ModuleLayout::Style::Layout:
            for (const MemberInfo* lay : {&L.core_layout, &L.init_layout}) {
                std::size_t e = lay->offset;
                add(o->u64(e + L.lay_base), o->uint(e + L.lay_size.offset, L.lay_size.size),
                    o->uint(e + L.lay_text_size.offset, L.lay_text_size.size), lay == &L.init_layout);
            }
            break;
        case ModuleLayout::Style::Legacy:
            add(o->u64(L.module_core.offset), o->uint(L.core_size.offset, L.core_size.size),
                o->uint(L.core_text_size.offset, L.core_text_size.size), false);
            add(o->u64(L.module_init.offset), o->uint(L.init_size.offset, L.init_size.size),
                o->uint(L.init_text_size.offset, L.init_text_size.size), true);
            break;
    }
    return m;
}

std::vector<ModuleInfo> for_each_module(Kernel& k, std::vector<std::string>* problems, std::size_t max) {
    const ModuleLayout& L = k.get<ModuleLayout>();
    std::vector<ModuleInfo> out;
    auto head = k.try_symbol("modules");
    if (!head) {
        if (problems) problems->push_back("symbol 'modules' not found: module states unknown");
        return out;
    }
    ListWalk w = walk_list(k, *head, max, [&](addr_t node) {
        addr_t mod = node - L.list.offset;
        if (auto m = read_module(k, mod)) {
            out.push_back(std::move(*m));
        } else if (problems) {
            problems->push_back(fmt::format("module {:016x}: unreadable", mod));
        }
        return true;
    });
    if (out.size() > w.count) out.resize(w.count);
    if (problems)
        for (const auto& f : w.findings) problems->push_back("modules list: " + f.describe());
    return out;
}

ModuleIndex::ModuleIndex(Kernel& k, std::size_t max) { modules_ = for_each_module(k, &problems_, max); }

const ModuleInfo* ModuleIndex::find(addr_t addr) const {
    for (const ModuleInfo& m : modules_)
        if (m.contains(addr)) return &m;
    return nullptr;
}

std::optional<ModuleInfo> module_of(Kernel& k, addr_t addr) {
    for (ModuleInfo& m : for_each_module(k))
        if (m.contains(addr)) return std::move(m);
    return std::nullopt;
}

bool in_kernel_text(Kernel& k, addr_t addr) {
    const KernelText& t = k.get<KernelText>();
    return addr >= t.stext && addr < t.etext;
}

}  // namespace netdbg
