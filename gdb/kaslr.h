// Where the kernel image runs relative to where gdb's symbols put it
// (KASLR). gdb applies no load offset to a vmlinux, so netdbg finds it and
// adds it to the kernel image's symbols in the target layer.
#pragma once

#include <string>

#include "gdb_target.h"

namespace netdbg::gdbglue {

struct LoadOffset {
    addr_t offset = 0;  // runtime address - gdb's address, for the kernel image
    addr_t image_start = 0, image_end = 0;  // _text and _end in gdb's addresses
    std::string how;    // one line: where the offset comes from
    // linux_banner at the offset is the vmlinux file's own, byte for byte:
    // the file is the running kernel's build.
    bool same_build = false;
    addr_t file_shift = 0;  // gdb's addresses minus the file's (symbol-file -o)
    // A forced offset where linux_banner is not: the line every command
    // refuses with (their reads would hit the wrong addresses).
    std::string wrong;
};

// Tries, in order: the dump's VMCOREINFO note (KERNELOFFSET), offset 0
// (nokaslr), the 2 MiB-aligned offsets that put the current PC inside the
// kernel's text, and every 2 MiB-aligned offset of the kernel image area.
// Each candidate is accepted only when the runtime linux_banner matches the
// vmlinux file's. Throws netdbg::Error when nothing matches.
LoadOffset detect_load_offset(GdbTarget& t, const std::string& vmlinux_path, const std::string& core_path);

// netdbg-kaslr OFFSET: the offset as given, checked the same way. A
// banner of another build there is accepted (with a note in `how`: the
// way to use a vmlinux auto-detection refuses); no banner at all sets
// `wrong`.
LoadOffset forced_load_offset(GdbTarget& t, const std::string& vmlinux_path, const std::string& core_path,
                              addr_t offset);

}  // namespace netdbg::gdbglue
