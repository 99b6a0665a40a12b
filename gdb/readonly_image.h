// A live kernel's read-only image sections served from the vmlinux file:
// over a gdbstub every page costs remote round trips, and the ORC unwinder
// binary-searches .orc_unwind_ip and reads .orc_unwind for each frame.
// Only bytes the running kernel cannot have changed qualify: allocated,
// not writable sections (.text, .orc_unwind_ip, .orc_unwind, __ex_table,
// __ksymtab...) below __init_begin (init sections are freed after boot);
// .rodata is writable in the ELF (it holds __ro_after_init) and .orc_lookup
// is filled at boot, so they stay remote. Runtime patching of .text
// (alternatives, static keys, ftrace) is not seen: netdbg reads text only
// to check call opcodes before return addresses.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "elf_file.h"
#include "core/target.h"

namespace netdbg::gdbglue {

class ReadonlyImage {
public:
    // vmlinux's read-only sections, at runtime address = link address +
    // shift. With shift != 0 (KASLR) only sections the kernel's relocation
    // leaves alone (ElfFile::readonly_sections). nullopt (and *why) when no
    // section qualifies or the file has no _text/__init_begin.
    static std::optional<ReadonlyImage> open(const std::string& vmlinux, addr_t shift, std::string* why);

    // [addr, addr + len) (runtime addresses) lies whole in one section, or
    // in sections that follow each other without a gap: copies their file
    // bytes and returns true.
    bool read(addr_t addr, void* buf, std::size_t len) const;

    const std::vector<ElfFile::FileRange>& sections() const { return ranges_; }

private:
    ReadonlyImage(ElfFile file, std::vector<ElfFile::FileRange> ranges, addr_t shift)
        : file_(std::move(file)), ranges_(std::move(ranges)), shift_(shift) {}
    ElfFile file_;
    std::vector<ElfFile::FileRange> ranges_;  // sorted by link address, disjoint
    addr_t shift_ = 0;
};

}  // namespace netdbg::gdbglue
