#include "kernel/sched/cpu_stacks.h"

#include <fmt/format.h>

namespace netdbg {

CpuStackLayout::CpuStackLayout(Kernel& k) {
    Target& t = k.target();
    // 6.1: DEFINE_PER_CPU(struct irq_stack *, hardirq_stack_ptr); later
    // kernels keep it in struct pcpu_hot.
    if (auto sym = k.try_symbol("hardirq_stack_ptr")) {
        hardirq_stack_ptr = *sym;
    } else if (auto hot = k.try_symbol("pcpu_hot")) {
        if (auto m = t.member("pcpu_hot", "hardirq_stack_ptr")) hardirq_stack_ptr = *hot + m->offset;
    }
    irq_stack_size = t.type_size("irq_stack").value_or(k.target().thread_size());
    cea_exception_stacks = k.try_symbol("cea_exception_stacks");
    // arch/x86/include/asm/cpu_entry_area.h: ESTACKS_MEMBERS(), the guard
    // pages between them left out.
    for (const char* name : {"DF", "NMI", "DB", "MCE", "VC", "VC2"}) {
        auto m = t.member("cea_exception_stacks", std::string(name) + "_stack");
        if (!m || !m->size) continue;
        std::string label = name;
        if (label == "DF") label = "#DF";
        else if (label == "DB") label = "#DB";
        else if (label == "MCE") label = "#MC";
        else if (label == "VC") label = "#VC";
        else if (label == "VC2") label = "#VC2";
        ist.emplace_back(label, *m);
    }
}

std::vector<StackArea> cpu_stack_areas(Kernel& k, int cpu, const Task& task, std::vector<std::string>& problems) {
    const CpuStackLayout& L = k.get<CpuStackLayout>();
    std::vector<StackArea> out;
    if (task.stack) out.push_back({task.stack, task.stack + k.target().thread_size(), "task"});
    auto off = k.target().per_cpu_offset(cpu);
    if (!off) {
        problems.push_back(fmt::format("CPU {}: no per-CPU area; its IRQ and exception stacks are unknown", cpu));
        return out;
    }
    if (L.hardirq_stack_ptr) {
        // irq_64.c: the pointer is the top-most word, top - 8.
        auto top = k.mem().read_u64(*L.hardirq_stack_ptr + *off);
        if (!top) problems.push_back(fmt::format("CPU {}: hardirq_stack_ptr unreadable", cpu));
        else if (*top) out.push_back({*top + 8 - L.irq_stack_size, *top + 8, "IRQ"});
    }
    if (L.cea_exception_stacks) {
        auto base = k.mem().read_u64(*L.cea_exception_stacks + *off);
        if (!base) problems.push_back(fmt::format("CPU {}: cea_exception_stacks unreadable", cpu));
        else if (*base)
            for (const auto& [name, m] : L.ist) out.push_back({*base + m.offset, *base + m.offset + m.size, name});
    }
    return out;
}

}  // namespace netdbg
