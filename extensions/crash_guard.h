// Keeping crash's non-local exits out of C++ frames.
//
// crash reports a fatal error (error(FATAL), FAULT_ON_ERROR reads, a gdb
// failure without GNU_RETURN_ON_ERROR) by longjmp'ing to pc->main_loop_env,
// and its SIGINT/SIGPIPE handler does the same. A longjmp across a C++ frame
// that owns resources skips its destructors, so:
//   - every crash call that may jump runs through guarded(): a setjmp on
//     pc->main_loop_env catches the jump in a frame that owns nothing and it
//     becomes a CrashFault exception;
//   - while a netdbg command runs, SignalScope blocks SIGINT and SIGPIPE so
//     crash's handler never runs; Ctrl-C is polled (interrupt_pending) and
//     both signals are consumed before the old mask comes back.
#pragma once

#include <csignal>
#include <string>
#include <type_traits>

#include "core/error.h"

namespace netdbg::crashglue {

// A crash call ended in error(FATAL) (crash has already printed its line).
class CrashFault : public Error {
public:
    using Error::Error;
};

// Runs fn(ctx) with crash's fatal-error jump caught. Returns false when crash
// jumped out of fn, or when a C++ exception (gdb's gdb_exception, which
// sometimes escapes crash's gdb interface) left it. fn must not own anything that needs a destructor: it is
// abandoned mid-way when crash jumps.
bool guarded_call(void (*fn)(void*), void* ctx);

// Runs f() (a lambda that only calls crash and stores plain values into
// variables captured by reference) and throws CrashFault when crash jumped.
template <class F>
void guarded(const char* what, F&& f) {
    using Fn = std::remove_reference_t<F>;
    auto trampoline = [](void* p) { (*static_cast<Fn*>(p))(); };
    if (!guarded_call(trampoline, const_cast<void*>(static_cast<const void*>(&f))))
        throw CrashFault(std::string("crash: ") + what + " failed");
}

// Blocks SIGINT and SIGPIPE for the lifetime of a command. On destruction,
// pending instances of those signals (Ctrl-C, a closed `| head` pipe) are
// consumed so crash's handler never sees them, then the old mask returns.
class SignalScope {
public:
    SignalScope();
    ~SignalScope();
    SignalScope(const SignalScope&) = delete;
    SignalScope& operator=(const SignalScope&) = delete;

    // True when a SIGINT is pending (the user pressed Ctrl-C).
    static bool interrupt_pending();

private:
    sigset_t old_;
};

}  // namespace netdbg::crashglue
