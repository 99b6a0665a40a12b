#include "kaslr.h"

#include <algorithm>
#include <cstring>
#include <optional>
#include <vector>

#include <fmt/format.h>

#include "elf_file.h"
#include "error.h"

namespace netdbg::gdbglue {

namespace {

// x86-64: the kernel image lives in [__START_KERNEL_map, +KERNEL_IMAGE_SIZE)
// and KASLR moves it in CONFIG_PHYSICAL_ALIGN steps (2 MiB, or a multiple).
constexpr addr_t kImageAreaStart = 0xffffffff80000000ULL;
constexpr addr_t kImageAreaEnd = 0xffffffffc0000000ULL;
constexpr addr_t kAlign = 2ULL << 20;

struct Probe {
    explicit Probe(GdbTarget& target) : t(target) {}
    GdbTarget& t;
    addr_t banner = 0;                  // gdb's address of linux_banner
    std::vector<std::uint8_t> expected;  // its bytes in the vmlinux file
    const ElfFile* core = nullptr;       // a dump: only bytes it holds count
    std::size_t tries = 0;

    bool matches(addr_t offset) {
        ++tries;
        addr_t at = banner + offset;
        // gdb reads a core file's missing ranges from the vmlinux file
        // instead: that would "find" the banner at any link address.
        if (core && !core->loaded(at, expected.size())) return false;
        std::vector<std::uint8_t> got(expected.size());
        return t.read(at, got.data(), got.size()) && got == expected;
    }
};

std::vector<std::uint8_t> banner_bytes(const std::vector<std::uint8_t>& raw) {
    auto nul = std::find(raw.begin(), raw.end(), 0);
    return std::vector<std::uint8_t>(raw.begin(), nul);
}

std::string hex_offset(addr_t v) { return v ? fmt::format("{:#x}", v) : "0"; }

}  // namespace

LoadOffset detect_load_offset(GdbTarget& t, const std::string& vmlinux_path, const std::string& core_path) {
    auto banner = t.gdb_symbol_address("linux_banner");
    auto text = t.gdb_symbol_address("_text");
    auto end = t.gdb_symbol_address("_end");
    if (!banner || !text || !end || *end <= *text)
        throw Error("kaslr: the symbol file has no linux_banner/_text/_end: load the kernel's vmlinux first");
    LoadOffset r;
    r.image_start = *text;
    r.image_end = *end;

    Probe p(t);
    p.banner = *banner;
    addr_t gdb_shift = 0;  // gdb's addresses minus the file's (symbol-file -o)
    std::string why;
    std::optional<ElfFile> vmlinux = ElfFile::open(vmlinux_path, &why);
    if (vmlinux) {
        auto syms = vmlinux->symbols({"linux_banner"});
        if (auto it = syms.find("linux_banner"); it != syms.end()) {
            gdb_shift = *banner - it->second;
            if (auto raw = vmlinux->read_vaddr(it->second, 256)) p.expected = banner_bytes(*raw);
        }
    }
    bool exact = !p.expected.empty();
    if (!exact) {
        static const char prefix[] = "Linux version ";
        p.expected.assign(prefix, prefix + sizeof prefix - 1);
    }
    const char* check = exact ? "linux_banner matches vmlinux" : "linux_banner starts with \"Linux version\"";

    std::optional<ElfFile> core;
    if (!core_path.empty()) {
        core = ElfFile::open(core_path, &why);
        if (core && core->is_core()) p.core = &*core;
    }

    std::string note_problem;
    if (p.core) {
        if (auto info = p.core->note("VMCOREINFO")) {
            if (auto ko = vmcoreinfo_value(*info, "KERNELOFFSET")) {
                char* stop = nullptr;
                addr_t file_offset = std::strtoull(ko->c_str(), &stop, 16);
                if (stop && *stop == '\0' && !ko->empty()) {
                    r.offset = file_offset - gdb_shift;
                    if (p.matches(r.offset)) {
                        r.how = fmt::format("VMCOREINFO KERNELOFFSET={}, {}", *ko, check);
                        return r;
                    }
                    note_problem = fmt::format(" (VMCOREINFO says KERNELOFFSET={}, but linux_banner is not there)", *ko);
                }
            }
        }
    }

    if (p.matches(0)) {
        r.offset = 0;
        r.how = fmt::format("no KASLR: {} at its link address{}", check, note_problem);
        return r;
    }

    // Offsets that put the CPU's current PC inside the kernel text.
    std::vector<addr_t> tried;
    if (auto pc = t.current_pc(); pc && *pc >= kImageAreaStart && *pc < kImageAreaEnd) {
        addr_t lo = *pc > *end ? *pc - *end : 0;
        addr_t hi = *pc - *text;
        for (addr_t abs = (lo + gdb_shift + kAlign - 1) / kAlign * kAlign; abs - gdb_shift <= hi; abs += kAlign) {
            addr_t off = abs - gdb_shift;
            tried.push_back(off);
            if (off && p.matches(off)) {
                r.offset = off;
                r.how = fmt::format("KASLR: {} at +{} (found from the PC {:#x}){}", check, hex_offset(off), *pc,
                                    note_problem);
                return r;
            }
            if (t.interrupted()) throw Interrupted();
        }
    }

    // Every offset of the image area.
    addr_t file_end = *end - gdb_shift;
    for (addr_t abs = kAlign; file_end + abs <= kImageAreaEnd; abs += kAlign) {
        addr_t off = abs - gdb_shift;
        if (std::find(tried.begin(), tried.end(), off) != tried.end()) continue;
        if (p.matches(off)) {
            r.offset = off;
            r.how = fmt::format("KASLR: {} at +{} (scan of {} offsets){}", check, hex_offset(off), p.tries,
                                note_problem);
            return r;
        }
        if (t.interrupted()) throw Interrupted();
    }
    throw Error(fmt::format("kaslr: linux_banner found neither at its link address {:#x} nor at any {} MiB "
                            "KASLR offset{}: is this the vmlinux of the running kernel, and is memory readable?",
                            *banner, kAlign >> 20, note_problem));
}

}  // namespace netdbg::gdbglue
