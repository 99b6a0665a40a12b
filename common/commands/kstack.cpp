// kstack: a task's complete kernel call chain, on a CPU or off it, from the
// kernel's ORC tables (see kernel/sched/kstack.h); -a: every task current
// on a CPU.
#include <cctype>

#include <fmt/format.h>

#include "commands/chain_view.h"
#include "commands/commands.h"
#include "core/options.h"
#include "kernel/sched/snapshot.h"

namespace netdbg {

namespace {

struct Shown {
    const Task* task = nullptr;
    int cpu = -1;  // current on this CPU
    KernelStack stack;
};

// crash's rule: a decimal number is a pid, a hex number a task address.
bool looks_like_address(const std::string& a) {
    if (a.rfind("0x", 0) == 0 || a.size() >= 12) return true;
    for (char c : a)
        if (std::isalpha(static_cast<unsigned char>(c))) return true;
    return false;
}

const Task* find_task(Snapshot& s, const std::string& arg) {
    char* end = nullptr;
    if (looks_like_address(arg)) {
        unsigned long long a = std::strtoull(arg.c_str(), &end, 16);
        if (!end || *end) throw Error("not a pid or task address: '" + arg + "'");
        const Task* t = s.task(a);
        if (!t) throw Error(fmt::format("{:016x} is not a task the kernel lists", a));
        return t;
    }
    long pid = std::strtol(arg.c_str(), &end, 10);
    if (!end || *end || pid < 0) throw Error("not a pid or task address: '" + arg + "'");
    const Task* found = nullptr;
    for (const Task& t : s.walk.tasks)
        if (t.pid == pid) {
            found = &t;
            break;
        }
    if (!found) throw Error(fmt::format("no task with pid {}", pid));
    return found;
}

void render(Snapshot& s, const Shown& sh, Output& out) {
    Kernel& k = s.k;
    const Task& t = *sh.task;
    std::string where = sh.cpu >= 0 ? fmt::format("current on CPU {}", sh.cpu) : "off CPU";
    out.write(fmt::format("PID: {}  TASK: {:016x}  CPU: {}  COMMAND: \"{}\"  STATE: {} ({})\n", t.pid, t.addr, t.cpu,
                          t.comm, s.state(t), where));
    if (sh.stack.regs) out.write("  " + registers_line(k, *sh.stack.regs) + "\n");
    out.write("  CALL CHAIN: " + chain_summary(sh.stack) + "\n");
    for (const auto& p : sh.stack.problems) out.write("  PROBLEM: " + p + "\n");
    if (!sh.stack.frames.empty()) render_frames(k, sh.stack, "  ", out);
}

int run(Kernel& k, const std::vector<std::string>& args, Output& out) {
    Options o("kstack");
    o.add()("a,all-cpus", "every task current on a CPU")("json", "JSON output");
    o.parse(args);
    bool all = o.has("all-cpus");
    if (all == !o.positional().empty() || o.positional().size() > 1)
        throw Error("usage: kstack PID|TASK [--json], or kstack -a [--json]");

    Snapshot s(k, all ? TaskScope::Referenced : TaskScope::All);
    std::vector<Shown> shown;
    std::vector<std::string> problems;
    if (all) {
        for (int cpu = 0; cpu < k.target().cpu_count(); ++cpu) {
            auto rq = read_runqueue(k, cpu);
            if (!rq) {
                problems.push_back(fmt::format("CPU {}: run queue unreadable", cpu));
                continue;
            }
            const Task* t = s.task(rq->curr);
            if (!t) {
                problems.push_back(fmt::format("CPU {}: rq->curr {:016x} is not a readable, listed task", cpu, rq->curr));
                continue;
            }
            shown.push_back({t, cpu, {}});
        }
    } else {
        const Task* t = find_task(s, o.positional()[0]);
        shown.push_back({t, s.running_cpu(t->addr), {}});
    }
    for (Shown& sh : shown) {
        k.check_interrupt();
        sh.stack = kernel_stack(k, *sh.task, sh.cpu);
    }

    if (o.has("json")) {
        json j;
        j["command"] = "kstack";
        j["tasks"] = json::array();
        for (const Shown& sh : shown) {
            json tj = task_json(s, *sh.task);
            tj["registers"] = sh.stack.regs ? registers_json(*sh.stack.regs) : json(nullptr);
            tj["call_chain"] = chain_json(k, sh.stack);
            j["tasks"].push_back(tj);
        }
        j["problems"] = problems;
        write_json(out, j);
    } else {
        for (std::size_t i = 0; i < shown.size(); ++i) {
            if (i) out.write("\n");
            render(s, shown[i], out);
        }
        for (const auto& p : problems) out.write("PROBLEM: " + p + "\n");
    }
    bool partial = !problems.empty();
    for (const Shown& sh : shown) partial |= !sh.stack.complete && !sh.stack.user_mode;
    return partial ? 1 : 0;
}

}  // namespace

Command kstack_command() {
    return make_command("kstack", run);
}

}  // namespace netdbg
