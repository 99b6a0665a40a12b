// The functions the compiler inlined at a code address, from a debug file's
// DWARF (elfutils libdw: the inlined_subroutine scopes around the address),
// the way drgn's stack_trace() shows inlined frames. One Dwfl per file, read
// lazily and kept for the session.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/target.h"

namespace netdbg {

class DwarfInlines {
public:
    DwarfInlines();
    ~DwarfInlines();
    DwarfInlines(const DwarfInlines&) = delete;
    DwarfInlines& operator=(const DwarfInlines&) = delete;

    // Where a relocatable file's (a module's .ko) sections were loaded, by
    // section name; sections not named are left out.
    using SectionAddresses = std::map<std::string, addr_t>;

    // The inlined functions whose code holds `addr`, innermost first, empty
    // when none (or the file has no DWARF for it). `addr` is a file address
    // of an executable (vmlinux), or a load address for a relocatable file
    // placed at `sections`.
    std::vector<std::string> inlined_at(const std::string& path, const SectionAddresses* sections, addr_t addr);

    // An ELF symbol's value in the file (to find how far the image moved).
    std::optional<addr_t> symbol_value(const std::string& path, const std::string& name);

    // Why the file could not be read (empty while it could).
    std::string problem(const std::string& path) const;

    struct File;  // one debug file, opened (defined in dwarf_inlines.cpp)

private:
    File* open(const std::string& path, const SectionAddresses* sections);
    std::map<std::string, std::unique_ptr<File>> files_;
};

}  // namespace netdbg
