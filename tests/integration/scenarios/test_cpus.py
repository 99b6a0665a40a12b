"""cpus and kstack on the `cpus` dump: the stuck CPU, its task, how long it
has run (the module's own sched_info.last_arrival and local_clock() at the
spin's start), the mutex it holds and its waiters, the soft-lockup
watchdog's timestamps, idle CPUs and RCU against drgn; the CPU registers
against the NT_PRSTATUS notes of vmcore.elf, read here; and kstack of the
deep sleeper against the /proc/PID/stack the guest recorded (every frame,
func+off [module], in order) and of the spinner against the module's call
path. The same commands in gdb on vmcore.elf give the same JSON."""
import struct

import pytest
from drgn.helpers.linux.percpu import per_cpu

from crashrun import dump_dir, drgn_program, json_of, manifest, run_crash
from elfnotes import elf_notes
from gdbrun import run_gdb

SCENARIO = "cpus"
M = manifest(SCENARIO)
MOD = "nd_cpus"
SP, MX, DEEP, WD = M["spinner"], M["mutex"], M["deep"], M["watchdog"]
CPU = SP["cpu"]
# How a kthread's stack begins on this kernel, as /proc/PID/stack showed it
# for nd_deep (kthread, ret_from_fork; ret_from_fork_asm on 6.12).
THREAD_START = [f.split("+")[0] for f in DEEP["stack"][DEEP["stack"].index(
    next(f for f in DEEP["stack"] if f.startswith("kthread+"))):]]


def commands():
    return [
        "cpus --json",                        # 0
        "cpus",                               # 1
        f"kstack {DEEP['pid']} --json",       # 2
        f"kstack {DEEP['pid']}",              # 3
        "kstack -a --json",                   # 4
        f"kstack {SP['task']} --json",        # 5: by task address
        "kstack 999999",                      # 6
        "kstack",                             # 7
        "help cpus",                          # 8
        "help kstack",                        # 9
        "cpus -v",                            # 10
    ]


@pytest.fixture(scope="module")
def session():
    parts, _ = run_crash(SCENARIO, commands(), modules=[MOD], timeout=1800)
    return parts


@pytest.fixture(scope="module")
def cpus(session):
    return json_of(session[0])


@pytest.fixture(scope="module")
def drgn():
    return drgn_program(SCENARIO)


@pytest.fixture(scope="module")
def rqs(drgn):
    n = M["cpus"]
    return [per_cpu(drgn["runqueues"], i) for i in range(n)]


def prstatus_notes():
    """(rip, rsp, eflags, cs) of each NT_PRSTATUS note of vmcore.elf, in
    note order (QEMU writes them in CPU order)."""
    out = []
    for _, ntype, desc in elf_notes(dump_dir(SCENARIO) / "vmcore.elf"):
        if ntype == 1:  # NT_PRSTATUS: pr_reg at +112, user_regs_struct
            regs = struct.unpack_from("<27Q", desc, 112)
            out.append({"ip": regs[16], "cs": regs[17], "flags": regs[18], "sp": regs[19]})
    return out


def frame_text(f):
    off = f"{f['function']}+{f['offset']:#x}"
    return off + (f" [{f['module']}]" if f["module"] else "")


def test_the_stuck_cpu_is_the_spinners(cpus, drgn):
    assert cpus["stuck"] == [CPU]
    row = cpus["cpus"][CPU]
    assert row["task"]["pid"] == SP["pid"]
    assert row["task"]["task"] == "0x%016x" % int(SP["task"], 16)
    assert row["idle"] is False
    assert row["mode"] == "kernel"
    assert row["softlockup"]["stuck"] is True
    assert cpus["verdicts"][0].startswith(f"CPU{CPU} stuck ")
    # The dump may stop the CPU inside an interrupt (HARDIRQ_MASK 0xf0000 of
    # its preempt count): its preempt depth is then not the spinner's alone.
    if preempt_count(drgn, CPU) & 0xf0000:
        assert f"in nd_spinner (pid {SP['pid']}, nd_spin_loop [nd_cpus]), caught in a hardirq" in cpus["verdicts"][0]
    else:
        assert f"in nd_spinner (pid {SP['pid']}, nd_spin_loop [nd_cpus]) with preemption off" in cpus["verdicts"][0]


def test_running_time_against_the_modules_timestamps(cpus, rqs):
    now = max(rq.clock.value_() for rq in rqs)
    assert cpus["now_ns"] == now
    row = cpus["cpus"][CPU]
    # last_arrival was recorded by the module once preemption was off: no
    # switch can have happened since.
    assert row["task"]["last_arrival_ns"] == SP["last_arrival_ns"]
    assert row["running_for_ns"] == now - SP["last_arrival_ns"]
    assert row["running_for_ns"] >= now - SP["spin_start_ns"]
    assert row["running_for_ns"] - (now - SP["spin_start_ns"]) < 100_000_000  # it began to spin at once
    assert row["running_for_ns"] / 1e9 > WD["softlockup_thresh"]


