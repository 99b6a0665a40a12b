// taskfix: corrects crash's SIZE(pid) for a flexible pid.numbers[] and
// rebuilds crash's task table, its sorted context arrays and the current
// context. See taskfix.h for the problem.
#include "taskfix.h"

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "crash_guard.h"
#include "core/error.h"
#include "core/json.h"
#include "core/kernel.h"
#include "core/options.h"
#include "kernel/sched/task.h"

#include "crash_defs.h"  // last: its macros must not reach C++ headers

namespace netdbg::crashglue {

namespace {

char* cstr(const char* s) { return const_cast<char*>(s); }

// How crash builds its task table and how much of each struct pid it reads.
struct PidLayout {
    bool xarray = false;     // refresh_xarray_task_table() (PID_XARRAY)
    bool numbers = false;    // pid.numbers exists
    long numbers_len = -1;   // its array length; 0: the flexible numbers[]
    long struct_pid = -1;    // sizeof(struct pid) in the debuginfo
    long struct_upid = -1;   // sizeof(struct upid)
    long crash_pid = -1;     // crash's SIZE(pid): bytes it reads of each pid

    bool flexible() const { return numbers && numbers_len == 0 && struct_pid > 0 && struct_upid > 0; }
    // What the kernel allocates for a pid of init_pid_ns (level 0):
    // kernel/pid.c create_pid_cachep(), struct_size(pid, numbers, 1).
    long wanted() const { return struct_pid + struct_upid; }
    // crash stops reading before numbers[0].ns, so no pid passes its
    // "upid.ns == init_pid_ns" test.
    bool short_read() const { return xarray && flexible() && crash_pid < wanted(); }
};

PidLayout read_pid_layout() {
    PidLayout p;
    p.xarray = (tt->flags & PID_XARRAY) && !(tt->flags & ACTIVE_ONLY);
    p.numbers = offset_table.pid_numbers >= 0;
    p.crash_pid = size_table.pid;
    guarded("datatype_info", [&] {
        p.struct_pid = datatype_info(cstr("pid"), nullptr, STRUCT_SIZE_REQUEST);
        p.struct_upid = datatype_info(cstr("upid"), nullptr, STRUCT_SIZE_REQUEST);
    });
    if (p.numbers)
        guarded("get_array_length", [&] { p.numbers_len = get_array_length(cstr("pid.numbers"), nullptr, 0); });
    return p;
}

std::string size_note(const PidLayout& p) {
    return fmt::format("struct pid {} + struct upid {}: numbers[] is flexible", p.struct_pid, p.struct_upid);
}

// The kernel's nr_threads (every task but the idle tasks), read fresh.
std::optional<long> kernel_nr_threads() {
    struct syment* sp = nullptr;
    guarded("symbol_search", [&] { sp = symbol_search(cstr("nr_threads")); });
    if (!sp) return std::nullopt;
    int value = 0, ok = 0;
    ulong addr = sp->value;
    guarded("readmem", [&] {
        ok = readmem(addr, KVADDR, &value, sizeof value, cstr("nr_threads"), RETURN_ON_ERROR | QUIET);
    });
    if (!ok || value < 0) return std::nullopt;
    return value;
}

long idle_task_count() {
    long n = 0;
    for (int i = 0; i < kt->cpus && i < NR_CPUS; ++i)
        if (tt->idle_threads && tt->idle_threads[i]) ++n;
    return n;
}

struct Context {
    ulong task = 0;
    ulong pid = 0;
    int cpu = 0;
    std::string comm;
};

std::optional<Context> current_context() {
    const struct task_context* tc = tt->current;
    if (!tc) return std::nullopt;
    Context c;
    c.task = tc->task;
    c.pid = tc->pid;
    c.cpu = tc->processor;
    c.comm.assign(tc->comm, strnlen(tc->comm, sizeof tc->comm));
    return c;
}

// crash's table before a rebuild, to put back if the rebuild fails.
struct SavedTable {
    std::vector<struct task_context> contexts;
    std::vector<struct tgid_context> tgids;
    ulong running = 0;
    ulong flags = 0;
    long pid_size = 0;
    long current = -1;  // index of tt->current in context_array
};

SavedTable save_table() {
    SavedTable s;
    s.running = tt->running_tasks;
    s.flags = tt->flags;
    s.pid_size = size_table.pid;
    s.contexts.assign(tt->context_array, tt->context_array + s.running);
    s.tgids.assign(tt->tgid_array, tt->tgid_array + s.running);
    if (tt->current) s.current = tt->current - tt->context_array;
    return s;
}

void restore_table(const SavedTable& s) {
    size_table.pid = s.pid_size;
    // A refresh that jumped out may have left crash's task hash open.
    try {
        guarded("hq_close", [] { hq_close(); });
    } catch (const CrashFault&) {
    }
    // The arrays only grow (allocate_task_space), so the old entries fit.
    std::copy(s.contexts.begin(), s.contexts.end(), tt->context_array);
    std::copy(s.tgids.begin(), s.tgids.end(), tt->tgid_array);
    tt->running_tasks = s.running;
    // Unindexed until sort_context_array() rebuilds context_by_task:
    // task_to_context() then searches the array itself.
    tt->flags = s.flags & ~static_cast<ulong>(INDEXED_CONTEXTS);
    tt->current = tt->context_array + (s.current >= 0 ? s.current : 0);
    try {
        guarded("sort_context_array", [] { sort_context_array(); });
    } catch (const CrashFault&) {
    }
}

struct task_context* context_of(ulong task) {
    for (ulong i = 0; i < tt->running_tasks; ++i)
        if (tt->context_array[i].task == task) return &tt->context_array[i];
    return nullptr;
}

// Sets SIZE(pid) and rebuilds crash's task table as task_init() built it:
// refresh_task_table(), then the context arrays sorted by pid and by task.
// The current context stays on its task. On failure the old table is back.
void rebuild_task_table(long pid_size, ulong keep_task) {
    SavedTable saved = save_table();
    size_table.pid = pid_size;
    // On a dump file crash fills its table once: refresh_*_task_table()
    // returns at once when TASK_INIT_DONE is set.
    const ulong init_done = DUMPFILE() ? (tt->flags & TASK_INIT_DONE) : 0;
    tt->flags &= ~init_done;
    bool refreshed = true;
    try {
        guarded("refresh_task_table", [] { tt->refresh_task_table(); });
    } catch (const CrashFault&) {
        refreshed = false;
    }
    tt->flags |= init_done;
    if (!refreshed) {
        restore_table(saved);
        throw Error("taskfix: crash could not rebuild its task table; the old table is back");
    }
    if (tt->running_tasks < saved.running) {
        ulong got = tt->running_tasks;
        restore_table(saved);
        throw Error(fmt::format("taskfix: the rebuilt task table held {} tasks, fewer than the {} before; the old "
                                "table is back",
                                got, saved.running));
    }
    // The refresh refilled context_array in place: tt->current points at
    // whatever task now sits in its old slot. Put it back on its task before
    // sort_context_array() reads it.
    struct task_context* cur = context_of(keep_task);
    tt->current = cur ? cur : tt->context_array;
    guarded("sort_context_array", [] {
        sort_context_array();
        sort_tgid_array();
    });
}

// crash 8.0.2 sizes the x86_64 exception stacks by the names in its table
// for 5.8+ kernels, which has no name at ESTACK_MCE (3): stkinfo.esize[3]
// stays 0 while the TSS gives that stack a base, and every bt of an on-CPU
// task fails reading it ("invalid size request: 0", "read of stack at ...
// failed"). The kernel's own sizes are in struct cea_exception_stacks.
struct StackFix {
    int index = 0;
    std::string name;  // the kernel's: "MCE" for ESTACK_MCE and MCE_stack
    long before = 0, after = 0;
};

std::vector<StackFix> exception_stack_fixes() {
    std::vector<StackFix> fixes;
#ifdef X86_64
    struct machine_specific* ms = machdep ? machdep->machspec : nullptr;
    if (!ms || kt->cpus <= 0) return fixes;
    for (const char* name : {"DF", "NMI", "DB", "MCE", "VC", "VC2"}) {
        const std::string enumerator = std::string("ESTACK_") + name;
        const std::string member = std::string(name) + "_stack";
        long index = -1, size = -1;
        int found = 0;
        guarded("enumerator_value", [&] { found = enumerator_value(cstr(enumerator.c_str()), &index); });
        if (!found || index < 0 || index >= MAX_EXCEPTION_STACKS) continue;
        if (ms->stkinfo.esize[index] != 0 || !ms->stkinfo.ebase[0][index]) continue;
        guarded("datatype_info", [&] {
            size = datatype_info(cstr("cea_exception_stacks"), cstr(member.c_str()), MEMBER_SIZE_REQUEST);
        });
        if (size <= 0) continue;
        fixes.push_back({static_cast<int>(index), name, 0, size});
    }
#endif
    return fixes;
}

// What x86_64_ist_init() does for the stacks it knows: the TSS gives the
// top of each stack; its base is top - size.
void apply_stack_fix(const StackFix& f) {
#ifdef X86_64
    struct machine_specific* ms = machdep->machspec;
    const int i = f.index;
    for (int c = 0; c < kt->cpus && c < NR_CPUS; ++c) {
        if (!ms->stkinfo.ebase[c][i]) continue;
        ms->stkinfo.ebase[c][i] -= static_cast<ulong>(f.after);
        int ok = 0;
        ulong base = ms->stkinfo.ebase[c][i];
        guarded("accessible", [&] { ok = accessible(base); });
        ms->stkinfo.available[c][i] = ok ? 1 : 0;
    }
    ms->stkinfo.esize[i] = static_cast<int>(f.after);
    // Its label in bt and `help -m` ("(unknown)" in crash's table); never
    // freed, as crash's own labels are not.
    const char* label = ms->stkinfo.exception_stacks[i];
    if (!label || std::strcmp(label, "(unknown)") == 0) {
        if (char* copy = strdup(f.name.c_str())) ms->stkinfo.exception_stacks[i] = copy;
    }
#else
    (void)f;
#endif
}

enum class Action { None, WouldRepair, Repaired };

const char* action_name(Action a) {
    switch (a) {
    case Action::None: return "none";
    case Action::WouldRepair: return "would_repair";
    case Action::Repaired: return "repaired";
    }
    return "?";
}

struct Report {
    PidLayout pid;
    Action action = Action::None;
    std::string table_reason;  // why the task table needs no repair, "" when it does
    std::vector<StackFix> stacks;
    long pid_size_after = 0;
    ulong before = 0, after = 0;
    std::size_t kernel = 0;  // netdbg's walk of the task list
    std::optional<Context> context_before, context_after;
    std::string verdict;
    std::vector<std::string> findings;
    bool table_fixed() const { return table_reason.empty(); }
};

// Why crash's table needs no repair, or "" when it does.
std::string no_repair_reason(const PidLayout& p, ulong crash_tasks, std::size_t kernel_tasks) {
    if (!p.xarray) return "crash does not build its task table from the pid xarray";
    if (!p.numbers) return "struct pid has no numbers member";
    if (p.numbers_len != 0)
        return fmt::format("struct pid.numbers has {} entr{}, not a flexible array", p.numbers_len,
                           p.numbers_len == 1 ? "y" : "ies");
    if (!p.flexible()) return "the sizes of struct pid and struct upid are unknown";
    if (p.crash_pid >= p.wanted())
        return fmt::format("SIZE(pid) is already {}", p.crash_pid);
    if (crash_tasks >= kernel_tasks) return "it holds every task (this crash reads pid.numbers[] itself)";
    return "";
}

std::string stack_change(const StackFix& f) {
    return fmt::format("{} exception stack {} -> {} bytes", f.name, f.before, f.after);
}

std::string verdict(const Report& r) {
    std::vector<std::string> changes;
    if (r.table_fixed())
        changes.push_back(r.action == Action::Repaired
                              ? fmt::format("tasks: {} -> {} (netdbg's task walk: {})", r.before, r.after, r.kernel)
                              : fmt::format("tasks: {} -> {} expected", r.before, r.kernel));
    for (const auto& f : r.stacks) changes.push_back(stack_change(f));
    std::string list;
    for (const auto& c : changes) list += (list.empty() ? "" : ", ") + c;
    switch (r.action) {
    case Action::Repaired: return "crash repaired: " + list;
    case Action::WouldRepair: return "crash needs taskfix: " + list + " (-n: nothing changed)";
    case Action::None: break;
    }
    return fmt::format("crash needs no repair: {}; tasks: {} (netdbg's task walk: {}); nothing changed",
                       r.table_reason, r.before, r.kernel);
}

Report taskfix(Kernel& k, bool dry_run) {
    if (!(tt->flags & TASK_INIT_DONE)) throw Error("taskfix: crash's task table is not initialized yet");
    Report r;
    r.pid = read_pid_layout();
    r.pid_size_after = r.pid.crash_pid;
    r.before = r.after = tt->running_tasks;
    r.context_before = r.context_after = current_context();
    TaskWalk walk = for_each_task(k);
    r.kernel = walk.tasks.size();
    r.table_reason = no_repair_reason(r.pid, r.before, r.kernel);
    r.stacks = exception_stack_fixes();

    if (r.table_fixed() || !r.stacks.empty()) r.action = dry_run ? Action::WouldRepair : Action::Repaired;
    if (r.table_fixed()) r.pid_size_after = r.pid.wanted();
    if (r.action == Action::Repaired) {
        // The stacks first: nothing there can fail half-way.
        for (const auto& f : r.stacks) apply_stack_fix(f);
        if (r.table_fixed()) {
            try {
                rebuild_task_table(r.pid.wanted(), r.context_before ? r.context_before->task : 0);
            } catch (const Error& e) {
                if (r.stacks.empty()) throw;
                throw Error(std::string(e.what()) + " (the exception stack sizes are corrected)");
            }
            r.pid_size_after = size_table.pid;
            r.after = tt->running_tasks;
            r.context_after = current_context();
        }
    }
    r.verdict = verdict(r);
    if (r.action != Action::WouldRepair && r.after != r.kernel)
        r.findings.push_back(fmt::format("crash's task table holds {} tasks, netdbg's walk of the task list {}",
                                         r.after, r.kernel));
    if (r.context_before && r.context_after && r.context_before->task != r.context_after->task)
        r.findings.push_back(fmt::format("the current context moved from task {:016x} (gone from the table)",
                                         r.context_before->task));
    for (const auto& p : walk.problems) r.findings.push_back("task walk: " + p);
    return r;
}

std::string context_line(const Context& c) {
    return fmt::format("PID: {}  TASK: {:016x}  CPU: {}  COMMAND: \"{}\"", c.pid, c.task, c.cpu, c.comm);
}

void render(const Report& r, Output& out) {
    out.write(r.verdict + "\n");
    if (r.action != Action::None) {
        if (r.table_fixed())
            out.write(fmt::format("  SIZE(pid): {} -> {}  ({})\n", r.pid.crash_pid, r.pid_size_after,
                                  size_note(r.pid)));
        else
            out.write("  TASK TABLE: no repair: " + r.table_reason + "\n");
        for (const auto& f : r.stacks)
            out.write(fmt::format("  EXCEPTION STACK {} ({}): {} -> {}  (cea_exception_stacks.{}_stack)\n", f.index,
                                  f.name, f.before, f.after, f.name));
    }
    if (r.action == Action::Repaired && r.context_after)
        out.write("  CONTEXT: " + context_line(*r.context_after) + "\n");
    for (const auto& f : r.findings) out.write("  FINDING: " + f + "\n");
}

json context_json(const std::optional<Context>& c) {
    if (!c) return nullptr;
    return {{"task", hex(c->task)}, {"pid", c->pid}, {"cpu", c->cpu}, {"comm", c->comm}};
}

json report_json(const Report& r, bool dry_run) {
    json j;
    j["command"] = "taskfix";
    j["verdict"] = r.verdict;
    j["action"] = action_name(r.action);
    j["dry_run"] = dry_run;
    j["task_table"] = {
        {"repair", r.table_fixed()},
        {"reason", r.table_fixed() ? json(nullptr) : json(r.table_reason)},
        {"pid_xarray", r.pid.xarray},
        {"pid_numbers_length", r.pid.numbers ? json(r.pid.numbers_len) : json(nullptr)},
        {"struct_pid_size", r.pid.struct_pid},
        {"struct_upid_size", r.pid.struct_upid},
        {"crash_pid_size", {{"before", r.pid.crash_pid}, {"after", r.pid_size_after}}},
    };
    j["tasks"] = {{"before", r.before}, {"after", r.after}, {"kernel", r.kernel}};
    j["exception_stacks"] = json::array();
    for (const auto& f : r.stacks)
        j["exception_stacks"].push_back(
            {{"index", f.index}, {"name", f.name}, {"size", {{"before", f.before}, {"after", f.after}}}});
    j["context"] = {{"before", context_json(r.context_before)}, {"after", context_json(r.context_after)}};
    j["findings"] = r.findings;
    return j;
}

int run(Kernel& k, const std::vector<std::string>& args, Output& out) {
    Options o("taskfix");
    o.add()("n,dry-run", "report only")("json", "JSON output");
    o.parse(args);
    if (!o.positional().empty()) throw Error("taskfix: takes no arguments (usage: taskfix [-n] [--json])");
    const bool dry_run = o.has("dry-run");
    Report r = taskfix(k, dry_run);
    if (o.has("json"))
        write_json(out, report_json(r, dry_run));
    else
        render(r, out);
    return r.findings.empty() ? 0 : 1;
}

}  // namespace

std::optional<std::string> taskfix_notice() {
    try {
        if (!(tt->flags & TASK_INIT_DONE)) return std::nullopt;
        std::vector<std::string> problems;
        PidLayout p = read_pid_layout();
        auto threads = kernel_nr_threads();
        if (p.short_read() && threads) {
            long kernel = *threads + idle_task_count();
            long crash = static_cast<long>(tt->running_tasks);
            if (crash < kernel)
                problems.push_back(fmt::format("its task table holds {} of the kernel's {} tasks (SIZE(pid) {} stops "
                                               "before pid.numbers[0]): ps, bt, set and foreach miss the others",
                                               crash, kernel, p.crash_pid));
        }
        for (const auto& f : exception_stack_fixes())
            problems.push_back(fmt::format("bt fails on on-CPU tasks ({} exception stack size 0)", f.name));
        if (problems.empty()) return std::nullopt;
        std::string line = "netdbg: crash misreads this kernel: ";
        for (std::size_t i = 0; i < problems.size(); ++i) line += (i ? "; " : "") + problems[i];
        return line + "; \"taskfix\" repairs it";
    } catch (...) {
        return std::nullopt;
    }
}

Command taskfix_command() {
    return make_command("taskfix", run);
}

}  // namespace netdbg::crashglue
