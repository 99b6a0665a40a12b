#include "gdb_target.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <cstring>

#include <fmt/format.h>

#include "core/error.h"
#include "core/test_hooks.h"

namespace netdbg::gdbglue {

namespace {

long constant(PyObject* gdb, const char* name) {
    PyRef v = attr(gdb, name);
    auto n = v ? as_i64(v.get()) : std::nullopt;
    if (!v) PyErr_Clear();
    return n ? static_cast<long>(*n) : -1;
}

// Names handed to gdb CLI commands: C identifiers and the ".constprop.0"
// style suffixes of the ELF symbol table, nothing gdb could parse as more.
bool plain_symbol_name(const std::string& s) {
    if (s.empty() || s.size() > 256) return false;
    for (char c : s)
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '$')) return false;
    return !std::isdigit(static_cast<unsigned char>(s[0]));
}

// C spelling of a symbol's type as crash reports it: gdb's own text, with
// the qualifiers of the object itself dropped ("unsigned long" for
// jiffies); those of pointees and array elements stay.
std::string unqualified(std::string t) {
    if (t.find_first_of("*[(") != std::string::npos) return t;
    for (bool again = true; again;) {
        again = false;
        for (const char* q : {"volatile ", "const "}) {
            if (t.rfind(q, 0) == 0) {
                t.erase(0, std::strlen(q));
                again = true;
            }
        }
    }
    return t;
}

std::optional<addr_t> first_hex(const std::string& text) {
    auto pos = text.find("0x");
    if (pos == std::string::npos) return std::nullopt;
    char* end = nullptr;
    unsigned long long v = std::strtoull(text.c_str() + pos + 2, &end, 16);
    if (end == text.c_str() + pos + 2) return std::nullopt;
    return static_cast<addr_t>(v);
}

// "/path/nd_rtnl_stuck.ko" -> "nd_rtnl_stuck": the kernel's module names
// use '_' where the file names may use '-'.
std::string module_of_file(const std::string& path) {
    std::string base = path.substr(path.find_last_of('/') + 1);
    for (const char* ext : {".ko.debug", ".ko.xz", ".ko.zst", ".ko.gz", ".ko"}) {
        std::size_t n = std::strlen(ext);
        if (base.size() > n && base.compare(base.size() - n, n, ext) == 0) {
            base.resize(base.size() - n);
            break;
        }
    }
    std::replace(base.begin(), base.end(), '-', '_');
    return base;
}

}  // namespace

GdbTarget::GdbTarget() {
    gdb_ = PyRef(PyImport_ImportModule("gdb"));
    if (!gdb_) throw Error("netdbg: the gdb Python module is missing: " + take_error().message);
    lookup_global_ = attr(gdb_.get(), "lookup_global_symbol");
    lookup_static_ = attr(gdb_.get(), "lookup_static_symbol");
    lookup_type_ = attr(gdb_.get(), "lookup_type");
    execute_ = attr(gdb_.get(), "execute");
    if (!lookup_global_ || !lookup_static_ || !lookup_type_ || !execute_)
        throw Error("netdbg: this gdb's Python API is too old (needs gdb.lookup_static_symbol, gdb 10 or later): " +
                    take_error().message);
    type_code_struct_ = constant(gdb_.get(), "TYPE_CODE_STRUCT");
    type_code_union_ = constant(gdb_.get(), "TYPE_CODE_UNION");
    type_code_enum_ = constant(gdb_.get(), "TYPE_CODE_ENUM");
    type_code_array_ = constant(gdb_.get(), "TYPE_CODE_ARRAY");
    loc_const_ = constant(gdb_.get(), "SYMBOL_LOC_CONST");
    loc_block_ = constant(gdb_.get(), "SYMBOL_LOC_BLOCK");
    loc_optimized_out_ = constant(gdb_.get(), "SYMBOL_LOC_OPTIMIZED_OUT");
    loc_typedef_ = constant(gdb_.get(), "SYMBOL_LOC_TYPEDEF");
    forget_symbols();
}