def test_it_holds_the_mutex_its_waiters_wait_for(cpus):
    holds = cpus["cpus"][CPU]["holds"]
    mutex = [h for h in holds if h["name"].startswith(MX["name"])]
    assert len(mutex) == 1, holds
    assert mutex[0]["kind"] == "mutex"
    assert mutex[0]["object"] == "0x%016x" % int(MX["address"], 16)
    assert mutex[0]["waiters"] == len(MX["waiters"])
    assert "holds nd_cpus_mutex [nd_cpus] (2 waiters)" in cpus["verdicts"][0]
    for other in cpus["cpus"]:
        if other["cpu"] != CPU:
            assert not any(h["name"].startswith(MX["name"]) for h in other["holds"])


def preempt_count(prog, cpu):
    """The CPU's preempt count: the per-CPU __preempt_count (6.1), or
    pcpu_hot.preempt_count where the kernel moved it there."""
    try:
        return per_cpu(prog["__preempt_count"], cpu).value_()
    except KeyError:
        return per_cpu(prog["pcpu_hot"], cpu).preempt_count.value_()


def test_preempt_count_and_watchdog_against_drgn(cpus, drgn):
    for row in cpus["cpus"]:
        c = row["cpu"]
        raw = preempt_count(drgn, c) & 0xffffffff
        assert int(row["preempt_count"]["raw"], 16) == raw
        assert row["preempt_count"]["preempt"] == raw & 0xff
        assert row["softlockup"]["touch_ts"] == per_cpu(drgn["watchdog_touch_ts"], c).value_()
        assert row["softlockup"]["thresh_s"] == WD["softlockup_thresh"]
    spin = cpus["cpus"][CPU]
    assert spin["preempt_count"]["preempt"] >= 1
    assert "preempt off" in spin["context"]
    # the kernel reported the lockup; the dump was taken later
    assert spin["softlockup"]["age_s"] >= WD["lockup_stuck_for_s"]
    assert cpus["watchdog"]["watchdog_thresh"] == WD["watchdog_thresh"]
    assert cpus["watchdog"]["softlockup_panic"] == WD["softlockup_panic"]
    assert cpus["hung_task"]["timeout_secs"] == WD["hung_task_timeout_secs"]


def test_idle_cpus_are_the_ones_running_their_idle_task(cpus, rqs):
    idle = [i for i, rq in enumerate(rqs) if rq.curr.value_() == rq.idle.value_()]
    assert [r["cpu"] for r in cpus["cpus"] if r["idle"]] == idle
    assert any(i != CPU for i in idle), "the scenario wants a second CPU idle"
    for r in cpus["cpus"]:
        assert r["task"]["task"] == "0x%016x" % rqs[r["cpu"]].curr.value_()
        assert r["nr_running"] == rqs[r["cpu"]].nr_running.value_()


def test_rcu_holdup_against_the_rcu_node_tree(cpus, drgn):
    st = drgn["rcu_state"]
    seq = st.gp_seq.value_()
    in_progress = seq & 3 != 0
    assert cpus["rcu"]["gp_in_progress"] == in_progress
    qsmask = st.node[0].qsmask.value_()  # 4 CPUs: the root is the only leaf
    for r in cpus["cpus"]:
        assert r["holds_up_rcu_gp"] == (in_progress and bool(qsmask >> r["cpu"] & 1))
    # preemption off since before any grace period that could still be in progress
    if in_progress:
        assert cpus["cpus"][CPU]["holds_up_rcu_gp"]


def test_registers_are_the_dumps_notes(cpus):
    notes = prstatus_notes()
    assert len(notes) == len(cpus["cpus"])
    for r, n in zip(cpus["cpus"], notes):
        assert r["registers"]["ip"] == "0x%016x" % n["ip"]
        assert r["registers"]["sp"] == "0x%016x" % n["sp"]
        assert r["registers"]["irqs_off"] == (not n["flags"] & 0x200)
        assert r["mode"] == ("user" if n["cs"] & 3 else "kernel")


