// gdb front end: the Python extension module `_netdbg`, loaded into gdb's
// own Python by gdb/netdbg-gdb.py, which registers one gdb command per
// entry of netdbg::commands(). The commands run the same core as under
// crash; this file owns the session (target, kernel, KASLR offset) and
// turns every C++ failure into a Python value, never an escaping exception.
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "core/command.h"
#include "elf_file.h"
#include "core/error.h"
#include "core/failure.h"
#include "gdb_target.h"
#include "kaslr.h"
#include "core/kernel.h"
#include "kernel/module/module_sections.h"
#include "kernel/net/netdevice.h"
#include "py.h"

namespace netdbg::gdbglue {
namespace {

// Command output through gdb.write (gdb's pager, `to_string` captures and
// logging all see it). A failed write (`q` at the pager raises
// KeyboardInterrupt) marks it broken and the target reports interrupted().
class GdbOutput : public Output {
public:
    GdbOutput() : gdb_(PyImport_ImportModule("gdb")) {
        if (!gdb_) take_error();
    }
    void write(std::string_view text) override {
        if (broken_ || text.empty()) return;
        PyRef r = gdb_ ? call_method(gdb_.get(), "write", tuple(py_str(std::string(text))).get()) : PyRef();
        if (!r) {
            take_error();
            broken_ = true;
        }
    }
    const bool* broken_flag() const { return &broken_; }

private:
    PyRef gdb_;
    bool broken_ = false;
};

// A new str reference for Py_BuildValue's "N": kernel memory may hold
// bytes that are not UTF-8.
PyObject* text(const std::string& s) { return py_str(s).release(); }

// What the selected inferior is connected to, and the core file if any.
struct TargetIdentity {
    std::string type;  // "core", "remote", "extended-remote", "native", "" (none)
    std::string core_path;
    std::string key() const { return type + "|" + core_path; }
};

TargetIdentity current_target(GdbTarget& t) {
    TargetIdentity id;
    PyRef gdb(PyImport_ImportModule("gdb"));
    PyRef inf = gdb ? call_method(gdb.get(), "selected_inferior", nullptr) : PyRef();
    PyRef conn = inf ? attr(inf.get(), "connection") : PyRef();
    PyRef type = conn && !conn.is_none() ? attr(conn.get(), "type") : PyRef();
    if (type) id.type = as_string(type.get()).value_or("");
    PyErr_Clear();
    if (id.type == "core") {
        // "Local core dump file:\n\t`/path/vmcore.elf', file type elf64-x86-64."
        if (auto text = t.execute("info target")) {
            auto at = text->find("Local core dump file:");
            auto open = at == std::string::npos ? at : text->find('`', at);
            auto close = open == std::string::npos ? open : text->find("', file type", open);
            if (close != std::string::npos) id.core_path = text->substr(open + 1, close - open - 1);
        }
    }
    return id;
}

struct Session {
    std::unique_ptr<GdbTarget> target;
    std::unique_ptr<Kernel> kernel;
    std::optional<LoadOffset> kaslr;
    std::optional<addr_t> forced_offset;
    std::string identity;
    std::string announced;  // the KASLR line last printed
    bool live = false;
};

Session* session = nullptr;  // never destroyed: gdb finalizes Python at exit

Session& get_session() {
    if (!session) session = new Session;
    if (!session->target) session->target = std::make_unique<GdbTarget>();
    return *session;
}

// Per-CPU facts are read by the target itself, outside the page cache, as
// crash reads them at start-up: `netdbg -v` counts the same pages.
void new_kernel(Session& s) { s.kernel = std::make_unique<Kernel>(*s.target); }

std::string offset_line(const LoadOffset& lo) {
    return fmt::format("netdbg: kernel load offset {} ({})", lo.offset ? fmt::format("{:#x}", lo.offset) : "0",
                       lo.how);
}

// The KASLR offset in use, detected on first use; prints one line to
// `notes` when it is new. Needs begin_command() (the inferior's memory).
// A forced offset where linux_banner is not throws its one line, unless
// `accept_wrong_offset` (netdbg-kaslr showing it).
void ensure_kernel(Session& s, Output* notes, bool accept_wrong_offset) {
    TargetIdentity id = current_target(*s.target);
    if (id.type.empty())
        throw Error("no target: open a dump (core vmcore.elf) or attach (target remote :1234) first");
    if (id.key() != s.identity) {  // another dump or target: start over
        s.identity = id.key();
        s.kaslr.reset();
        s.kernel.reset();
        s.target->forget_symbols();
        s.live = id.type != "core";
        s.target->set_live(s.live);
        s.target->unrestrict_reads();
        if (!id.core_path.empty()) {
            if (auto core = ElfFile::open(id.core_path, nullptr); core && core->is_core())
                s.target->restrict_reads(core->loads());
        }
    }
    if (!s.kaslr) {
        // The offset is checked against the target's own linux_banner, never the file's.
        s.target->set_readonly_image(std::nullopt);
        PyRef gdb(PyImport_ImportModule("gdb"));
        PyRef ps = gdb ? call_method(gdb.get(), "current_progspace", nullptr) : PyRef();
        PyRef fn = ps ? attr(ps.get(), "filename") : PyRef();
        std::string vmlinux = fn ? as_string(fn.get()).value_or("") : "";
        PyErr_Clear();
        LoadOffset lo = s.forced_offset ? forced_load_offset(*s.target, vmlinux, id.core_path, *s.forced_offset)
                                        : detect_load_offset(*s.target, vmlinux, id.core_path);
        s.target->set_load_offset(lo.offset, lo.image_start, lo.image_end);
        // A live target of this very build: its read-only image sections
        // come from the vmlinux file (dumps are local reads already).
        if (s.live && lo.same_build)
            s.target->set_readonly_image(ReadonlyImage::open(vmlinux, lo.offset + lo.file_shift, nullptr));
        s.kaslr = lo;
        s.kernel.reset();
    }
    if (!s.kernel) new_kernel(s);
    std::string line = offset_line(*s.kaslr);
    if (notes && line != s.announced) {
        notes->write(line + "\n");
        s.announced = line;
    }
    if (!s.kaslr->wrong.empty() && !accept_wrong_offset) throw Error(s.kaslr->wrong);
}

// Runs fn(session) inside a command's bracket: target ready, Ctrl-C polled,
// every C++ failure turned into the text of one line (empty on success).
// A new KASLR offset is announced on `out` unless `quiet` (completion,
// netdbg-kaslr); a wrong forced offset fails unless `accept_wrong_offset`.
template <class F>
std::string guarded(GdbOutput& out, F&& fn, bool quiet = false, bool accept_wrong_offset = false) {
    Session* s = nullptr;
    auto f = failure_of([&] {
        s = &get_session();
        s->target->begin_command(out.broken_flag());
        ensure_kernel(*s, quiet ? nullptr : &out, accept_wrong_offset);
        fn(*s);
    });
    std::string failure = f ? f->message : "";
    bool interrupted = f && f->interrupted;
    if (s && s->target) {
        interrupted = interrupted || s->target->interrupted();
        s->target->end_command();
        // Pages read while Ctrl-C was pending may be recorded unreadable.
        if (interrupted && s->kernel) s->kernel->drop_memory();
    }
    PyErr_Clear();
    return failure;
}

std::string help_text(const Command& c) {
    // gdb shows the first line in command lists; the rest is crash's page.
    std::string text = c.summary + ".\n\nSYNOPSIS\n  " + c.name + " " + c.synopsis + "\n\nDESCRIPTION\n";
    for (const auto& line : c.description) {
        std::string l = line;
        // The examples are crash runs; gdb prints the same text.
        if (auto p = l.find("crash> "); p != std::string::npos && l.find_first_not_of(' ') == p)
            l.replace(p, 7, "(gdb) ");
        text += l + "\n";
    }
    while (!text.empty() && text.back() == '\n') text.pop_back();
    return text;
}

// --- module functions ----------------------------------------------------------

PyObject* py_commands(PyObject*, PyObject*) {
    try {
        PyRef list(PyList_New(0));
        if (!list) return nullptr;
        for (const Command& c : commands()) {
            PyRef d(Py_BuildValue("{s:N,s:N,s:N,s:N}", "name", text(c.name), "summary", text(c.summary), "synopsis",
                                  text(c.synopsis), "help", text(help_text(c))));
            if (!d || PyList_Append(list.get(), d.get()) != 0) return nullptr;
        }
        return list.release();
    } catch (const std::exception& e) {
        PyErr_SetString(PyExc_RuntimeError, e.what());
        return nullptr;
    }
}

// run(name, [args]) -> (status, error): status 0 clean, 1 findings, -1 failed;
// error is "name: message" (crash's error(INFO) line) or None.
PyObject* py_run(PyObject*, PyObject* args) {
    const char* name = nullptr;
    PyObject* argv = nullptr;
    if (!PyArg_ParseTuple(args, "sO!", &name, &PyList_Type, &argv)) return nullptr;
    std::vector<std::string> words;
    for (Py_ssize_t i = 0; i < PyList_Size(argv); ++i) {
        auto w = as_string(PyList_GetItem(argv, i));
        if (!w) {
            PyErr_SetString(PyExc_TypeError, "arguments must be strings");
            return nullptr;
        }
        words.push_back(*w);
    }
    const Command* cmd = find_command(name);
    if (!cmd) return Py_BuildValue("(iN)", -1, text(fmt::format("unknown netdbg command: {}", name)));
    GdbOutput out;
    int status = 0;
    std::string failure = guarded(out, [&](Session& s) { status = cmd->run(*s.kernel, words, out); });
    if (failure.empty()) return Py_BuildValue("(iO)", status, Py_None);
    return Py_BuildValue("(iN)", -1, text(fmt::format("{}: {}", name, failure)));
}

// kaslr(None | "auto" | offset) -> (offset, line) or (None, error): the
// offset in use (detected on first use), detected again with "auto", or
// forced. `line` is the "netdbg: kernel load offset" line, now printed.
PyObject* py_kaslr(PyObject*, PyObject* args) {
    PyObject* what = Py_None;
    if (!PyArg_ParseTuple(args, "|O", &what)) return nullptr;
    try {
        Session& s = get_session();
        if (what != Py_None) {
            if (PyUnicode_Check(what) && as_string(what) == "auto") {
                s.forced_offset.reset();
            } else {
                auto v = as_u64(what);
                if (!v) {
                    PyErr_SetString(PyExc_ValueError, "netdbg-kaslr: expected auto or an offset");
                    return nullptr;
                }
                s.forced_offset = *v;
            }
            s.kaslr.reset();
            s.kernel.reset();
        }
    } catch (const std::exception& e) {
        PyErr_SetString(PyExc_RuntimeError, e.what());
        return nullptr;
    }
    GdbOutput out;
    addr_t offset = 0;
    std::string line;
    std::string failure = guarded(
        out,
        [&](Session& s) {
            offset = s.kaslr->offset;
            line = s.announced = offset_line(*s.kaslr);
            if (!s.kaslr->wrong.empty()) line += "\nnetdbg-kaslr: " + s.kaslr->wrong;
        },
        true, true);
    if (!failure.empty()) return Py_BuildValue("(ON)", Py_None, text("netdbg-kaslr: " + failure));
    return Py_BuildValue("(KN)", static_cast<unsigned long long>(offset), text(line));
}

// modules() -> ([{name, addr, text, sections: [(name, addr)]}], [problem lines], error)
PyObject* py_modules(PyObject*, PyObject*) {
    GdbOutput out;
    std::vector<KernelModule> mods;
    std::vector<std::string> problems;
    std::string failure = guarded(out, [&](Session& s) { mods = modules_with_sections(*s.kernel, &problems); });
    PyRef list(PyList_New(0)), probs(PyList_New(0));
    if (!list || !probs) return nullptr;
    for (const auto& m : mods) {
        PyRef sects(PyList_New(0));
        if (!sects) return nullptr;
        for (const auto& sec : m.sections) {
            PyRef t(Py_BuildValue("(NK)", text(sec.name), static_cast<unsigned long long>(sec.addr)));
            if (!t || PyList_Append(sects.get(), t.get()) != 0) return nullptr;
        }
        PyRef d(Py_BuildValue("{s:N,s:K,s:K,s:O}", "name", text(m.name), "addr",
                              static_cast<unsigned long long>(m.addr), "text", static_cast<unsigned long long>(m.text),
                              "sections", sects.get()));
        if (!d || PyList_Append(list.get(), d.get()) != 0) return nullptr;
    }
    for (const auto& p : problems) {
        PyRef t = py_str(p);
        if (!t || PyList_Append(probs.get(), t.get()) != 0) return nullptr;
    }
    if (failure.empty()) return Py_BuildValue("(OOO)", list.get(), probs.get(), Py_None);
    return Py_BuildValue("(OON)", list.get(), probs.get(), text(failure));
}

// netdev_names() -> [names] of every namespace, for completion; [] on failure.
PyObject* py_netdev_names(PyObject*, PyObject*) {
    GdbOutput out;
    std::vector<std::string> names;
    guarded(
        out,
        [&](Session& s) {
            for (const auto& d : netdevs(*s.kernel, true, "")) names.push_back(d.name);
        },
        true);
    PyRef list(PyList_New(0));
    if (!list) return nullptr;
    for (const auto& n : names) {
        PyRef t = py_str(n);
        if (!t || PyList_Append(list.get(), t.get()) != 0) return nullptr;
    }
    return list.release();
}

PyObject* py_name_module_file(PyObject*, PyObject* args) {
    const char* path = nullptr;
    const char* module = nullptr;
    if (!PyArg_ParseTuple(args, "ss", &path, &module)) return nullptr;
    try {
        get_session().target->name_module_file(path, module);
    } catch (const std::exception& e) {
        PyErr_SetString(PyExc_RuntimeError, e.what());
        return nullptr;
    }
    Py_RETURN_NONE;
}

// The target ran (live): cached memory is stale; symbols and layouts stay.
PyObject* py_drop_memory(PyObject*, PyObject*) {
    if (session && session->kernel && session->live) session->kernel->drop_memory();
    Py_RETURN_NONE;
}

// Objfiles changed: symbols and types may differ. full=True (the symbol
// file itself went away) also forgets the KASLR offset.
PyObject* py_forget_symbols(PyObject*, PyObject* args) {
    int full = 0;
    if (!PyArg_ParseTuple(args, "|p", &full)) return nullptr;
    if (session && session->target) {
        try {
            session->target->forget_symbols();
            session->kernel.reset();
            if (full) {
                session->kaslr.reset();
                session->identity.clear();
            }
        } catch (const std::exception& e) {
            PyErr_SetString(PyExc_RuntimeError, e.what());
            return nullptr;
        }
    }
    Py_RETURN_NONE;
}

// stats() -> {pages: pages fetched by the core's cache, read_calls: reads
// made into gdb, local_reads: reads answered from the vmlinux file's
// read-only sections, local_sections: how many sections those may come
// from (0: none, as on a dump), live: bool}
PyObject* py_stats(PyObject*, PyObject*) {
    unsigned long long pages = 0, calls = 0, local = 0, sections = 0;
    bool live = false;
    if (session && session->target) {
        calls = session->target->read_calls();
        local = session->target->local_reads();
        if (session->target->readonly_image_used()) sections = session->target->readonly_image()->sections().size();
        live = session->live;
        if (session->kernel) pages = session->kernel->mem().target_reads();
    }
    return Py_BuildValue("{s:K,s:K,s:K,s:K,s:O}", "pages", pages, "read_calls", calls, "local_reads", local,
                         "local_sections", sections, "live", live ? Py_True : Py_False);
}

// local_reads(on): whether a live target's read-only image sections come
// from the vmlinux file (the default) or from gdb. Drops the cached memory.
PyObject* py_local_reads(PyObject*, PyObject* args) {
    int on = 1;
    if (!PyArg_ParseTuple(args, "p", &on)) return nullptr;
    try {
        Session& s = get_session();
        s.target->use_readonly_image(on != 0);
        if (s.kernel) s.kernel->drop_memory();
    } catch (const std::exception& e) {
        PyErr_SetString(PyExc_RuntimeError, e.what());
        return nullptr;
    }
    Py_RETURN_NONE;
}

PyMethodDef methods[] = {
    {"commands", py_commands, METH_NOARGS, "The command table: [{name, summary, synopsis, help}]."},
    {"run", py_run, METH_VARARGS, "run(name, [args]) -> (status, error or None)."},
    {"kaslr", py_kaslr, METH_VARARGS, "kaslr([\"auto\" | offset]) -> (offset, how) or (None, error)."},
    {"modules", py_modules, METH_NOARGS, "The kernel's module list with section addresses."},
    {"netdev_names", py_netdev_names, METH_NOARGS, "Net device names, for completion."},
    {"name_module_file", py_name_module_file, METH_VARARGS, "name_module_file(path, module)."},
    {"drop_memory", py_drop_memory, METH_NOARGS, "Forget cached memory (the live target ran)."},
    {"forget_symbols", py_forget_symbols, METH_VARARGS, "Forget symbols and types (objfiles changed)."},
    {"stats", py_stats, METH_NOARGS, "Read counters of the session."},
    {"local_reads", py_local_reads, METH_VARARGS, "local_reads(on): read-only image sections from vmlinux."},
    {nullptr, nullptr, 0, nullptr},
};

PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_netdbg", "netdbg's C++ core for gdb (see gdb/netdbg-gdb.py).", -1, methods,
    nullptr, nullptr, nullptr, nullptr,
};

}  // namespace
}  // namespace netdbg::gdbglue

PyMODINIT_FUNC PyInit__netdbg(void) { return PyModule_Create(&netdbg::gdbglue::module); }