bool GdbTarget::note_failure() {
    PyFailure f = take_error();
    if (f.keyboard) interrupted_ = true;
    return f.keyboard;
}

std::optional<std::string> GdbTarget::execute(const std::string& command) {
    PyRef r = call(execute_.get(), tuple(py_str(command), PyRef::borrow(Py_False), PyRef::borrow(Py_True)).get());
    if (!r) {
        note_failure();
        return std::nullopt;
    }
    return as_string(r.get());
}

std::optional<addr_t> GdbTarget::current_pc() {
    PyRef frame = call_method(gdb_.get(), "selected_frame", nullptr);
    PyRef pc = frame ? call_method(frame.get(), "pc", nullptr) : PyRef();
    if (!pc) {
        note_failure();
        return std::nullopt;
    }
    return as_u64(pc.get());
}

void GdbTarget::begin_command(const bool* output_broken) {
    interrupted_ = false;
    output_broken_ = output_broken;
    PyRef inferior = call_method(gdb_.get(), "selected_inferior", nullptr);
    read_memory_ = inferior ? attr(inferior.get(), "read_memory") : PyRef();
    if (!read_memory_) note_failure();
}

void GdbTarget::end_command() {
    output_broken_ = nullptr;
    read_memory_ = PyRef();
    cpu_regs_.reset();  // a live target runs on
}

void GdbTarget::forget_symbols() {
    symbols_.clear();
    types_.clear();
    symbolized_.clear();
    file_symbols_.clear();
    image_symbols_.reset();
    image_text_ = image_end_symbol_ = 0;
    cpus_.reset();
    per_cpu_offsets_.clear();
    thread_size_.reset();
    main_file_.clear();
    PyRef ps = call_method(gdb_.get(), "current_progspace", nullptr);
    PyRef fn = ps ? attr(ps.get(), "filename") : PyRef();
    if (fn) {
        if (auto s = as_string(fn.get())) main_file_ = *s;
    } else {
        PyErr_Clear();
    }
}

void GdbTarget::name_module_file(const std::string& path, const std::string& module) {
    module_files_[path] = module;
    symbolized_.clear();
}

void GdbTarget::set_load_offset(addr_t offset, addr_t image_start, addr_t image_end) {
    offset_ = offset;
    image_start_ = image_start;
    image_end_ = image_end;
    symbolized_.clear();
    cpus_.reset();
    per_cpu_offsets_.clear();
}

void GdbTarget::restrict_reads(std::vector<std::pair<addr_t, addr_t>> ranges) {
    std::sort(ranges.begin(), ranges.end());
    std::vector<std::pair<addr_t, addr_t>> merged;
    for (const auto& r : ranges) {
        if (!merged.empty() && r.first <= merged.back().second)
            merged.back().second = std::max(merged.back().second, r.second);
        else
            merged.push_back(r);
    }
    ranges_ = std::move(merged);
}

bool GdbTarget::read(addr_t addr, void* buf, std::size_t len) {
    if (len == 0) return true;
    if (interrupted_ || !read_memory_) return false;
    if (image_ && image_on_ && image_->read(addr, buf, len)) {
        ++local_reads_;
        return true;
    }
    if (ranges_) {
        // The merged range holding addr must hold the whole read. The last
        // range starting at or below addr may end below it: a gap.
        auto it = std::upper_bound(ranges_->begin(), ranges_->end(), std::pair{addr, ~addr_t{0}});
        if (it == ranges_->begin()) return false;
        --it;
        if (addr < it->first || addr >= it->second || len > it->second - addr) return false;
    }
    ++read_calls_;
    test_read_delay();
    PyRef mv = call(read_memory_.get(), tuple(py_int(addr), py_int(len)).get());
    if (!mv) {
        note_failure();  // gdb.MemoryError: unreadable, as Target::read promises
        return false;
    }
    Py_buffer view;
    if (PyObject_GetBuffer(mv.get(), &view, PyBUF_SIMPLE) != 0) {
        note_failure();
        return false;
    }
    bool ok = view.len >= 0 && static_cast<std::size_t>(view.len) == len;
    if (ok) std::memcpy(buf, view.buf, len);
    PyBuffer_Release(&view);
    return ok;
}

