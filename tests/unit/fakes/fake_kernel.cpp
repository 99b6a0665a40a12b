#include "fake_kernel.h"

#include "core/command.h"
#include "core/kernel.h"

namespace netdbg::test {

namespace {

void common_types(FakeTarget& t) {
    t.add_struct("list_head", 16, {{"next", 0, 8}, {"prev", 8, 8}});

    t.add_struct("sched_info", 32,
                 {{"pcount", 0, 8}, {"run_delay", 8, 8}, {"last_arrival", 0x10, 8}, {"last_queued", 0x18, 8}});

    t.add_struct("thread_struct", 64, {{"es", 0, 2}, {"sp", 0x18, 8}});

    t.add_struct("rq", 0x200, {{"nr_running", 0x4, 4}, {"clock", 0x80, 8}, {"curr", 0x100, 8}, {"idle", 0x108, 8}});

    t.add_struct("mutex", 32, {{"owner", 0, 8}, {"wait_lock", 8, 4}, {"wait_list", 16, 16}});

    // CONFIG_DEBUG_MUTEXES-like: the list is not at offset 0, so offset
    // mix-ups between the waiter, its node and its task show.
    t.add_struct("mutex_waiter", 40, {{"magic", 0, 8}, {"list", 8, 16}, {"task", 24, 8}, {"ww_ctx", 32, 8}});

    t.add_struct("kthread", 64, {{"flags", 0, 8}, {"cpu", 8, 4}, {"data", 0x18, 8}});

    t.add_struct("worker", 0x100,
                 {{"entry", 0, 16},
                  {"current_work", 0x10, 8},
                  {"current_func", 0x18, 8},
                  {"current_pwq", 0x20, 8},
                  {"desc", 0x80, 24}});

    t.add_struct("pool_workqueue", 0x100, {{"pool", 0, 8}, {"wq", 8, 8}});

    t.add_struct("workqueue_struct", 0x200, {{"pwqs", 0, 16}, {"name", 0x100, 24}});

    t.add_struct("work_struct", 32, {});
}

void task_common(FakeTarget& t) {
    t.add_struct("task_struct", 0x600,
                 {{"tasks", 0x100, 16},
                  {"exit_state", 0x110, 4},
                  {"pid", 0x118, 4},
                  {"tgid", 0x11c, 4},
                  {"sched_info", 0x140, 32},
                  {"last_switch_time", 0x1a0, 8},
                  {"comm", 0x1b0, 16},
                  {"signal", 0x1c8, 8},
                  {"set_child_tid", 0x1d8, 8},
                  {"thread", 0x500, 64}});
}

}  // namespace

void add_linux61_layout(FakeTarget& t) {
    common_types(t);
    task_common(t);
    t.add_struct("thread_info", 24, {{"flags", 0, 8}, {"syscall_work", 8, 8}, {"status", 0x10, 4}, {"cpu", 0x14, 4}});
    t.add_members("task_struct", {{"thread_info", 0x10, 24},
                                  {"__state", 0x30, 4},
                                  {"stack", 0x38, 8},
                                  {"flags", 0x44, 4},
                                  {"on_cpu", 0x48, 4},
                                  {"thread_node", 0x180, 16},
                                  {"worker_private", 0x1d0, 8}});
    t.add_struct("signal_struct", 0x100, {{"nr_threads", 0x4, 4}, {"thread_head", 0x10, 16}});
}

void add_legacy_layout(FakeTarget& t) {
    common_types(t);
    task_common(t);
    t.add_struct("thread_info", 16, {{"flags", 0, 8}, {"status", 8, 4}});
    t.add_members("task_struct", {{"thread_info", 0, 16},
                                  {"state", 0x10, 8},
                                  {"stack", 0x18, 8},
                                  {"flags", 0x24, 4},
                                  {"on_cpu", 0x28, 4},
                                  {"cpu", 0x2c, 4},
                                  {"thread_group", 0x190, 16}});
    t.add_struct("signal_struct", 0x100, {{"nr_threads", 0x4, 4}});
}

void add_list_poison_text(FakeTarget& t, addr_t delta) {
    // mov (%rdi),%rdx; mov 0x8(%rdi),%rcx; movabs $P1,%rax; cmp %rax,%rdx;
    // movabs $P2,%rax; cmp %rax,%rcx; ret
    std::vector<std::uint8_t> code = {0x48, 0x8b, 0x17, 0x48, 0x8b, 0x4f, 0x08};
    auto movabs = [&](std::uint64_t v) {
        code.push_back(0x48);
        code.push_back(0xb8);
        for (int i = 0; i < 8; ++i) code.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
    };
    movabs(0x100 + delta);
    code.insert(code.end(), {0x48, 0x39, 0xc2});
    movabs(0x122 + delta);
    code.insert(code.end(), {0x48, 0x39, 0xc1, 0xc3});
    t.map(kListDelEntryValid, 0x100);
    t.poke(kListDelEntryValid, code.data(), code.size());
    t.add_symbol("__list_del_entry_valid", kListDelEntryValid);
}

// ------------------------------------------------------------ FakeKernel

namespace {
const std::set<std::string> kSchedFuncs = {"__schedule",
                                           "schedule",
                                           "schedule_preempt_disabled",
                                           "schedule_timeout",
                                           "io_schedule",
                                           "__mutex_lock.constprop.0",
                                           "__mutex_lock_slowpath",
                                           "mutex_lock",
                                           "rwsem_down_write_slowpath"};
const std::set<std::string> kLockFuncs = {"_raw_spin_lock_irqsave", "_raw_spin_lock"};

const char* const kStateNames[] = {"R (running)", "S (sleeping)", "D (disk sleep)", "T (stopped)",
                                   "t (tracing stop)", "X (dead)", "Z (zombie)", "P (parked)", "I (idle)"};
}  // namespace

FakeKernel::FakeKernel(int cpus, Layout l) : layout(l) {
    if (l == Layout::Linux61)
        add_linux61_layout(target);
    else
        add_legacy_layout(target);

    target.add_symbol("_stext", kStext);
    target.add_symbol("_etext", kEtext);
    target.add_symbol("__sched_text_start", kSchedTextStart);
    target.add_symbol("__sched_text_end", kSchedTextEnd);
    target.add_symbol("__lock_text_start", kLockTextStart);
    target.add_symbol("__lock_text_end", kLockTextEnd);
    add_list_poison_text(target);

    // fs/proc/array.c:task_state_array
    target.map(kTaskStateArray, 0x2000);
    target.add_symbol("task_state_array", kTaskStateArray, std::string("const char * const [9]"), 9);
    addr_t strings = kTaskStateArray + 0x1000;
    for (std::size_t i = 0; i < 9; ++i) {
        addr_t s = strings + 0x20 * i;
        img.str(s, kStateNames[i]);
        img.u64(kTaskStateArray + 8 * i, s);
    }

    target.map(kJiffies, 8);
    target.add_symbol("jiffies", kJiffies, std::string("unsigned long"));
    img.u64(kJiffies, 0x100004000ULL);

    target.map(kRtnlMutex, 32);
    target.add_symbol("rtnl_mutex", kRtnlMutex, std::string("struct mutex"));
    img.list_init(kRtnlMutex + img.offset("mutex", "wait_list"));

    // per-CPU runqueues
    std::vector<addr_t> offs;
    for (int c = 0; c < cpus; ++c) offs.push_back(kPerCpuBase + 0x100000ULL * c);
    target.set_cpus(offs);
    target.add_symbol("runqueues", kRunqueues, std::string("struct rq"));
    for (int c = 0; c < cpus; ++c) target.map(rq(c), img.size("rq"));

    // init_task: CPU 0's idle task and the head of init_task.tasks.
    target.map(init_task, img.size("task_struct"));
    target.add_symbol("init_task", init_task, std::string("struct task_struct"));
    // (init_stack is not given a symbol: heap objects would symbolize near it)
    addr_t stack = img.alloc(target.thread_size(), target.thread_size());
    img.write(init_task, "task_struct", "stack", stack);
    img.write(init_task + img.offset("task_struct", "thread"), "thread_struct", "sp",
              stack + target.thread_size() - 0x400);
    img.write(init_task, "task_struct", "pid", 0);
    img.write_str(init_task, "task_struct", "comm", "swapper/0");
    img.write(init_task, "task_struct", "flags", kPF_KTHREAD);
    img.list_init(init_task + img.offset("task_struct", "tasks"));
    if (img.has("task_struct", "thread_group")) img.list_init(init_task + img.offset("task_struct", "thread_group"));
    idle.push_back(init_task);
    for (int c = 0; c < cpus; ++c) {
        if (c > 0) add_idle(c);
        img.write(rq(c), "rq", "curr", idle[c]);
        img.write(rq(c), "rq", "idle", idle[c]);
    }
}

void FakeKernel::add_idle(int cpu) {
    TaskSpec s;
    s.pid = 0;
    s.comm = "swapper/" + std::to_string(cpu);
    s.cpu = cpu;
    s.flags = kPF_KTHREAD;
    idle.push_back(new_task(s));
}

addr_t FakeKernel::func(const std::string& name) {
    auto it = funcs_.find(name);
    if (it != funcs_.end()) return it->second;
    addr_t* next = kSchedFuncs.count(name) ? &next_sched_ : kLockFuncs.count(name) ? &next_lock_ : &next_text_;
    addr_t a = *next;
    *next += 0x100;
    target.map(a, 0x100);
    target.add_symbol(name, a);
    funcs_[name] = a;
    return a;
}

addr_t FakeKernel::ret(const std::string& name) { return img.call_site(func(name) + 0x25); }

void FakeKernel::set_cpu(addr_t task, int cpu) {
    if (img.has("task_struct", "cpu"))
        img.write(task, "task_struct", "cpu", cpu);
    else
        img.write(task + img.offset("task_struct", "thread_info"), "thread_info", "cpu", cpu);
}

void FakeKernel::set_state(addr_t task, std::uint64_t state) {
    img.write(task, "task_struct", img.has("task_struct", "__state") ? "__state" : "state", state);
}

addr_t FakeKernel::sp_of(addr_t task) const {
    return img.read(task + img.offset("task_struct", "thread"), "thread_struct", "sp");
}

addr_t FakeKernel::new_task(const TaskSpec& spec) {
    addr_t t = img.alloc("task_struct", 64);
    std::size_t ts = target.thread_size();
    addr_t stack = img.alloc(ts, ts);
    img.write(t, "task_struct", "stack", stack);
    img.write(t + img.offset("task_struct", "thread"), "thread_struct", "sp", stack + ts - 0x400);
    img.write(t, "task_struct", "pid", static_cast<std::uint32_t>(spec.pid));
    img.write(t, "task_struct", "tgid", static_cast<std::uint32_t>(spec.tgid ? spec.tgid : spec.pid));
    img.write_str(t, "task_struct", "comm", spec.comm);
    set_state(t, spec.state);
    img.write(t, "task_struct", "exit_state", spec.exit_state);
    img.write(t, "task_struct", "flags", spec.flags);
    set_cpu(t, spec.cpu);
    img.write(t + img.offset("task_struct", "sched_info"), "sched_info", "last_arrival", spec.last_arrival);
    img.write(t, "task_struct", "last_switch_time", 0x100000000ULL + spec.pid);
    if (img.has("task_struct", "thread_group")) img.list_init(t + img.offset("task_struct", "thread_group"));
    return t;
}

addr_t FakeKernel::signal_of(addr_t task) { return img.read(task, "task_struct", "signal"); }

addr_t FakeKernel::add_process(const TaskSpec& spec) {
    addr_t t = new_task(spec);
    img.list_add_tail(t + img.offset("task_struct", "tasks"), init_task + img.offset("task_struct", "tasks"));
    addr_t sig = img.alloc("signal_struct");
    img.write(t, "task_struct", "signal", sig);
    if (img.has("signal_struct", "thread_head")) {
        addr_t head = sig + img.offset("signal_struct", "thread_head");
        img.list_init(head);
        img.list_add_tail(t + img.offset("task_struct", "thread_node"), head);
    }
    return t;
}

addr_t FakeKernel::add_thread(addr_t leader, const TaskSpec& spec) {
    TaskSpec s = spec;
    if (!s.tgid) s.tgid = static_cast<int>(img.read(leader, "task_struct", "tgid"));
    addr_t t = new_task(s);
    addr_t sig = signal_of(leader);
    img.write(t, "task_struct", "signal", sig);
    if (img.has("task_struct", "thread_node"))
        img.list_add_tail(t + img.offset("task_struct", "thread_node"), sig + img.offset("signal_struct", "thread_head"));
    if (img.has("task_struct", "thread_group"))
        img.list_add_tail(t + img.offset("task_struct", "thread_group"), leader + img.offset("task_struct", "thread_group"));
    return t;
}

void FakeKernel::put_frames(addr_t task, std::size_t offset, const std::vector<std::string>& funcs) {
    addr_t sp = sp_of(task);
    for (std::size_t i = 0; i < funcs.size(); ++i) img.u64(sp + offset + 8 * i, ret(funcs[i]));
}

void FakeKernel::set_clock(int cpu, std::uint64_t ns) { img.write(rq(cpu), "rq", "clock", ns); }

void FakeKernel::set_curr(int cpu, addr_t task) {
    img.write(rq(cpu), "rq", "curr", task);
    img.write(task, "task_struct", "on_cpu", 1);
}

addr_t FakeKernel::new_mutex(const std::string& symbol) {
    addr_t m;
    if (symbol.empty()) {
        m = img.alloc("mutex", 64);
    } else {
        m = next_data_;
        next_data_ += 0x40;
        target.map(m, img.size("mutex"));
        target.add_symbol(symbol, m, std::string("struct mutex"));
    }
    img.list_init(m + img.offset("mutex", "wait_list"));
    return m;
}

void FakeKernel::set_owner(addr_t mutex, addr_t task, std::uint64_t flags) {
    img.write(mutex, "mutex", "owner", task | flags);
}

addr_t FakeKernel::block_on_mutex(addr_t task, addr_t mutex, const std::string& caller) {
    addr_t sp = sp_of(task);
    put_frames(task, 0, {"__schedule", "schedule", "schedule_preempt_disabled", "__mutex_lock.constprop.0"});
    addr_t waiter = sp + kWaiterOffset;
    img.write(waiter, "mutex_waiter", "task", task);
    img.list_add_tail(waiter + img.offset("mutex_waiter", "list"), mutex + img.offset("mutex", "wait_list"));
    put_frames(task, 0x80, {"__mutex_lock_slowpath", "mutex_lock", caller, "do_syscall_64"});
    std::uint64_t owner = img.read(mutex, "mutex", "owner");
    img.write(mutex, "mutex", "owner", owner | 1);  // MUTEX_FLAG_WAITERS
    set_state(task, TASK_UNINTERRUPTIBLE);
    return waiter;
}

addr_t FakeKernel::make_kworker(addr_t task, const std::string& fn, const std::string& wq_name) {
    std::uint32_t flags = static_cast<std::uint32_t>(img.read(task, "task_struct", "flags"));
    img.write(task, "task_struct", "flags", flags | kPF_KTHREAD | kPF_WQ_WORKER);
    addr_t kthread = img.alloc("kthread");
    img.write(task, "task_struct", img.has("task_struct", "worker_private") ? "worker_private" : "set_child_tid",
              kthread);
    addr_t worker = img.alloc("worker");
    img.write(kthread, "kthread", "data", worker);
    addr_t work = img.alloc("work_struct");
    addr_t wq = img.alloc("workqueue_struct");
    img.write_str(wq, "workqueue_struct", "name", wq_name);
    addr_t pwq = img.alloc("pool_workqueue", 256);
    img.write(pwq, "pool_workqueue", "wq", wq);
    img.write(worker, "worker", "current_work", work);
    img.write(worker, "worker", "current_func", func(fn));
    img.write(worker, "worker", "current_pwq", pwq);
    return worker;
}

std::string FakeKernel::run(const std::string& command, const std::vector<std::string>& args, int* rc) {
    const Command* c = find_command(command);
    if (!c) throw std::logic_error("no command " + command);
    Kernel k(target);
    StringOutput out;
    int r = c->run(k, args, out);
    if (rc) *rc = r;
    return out.str;
}

nlohmann::ordered_json FakeKernel::run_json(const std::string& command, std::vector<std::string> args, int* rc) {
    args.push_back("--json");
    return nlohmann::ordered_json::parse(run(command, args, rc));
}

SchedScenario::SchedScenario() {
    fk.set_clock(0, 1000 * kSec);
    fk.set_clock(1, 999 * kSec);
}

addr_t SchedScenario::task(int pid, std::uint64_t last_arrival_s, std::uint64_t state, int cpu) {
    return fk.add_process({.pid = pid,
                           .comm = "t" + std::to_string(pid),
                           .state = state,
                           .cpu = cpu,
                           .last_arrival = last_arrival_s * kSec});
}

}  // namespace netdbg::test
