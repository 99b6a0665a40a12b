// How both front ends end a command that threw: one line for the user and
// whether it was Ctrl-C. No exception may leave a command into crash or
// into gdb's Python.
#pragma once

#include <functional>
#include <optional>
#include <string>

namespace netdbg {

struct Failure {
    std::string message;  // "interrupted", an Error's text, "out of memory", "internal error: ..."
    bool interrupted = false;
};

// Runs fn; nullopt when it returned, else what it threw as one line.
std::optional<Failure> failure_of(const std::function<void()>& fn);

}  // namespace netdbg