bool GdbTarget::interrupted() {
    if (interrupted_) return true;
    if (output_broken_ && *output_broken_) return true;
    if (PyErr_CheckSignals() != 0) note_failure();
    return interrupted_;
}

// --- symbols ---------------------------------------------------------------

// Symbols of the image move with it, _end included: it and __brk_limit
// mark where the image ends (orc.cpp bounds the vmlinux ORC table with
// _end). Addresses are half-open, symbols are not.
addr_t GdbTarget::relocate(addr_t a) const {
    if (offset_ && a >= image_start_ && a <= image_end_) return a + offset_;
    return a;
}

std::optional<addr_t> GdbTarget::minimal_symbol_address(const std::string& name) {
    // The Python API of gdb 13 has no minimal-symbol lookup: `info address`
    // finds ELF symbols without debug info (_stext, __sched_text_start).
    if (!plain_symbol_name(name)) return std::nullopt;
    auto text = execute("info address " + name);
    if (!text || text->find("No symbol") != std::string::npos) return std::nullopt;
    return first_hex(*text);
}

// gdb spells a type as the current language does: "rw_semaphore" while the
// language is C++ (set by the frame gdb last selected), "struct
// rw_semaphore" in C, as crash's gdb always does.
std::string GdbTarget::with_tag_keyword(PyObject* type, std::string text) {
    PyRef code = attr(type, "code");
    if (!code) note_failure();
    long c = code ? static_cast<long>(as_i64(code.get()).value_or(-1)) : -1;
    const char* keyword = c == -1                ? nullptr
                          : c == type_code_struct_ ? "struct "
                          : c == type_code_union_  ? "union "
                          : c == type_code_enum_   ? "enum "
                                                   : nullptr;
    if (keyword && text.rfind(keyword, 0) != 0) text = keyword + text;
    return text;
}

GdbTarget::SymbolFacts GdbTarget::lookup_symbol_facts(const std::string& name) {
    SymbolFacts facts;
    PyRef sym;
    for (const PyRef* fn : {&lookup_global_, &lookup_static_}) {
        PyRef r = call(fn->get(), tuple(py_str(name)).get());
        if (!r) {
            note_failure();
            continue;
        }
        if (!r.is_none()) {
            sym = r;
            break;
        }
    }
    if (!sym) {
        facts.addr = minimal_symbol_address(name);
        if (facts.addr && plain_symbol_name(name)) {
            // gdb's own words for a symbol without debug info, as crash's
            // `whatis` gives them: "<data variable, no debug info>".
            if (auto t = execute("whatis " + name); t && t->rfind("type = ", 0) == 0) {
                std::string s = t->substr(7);
                while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
                facts.type = s;
            }
        }
        return facts;
    }
    PyRef cls_obj = attr(sym.get(), "addr_class");
    long cls = cls_obj ? static_cast<long>(as_i64(cls_obj.get()).value_or(-1)) : -1;
    if (!cls_obj) note_failure();
    if (cls == loc_const_) {
        PyRef v = call_method(sym.get(), "value", nullptr);
        if (v) facts.constant = as_i64(v.get());
        else note_failure();
        return facts;
    }
    if (cls != loc_typedef_ && cls != loc_optimized_out_) {
        PyRef nf = attr(sym.get(), "needs_frame");
        bool needs_frame = nf && PyObject_IsTrue(nf.get()) == 1;
        if (!nf) note_failure();
        if (!needs_frame) {
            PyRef v = call_method(sym.get(), "value", nullptr);
            PyRef a = v ? attr(v.get(), "address") : PyRef();
            if (a && !a.is_none()) facts.addr = as_u64(a.get());
            if (!a) note_failure();
        }
    }
    if (!facts.addr) facts.addr = minimal_symbol_address(name);
    PyRef type = attr(sym.get(), "type");
    if (type && !type.is_none()) {
        PyRef s(PyObject_Str(type.get()));
        if (s) {
            if (auto text = as_string(s.get())) facts.type = with_tag_keyword(type.get(), unqualified(*text));
        } else {
            note_failure();
        }
        PyRef stripped = call_method(type.get(), "strip_typedefs", nullptr);
        PyRef code = stripped ? attr(stripped.get(), "code") : PyRef();
        if (code && as_i64(code.get()) == type_code_array_) {
            PyRef range = call_method(stripped.get(), "range", nullptr);
            if (range && PyTuple_Check(range.get()) && PyTuple_Size(range.get()) == 2) {
                auto lo = as_i64(PyTuple_GetItem(range.get(), 0));
                auto hi = as_i64(PyTuple_GetItem(range.get(), 1));
                if (lo && hi && *hi >= *lo) facts.array_length = static_cast<std::size_t>(*hi - *lo + 1);
            }
        }
        if (PyErr_Occurred()) note_failure();
    } else if (!type) {
        note_failure();
    }
    return facts;
}

