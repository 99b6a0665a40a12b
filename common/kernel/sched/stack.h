// A sleeping task's kernel stack without DWARF unwinding: return addresses
// found by scanning from thread.sp, kept only when the bytes before them
// are a call instruction, and the wait function as get_wchan() defines it.
#pragma once

#include <string>
#include <vector>

#include "kernel/sched/task.h"

namespace netdbg {

struct StackFrame {
    addr_t slot = 0;   // where on the stack the return address sits
    addr_t pc = 0;     // the return address
};

struct KernelText {
    explicit KernelText(Kernel& k);
    addr_t stext = 0, etext = 0;
    // kernel/sched/core.c:in_sched_functions(): .sched.text and .spinlock.text
    addr_t sched_start = 0, sched_end = 0, lock_start = 0, lock_end = 0;
    bool in_sched_functions(addr_t pc) const {
        return (pc >= sched_start && pc < sched_end) || (pc >= lock_start && pc < lock_end);
    }
};

// The raw stack words from sp to the top of the task's stack.
struct StackWords {
    addr_t base = 0;  // first address read (sp)
    std::vector<addr_t> words;
    bool readable = false;
};
StackWords read_stack(Kernel& k, const Task& t);

// Return addresses on the stack, innermost first (a scan: may hold stale
// frames; labelled as such when shown).
std::vector<StackFrame> scan_call_chain(Kernel& k, const Task& t, const StackWords& stack);
std::vector<StackFrame> scan_call_chain(Kernel& k, const Task& t);

// The first function outside the scheduler and lock primitives
// (kernel/sched/core.c:__get_wchan()), e.g. "rtnl_lock"; "" if none.
std::string wait_function(Kernel& k, const std::vector<StackFrame>& chain);

// The call chain of a task, from the best source available: for a task off
// CPU the kernel's own ORC tables (the same answer under every front end),
// else the debugger's unwinder (which knows a running task's registers),
// else a stack scan.
enum class ChainSource { Orc, Debugger, Scan };
const char* chain_source_name(ChainSource s);  // "orc", "unwinder", "stack scan"

struct CallChain {
    std::vector<StackFrame> frames;
    ChainSource source = ChainSource::Scan;
    bool scanned() const { return source == ChainSource::Scan; }
};
CallChain call_chain(Kernel& k, const Task& t);
// call_chain() for a task already known to be off CPU, reusing its stack.
CallChain call_chain(Kernel& k, const Task& t, const StackWords& stack);

}  // namespace netdbg
