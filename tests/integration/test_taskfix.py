"""taskfix on the scenario dumps: crash 8.0.2's task table before and after
the repair, checked against drgn's for_each_task() on the paging ELF of the
same instant, the scenario's manifest (written in the guest) and crash's own
commands (ps, bt, set, foreach, struct), never against taskfix's output."""
import json
import re
import subprocess

import pytest

from crashrun import VMLINUX, dump_dir, json_of, manifest, run_crash

DRGN_TASKS = r"""
import json, sys
import drgn
from drgn.helpers.linux.pid import for_each_task
from drgn.helpers.linux.sched import task_state_to_char
prog = drgn.Program()
prog.set_core_dump(sys.argv[1])
prog.load_debug_info([sys.argv[2]])
print(json.dumps([{"pid": t.pid.value_(), "task": t.value_(), "state": task_state_to_char(t)}
                  for t in for_each_task(prog)]))
"""

PS_ROW = re.compile(r"^(>?)\s+(\d+)\s+(-?\d+)\s+(\d+)\s+([0-9a-f]{16})\s+([A-Z]{2})\s")


def drgn_tasks(scenario):
    """Every task drgn finds in the pid namespace of init (no idle tasks)."""
    d = dump_dir(scenario)
    out = subprocess.run(["/usr/bin/python3", "-c", DRGN_TASKS, str(d / "vmcore.elf"), str(VMLINUX)],
                         check=True, capture_output=True, text=True, timeout=300).stdout
    return json.loads(out)


def ps_rows(text):
    """crash `ps` rows: (active, pid, task, state)."""
    rows = []
    for line in text.splitlines():
        m = PS_ROW.match(line)
        if m:
            rows.append((m.group(1) == ">", int(m.group(2)), int(m.group(5), 16), m.group(6)))
    return rows


def struct_size(text):
    return int(re.search(r"^SIZE: (\d+)", text, re.M).group(1))


def crash_size_table(text, name):
    """crash's own SIZE() value as `help -o` prints it."""
    return int(re.search(rf"^\s+{name}: (\d+)$", text, re.M).group(1))


def scenarios():
    from crashrun import CACHE
    found = sorted(p.parent.name for p in (CACHE / "dumps").glob("*/manifest.json")
                   if (p.parent / "vmcore").exists() and (p.parent / "vmcore.elf").exists())
    return found or ["rtnl-stuck"]


COMMON = [
    "ps",                                   # 0  before
    "set",                                  # 1
    "help -o",                              # 2  crash's SIZE(pid) before
    "taskfix -n --json",                    # 3
    "ps",                                   # 4  after -n: unchanged
    "taskfix --json",                       # 5
    "ps",                                   # 6  after
    "set",                                  # 7
    "help -o",                              # 8
    "taskfix --json",                       # 9  second run
    "ps",                                   # 10
    "foreach UN ps",                        # 11
    "struct pid -o",                        # 12
    "struct upid",                          # 13
    "bt -a",                                # 14
    "struct cea_exception_stacks -o",       # 15
    "taskfix -n",                           # 16 text, after the repair
    "taskfix bogus",                        # 17
]


@pytest.fixture(scope="module", params=scenarios())
def run(request):
    scenario = request.param
    extra = []
    m = manifest(scenario)
    if scenario == "rtnl-stuck":
        extra = (["rtnlowner -s --json"] + [f"bt {w['pid']}" for w in m["rtnl_waiters"]]
                 + [f"bt {m['rtnl_owner']['pid']}"])
    commands = COMMON + extra
    # rtnlowner -s before the repair too, to see the chain source change.
    if scenario == "rtnl-stuck":
        commands = ["rtnlowner -s --json"] + commands
    parts, raw = run_crash(scenario, commands, modules=["nd_rtnl_stuck"] if scenario == "rtnl-stuck" else ())
    # Index by command position in COMMON (+ extras), whatever came first.
    off = 1 if scenario == "rtnl-stuck" else 0
    out = {i: parts[i + off] for i in range(len(commands) - off)}
    pre = parts[0] if off else None
    return {"scenario": scenario, "m": m, "out": out, "raw": raw, "pre": pre,
            "drgn": drgn_tasks(scenario)}


def test_before_only_idle_and_on_cpu_tasks(run):
    rows = ps_rows(run["out"][0])
    cpus = run["m"]["cpus"]
    assert sum(1 for r in rows if r[1] == 0) == cpus
    # Everything else crash kept is a task on a CPU (crash marks those '>').
    assert all(r[1] == 0 or r[0] for r in rows)
    assert len(rows) < len(run["drgn"]) + cpus


def test_extend_says_taskfix_is_needed(run):
    rows = ps_rows(run["out"][0])
    line = next(l for l in run["raw"].splitlines() if l.startswith("netdbg: crash misreads this kernel"))
    assert '"taskfix" repairs it' in line
    m = re.search(r"holds (\d+) of the kernel's (\d+) tasks", line)
    assert int(m.group(1)) == len(rows)
    assert int(m.group(2)) == len(run["drgn"]) + run["m"]["cpus"]


def test_dry_run_changes_nothing(run):
    j = json_of(run["out"][3])
    assert j["action"] == "would_repair" and j["dry_run"] is True
    before = ps_rows(run["out"][0])
    assert j["tasks"]["before"] == len(before)
    assert j["tasks"]["kernel"] == len(run["drgn"]) + run["m"]["cpus"]
    assert ps_rows(run["out"][4]) == before
    # crash's SIZE(pid) is still sizeof(struct pid).
    assert crash_size_table(run["out"][2], "pid") == struct_size(run["out"][12])


