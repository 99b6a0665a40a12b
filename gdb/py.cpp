#include "py.h"

namespace netdbg::gdbglue {

PyFailure take_error() {
    PyFailure f;
    if (!PyErr_Occurred()) return f;
    f.keyboard = PyErr_ExceptionMatches(PyExc_KeyboardInterrupt) != 0;
    PyObject *type = nullptr, *value = nullptr, *tb = nullptr;
    PyErr_Fetch(&type, &value, &tb);
    PyErr_NormalizeException(&type, &value, &tb);
    PyRef t(type), v(value), trace(tb);
    if (v) {
        PyRef s(PyObject_Str(v.get()));
        if (s) {
            if (auto text = as_string(s.get())) f.message = *text;
        }
    }
    if (f.message.empty() && t) {
        PyRef n(PyObject_GetAttrString(t.get(), "__name__"));
        if (n) {
            if (auto text = as_string(n.get())) f.message = *text;
        }
    }
    PyErr_Clear();
    return f;
}

PyRef call(PyObject* callable, PyObject* args) {
    if (!callable) return PyRef();
    if (!args) return PyRef(PyObject_CallNoArgs(callable));
    return PyRef(PyObject_CallObject(callable, args));
}

PyRef call_method(PyObject* obj, const char* name, PyObject* args) {
    PyRef m = attr(obj, name);
    if (!m) return m;
    return call(m.get(), args);
}

PyRef attr(PyObject* obj, const char* name) {
    if (!obj) return PyRef();
    return PyRef(PyObject_GetAttrString(obj, name));
}

PyRef py_str(const std::string& s) {
    return PyRef(PyUnicode_DecodeUTF8(s.data(), static_cast<Py_ssize_t>(s.size()), "replace"));
}

PyRef py_int(std::uint64_t v) { return PyRef(PyLong_FromUnsignedLongLong(v)); }

std::optional<std::string> as_string(PyObject* o) {
    if (!o || !PyUnicode_Check(o)) return std::nullopt;
    Py_ssize_t n = 0;
    const char* s = PyUnicode_AsUTF8AndSize(o, &n);
    if (!s) {
        PyErr_Clear();
        return std::nullopt;
    }
    return std::string(s, static_cast<std::size_t>(n));
}

std::optional<std::uint64_t> as_u64(PyObject* o) {
    if (!o || o == Py_None) return std::nullopt;
    PyRef n(PyNumber_Long(o));
    if (!n) {
        PyErr_Clear();
        return std::nullopt;
    }
    unsigned long long v = PyLong_AsUnsignedLongLongMask(n.get());
    if (PyErr_Occurred()) {
        PyErr_Clear();
        return std::nullopt;
    }
    return static_cast<std::uint64_t>(v);
}

std::optional<std::int64_t> as_i64(PyObject* o) {
    if (!o || o == Py_None) return std::nullopt;
    PyRef n(PyNumber_Long(o));
    if (!n) {
        PyErr_Clear();
        return std::nullopt;
    }
    int overflow = 0;
    long long v = PyLong_AsLongLongAndOverflow(n.get(), &overflow);
    if (overflow || PyErr_Occurred()) {
        PyErr_Clear();
        if (overflow > 0) {  // an unsigned 64-bit enumerator
            return static_cast<std::int64_t>(PyLong_AsUnsignedLongLongMask(n.get()));
        }
        return std::nullopt;
    }
    return static_cast<std::int64_t>(v);
}

}  // namespace netdbg::gdbglue
