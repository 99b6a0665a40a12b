// netdbg::Target on gdb's Python API, called from C++: memory through the
// selected inferior, sizes and offsets from gdb's types (Type.fields()), and
// symbols from gdb's symbol tables. Every answer is cached for the session
// (until objfiles change): a gdb type or symbol lookup costs far more than
// a map lookup, and a live gdbstub pays a network round trip per read.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "elf_file.h"
#include "py.h"
#include "readonly_image.h"
#include "core/target.h"

namespace netdbg::gdbglue {

class GdbTarget : public Target {
public:
    GdbTarget();  // imports gdb; throws netdbg::Error outside gdb

    bool read(addr_t addr, void* buf, std::size_t len) override;

    std::optional<addr_t> symbol_address(const std::string& name) override;
    std::optional<std::string> symbol_type(const std::string& name) override;
    std::optional<std::size_t> array_length(const std::string& name) override;
    std::optional<SymbolInfo> symbolize(addr_t addr) override;

    std::optional<std::size_t> type_size(const std::string& type) override;
    std::optional<MemberInfo> member(const std::string& type, const std::string& member) override;
    std::optional<std::int64_t> enum_value(const std::string& name) override;

    int cpu_count() override;
    std::optional<addr_t> per_cpu_offset(int cpu) override;
    std::size_t thread_size() override;

    // Ctrl-C (gdb's quit flag reaches Python as KeyboardInterrupt), `q` at
    // the pager, or output that can no longer be written.
    bool interrupted() override;

    // Each vCPU is a gdb thread with its registers, in an ELF dump (one per
    // NT_PRSTATUS note) and on a gdbstub; read once per command.
    std::optional<CpuRegisters> cpu_registers(int cpu) override;
    std::optional<std::string> kernel_debug_file() override;
    std::optional<std::string> module_debug_file(const std::string& module) override;

    // --- gdb side ---------------------------------------------------------
    // A symbol's address as gdb's symbol tables have it (no load offset).
    std::optional<addr_t> gdb_symbol_address(const std::string& name);
    // Kernel load offset (KASLR): added to the symbols of the kernel image,
    // [image_start, image_end] in gdb's addresses (_text to _end, _end
    // included), and taken off addresses in the loaded image
    // [image_start, image_end) + offset before gdb symbolizes them.
    void set_load_offset(addr_t offset, addr_t image_start, addr_t image_end);
    addr_t load_offset() const { return offset_; }

    // A dump: reads outside these ranges (the core's PT_LOADs) fail, as
    // they do in crash. gdb itself would answer them from the vmlinux
    // file's sections: the data as linked, not as the kernel had it.
    void restrict_reads(std::vector<std::pair<addr_t, addr_t>> ranges);
    void unrestrict_reads() { ranges_.reset(); }

    // Before each command: the selected inferior may have changed, Ctrl-C
    // and output state start clean.
    void begin_command(const bool* output_broken);
    void end_command();
    // Objfiles were added or removed: symbols, types and per-CPU facts
    // may all have changed.
    void forget_symbols();
    // The module a symbol file belongs to, for "[module]" in symbolize().
    void name_module_file(const std::string& path, const std::string& module);

    // A live gdbstub: the page cache reads 2 KiB blocks, one packet each.
    void set_live(bool live) { live_ = live; }
    std::size_t read_block_size() const override { return live_ ? 2048 : 4096; }

    // read_memory calls made into gdb (each is one remote request or more).
    std::uint64_t read_calls() const { return read_calls_; }

    // A live target: reads inside the kernel image's read-only sections
    // come from the vmlinux file (nullopt: none do). `on` false sends them
    // to gdb again, as a check that both give the same bytes.
    void set_readonly_image(std::optional<ReadonlyImage> image) { image_ = std::move(image); }
    const ReadonlyImage* readonly_image() const { return image_ ? &*image_ : nullptr; }
    void use_readonly_image(bool on) { image_on_ = on; }
    bool readonly_image_used() const { return image_ && image_on_; }
    // Reads answered from the vmlinux file instead of gdb.
    std::uint64_t local_reads() const { return local_reads_; }

    // The selected frame's PC (a stopped vCPU on a gdbstub), if any.
    std::optional<addr_t> current_pc();

    // gdb.execute(command, to_string=True); nullopt when gdb raised.
    std::optional<std::string> execute(const std::string& command);

private:
    struct SymbolFacts {
        std::optional<addr_t> addr;  // gdb's address, no load offset
        std::optional<std::string> type;
        std::optional<std::size_t> array_length;
        std::optional<std::int64_t> constant;  // enumerators
    };
    struct TypeFacts {
        std::size_t size = 0;
        PyRef type;  // gdb.Type, typedefs stripped
        bool members_loaded = false;
        std::unordered_map<std::string, MemberInfo> members;
    };

    const SymbolFacts& symbol_facts(const std::string& name);
    SymbolFacts lookup_symbol_facts(const std::string& name);
    std::string with_tag_keyword(PyObject* type, std::string text);
    std::optional<addr_t> minimal_symbol_address(const std::string& name);
    TypeFacts* type_facts(const std::string& name);
    void load_members(TypeFacts& t);
    void collect_members(PyObject* type, std::size_t base, std::unordered_map<std::string, MemberInfo>& out,
                         int depth);
    std::optional<SymbolInfo> lookup_symbolize(addr_t addr);
    std::optional<SymbolInfo> image_symbol(addr_t gdb_addr);
    std::string first_alias(const std::string& file, const std::string& name);
    addr_t relocate(addr_t gdb_addr) const;
    bool note_failure();  // takes the Python error; true when it was Ctrl-C
    void compute_cpus();
    void read_cpu_registers();

    PyRef gdb_;
    PyRef read_memory_;  // bound Inferior.read_memory of the selected inferior
    PyRef lookup_global_, lookup_static_, lookup_type_, execute_;
    long type_code_struct_ = -1, type_code_union_ = -1, type_code_array_ = -1, type_code_enum_ = -1;
    long loc_const_ = -1, loc_block_ = -1, loc_optimized_out_ = -1, loc_typedef_ = -1;

    std::unordered_map<std::string, SymbolFacts> symbols_;
    std::unordered_map<std::string, std::optional<TypeFacts>> types_;
    std::unordered_map<addr_t, std::optional<SymbolInfo>> symbolized_;
    std::map<std::string, std::string> module_files_;  // symbol file -> module name
    std::map<std::string, std::vector<ElfFile::Symbol>> file_symbols_;  // module files' .symtab
    std::optional<std::vector<std::pair<addr_t, std::string>>> image_symbols_;  // vmlinux's .symtab, by value
    addr_t image_text_ = 0, image_end_symbol_ = 0;                            // _text, _end in it
    std::string main_file_;                            // vmlinux as gdb names it

    std::optional<int> cpus_;
    std::vector<addr_t> per_cpu_offsets_;
    std::optional<std::size_t> thread_size_;
    std::optional<std::map<int, CpuRegisters>> cpu_regs_;  // this command's

    std::optional<std::vector<std::pair<addr_t, addr_t>>> ranges_;  // sorted, merged
    std::optional<ReadonlyImage> image_;
    bool image_on_ = true;
    std::uint64_t local_reads_ = 0;
    addr_t offset_ = 0, image_start_ = 0, image_end_ = 0;
    bool interrupted_ = false;
    bool live_ = false;
    const bool* output_broken_ = nullptr;
    std::uint64_t read_calls_ = 0;
};

}  // namespace netdbg::gdbglue
