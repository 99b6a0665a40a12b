#include "core/dwarf_inlines.h"

#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include <fcntl.h>
#include <gelf.h>
#include <unistd.h>

#include <cstring>

namespace netdbg {

struct DwarfInlines::File {
    Dwfl* dwfl = nullptr;
    Dwfl_Module* mod = nullptr;
    SectionAddresses sections;  // where the kernel loaded them
    SectionAddresses layout;    // where libdwfl placed them
    std::string problem;
    ~File() {
        if (dwfl) dwfl_end(dwfl);
    }
};

namespace {

char* no_debuginfo_path = nullptr;

// Offline: libdwfl lays a relocatable file's sections out itself (those
// whose sh_addr is 0; 6.12's .ko files keep .data at 0x80) and relocates
// its DWARF to that layout; a load address is translated into it by
// section (DwarfInlines::File::layout).
const Dwfl_Callbacks kCallbacks = {
    dwfl_build_id_find_elf,
    dwfl_standard_find_debuginfo,
    dwfl_offline_section_address,
    &no_debuginfo_path,
};

}  // namespace

namespace {

void read_layout(DwarfInlines::File& f);

}  // namespace

DwarfInlines::DwarfInlines() = default;
DwarfInlines::~DwarfInlines() = default;

DwarfInlines::File* DwarfInlines::open(const std::string& path, const SectionAddresses* sections) {
    auto it = files_.find(path);
    if (it != files_.end()) {
        // A module reloaded elsewhere: place it again.
        if (!sections || it->second->sections == *sections) return it->second.get();
        files_.erase(it);
    }
    auto f = std::make_unique<File>();
    if (sections) f->sections = *sections;
    f->dwfl = dwfl_begin(&kCallbacks);
    if (!f->dwfl) {
        f->problem = dwfl_errmsg(-1);
    } else {
        int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            f->problem = path + ": " + std::strerror(errno);
        } else {
            dwfl_report_begin(f->dwfl);
            // dwfl takes the descriptor.
            f->mod = dwfl_report_offline(f->dwfl, path.c_str(), path.c_str(), fd);
            dwfl_report_end(f->dwfl, nullptr, nullptr);
            if (!f->mod) f->problem = path + ": " + dwfl_errmsg(-1);
            else if (sections) read_layout(*f);
        }
    }
    return files_.emplace(path, std::move(f)).first->second.get();
}

namespace {

// The section headers of the file as libdwfl laid it out.
void read_layout(DwarfInlines::File& f) {
    Dwarf_Addr bias = 0;
    Elf* elf = dwfl_module_getelf(f.mod, &bias);
    std::size_t shstrndx = 0;
    if (!elf || elf_getshdrstrndx(elf, &shstrndx) != 0) return;
    for (Elf_Scn* scn = elf_nextscn(elf, nullptr); scn; scn = elf_nextscn(elf, scn)) {
        GElf_Shdr shdr;
        if (!gelf_getshdr(scn, &shdr) || !(shdr.sh_flags & SHF_ALLOC)) continue;
        const char* name = elf_strptr(elf, shstrndx, shdr.sh_name);
        if (name) f.layout[name] = shdr.sh_addr + bias;
    }
}

}  // namespace

std::vector<std::string> DwarfInlines::inlined_at(const std::string& path, const SectionAddresses* sections,
                                                  addr_t addr) {
    std::vector<std::string> out;
    File* f = open(path, sections);
    if (!f->mod) return out;
    if (sections) {
        // The loaded section holding addr (the nearest base below it), then
        // the same offset in libdwfl's layout.
        const std::string* in = nullptr;
        addr_t base = 0;
        for (const auto& [name, a] : f->sections)
            if (a <= addr && (!in || a > base) && f->layout.count(name)) in = &name, base = a;
        if (!in) return out;
        addr = f->layout[*in] + (addr - base);
    }
    Dwarf_Addr bias = 0;
    Dwarf_Die* cu = dwfl_module_addrdie(f->mod, addr, &bias);
    if (!cu) return out;
    Dwarf_Die* scopes = nullptr;
    int n = dwarf_getscopes(cu, addr - bias, &scopes);
    for (int i = 0; i < n && i < 64; ++i) {
        if (dwarf_tag(&scopes[i]) != DW_TAG_inlined_subroutine) continue;
        const char* name = dwarf_diename(&scopes[i]);  // follows DW_AT_abstract_origin
        out.push_back(name ? name : "?");
    }
    free(scopes);
    return out;
}

std::optional<addr_t> DwarfInlines::symbol_value(const std::string& path, const std::string& name) {
    File* f = open(path, nullptr);
    if (!f->mod) return std::nullopt;
    int n = dwfl_module_getsymtab(f->mod);
    for (int i = 0; i < n; ++i) {
        GElf_Sym sym;
        const char* s = dwfl_module_getsym(f->mod, i, &sym, nullptr);
        if (s && name == s) return static_cast<addr_t>(sym.st_value);
    }
    return std::nullopt;
}

std::string DwarfInlines::problem(const std::string& path) const {
    auto it = files_.find(path);
    return it == files_.end() ? "" : it->second->problem;
}

}  // namespace netdbg
