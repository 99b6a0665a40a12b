// Small helpers over the Python C API for the gdb front end: owned
// references, calls into gdb's Python module, and Python errors turned into
// C++ values. Everything here runs with the GIL held (gdb calls netdbg from
// its own Python, on its main thread).
#pragma once

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <cstdint>
#include <optional>
#include <string>
#include <utility>

namespace netdbg::gdbglue {

// An owned reference; the constructor steals the one it is given.
class PyRef {
public:
    PyRef() = default;
    explicit PyRef(PyObject* o) : o_(o) {}
    static PyRef borrow(PyObject* o) {
        Py_XINCREF(o);
        return PyRef(o);
    }
    PyRef(const PyRef& r) : o_(r.o_) { Py_XINCREF(o_); }
    PyRef(PyRef&& r) noexcept : o_(std::exchange(r.o_, nullptr)) {}
    PyRef& operator=(PyRef r) noexcept {
        std::swap(o_, r.o_);
        return *this;
    }
    ~PyRef() { Py_XDECREF(o_); }

    PyObject* get() const { return o_; }
    PyObject* release() { return std::exchange(o_, nullptr); }
    explicit operator bool() const { return o_ != nullptr; }
    bool is_none() const { return o_ == Py_None; }

private:
    PyObject* o_ = nullptr;
};

// The pending Python exception, cleared. `keyboard` says whether it was
// KeyboardInterrupt (gdb raises it for Ctrl-C and for `q` at the pager).
struct PyFailure {
    std::string message;
    bool keyboard = false;
};
PyFailure take_error();

// Calls; a null PyRef means a Python exception is pending.
PyRef call(PyObject* callable, PyObject* args /* tuple or null */);
PyRef call_method(PyObject* obj, const char* name, PyObject* args /* tuple or null */);
PyRef attr(PyObject* obj, const char* name);

PyRef py_str(const std::string& s);
PyRef py_int(std::uint64_t v);
// A tuple made of the given (stolen) references; null if any is null.
template <class... R>
PyRef tuple(R... items) {
    PyObject* objs[] = {items.get()...};
    for (PyObject* o : objs)
        if (!o) return PyRef();
    PyObject* t = PyTuple_New(sizeof...(items));
    if (!t) return PyRef();
    Py_ssize_t i = 0;
    for (PyObject* o : objs) {
        Py_INCREF(o);
        PyTuple_SET_ITEM(t, i++, o);
    }
    return PyRef(t);
}

// Conversions that clear the Python error they may raise.
std::optional<std::string> as_string(PyObject* o);
std::optional<std::uint64_t> as_u64(PyObject* o);  // int or gdb.Value, taken mod 2^64
std::optional<std::int64_t> as_i64(PyObject* o);

}  // namespace netdbg::gdbglue
