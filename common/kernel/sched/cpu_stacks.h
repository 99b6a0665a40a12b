// The stacks a CPU runs on besides its current task's, as x86-64's
// get_stack_info() knows them (arch/x86/kernel/dumpstack_64.c): the hardirq
// stack (irq_64.c: hardirq_stack_ptr, in pcpu_hot on newer kernels) and the
// IST exception stacks of struct cea_exception_stacks (#DF, NMI, #DB, #MC,
// #VC). The entry trampoline stack is not followed.
#pragma once

#include <string>
#include <vector>

#include "kernel/sched/orc.h"

namespace netdbg {

struct CpuStackLayout {
    explicit CpuStackLayout(Kernel& k);
    std::optional<addr_t> hardirq_stack_ptr;  // per-CPU address of the pointer
    std::size_t irq_stack_size = 0;
    std::optional<addr_t> cea_exception_stacks;  // per-CPU address of the pointer
    std::vector<std::pair<std::string, MemberInfo>> ist;  // "NMI" -> cea_exception_stacks.NMI_stack
};

// The task stack of `task` and the CPU's IRQ and exception stacks; what
// cannot be read is said in `problems`.
std::vector<StackArea> cpu_stack_areas(Kernel& k, int cpu, const Task& task, std::vector<std::string>& problems);

}  // namespace netdbg