const GdbTarget::SymbolFacts& GdbTarget::symbol_facts(const std::string& name) {
    auto it = symbols_.find(name);
    if (it == symbols_.end()) it = symbols_.emplace(name, lookup_symbol_facts(name)).first;
    return it->second;
}

std::optional<addr_t> GdbTarget::gdb_symbol_address(const std::string& name) { return symbol_facts(name).addr; }

std::optional<addr_t> GdbTarget::symbol_address(const std::string& name) {
    auto a = symbol_facts(name).addr;
    if (!a) return std::nullopt;
    return relocate(*a);
}

std::optional<std::string> GdbTarget::symbol_type(const std::string& name) {
    const SymbolFacts& f = symbol_facts(name);
    if (!f.addr) return std::nullopt;
    return f.type;
}

std::optional<std::size_t> GdbTarget::array_length(const std::string& name) { return symbol_facts(name).array_length; }

std::optional<std::int64_t> GdbTarget::enum_value(const std::string& name) { return symbol_facts(name).constant; }

// crash names a module address after the first of its aliases in the
// module's symbol table (the order kallsyms keeps): "nd_exit", a local,
// before the "cleanup_module" alias module_exit() adds. gdb prefers the
// global one; take the first symbol with gdb's symbol's section and value.
std::string GdbTarget::first_alias(const std::string& file, const std::string& name) {
    constexpr std::uint8_t kNoType = 0, kObject = 1, kFunc = 2;
    auto it = file_symbols_.find(file);
    if (it == file_symbols_.end()) {
        std::vector<ElfFile::Symbol> syms;
        if (auto elf = ElfFile::open(file, nullptr)) syms = elf->all_symbols();
        it = file_symbols_.emplace(file, std::move(syms)).first;
    }
    const auto& syms = it->second;
    auto named = [](const ElfFile::Symbol& s) {
        return s.section != 0 && (s.type == kFunc || s.type == kObject || s.type == kNoType);
    };
    auto self = std::find_if(syms.begin(), syms.end(), [&](const auto& s) { return s.name == name && named(s); });
    if (self == syms.end()) return name;
    for (const auto& s : syms) {
        if (&s == &*self) break;
        if (named(s) && s.section == self->section && s.value == self->value && s.type == self->type) return s.name;
    }
    return name;
}

