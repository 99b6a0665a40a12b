#include "kaslr.h"

#include <algorithm>
#include <cstring>
#include <optional>
#include <vector>

#include <fmt/format.h>

#include "elf_file.h"
#include "core/error.h"

namespace netdbg::gdbglue {

namespace {

// x86-64: the kernel image lives in [__START_KERNEL_map, +KERNEL_IMAGE_SIZE)
// and KASLR moves it in CONFIG_PHYSICAL_ALIGN steps (2 MiB, or a multiple).
constexpr addr_t kImageAreaStart = 0xffffffff80000000ULL;
constexpr addr_t kImageAreaEnd = 0xffffffffc0000000ULL;
constexpr addr_t kAlign = 2ULL << 20;

constexpr char kVersionPrefix[] = "Linux version ";

std::vector<std::uint8_t> banner_bytes(const std::vector<std::uint8_t>& raw) {
    auto nul = std::find(raw.begin(), raw.end(), 0);
    return std::vector<std::uint8_t>(raw.begin(), nul);
}

// linux_banner as the vmlinux file has it, compared with the bytes at a
// candidate offset in memory.
struct Probe {
    Probe(GdbTarget& target, const std::string& vmlinux_path, const std::string& core_path) : t(target) {
        auto b = t.gdb_symbol_address("linux_banner");
        auto text = t.gdb_symbol_address("_text");
        auto e = t.gdb_symbol_address("_end");
        if (!b || !text || !e || *e <= *text)
            throw Error("kaslr: the symbol file has no linux_banner/_text/_end: load the kernel's vmlinux first");
        banner = *b;
        image_start = *text;
        image_end = *e;
        if (auto vmlinux = ElfFile::open(vmlinux_path, nullptr)) {
            auto syms = vmlinux->symbols({"linux_banner"});
            if (auto it = syms.find("linux_banner"); it != syms.end()) {
                gdb_shift = banner - it->second;
                if (auto raw = vmlinux->read_vaddr(it->second, 256)) expected = banner_bytes(*raw);
            }
        }
        exact = !expected.empty();
        if (!exact) expected.assign(kVersionPrefix, kVersionPrefix + sizeof kVersionPrefix - 1);
        if (!core_path.empty()) {
            core_file = ElfFile::open(core_path, nullptr);
            if (core_file && core_file->is_core()) core = &*core_file;
        }
    }
    Probe(const Probe&) = delete;
    Probe& operator=(const Probe&) = delete;

    GdbTarget& t;
    addr_t banner = 0;                   // gdb's address of linux_banner
    addr_t image_start = 0, image_end = 0;  // _text, _end in gdb's addresses
    addr_t gdb_shift = 0;                // gdb's addresses minus the file's (symbol-file -o)
    std::vector<std::uint8_t> expected;  // its bytes in the vmlinux file
    bool exact = false;                  // else expected is "Linux version "
    std::optional<ElfFile> core_file;
    const ElfFile* core = nullptr;       // a dump: only bytes it holds count
    std::size_t tries = 0;

    const char* check() const {
        return exact ? "linux_banner matches vmlinux" : "linux_banner starts with \"Linux version\"";
    }

    // The bytes of linux_banner's size at the offset, if memory holds them.
    std::optional<std::vector<std::uint8_t>> at(addr_t offset, std::size_t len) {
        addr_t a = banner + offset;
        // gdb reads a core file's missing ranges from the vmlinux file
        // instead: that would "find" the banner at any link address.
        if (core && !core->loaded(a, len)) return std::nullopt;
        std::vector<std::uint8_t> got(len);
        if (!t.read(a, got.data(), got.size())) return std::nullopt;
        return got;
    }

    bool matches(addr_t offset) {
        ++tries;
        auto got = at(offset, expected.size());
        return got && *got == expected;
    }

    // A kernel's banner, if not this vmlinux's.
    bool any_banner(addr_t offset) {
        auto got = at(offset, sizeof kVersionPrefix - 1);
        return got && std::equal(got->begin(), got->end(), kVersionPrefix);
    }
};

std::string hex_offset(addr_t v) { return v ? fmt::format("{:#x}", v) : "0"; }

}  // namespace

LoadOffset detect_load_offset(GdbTarget& t, const std::string& vmlinux_path, const std::string& core_path) {
    Probe p(t, vmlinux_path, core_path);
    LoadOffset r;
    r.image_start = p.image_start;
    r.image_end = p.image_end;
    const addr_t text = p.image_start, end = p.image_end, gdb_shift = p.gdb_shift;
    const char* check = p.check();
    r.file_shift = gdb_shift;
    r.same_build = p.exact;  // every offset returned below matched linux_banner

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
        addr_t lo = *pc > end ? *pc - end : 0;
        addr_t hi = *pc - text;
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
    addr_t file_end = end - gdb_shift;
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
                            p.banner, kAlign >> 20, note_problem));
}

LoadOffset forced_load_offset(GdbTarget& t, const std::string& vmlinux_path, const std::string& core_path,
                              addr_t offset) {
    Probe p(t, vmlinux_path, core_path);
    LoadOffset r;
    r.offset = offset;
    r.image_start = p.image_start;
    r.image_end = p.image_end;
    r.how = "set by netdbg-kaslr";
    r.file_shift = p.gdb_shift;
    if (p.matches(offset)) {
        r.same_build = p.exact;
        return r;
    }
    if (p.exact && p.any_banner(offset)) {
        // Another build's banner: the image is there, the vmlinux may still
        // fit (auto refuses it; this is the way to insist).
        r.how += ", linux_banner there differs from vmlinux's";
        return r;
    }
    r.wrong = fmt::format("linux_banner does not match vmlinux at offset {} (set by netdbg-kaslr): wrong KASLR "
                          "offset (netdbg-kaslr auto)",
                          hex_offset(offset));
    return r;
}

}  // namespace netdbg::gdbglue
