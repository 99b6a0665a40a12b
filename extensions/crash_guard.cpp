#include "crash_guard.h"

#include <csetjmp>
#include <csignal>
#include <cstring>
#include <ctime>

#include "crash_defs.h"

namespace netdbg::crashglue {

namespace {

// Restores pc->main_loop_env and the IN_FOREACH flag whichever way the
// guarded call ends. It lives in guarded_call's own frame, which the jump
// lands in (never skips), so its destructor always runs.
struct JumpTargetSave {
    jmp_buf env;
    ulonglong foreach_flag;
    JumpTargetSave() {
        std::memcpy(env, pc->main_loop_env, sizeof env);
        foreach_flag = pc->flags & IN_FOREACH;
        // With IN_FOREACH set, error(FATAL) jumps to foreach_loop_env
        // instead; clear it so every fatal error comes to our setjmp.
        pc->flags &= ~IN_FOREACH;
    }
    ~JumpTargetSave() {
        std::memcpy(pc->main_loop_env, env, sizeof env);
        pc->flags |= foreach_flag;
    }
};

}  // namespace

bool guarded_call(void (*fn)(void*), void* ctx) {
    JumpTargetSave save;
    if (setjmp(pc->main_loop_env) != 0) return false;  // crash jumped
    try {
        fn(ctx);
    } catch (...) {
        // Some gdb failures escape crash as a C++ gdb_exception (not a
        // std::exception): seen with get_array_length() on a module symbol
        // that has no debuginfo. Treat it like crash's fatal jump.
        return false;
    }
    return true;
}

SignalScope::SignalScope() {
    sigset_t block;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGPIPE);
    sigprocmask(SIG_BLOCK, &block, &old_);
}

SignalScope::~SignalScope() {
    sigset_t pending;
    sigemptyset(&pending);
    sigpending(&pending);
    for (int sig : {SIGINT, SIGPIPE}) {
        // A signal that was already blocked before us belongs to whoever
        // blocked it; leave it pending.
        if (sigismember(&old_, sig) || !sigismember(&pending, sig)) continue;
        sigset_t one;
        sigemptyset(&one);
        sigaddset(&one, sig);
        struct timespec zero = {0, 0};
        while (sigtimedwait(&one, nullptr, &zero) == sig) {
        }
    }
    sigprocmask(SIG_SETMASK, &old_, nullptr);
}

bool SignalScope::interrupt_pending() {
    sigset_t pending;
    sigemptyset(&pending);
    if (sigpending(&pending) != 0) return false;
    return sigismember(&pending, SIGINT) == 1;
}

}  // namespace netdbg::crashglue
