"""workq on the reset-after-remove dump: every answer is checked against the
scenario's manifest (read in the guest) or an independent reader of the
same dump (crash's own struct/list/rd, drgn on vmcore.elf), never against
netdbg's earlier output."""
import re

import pytest

from crashrun import drgn_program, json_of, manifest, run_crash

SCENARIO = "reset-after-remove"
M = manifest(SCENARIO)
MOD = M["module"]["name"]
R = M["reset"]
F = M["fw"]


@pytest.fixture(scope="module")
def session():
    commands = [
        "workq --json",                                  # 0
        "workq",                                         # 1
        "workq --pending --json",                        # 2
        "workq --busy --json",                           # 3
        f"workq --func {R['function']} --json",          # 4
        "workq --max x",                                 # 5
        "p jiffies",                                     # 6
        f"struct module.state {M['module']['module']}",  # 7
        f"rd -64 {F['work']} 4",                         # 8
        "workq bogus",                                   # 9
        "help workq",                                    # 10
        "workq --func no_such_function_anywhere --json",  # 11
        "struct worker_pool.worklist -o",                # 12
    ]
    parts, _ = run_crash(SCENARIO, commands, modules=[MOD])
    return parts


@pytest.fixture(scope="module")
def wq(session):
    return json_of(session[0])


@pytest.fixture(scope="module")
def follow(session, wq):
    """crash's own reads of what workq named: the reset worker and its task,
    the IRQ CPU's pool and its worklist (one more crash run)."""
    b = by(wq["busy"], "pid")[R["worker"]["pid"]]
    pool = next(p for p in wq["pools"] if p["cpu"] == R["cpu"] and not p["highpri"])
    off = int(re.search(r"\[(\d+)\] struct list_head worklist", session[12]).group(1))
    commands = [
        f"struct worker.current_work,current_func,task {b['worker']}",  # 0
        f"struct task_struct.pid {b['task']}",                          # 1
        f"struct worker_pool.cpu,id {pool['pool']}",                    # 2
        f"list -H {int(pool['pool'], 16) + off:#x} -o work_struct.entry",  # 3
    ]
    parts, _ = run_crash(SCENARIO, commands, modules=[MOD])
    return {"busy": b, "pool": pool, "parts": parts}


def by(items, key):
    return {x[key]: x for x in items}


def crash_value(text):
    v = text.split("=")[-1].strip().rstrip(",")
    mm = re.match(r"(?:\([^)]*\) )?(0x[0-9a-f]+|-?\d+)", v)
    return mm.group(1) if mm else v


def test_reset_work_runs_in_the_manifests_worker_against_a_going_module(wq):
    busy = by(wq["busy"], "pid")
    b = busy[R["worker"]["pid"]]
    assert b["comm"] == R["worker"]["comm"]
    assert int(b["work"], 16) == int(R["work"], 16)
    assert b["symbol"] == R["function"]
    assert b["module"] == MOD and b["module_state"] == "GOING"
    assert b["workqueue"] == R["workqueue"]
    assert b["cpu"] == R["cpu"]
    assert b["running_on_cpu"] == R["cpu"]  # it spins: current on its CPU
    assert b["state"] == "RU"
    assert b["pending"] is True


def test_crash_reads_the_same_worker(follow):
    b, parts = follow["busy"], follow["parts"]
    assert f"current_work = {R['work']}" in parts[0]
    assert f"<{R['function']}>" in parts[0]
    assert f"task = {b['task']}" in parts[0]
    assert crash_value(parts[1]) == str(R["worker"]["pid"])


def test_pending_works_of_the_manifest_are_on_the_irq_cpus_worklist(wq):
    pending = by(wq["pending"], "work")
    for p in M["pending"]:
        q = pending[p["work"]]
        assert q["symbol"] == p["function"]
        assert q["workqueue"] == p["workqueue"]
        assert q["cpu"] == p["cpu"] and q["list"] == "worklist"
        assert q["module"] == MOD and q["module_state"] == "GOING"
        assert "PENDING" in q["flags"] and "PWQ" in q["flags"]
    assert pending[R["work"]]["running"] is True


def test_worklist_order_matches_crashs_list(wq, follow):
    pool, parts = follow["pool"], follow["parts"]
    ours = [int(q["work"], 16) for q in wq["pending"] if q["pool"] == pool["pool"] and q["list"] == "worklist"]
    assert f"cpu = {R['cpu']}" in parts[2] and f"id = {pool['id']}" in parts[2]
    theirs = [int(x, 16) for x in parts[3].split() if re.fullmatch(r"[0-9a-f]{16}", x)]
    assert ours == theirs
    assert pool["worklist"] == len(theirs)
    assert {int(p["work"], 16) for p in M["pending"]} <= set(theirs)


def test_inactive_works_on_the_ordered_workqueue(wq):
    inactive = [q for q in wq["pending"] if q["list"] == "inactive" and q["module"] == MOD]
    assert [int(q["work"], 16) for q in inactive] == [int(x["work"], 16) for x in M["inactive"]]
    for q in inactive:
        assert q["workqueue"] == "nd_rr_fw" and q["symbol"] == "nd_rr_fw_retry_fn"
        assert q["cpu"] is None and "INACTIVE" in q["flags"]


def test_fw_worker_runs_a_freed_work(wq, session):
    b = by(wq["busy"], "pid")[F["worker"]["pid"]]
    assert int(b["work"], 16) == int(F["work"], 16)
    assert b["symbol"] == F["function"] and b["workqueue"] == F["workqueue"]
    assert b["state"] == "UN" and b["cpu"] is None
    assert b["work_memory"] == "poisoned"
    # crash reads the freed work as 0x6b
    assert session[8].count("6b6b6b6b6b6b6b6b") >= 3