std::optional<SymbolInfo> GdbTarget::lookup_symbolize(addr_t addr) {
    // `info symbol` answers from the ELF symbol tables (gdb's minimal
    // symbols), the source crash's own symbol table is built from. With
    // `print demangle` on, gdb shows names as its demanglers decode them
    // ("foo[cold]" for foo.cold, "bar.isra" for bar.isra.0): ask for the
    // ELF names.
    PyRef demangle = call(attr(gdb_.get(), "parameter").get(), tuple(py_str("print demangle")).get());
    bool was_on = demangle && PyObject_IsTrue(demangle.get()) == 1;
    if (!demangle) note_failure();
    if (was_on) execute("set print demangle off");
    auto text = execute(fmt::format("info symbol {:#x}", addr));
    if (was_on) execute("set print demangle on");
    if (!text || text->rfind("No symbol matches", 0) == 0) return image_symbol(addr);
    std::string line = text->substr(0, text->find('\n'));
    auto in = line.find(" in section ");
    if (in == std::string::npos) return std::nullopt;
    std::string loc = line.substr(0, in), where = line.substr(in + 12);
    SymbolInfo info;
    auto plus = loc.find(" + ");
    if (plus != std::string::npos) {
        info.name = loc.substr(0, plus);
        info.offset = std::strtoull(loc.c_str() + plus + 3, nullptr, 10);
    } else {
        info.name = loc;
    }
    auto of = where.find(" of ");
    bool in_module = false;
    if (of != std::string::npos) {
        std::string file = where.substr(of + 4);
        if (file != main_file_) {
            auto m = module_files_.find(file);
            info.module = m != module_files_.end() ? m->second : module_of_file(file);
            info.name = first_alias(file, info.name);
            in_module = true;
        }
    }
    if (!in_module) {
        // gdb may answer with an earlier function whose size covers a
        // later global label (secondary_startup_64 over common_startup_64
        // in 6.12's head_64.S); kallsyms, and crash, name the nearest.
        auto nearest = image_symbol(addr);
        if (nearest && nearest->offset < info.offset) return nearest;
    }
    if (info.name.empty()) return std::nullopt;
    return info;
}

// `info symbol` knows no symbol in some sections of vmlinux (.init.text,
// .ref.text: rest_init, arch_call_rest_init at the bottom of CPU 0's idle
// stack); crash's symbol table, from the ELF .symtab, has them. The nearest
// function or object at or below the address, inside the image.
std::optional<SymbolInfo> GdbTarget::image_symbol(addr_t addr) {
    if (!image_symbols_) {
        image_symbols_.emplace();
        if (auto elf = main_file_.empty() ? std::nullopt : ElfFile::open(main_file_, nullptr)) {
            constexpr std::uint8_t kNoType = 0, kObject = 1, kFunc = 2;
            for (auto& sym : elf->all_symbols()) {
                if (sym.name == "_text") image_text_ = sym.value;
                if (sym.name == "_end") image_end_symbol_ = sym.value;
                if (sym.section != 0 && (sym.type == kFunc || sym.type == kObject || sym.type == kNoType))
                    image_symbols_->push_back({sym.value, std::move(sym.name)});
            }
            std::stable_sort(image_symbols_->begin(), image_symbols_->end(),
                             [](const auto& a, const auto& b) { return a.first < b.first; });
        }
    }
    if (addr < image_text_ || addr >= image_end_symbol_) return std::nullopt;
    auto it = std::upper_bound(image_symbols_->begin(), image_symbols_->end(), addr,
                               [](addr_t a, const auto& e) { return a < e.first; });
    if (it == image_symbols_->begin()) return std::nullopt;
    --it;
    auto first = std::lower_bound(image_symbols_->begin(), it, it->first,
                                  [](const auto& e, addr_t v) { return e.first < v; });
    SymbolInfo info;
    info.name = first->second;
    info.offset = addr - first->first;
    return info;
}

std::optional<SymbolInfo> GdbTarget::symbolize(addr_t addr) {
    auto it = symbolized_.find(addr);
    if (it != symbolized_.end()) return it->second;
    addr_t query = addr;
    bool ask = true;
    if (offset_) {
        if (addr >= image_start_ + offset_ && addr < image_end_ + offset_)
            query = addr - offset_;
        else if (addr >= image_start_ && addr < image_end_)
            ask = false;  // where the image was linked, not where it runs
    }
    std::optional<SymbolInfo> s = ask ? lookup_symbolize(query) : std::nullopt;
    if (interrupted_) return s;  // not an answer to remember
    symbolized_.emplace(addr, s);
    return s;
}

// --- types -------------------------------------------------------------------