def test_ps_lists_exactly_the_kernels_tasks(run):
    rows = ps_rows(run["out"][6])
    cpus = run["m"]["cpus"]
    assert sum(1 for r in rows if r[1] == 0) == cpus
    crash_tasks = {(r[1], r[2]) for r in rows if r[1] != 0}
    drgn = {(t["pid"], t["task"]) for t in run["drgn"]}
    assert crash_tasks == drgn
    j = json_of(run["out"][5])
    assert j["action"] == "repaired"
    assert j["tasks"]["before"] == len(ps_rows(run["out"][0]))
    assert j["tasks"]["after"] == len(rows) == j["tasks"]["kernel"]
    assert j["findings"] == []


def test_manifest_pids_are_in_ps(run):
    m = run["m"]
    pids = {r[1] for r in ps_rows(run["out"][6])}
    want = {t["pid"] for t in m.get("uninterruptible", [])}
    if "rtnl_owner" in m and m["rtnl_owner"]:
        want.add(m["rtnl_owner"]["pid"])
    want |= {w["pid"] for w in m.get("rtnl_waiters", [])}
    assert want <= pids


def test_size_of_pid_is_pid_plus_one_upid(run):
    pid_size = struct_size(run["out"][12])
    upid_size = struct_size(run["out"][13])
    assert re.search(r"struct upid numbers\[\];", run["out"][12])  # the flexible array
    assert crash_size_table(run["out"][8], "pid") == pid_size + upid_size
    j = json_of(run["out"][5])
    assert j["task_table"]["crash_pid_size"] == {"before": pid_size, "after": pid_size + upid_size}


def test_current_context_kept(run):
    before = re.search(r"TASK: ([0-9a-f]+)", run["out"][1]).group(1)
    after = re.search(r"TASK: ([0-9a-f]+)", run["out"][7]).group(1)
    assert before == after
    j = json_of(run["out"][5])
    assert int(j["context"]["after"]["task"], 16) == int(before, 16)


def test_second_taskfix_is_a_no_op(run):
    j = json_of(run["out"][9])
    assert j["action"] == "none"
    assert j["task_table"]["repair"] is False
    assert "already" in j["task_table"]["reason"]
    assert j["exception_stacks"] == []
    assert j["tasks"]["before"] == j["tasks"]["after"]
    assert ps_rows(run["out"][10]) == ps_rows(run["out"][6])
    assert run["out"][16].startswith("crash needs no repair:") and "nothing changed" in run["out"][16]


def test_foreach_un_lists_the_d_state_tasks(run):
    rows = ps_rows(run["out"][11])
    assert all(r[3] == "UN" for r in rows)
    listed = {r[1] for r in rows}
    assert listed == {t["pid"] for t in run["drgn"] if t["state"] == "D"}
    in_manifest = {t["pid"] for t in run["m"].get("uninterruptible", [])}
    assert in_manifest <= listed
    if in_manifest:
        assert rows


def test_bt_of_on_cpu_tasks_works(run):
    text = run["out"][14]
    assert "invalid size request" not in text and "read of stack" not in text
    # One trace per CPU, each with frames.
    traces = re.split(r"^PID: ", text, flags=re.M)[1:]
    assert len(traces) == run["m"]["cpus"]
    assert all(re.search(r"^\s*#0 ", t, re.M) for t in traces)
    j = json_of(run["out"][5])
    mce = struct_size_member(run["out"][15], "MCE_stack")
    assert {"index": 3, "name": "MCE", "size": {"before": 0, "after": mce}} in j["exception_stacks"]


def struct_size_member(text, member):
    m = re.search(rf"char {member}\[(\d+)\];", text)
    return int(m.group(1))


def test_bad_argument(run):
    assert "taskfix: takes no arguments" in run["out"][17]


def test_rtnl_waiters_bt_shows_mutex_lock(run):
    if run["scenario"] != "rtnl-stuck":
        pytest.skip("rtnl_lock() waiters only in rtnl-stuck")
    m = run["m"]
    base = len(COMMON) + 1
    for i, w in enumerate(m["rtnl_waiters"]):
        text = run["out"][base + i]
        assert text.startswith(f"PID: {w['pid']} ")
        assert re.search(r"\b__mutex_lock\S* at ", text)
        # The function that called rtnl_lock(), as /proc/PID/stack showed it.
        assert f" {w['stack'][0].split('+')[0]} at " in text


def test_rtnlowner_chain_from_crash_bt_after_taskfix(run):
    if run["scenario"] != "rtnl-stuck":
        pytest.skip("rtnl owner only in rtnl-stuck")
    before = json_of(run["pre"])["owner"]["call_chain"]
    after = json_of(run["out"][len(COMMON)])["owner"]["call_chain"]
    assert before["source"] == "stack scan"  # crash could not unwind the on-CPU owner
    assert after["source"] == "unwinder"
    work_fn = run["m"]["rtnl_owner"]["work_fn"].split()[0]
    symbols = [f["symbol"] for f in after["frames"]]
    first = next(i for i, s in enumerate(symbols) if s.startswith(work_fn + "+"))
    if first:
        # The dump caught the spinning owner in an interrupt: the frames above
        # the work function must be the ones crash's own bt shows on the IRQ stack.
        bt = run["out"][len(COMMON) + 1 + len(run["m"]["rtnl_waiters"])]
        irq, marker, _ = bt.partition("--- <IRQ stack> ---")
        assert marker, bt
        for s in symbols[:first]:
            assert f" {s.split('+')[0]} at " in irq or f"RIP: {s.split('+')[0]}+" in irq, (s, bt)
    assert any(f["symbol"].startswith("process_one_work+") for f in after["frames"])