def test_delayed_works_with_their_timers(wq, session):
    jiffies = int(crash_value(session[6]))
    assert wq["jiffies"] == jiffies
    assert wq["hz"] == M["hz"]
    delayed = by(wq["delayed"], "work")
    for d in M["delayed"]:
        x = delayed[d["work"]]
        assert x["timer"] == d["timer"]
        assert x["symbol"] == d["function"] and x["workqueue"] == d["workqueue"]
        assert x["cpu"] == d["cpu"] and x["target_cpu"] == d["cpu"]
        assert x["expires"] == d["expires"]
        assert x["expires_in_jiffies"] == d["expires"] - jiffies
        assert x["expires_in_ns"] == (d["expires"] - jiffies) * (10**9 // M["hz"])
        assert x["deferrable"] == bool(d["timer_flags"] & 0x80000)
        assert x["bucket"] == d["timer_flags"] >> 22  # TIMER_ARRAYSHIFT: the wheel's own index
        assert x["module_state"] == "GOING"


def test_findings(wq):
    f = {(x["kind"], x["work"]) for x in wq["findings"]}
    for w in [R["work"], F["work"]] + [p["work"] for p in M["pending"] + M["inactive"] + M["delayed"]]:
        assert ("module_going", w) in f, w
    assert ("running_and_pending", R["work"]) in f
    assert ("poisoned", F["work"]) in f
    fd = M["freed_delayed"]
    timers = [x for x in wq["findings"] if x["kind"] == "timer_poisoned"]
    assert [(t["timer"], t["cpu"]) for t in timers] == [(fd["timer"], fd["cpu"])]
    # nothing else of the module's is flagged, and nothing of the kernel's
    works = {w for _, w in f if w}
    ours = {R["work"], F["work"]} | {p["work"] for p in M["pending"] + M["inactive"] + M["delayed"]}
    assert works == ours


def test_module_state_matches_crash(session):
    assert "MODULE_STATE_GOING" in session[7]
    assert M["module"]["initstate"] == "going"


def test_verdict_and_text(session, wq):
    lines = session[1].splitlines()
    assert lines[0].startswith(f"workq: {len(wq['pools'])} pools, ")
    assert lines[0].endswith(f"; jiffies {wq['jiffies']} (HZ {M['hz']})")
    text = session[1]
    w = R["worker"]
    assert (f"running work {int(R['work'], 16):016x} ({R['function']} [{MOD}]) in {w['comm']} (pid {w['pid']}): "
            f"module {MOD} is being unloaded (state GOING)") in text
    assert f"is running in {w['comm']} (pid {w['pid']}) and pending again" in text
    for h in ("FINDINGS", "BUSY WORKERS", "PENDING WORKS", "DELAYED WORKS", "POOLS"):
        assert h in text


def test_filters(session):
    p = json_of(session[2])
    assert p["busy"] is None and p["pending"] and p["delayed"]
    b = json_of(session[3])
    assert b["pending"] is None and b["delayed"] is None and b["busy"]
    f = json_of(session[4])
    assert {x["symbol"] for x in f["pending"] + f["busy"]} == {R["function"]}
    assert not f["delayed"]
    n = json_of(session[11])
    assert not n["pending"] and not n["busy"] and not n["findings"]


def test_bad_arguments_give_one_line_and_crash_goes_on(session):
    assert "--max wants a number" in session[5]
    assert "jiffies = " in session[6]
    assert "unexpected argument 'bogus'" in session[9]
    assert "SYNOPSIS" in session[10] and "workq [--pending]" in session[10]


def test_every_pool_worklist_and_busy_worker_matches_drgn(wq):
    drgn = pytest.importorskip("drgn")
    from drgn.helpers.linux.percpu import per_cpu
    prog = drgn_program(SCENARIO)
    pools = set()
    for cpu in range(M["cpus"]):
        arr = per_cpu(prog["cpu_worker_pools"], cpu)
        for i in range(len(arr)):
            pools.add(arr[i].address_of_().value_())
    for b in range(len(prog["unbound_pool_hash"])):
        p = prog["unbound_pool_hash"][b].first.value_()
        while p:
            pools.add(p - drgn.offsetof(prog.type("struct worker_pool"), "hash_node"))
            p = prog.read_u64(p)
    assert {int(p["pool"], 16) for p in wq["pools"]} == pools
    worklist, busy = [], set()
    for pa in sorted(pools, key=lambda a: [int(p["pool"], 16) for p in wq["pools"]].index(a)):
        pool = drgn.Object(prog, "struct worker_pool *", pa)
        head = pool.worklist.address_of_().value_()
        n = prog.read_u64(head)
        while n != head:
            worklist.append(n - 8)  # work_struct.entry
            n = prog.read_u64(n)
        for b in range(len(pool.busy_hash)):
            n = pool.busy_hash[b].first.value_()
            while n:
                w = drgn.Object(prog, "struct worker *", n - drgn.offsetof(prog.type("struct worker"), "hentry"))
                busy.add((w.value_(), w.current_work.value_(), w.task.pid.value_()))
                n = prog.read_u64(n)
    assert [int(q["work"], 16) for q in wq["pending"] if q["list"] == "worklist"] == worklist
    assert {(int(b["worker"], 16), int(b["work"], 16), b["pid"]) for b in wq["busy"]} == busy