GdbTarget::TypeFacts* GdbTarget::type_facts(const std::string& name) {
    auto it = types_.find(name);
    if (it != types_.end()) return it->second ? &*it->second : nullptr;
    std::optional<TypeFacts> facts;
    for (const std::string& spelled : {"struct " + name, "union " + name, name}) {
        PyRef t = call(lookup_type_.get(), tuple(py_str(spelled)).get());
        if (!t) {
            note_failure();  // gdb.error: no such type
            continue;
        }
        PyRef stripped = call_method(t.get(), "strip_typedefs", nullptr);
        PyRef size = stripped ? attr(stripped.get(), "sizeof") : PyRef();
        auto n = size ? as_u64(size.get()) : std::nullopt;
        if (!n) {
            note_failure();
            continue;
        }
        facts.emplace();
        facts->size = static_cast<std::size_t>(*n);
        facts->type = stripped;
        break;
    }
    if (interrupted_ && !facts) return nullptr;  // Ctrl-C is not "no such type"
    it = types_.emplace(name, std::move(facts)).first;
    return it->second ? &*it->second : nullptr;
}

void GdbTarget::collect_members(PyObject* type, std::size_t base, std::unordered_map<std::string, MemberInfo>& out,
                                int depth) {
    if (depth > 16) return;
    PyRef fields = call_method(type, "fields", nullptr);
    if (!fields || !PyList_Check(fields.get())) {
        note_failure();
        return;
    }
    for (Py_ssize_t i = 0; i < PyList_Size(fields.get()); ++i) {
        PyObject* f = PyList_GetItem(fields.get(), i);
        PyRef name = attr(f, "name");
        PyRef bitpos = attr(f, "bitpos");
        PyRef ftype = attr(f, "type");
        if (!name || !bitpos || !ftype) {  // static members have no bitpos
            note_failure();
            continue;
        }
        auto pos = as_u64(bitpos.get());
        if (!pos) continue;
        std::size_t offset = base + static_cast<std::size_t>(*pos / 8);
        auto n = as_string(name.get());
        if (!n || n->empty()) {
            // An anonymous struct or union: its members are members here,
            // as C and gdb's lookup_struct_elt see them.
            PyRef stripped = call_method(ftype.get(), "strip_typedefs", nullptr);
            PyRef code = stripped ? attr(stripped.get(), "code") : PyRef();
            auto c = code ? as_i64(code.get()) : std::nullopt;
            if (c == type_code_struct_ || c == type_code_union_)
                collect_members(stripped.get(), offset, out, depth + 1);
            if (PyErr_Occurred()) note_failure();
            continue;
        }
        PyRef size = attr(ftype.get(), "sizeof");
        auto sz = size ? as_u64(size.get()) : std::nullopt;
        if (!size) note_failure();
        out.emplace(*n, MemberInfo{offset, static_cast<std::size_t>(sz.value_or(0))});
    }
}

void GdbTarget::load_members(TypeFacts& t) {
    if (t.members_loaded) return;
    collect_members(t.type.get(), 0, t.members, 0);
    if (interrupted_) {
        t.members.clear();  // incomplete: try again next time
        return;
    }
    t.members_loaded = true;
}

std::optional<std::size_t> GdbTarget::type_size(const std::string& type) {
    TypeFacts* t = type_facts(type);
    if (!t) return std::nullopt;
    return t->size;
}

std::optional<MemberInfo> GdbTarget::member(const std::string& type, const std::string& member) {
    TypeFacts* t = type_facts(type);
    if (!t) return std::nullopt;
    load_members(*t);
    auto it = t->members.find(member);
    if (it == t->members.end()) return std::nullopt;
    return it->second;
}

// --- per-CPU facts -------------------------------------------------------------