def test_kstack_of_the_deep_sleeper_is_its_proc_stack(session, drgn):
    j = json_of(session[2])
    t = j["tasks"][0]
    assert t["pid"] == DEEP["pid"] and t["running_on_cpu"] is None
    chain = t["call_chain"]
    assert chain["source"] == "orc" and chain["complete"] is True
    # /proc/PID/stack leaves out the scheduler's functions (in_sched_functions())
    lo = drgn.symbol("__sched_text_start").address
    hi = drgn.symbol("__sched_text_end").address
    lock_lo = drgn.symbol("__lock_text_start").address
    lock_hi = drgn.symbol("__lock_text_end").address
    frames = [f for f in chain["frames"]
              if not (lo <= int(f["pc"], 16) < hi or lock_lo <= int(f["pc"], 16) < lock_hi)]
    want = [s.split("/")[0] + (" [nd_cpus]" if s.endswith("[nd_cpus]") else "") for s in DEEP["stack"]]
    assert [frame_text(f) for f in frames] == want
    module = [f["function"] for f in chain["frames"] if f["module"] == MOD]
    assert module == DEEP["path"]
    assert len(module) >= 8
    # the scheduler part is there too, and every slot is on the task's stack
    assert chain["frames"][0]["function"] == "__schedule"
    assert all(f["stack"] == "task" and f["slot"] for f in chain["frames"])


def test_kstack_text(session):
    text = session[3]
    assert text.startswith(f"PID: {DEEP['pid']}  TASK: {int(DEEP['task'], 16):016x}")
    assert "CALL CHAIN: orc, complete" in text
    assert "nd_deep_4+0x18 [nd_cpus]" in text


def test_kstack_of_the_spinner_from_its_cpus_registers(session):
    for j in (json_of(session[5]),):
        t = j["tasks"][0]
        assert t["pid"] == SP["pid"] and t["running_on_cpu"] == CPU
        chain = t["call_chain"]
        assert chain["source"] == f"orc from CPU {CPU} registers"
        assert chain["complete"] is True, chain["note"]
        funcs = [f["function"] for f in chain["frames"]]
        # Under any interrupt (on the IRQ stack, or entry code on the task
        # stack): from the last place the code was interrupted at (an exact
        # pc on the task stack), the module's path, then kthread.
        frames = chain["frames"]
        last = max(i for i, f in enumerate(frames) if f["exact"] and f["stack"] == "task")
        assert [f["function"] for f in frames[last:]] == SP["path"] + THREAD_START, funcs
        assert all(f["stack"] == "task" for f in frames[last:])


def test_kstack_all_is_every_cpus_current_task(session, cpus):
    j = json_of(session[4])
    assert [t["task"] for t in j["tasks"]] == [r["task"]["task"] for r in cpus["cpus"]]
    assert [t["running_on_cpu"] for t in j["tasks"]] == [r["cpu"] for r in cpus["cpus"]]
    for t in j["tasks"]:
        assert t["call_chain"]["complete"], (t["pid"], t["call_chain"]["note"])


def test_bad_arguments_are_one_line(session):
    assert session[6].strip() == "kstack: no task with pid 999999"
    assert session[7].strip().startswith("kstack: usage:")


def test_text_and_help(session):
    text = session[1]
    first = text.splitlines()[0]
    assert first.startswith(f"CPU{CPU} stuck ") and "holds nd_cpus_mutex [nd_cpus] (2 waiters)" in first
    assert f"soft lockup after {WD['softlockup_thresh']}s (watchdog_thresh {WD['watchdog_thresh']})" in text
    assert f"CPU {CPU}: nd_spinner (pid {SP['pid']}): orc from CPU {CPU} registers, complete" in text
    assert "SYNOPSIS" in session[8] and "cpus [-v] [--json]" in session[8]
    assert "SYNOPSIS" in session[9] and "kstack <pid|task>" in session[9]
    assert "WATCHDOG: touch_ts" in session[10]


def test_gdb_gives_the_same_answers(session):
    parts, _ = run_gdb(["cpus --json", f"kstack {DEEP['pid']} --json", "kstack -a --json"], scenario=SCENARIO,
                       modules_dir=dump_dir(SCENARIO) / "modules", timeout=1800)
    assert json_of(parts[0]) == json_of(session[0])
    assert json_of(parts[1]) == json_of(session[2])
    assert json_of(parts[2]) == json_of(session[4])


def test_kstack_shows_the_calls_inlined_at_each_frame(session, drgn):
    t = json_of(session[2])["tasks"][0]
    frames = t["call_chain"]["frames"]
    # The module says which of its calls the compiler inlined.
    inlined = {f["function"]: f["inlined"] for f in frames if f["module"] == MOD and f["inlined"]}
    assert inlined == DEEP["inlined"]
    assert "nd_deep_inline (inlined)" in session[3]
    # vmlinux's frames: as drgn's stack_trace() groups its inline frames by pc.
    by_pc = {}
    from drgn import Object
    for f in drgn.stack_trace(Object(drgn, "struct task_struct *", value=int(DEEP["task"], 16))):
        by_pc.setdefault(f.pc, []).append(f.name if f.is_inline else None)
    compared = 0
    for f in frames:
        names = by_pc.get(int(f["pc"], 16))
        if f["module"] is None and names:
            assert f["inlined"] == [n for n in names if n], f
            compared += 1
    assert compared >= 3
