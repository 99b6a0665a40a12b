// Errors that end a command with one clear line; the front ends print
// what() and return to the prompt.
#pragma once

#include <stdexcept>
#include <string>

namespace netdbg {

class Error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// The kernel's debug info lacks a member or type the analyzer needs.
class LayoutError : public Error {
public:
    using Error::Error;
};

// The user pressed Ctrl-C; the walk stops and the command ends.
class Interrupted : public Error {
public:
    Interrupted() : Error("interrupted") {}
};

}  // namespace netdbg
