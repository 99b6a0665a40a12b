#include "crash_target.h"

#include <cinttypes>
#include <cstdlib>
#include <fcntl.h>
#include <unistd.h>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "crash_guard.h"
#include "core/test_hooks.h"

#include "crash_defs.h"  // last: its macros must not reach C++ headers

namespace netdbg::crashglue {

namespace {

// crash's API takes char* for names it never modifies.
char* cstr(const std::string& s) { return const_cast<char*>(s.c_str()); }

// C spelling of a gdb type as GNU_GET_SYMBOL_TYPE reports it: the main type
// name lacks the struct/union/enum keyword and the qualifiers.
std::optional<std::string> spell_type(int code, const char* name, const char* target_name, int target_code,
                                      ulong length, ulong target_length) {
    auto tagged = [](int c, const char* n) -> std::optional<std::string> {
        if (!n || !*n) return std::nullopt;
        switch (c) {
        case TYPE_CODE_STRUCT: return std::string("struct ") + n;
        case TYPE_CODE_UNION: return std::string("union ") + n;
        case TYPE_CODE_ENUM: return std::string("enum ") + n;
        default: return std::string(n);
        }
    };
    switch (code) {
    case TYPE_CODE_PTR: {
        auto t = tagged(target_code, target_name);
        return (t ? *t : std::string("void")) + " *";
    }
    case TYPE_CODE_ARRAY: {
        auto t = tagged(target_code, target_name);
        if (!t) return std::nullopt;
        if (target_length) return *t + " [" + std::to_string(length / target_length) + "]";
        return *t + " []";
    }
    default:
        return tagged(code, name);
    }
}

}  // namespace

bool CrashTarget::read(addr_t addr, void* buf, std::size_t len) {
    if (len == 0) return true;
    test_read_delay();
    int ok = 0;
    try {
        guarded("readmem", [&] {
            ok = readmem(static_cast<ulonglong>(addr), KVADDR, buf, static_cast<long>(len), cstr("netdbg"),
                         RETURN_ON_ERROR | QUIET);
        });
    } catch (const CrashFault&) {
        return false;  // Target::read never throws
    }
    return ok != 0;
}

// readmem() says only that a read failed; the dump format's own reader
// (read_diskdump() for a makedumpfile dump) says PAGE_EXCLUDED for a page
// makedumpfile -d left out.
std::string CrashTarget::unreadable_reason(addr_t addr) {
    int rc = 0;
    try {
        guarded("kvtop", [&] {
            physaddr_t paddr = 0;
            if (!kvtop(nullptr, static_cast<ulong>(addr), &paddr, 0) || !pc->readmem) return;
            char byte = 0;
            rc = pc->readmem(pc->mfd, &byte, 1, static_cast<ulong>(addr), paddr);
        });
    } catch (const CrashFault&) {
        return "";
    }
    return rc == PAGE_EXCLUDED ? "page excluded from the dump" : "";
}

std::optional<addr_t> CrashTarget::symbol_address(const std::string& name) {
    struct syment* sp = nullptr;
    // symbol_search() covers vmlinux and the module symbols crash has
    // loaded (kallsyms at start-up, full debuginfo after `mod -s`).
    guarded("symbol_search", [&] { sp = symbol_search(cstr(name)); });
    if (!sp) return std::nullopt;
    return static_cast<addr_t>(sp->value);
}

// What gdb prints for a command, or nullopt when it fails. gdb writes to
// a private tmpfile, so crash's own tmpfile (open_tmpfile) is never involved.
std::optional<std::string> CrashTarget::gdb_output(const std::string& cmd) {
    std::unique_ptr<FILE, int (*)(FILE*)> out(std::tmpfile(), &std::fclose);
    if (!out) return std::nullopt;
    int ok = 0;
    FILE* f = out.get();
    guarded("gdb pass-through", [&] { ok = gdb_pass_through(cstr(cmd), f, GNU_RETURN_ON_ERROR); });
    if (!ok) return std::nullopt;
    std::rewind(f);
    std::string text;
    char line[BUFSIZE];
    while (std::fgets(line, sizeof line, f)) text += line;
    return text;
}

// What gdb's `whatis NAME` prints after "type = ", or nullopt when gdb
// fails (no debuginfo for the symbol).
std::optional<std::string> CrashTarget::gdb_whatis(const std::string& name) {
    auto text = gdb_output("whatis " + name);
    if (!text) return std::nullopt;
    std::size_t pos = 0;
    while (pos < text->size()) {
        std::size_t nl = std::min(text->find('\n', pos), text->size());
        std::string line = text->substr(pos, nl - pos);
        pos = nl + 1;
        while (!line.empty() && line.back() == ' ') line.pop_back();
        if (line.rfind("type = ", 0) == 0) return line.substr(7);
    }
    return std::nullopt;
}

std::optional<std::string> CrashTarget::symbol_type(const std::string& name) {
    bool exists = false;
    guarded("symbol_exists", [&] { exists = symbol_exists(cstr(name)) != 0; });
    if (!exists) return std::nullopt;

    // gdb's own spelling first: "struct mutex", "volatile unsigned long",
    // "const char * const[9]". The qualifiers of the object itself are
    // dropped ("unsigned long" for jiffies); those of pointees and array
    // elements are part of the type and stay.
    if (auto t = gdb_whatis(name)) {
        if (t->find_first_of("*[(") == std::string::npos) {
            for (bool again = true; again;) {
                again = false;
                for (const char* q : {"volatile ", "const "}) {
                    if (t->rfind(q, 0) == 0) {
                        t->erase(0, std::strlen(q));
                        again = true;
                    }
                }
            }
        }
        if (!t->empty()) return t;
    }

    // Fallback: get_symbol_type() asks gdb (GNU_GET_SYMBOL_TYPE with
    // GNU_RETURN_ON_ERROR) for the main type; its names point into gdb's
    // type objects and lack the struct/union/enum keyword.
    int code = TYPE_CODE_UNDEF, target_code = TYPE_CODE_UNDEF;
    std::string type_name, target_name;
    bool have_name = false, have_target = false;
    ulong length = 0, target_length = 0;
    guarded("get_symbol_type", [&] {
        struct gnu_request req;
        std::memset(&req, 0, sizeof req);
        code = get_symbol_type(cstr(name), nullptr, &req);
        if (code == TYPE_CODE_UNDEF) return;
        if (req.type_name) type_name.assign(req.type_name), have_name = true;
        if (req.target_typename) target_name.assign(req.target_typename), have_target = true;
        target_code = req.target_typecode;
        length = req.length;
        target_length = req.target_length;
    });
    if (code == TYPE_CODE_UNDEF) return std::nullopt;
    return spell_type(code, have_name ? type_name.c_str() : nullptr, have_target ? target_name.c_str() : nullptr,
                      target_code, length, target_length);
}

std::optional<std::size_t> CrashTarget::array_length(const std::string& name) {
    bool exists = false;
    guarded("symbol_exists", [&] { exists = symbol_exists(cstr(name)) != 0; });
    if (!exists) return std::nullopt;
    // Only ask get_array_length() about symbols gdb calls arrays: on a
    // symbol without debuginfo (a module function before `mod -s`) it lets
    // a gdb exception escape instead of failing cleanly.
    int code = TYPE_CODE_UNDEF;
    ulong length = 0, target_length = 0;
    guarded("get_symbol_type", [&] {
        struct gnu_request req;
        std::memset(&req, 0, sizeof req);
        code = get_symbol_type(cstr(name), nullptr, &req);
        length = req.length;
        target_length = req.target_length;
    });
    if (code != TYPE_CODE_ARRAY) return std::nullopt;
    int n = 0;
    guarded("get_array_length", [&] { n = get_array_length(cstr(name), nullptr, 0); });
    if (n > 0) return static_cast<std::size_t>(n);
    if (target_length) return static_cast<std::size_t>(length / target_length);
    return std::nullopt;
}

namespace {

bool is_section_marker(const char* name) {
    std::string_view n = name ? name : "";
    return n.starts_with("__start_") || n.starts_with("__stop_") || n.starts_with("_MODULE_") ||
           n.starts_with("__end_");
}

}  // namespace

std::optional<SymbolInfo> CrashTarget::symbolize(addr_t addr) {
    struct syment* sp = nullptr;
    ulong offset = 0;
    struct load_module* lm = nullptr;
    int in_module = 0;
    guarded("value_search", [&] {
        sp = value_search(static_cast<ulong>(addr), &offset);
        // A linker section marker ("__start_alloc_tags", crash 8.0.6's
        // "_MODULE_RODATA_START_nd_waits") can share its address with the
        // object that opens the section: name the object.
        if (sp && is_section_marker(sp->name)) {
            struct syment* found = nullptr;
            for (auto step : {next_symbol, prev_symbol}) {
                for (struct syment* n = step(nullptr, sp); n && n->value == sp->value && !found; n = step(nullptr, n))
                    if (n->name && !is_section_marker(n->name)) found = n;
            }
            if (found) sp = found;
        }
        if (sp) in_module = module_symbol(static_cast<ulong>(addr), nullptr, &lm, nullptr, 0);
    });
    if (!sp || !sp->name) return std::nullopt;
    SymbolInfo info;
    info.name = sp->name;
    info.offset = offset;
    if (in_module && lm) info.module = lm->mod_name;
    return info;
}

std::optional<std::size_t> CrashTarget::type_size(const std::string& type) {
    long size = -1;
    guarded("datatype_info", [&] { size = datatype_info(cstr(type), nullptr, STRUCT_SIZE_REQUEST); });
    if (size < 0) return std::nullopt;
    return static_cast<std::size_t>(size);
}

std::optional<MemberInfo> CrashTarget::member(const std::string& type, const std::string& member) {
    long offset = -1, size = -1;
    guarded("datatype_info", [&] {
        offset = datatype_info(cstr(type), cstr(member), nullptr);
        if (offset >= 0) size = datatype_info(cstr(type), cstr(member), MEMBER_SIZE_REQUEST);
    });
    if (offset < 0 || size < 0) return std::nullopt;
    return MemberInfo{static_cast<std::size_t>(offset), static_cast<std::size_t>(size)};
}

namespace {

std::string trimmed(const std::string& s) {
    auto b = s.find_first_not_of(" \t\n");
    if (b == std::string::npos) return "";
    return s.substr(b, s.find_last_not_of(" \t\n") + 1 - b);
}

}  // namespace

// Every enumerator of NAME's enum, from one `ptype NAME`: a gdb lookup of
// a name costs 20-60 ms on a vmlinux without an index, and readers ask for
// several constants of one enum (the __LINK_STATE_* bits, WORK_STRUCT_*).
// gdb prints " = VALUE" only where an enumerator does not follow the one
// before it by 1 (c_type_print_base_1()). False when gdb knows no NAME.
bool CrashTarget::load_enumerators(const std::string& name) {
    auto text = gdb_output("ptype " + name);
    if (!text) return false;
    auto open = text->find('{'), close = text->rfind('}');
    if (text->rfind("type = enum", 0) != 0 || open == std::string::npos || close == std::string::npos || close < open)
        return true;
    std::int64_t next = 0;
    std::size_t pos = open + 1;
    while (pos < close) {
        std::size_t comma = std::min(text->find(',', pos), close);
        std::string item = text->substr(pos, comma - pos);
        pos = comma + 1;
        auto eq = item.find('=');
        std::string enumerator = trimmed(item.substr(0, eq));
        if (eq != std::string::npos) {
            std::string v = trimmed(item.substr(eq + 1));
            char* end = nullptr;
            long long parsed = std::strtoll(v.c_str(), &end, 0);
            if (v.empty() || *end) return true;  // not a number: leave it to enumerator_value()
            next = parsed;
        }
        if (enumerator.empty()) return true;
        enumerators_[enumerator] = next++;
    }
    return true;
}

std::optional<std::int64_t> CrashTarget::enum_value(const std::string& name) {
    if (auto it = enumerators_.find(name); it != enumerators_.end()) return it->second;
    // A name gdb does not know is not asked for twice (`ptype`, then `p`).
    bool known = load_enumerators(name);
    if (auto it = enumerators_.find(name); it != enumerators_.end()) return it->second;
    std::optional<std::int64_t> v;
    if (known) {
        long value = 0;
        int found = 0;
        guarded("enumerator_value", [&] { found = enumerator_value(cstr(name), &value); });
        if (found) v = static_cast<std::int64_t>(value);
    }
    enumerators_[name] = v;
    return v;
}

int CrashTarget::cpu_count() { return kt->cpus > 0 ? kt->cpus : 1; }

std::optional<addr_t> CrashTarget::per_cpu_offset(int cpu) {
    if (cpu < 0 || cpu >= cpu_count() || cpu >= NR_CPUS) return std::nullopt;
    // crash's rule (display_per_cpu_info, x86_64 per-cpu lookups): the
    // __per_cpu_offset[] table applies only with PER_CPU_OFF set; otherwise
    // a per-CPU symbol's address is used as is.
    if (kt->flags & PER_CPU_OFF) return static_cast<addr_t>(kt->__per_cpu_offset[cpu]);
    return addr_t{0};
}

std::size_t CrashTarget::thread_size() { return static_cast<std::size_t>(STACKSIZE()); }

bool CrashTarget::interrupted() {
    if (stop_flag_ && *stop_flag_) return true;
    return SignalScope::interrupt_pending();
}

namespace {

// While crash's unwinder runs: its output goes to our file instead of fp,
// and its error lines ("read of stack at ... failed") go nowhere. Lives in a
// frame crash never jumps over, so the old streams always come back.
class QuietCapture {
public:
    explicit QuietCapture(FILE* into)
        : fp_(fp), error_fp_(pc->error_fp), stdpipe_(pc->stdpipe) {
        fp = into;
        pc->error_fp = pc->nullfp;
        pc->stdpipe = nullptr;
        // crash's error() also copies its line to stdout/stderr when fp is
        // redirected: silence the descriptors themselves for the duration.
        std::fflush(stdout);
        std::fflush(stderr);
        saved_out_ = dup(1);
        saved_err_ = dup(2);
        int null = open("/dev/null", O_WRONLY);
        if (null >= 0) {
            dup2(null, 1);
            dup2(null, 2);
            close(null);
        }
    }
    ~QuietCapture() {
        std::fflush(stdout);
        std::fflush(stderr);
        if (saved_out_ >= 0) {
            dup2(saved_out_, 1);
            close(saved_out_);
        }
        if (saved_err_ >= 0) {
            dup2(saved_err_, 2);
            close(saved_err_);
        }
        fp = fp_;
        pc->error_fp = error_fp_;
        pc->stdpipe = stdpipe_;
    }
    QuietCapture(const QuietCapture&) = delete;
    QuietCapture& operator=(const QuietCapture&) = delete;

private:
    FILE* fp_;
    FILE* error_fp_;
    FILE* stdpipe_;
    int saved_out_ = -1;
    int saved_err_ = -1;
};

void run_back_trace(void* p) {
    auto* t = static_cast<struct task_context*>(p);
    struct bt_info bt_info;
    std::memset(&bt_info, 0, sizeof bt_info);
    bt_info.task = t->task;
    bt_info.tc = t;
    bt_info.stackbase = GET_STACKBASE(t->task);
    bt_info.stacktop = GET_STACKTOP(t->task);
    back_trace(&bt_info);
}

}  // namespace

std::optional<std::vector<addr_t>> CrashTarget::call_chain(addr_t task) {
    struct task_context* tc = nullptr;
    guarded("task_to_context", [&] { tc = task_to_context(static_cast<ulong>(task)); });
    if (!tc) return std::nullopt;  // crash's task table does not know it

    // back_trace() prints; take the return addresses from its
    // "#N [sp] func at ADDR" lines, and the interrupted IP of a kernel-mode
    // exception frame ("[exception RIP: func+off]" then "RIP: ADDR ...",
    // e.g. where an on-CPU task was when the dump was taken).
    std::unique_ptr<FILE, int (*)(FILE*)> out(std::tmpfile(), &std::fclose);
    if (!out) return std::nullopt;
    bool ok;
    {
        QuietCapture capture(out.get());
        ok = guarded_call(run_back_trace, tc);
    }
    if (!ok) return std::nullopt;
    std::vector<addr_t> chain;
    FILE* f = out.get();
    std::rewind(f);
    char line[BUFSIZE];
    bool exception_frame = false;
    while (std::fgets(line, sizeof line, f)) {
        if (std::strstr(line, "[exception RIP: ")) {
            exception_frame = true;
            continue;
        }
        if (exception_frame) {
            exception_frame = false;
            unsigned long long ip = 0;
            const char* rip = std::strstr(line, "RIP: ");
            if (rip && std::sscanf(rip + 5, "%llx", &ip) == 1 && ip) chain.push_back(ip);
            continue;
        }
        const char* hash = std::strchr(line, '#');
        const char* at = std::strstr(line, " at ");
        if (!hash || !at || at < hash) continue;
        unsigned long long ip = 0;
        if (std::sscanf(at + 4, "%llx", &ip) == 1 && ip) chain.push_back(ip);
    }
    if (chain.empty()) return std::nullopt;
    return chain;
}

namespace {

// include/uapi/linux/elf.h, include/linux/elfcore.h (x86-64): an ELF note
// header, then the name padded to 4, then struct elf_prstatus, whose pr_reg
// (struct user_regs_struct, 27 words) starts 112 bytes in.
constexpr std::uint32_t kNtPrstatus = 1;
constexpr std::size_t kPrRegOffset = 112;
constexpr std::size_t kUserRegsWords = 27;

struct NoteHeader {
    std::uint32_t namesz, descsz, type;
};

std::size_t align4(std::size_t n) { return (n + 3) & ~std::size_t{3}; }

}  // namespace

std::optional<CpuRegisters> CrashTarget::cpu_registers(int cpu) {
    if (cpu < 0 || cpu >= cpu_count()) return std::nullopt;
    void* note = nullptr;
    guarded("prstatus", [&] {
        if (DISKDUMP_DUMPFILE()) note = diskdump_get_prstatus_percpu(cpu);
        else if (NETDUMP_DUMPFILE() || KDUMP_DUMPFILE()) note = netdump_get_prstatus_percpu(cpu);
    });
    if (!note) return std::nullopt;
    NoteHeader h;
    std::memcpy(&h, note, sizeof h);
    if (h.type != kNtPrstatus || h.descsz < kPrRegOffset + 8 * kUserRegsWords || h.namesz > 64)
        return std::nullopt;
    std::uint64_t r[kUserRegsWords];
    std::memcpy(r, static_cast<const char*>(note) + align4(sizeof h + h.namesz) + kPrRegOffset, sizeof r);
    // struct user_regs_struct: r15 r14 r13 r12 bp bx r11 r10 r9 r8 ax cx dx
    // si di orig_ax ip cs flags sp ss fs_base gs_base ds es fs gs
    CpuRegisters regs;
    regs.r15 = r[0], regs.r14 = r[1], regs.r13 = r[2], regs.r12 = r[3], regs.bp = r[4], regs.bx = r[5];
    regs.r11 = r[6], regs.r10 = r[7], regs.r9 = r[8], regs.r8 = r[9], regs.ax = r[10], regs.cx = r[11];
    regs.dx = r[12], regs.si = r[13], regs.di = r[14], regs.ip = r[16], regs.cs = r[17], regs.flags = r[18];
    regs.sp = r[19], regs.ss = r[20];
    return regs;
}

}  // namespace netdbg::crashglue

namespace netdbg::crashglue {

// crash reads the kernel's DWARF from namelist_debug when the debug info
// is a separate file, else from namelist (the vmlinux given).
std::optional<std::string> CrashTarget::kernel_debug_file() {
    const char* f = pc->namelist_debug ? pc->namelist_debug : pc->namelist;
    if (!f || !*f) return std::nullopt;
    return std::string(f);
}

// The .ko `mod -s` loaded (struct load_module, MOD_LOAD_SYMS).
std::optional<std::string> CrashTarget::module_debug_file(const std::string& module) {
    for (int i = 0; i < st->mods_installed; ++i) {
        const struct load_module* lm = &st->load_modules[i];
        if (!(lm->mod_flags & MOD_LOAD_SYMS) || module != lm->mod_name || !lm->mod_namelist[0]) continue;
        return std::string(lm->mod_namelist);
    }
    return std::nullopt;
}

}  // namespace netdbg::crashglue
