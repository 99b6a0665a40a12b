// The debugger interface the core needs: everything netdbg knows about a
// kernel comes through these calls, so the same analyzers run under crash,
// under gdb and on synthetic memory images in the unit tests.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace netdbg {

using addr_t = std::uint64_t;

struct SymbolInfo {
    std::string name;    // "__mutex_lock.constprop.0"
    addr_t offset = 0;   // addr - symbol start
    std::string module;  // "" for vmlinux, else the module name
};

// A CPU's registers as the dump saved them when the CPU stopped (the
// NT_PRSTATUS note of a kdump or ELF dump, a vCPU of QEMU's gdbstub), named
// as x86-64's struct pt_regs names them.
struct CpuRegisters {
    std::uint64_t r15 = 0, r14 = 0, r13 = 0, r12 = 0, bp = 0, bx = 0, r11 = 0, r10 = 0, r9 = 0, r8 = 0;
    std::uint64_t ax = 0, cx = 0, dx = 0, si = 0, di = 0;
    std::uint64_t ip = 0, cs = 0, flags = 0, sp = 0, ss = 0;
};

struct MemberInfo {
    std::size_t offset = 0;  // bytes from the start of the containing type
    std::size_t size = 0;    // sizeof the member
};

class Target {
public:
    virtual ~Target() = default;

    // Reads len bytes of kernel virtual memory. False when any byte is
    // unreadable; never throws, never prints.
    virtual bool read(addr_t addr, void* buf, std::size_t len) = 0;

    virtual std::optional<addr_t> symbol_address(const std::string& name) = 0;
    // The C type of a data symbol as the debugger spells it ("struct mutex",
    // "unsigned long"), or nullopt when unknown.
    virtual std::optional<std::string> symbol_type(const std::string& name) = 0;
    // Number of elements of an array symbol (task_state_array), if known.
    virtual std::optional<std::size_t> array_length(const std::string& name) = 0;
    // Nearest symbol at or below addr, for text and data alike.
    virtual std::optional<SymbolInfo> symbolize(addr_t addr) = 0;

    // `type` is a bare struct/union name ("task_struct"); `member` is a
    // direct member name ("__state"), never a dotted path.
    virtual std::optional<std::size_t> type_size(const std::string& type) = 0;
    virtual std::optional<MemberInfo> member(const std::string& type, const std::string& member) = 0;
    // Value of an enumerator ("NAPI_STATE_SCHED"), if the debug info has it.
    virtual std::optional<std::int64_t> enum_value(const std::string& name) = 0;

    virtual int cpu_count() = 0;  // CPUs whose per-CPU areas exist
    virtual std::optional<addr_t> per_cpu_offset(int cpu) = 0;
    virtual std::size_t thread_size() = 0;  // kernel stack size (THREAD_SIZE)
    // The block the page cache reads in one call: a power of two up to 4096.
    // QEMU's gdbstub answers at most 2 KiB per memory packet, so a live gdb
    // target asks for 2048 and pays one request per block.
    virtual std::size_t read_block_size() const { return 4096; }

    // True once the user asked to stop (Ctrl-C); walkers poll it.
    virtual bool interrupted() = 0;

    // Return addresses of the task's kernel stack from the debugger's own
    // unwinder, innermost first, or nullopt when it cannot unwind this task.
    virtual std::optional<std::vector<addr_t>> call_chain(addr_t /*task*/) { return std::nullopt; }

    // Why a read at addr fails, in the dump's own terms ("page excluded from
    // the dump": makedumpfile -d left it out), or "" when the debugger
    // cannot tell.
    virtual std::string unreadable_reason(addr_t /*addr*/) { return ""; }

    // The registers of a CPU (Linux's CPU number) as the dump or the stub
    // has them, or nullopt when the debugger has none for it.
    virtual std::optional<CpuRegisters> cpu_registers(int /*cpu*/) { return std::nullopt; }

    // The debug files the debugger reads: the kernel image's (vmlinux), and
    // a module's .ko once its symbols are loaded (crash: mod -s; gdb:
    // netdbg-load-modules). For the inlined calls at a return address.
    virtual std::optional<std::string> kernel_debug_file() { return std::nullopt; }
    virtual std::optional<std::string> module_debug_file(const std::string& /*module*/) { return std::nullopt; }
};

}  // namespace netdbg