// The CPUs whose per-CPU areas are set up, by crash's x86_64 rule: CPU i
// counts while __per_cpu_offset[i] is not the boot copy (__per_cpu_load)
// and it is present in __cpu_present_mask (without the mask: while its
// cpu_number reads back as i; it is pcpu_hot.cpu_number where the kernel
// keeps it in struct pcpu_hot).
void GdbTarget::compute_cpus() {
    cpus_ = 1;
    per_cpu_offsets_.assign(1, 0);
    auto table = symbol_address("__per_cpu_offset");
    if (!table) return;  // uniprocessor: per-CPU symbols are plain addresses
    auto number = symbol_address("cpu_number");
    if (!number) {
        auto hot = symbol_address("pcpu_hot");
        auto in_hot = member("pcpu_hot", "cpu_number");
        if (hot && in_hot) number = *hot + in_hot->offset;
    }
    std::size_t max = array_length("__per_cpu_offset").value_or(1);
    if (auto ids = symbol_address("nr_cpu_ids")) {
        std::uint32_t n = 0;
        if (read(*ids, &n, sizeof n) && n > 0) max = std::min<std::size_t>(max, n);
    }
    max = std::min<std::size_t>(max, 8192);
    std::vector<addr_t> offsets(max);
    if (!read(*table, offsets.data(), offsets.size() * sizeof(addr_t))) return;
    addr_t boot_copy = symbol_address("__per_cpu_load").value_or(0);
    int present = 0, highest = -1;
    auto mask_addr = symbol_address("__cpu_present_mask");
    auto mask_size = type_size("cpumask");
    if (mask_addr && mask_size && *mask_size > 0 && *mask_size <= 8192 / 8) {
        std::vector<std::uint8_t> bits(*mask_size);
        if (read(*mask_addr, bits.data(), bits.size())) {
            for (std::size_t i = 0; i < bits.size() * 8; ++i) {
                if (bits[i / 8] & (1u << (i % 8))) {
                    ++present;
                    highest = static_cast<int>(i);
                }
            }
        }
    }
    int cpus = 0;
    for (std::size_t i = 0; i < max; ++i) {
        if (boot_copy && offsets[i] == boot_copy) break;
        if (present) {
            // The present mask says which CPUs exist: no need to read each
            // one's cpu_number (a remote request per CPU over a gdbstub).
            if (static_cast<int>(i) > highest) break;
        } else {
            std::int32_t n = -1;
            if (!number || !read(*number + offsets[i], &n, sizeof n) || n != cpus) break;
        }
        ++cpus;
    }
    if (present && (!cpus || present < cpus)) cpus = highest + 1;
    if (cpus < 1) cpus = 1;
    if (static_cast<std::size_t>(cpus) > offsets.size()) cpus = static_cast<int>(offsets.size());
    cpus_ = cpus;
    per_cpu_offsets_ = std::move(offsets);
}

int GdbTarget::cpu_count() {
    if (!cpus_) compute_cpus();
    return *cpus_;
}

std::optional<addr_t> GdbTarget::per_cpu_offset(int cpu) {
    if (cpu < 0 || cpu >= cpu_count() || static_cast<std::size_t>(cpu) >= per_cpu_offsets_.size())
        return std::nullopt;
    return per_cpu_offsets_[static_cast<std::size_t>(cpu)];
}

// --- CPU registers ---------------------------------------------------------------

namespace {

// What identifies a vCPU's thread: its LWP in an ELF core (QEMU writes the
// CPU index + 1 as pr_pid of each NT_PRSTATUS), its thread id on a gdbstub
// (QEMU's are the CPU index + 1 too).
std::optional<std::uint64_t> thread_id(PyObject* thread) {
    PyRef ptid = attr(thread, "ptid");
    if (!ptid || !PyTuple_Check(ptid.get()) || PyTuple_Size(ptid.get()) != 3) return std::nullopt;
    auto lwp = as_u64(PyTuple_GetItem(ptid.get(), 1));
    auto tid = as_u64(PyTuple_GetItem(ptid.get(), 2));
    if (lwp && *lwp) return lwp;
    if (tid && *tid) return tid;
    return std::nullopt;
}

}  // namespace

