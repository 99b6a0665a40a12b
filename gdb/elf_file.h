// Just enough of ELF64 (little-endian) for the gdb front end: the vmlinux
// file's symbols and section bytes (what linux_banner holds before boot),
// and a core file's PT_LOAD ranges and notes (VMCOREINFO). Read with
// pread on demand: the files are hundreds of MB.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "core/target.h"

namespace netdbg::gdbglue {

class ElfFile {
public:
    // nullopt (and *why set) when the file is missing or not ELF64 LE.
    static std::optional<ElfFile> open(const std::string& path, std::string* why);
    ElfFile(ElfFile&&) noexcept;
    ElfFile& operator=(ElfFile&&) noexcept;
    ElfFile(const ElfFile&) = delete;
    ElfFile& operator=(const ElfFile&) = delete;
    ~ElfFile();

    const std::string& path() const { return path_; }
    bool is_core() const { return type_ == 4; }  // ET_CORE

    struct Symbol {
        std::string name;
        std::uint16_t section = 0;  // st_shndx
        std::uint64_t value = 0;
        std::uint8_t type = 0;      // STT_*
    };
    // Every named symbol of .symtab, in table order.
    std::vector<Symbol> all_symbols() const;
    // st_value of each wanted name found in .symtab (one pass over it).
    std::map<std::string, addr_t> symbols(const std::set<std::string>& names) const;
    // Bytes at a link-time address from the allocated section holding it.
    std::optional<std::vector<std::uint8_t>> read_vaddr(addr_t addr, std::size_t len) const;

    // An allocated section's link-time range and where its bytes are in
    // the file.
    struct FileRange {
        std::string name;
        addr_t addr = 0;
        std::uint64_t size = 0, offset = 0;
    };
    // The read-only allocated sections with file bytes (SHF_ALLOC, not
    // SHF_WRITE, not NOBITS) that lie whole in [begin, end), by address.
    // `relocated`: the image runs away from its link address, so a section
    // qualifies only when the relocations the linker kept (--emit-relocs,
    // the ones the kernel applies) show its bytes do not depend on where
    // it runs: PC-relative ones to image symbols or none. Without those
    // relocation sections nothing qualifies.
    std::vector<FileRange> readonly_sections(addr_t begin, addr_t end, bool relocated) const;
    // len bytes at a file offset.
    bool read_at(std::uint64_t offset, void* buf, std::size_t len) const { return pread_all(buf, len, offset); }
    // Core files: the [vaddr, vaddr + filesz) ranges of the PT_LOADs.
    std::vector<std::pair<addr_t, addr_t>> loads() const;
    // Core files: is [addr, addr + len) inside one PT_LOAD with file bytes?
    bool loaded(addr_t addr, std::size_t len) const;
    // Descriptor of the first note with this owner name ("VMCOREINFO").
    std::optional<std::string> note(const std::string& owner) const;

private:
    ElfFile() = default;
    bool pread_all(void* buf, std::size_t len, std::uint64_t off) const;
    // symtab: the bytes of the symbol table, read on first use.
    bool position_independent(std::size_t index, std::vector<std::uint8_t>& symtab) const;

    struct Section {
        std::string name;
        std::uint32_t type = 0;
        std::uint64_t flags = 0, addr = 0, offset = 0, size = 0;
        std::uint32_t link = 0, info = 0;
    };
    struct Segment {
        std::uint32_t type = 0;
        std::uint64_t offset = 0, vaddr = 0, filesz = 0;
    };

    int fd_ = -1;
    std::string path_;
    std::uint16_t type_ = 0;
    std::uint64_t size_ = 0;
    std::vector<Section> sections_;
    std::vector<Segment> segments_;
};

// VALUE of "KEY=VALUE" in a VMCOREINFO text.
std::optional<std::string> vmcoreinfo_value(const std::string& text, const std::string& key);

}  // namespace netdbg::gdbglue