void GdbTarget::read_cpu_registers() {
    cpu_regs_.emplace();
    PyRef inferior = call_method(gdb_.get(), "selected_inferior", nullptr);
    PyRef threads = inferior ? call_method(inferior.get(), "threads", nullptr) : PyRef();
    PyRef seq = threads ? PyRef(PySequence_Tuple(threads.get())) : PyRef();
    if (!seq) {
        note_failure();
        return;
    }
    PyRef selected = call_method(gdb_.get(), "selected_thread", nullptr);
    if (!selected) note_failure();
    struct Vcpu {
        std::uint64_t id, num;
        CpuRegisters regs;
    };
    std::vector<Vcpu> vcpus;
    for (Py_ssize_t i = 0; i < PyTuple_Size(seq.get()); ++i) {
        PyObject* th = PyTuple_GetItem(seq.get(), i);
        auto id = thread_id(th);
        PyRef num = attr(th, "num");
        if (!id || !num || !call_method(th, "switch", nullptr)) {
            note_failure();
            continue;
        }
        PyRef frame = call_method(gdb_.get(), "newest_frame", nullptr);
        if (!frame) {
            note_failure();
            continue;
        }
        CpuRegisters r;
        bool ok = true;
        auto reg = [&](const char* name, std::uint64_t& out) {
            PyRef v = call_method(frame.get(), "read_register", tuple(py_str(name)).get());
            auto n = v ? as_u64(v.get()) : std::nullopt;
            if (!n) {
                note_failure();
                ok = false;
                return;
            }
            out = *n;
        };
        reg("rip", r.ip), reg("rsp", r.sp), reg("rbp", r.bp), reg("eflags", r.flags), reg("cs", r.cs);
        reg("ss", r.ss), reg("rax", r.ax), reg("rbx", r.bx), reg("rcx", r.cx), reg("rdx", r.dx);
        reg("rsi", r.si), reg("rdi", r.di), reg("r8", r.r8), reg("r9", r.r9), reg("r10", r.r10);
        reg("r11", r.r11), reg("r12", r.r12), reg("r13", r.r13), reg("r14", r.r14), reg("r15", r.r15);
        if (ok) vcpus.push_back({*id, as_u64(num.get()).value_or(0), r});
    }
    if (selected && !selected.is_none() && !call_method(selected.get(), "switch", nullptr)) note_failure();
    // Thread ids 1..N are CPUs 0..N-1; otherwise gdb's thread numbers.
    std::vector<std::uint64_t> ids;
    for (const Vcpu& v : vcpus) ids.push_back(v.id);
    std::sort(ids.begin(), ids.end());
    bool dense = true;
    for (std::size_t i = 0; i < ids.size(); ++i) dense &= ids[i] == i + 1;
    for (const Vcpu& v : vcpus) (*cpu_regs_)[static_cast<int>((dense ? v.id : v.num) - 1)] = v.regs;
}

std::optional<CpuRegisters> GdbTarget::cpu_registers(int cpu) {
    if (!cpu_regs_) read_cpu_registers();
    auto it = cpu_regs_->find(cpu);
    if (it == cpu_regs_->end()) return std::nullopt;
    return it->second;
}

std::size_t GdbTarget::thread_size() {
    if (thread_size_) return *thread_size_;
    std::size_t size = 0;
    if (auto u = type_size("thread_union")) size = *u;
    for (auto [start, end] : {std::pair{"__start_init_stack", "__end_init_stack"},
                              std::pair{"__start_init_task", "__end_init_task"}}) {
        if (size) break;
        auto s = gdb_symbol_address(start), e = gdb_symbol_address(end);
        if (s && e && *e > *s && *e - *s <= (1u << 20)) size = static_cast<std::size_t>(*e - *s);
    }
    if (!size) size = 16384;  // x86-64 THREAD_SIZE without KASAN, as crash assumes
    thread_size_ = size;
    return size;
}

}  // namespace netdbg::gdbglue

namespace netdbg::gdbglue {

std::optional<std::string> GdbTarget::kernel_debug_file() {
    if (main_file_.empty()) return std::nullopt;
    return main_file_;
}

// The .ko netdbg-load-modules gave add-symbol-file (a copy without section
// addresses for 6.12's; its DWARF is the same).
std::optional<std::string> GdbTarget::module_debug_file(const std::string& module) {
    for (const auto& [file, name] : module_files_)
        if (name == module) return file;
    return std::nullopt;
}

}  // namespace netdbg::gdbglue
