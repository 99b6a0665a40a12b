"""netdbg in gdb on a live kernel: the rtnl-stuck guest booted with a QEMU
gdbstub (dumps/live-guest.sh), stopped, and every command run from gdb in
batch over `target remote`. Answers are checked against the manifest the
live guest printed; the page cache must be kept while the target stays
stopped and dropped once it ran."""
import json
import re
import subprocess
import tempfile
from pathlib import Path

import pytest

from crashrun import BCACHE, REPO, json_of
from gdbrun import invocations, run_gdb

SCENARIO = "rtnl-stuck"
LIVE_GUEST = REPO / "dumps" / "live-guest.sh"


def boot(scenario, kaslr=False):
    state = Path(tempfile.mkdtemp(prefix="netdbg-live-"))
    env = {"NETDBG_KASLR": "1"} if kaslr else {}
    import os
    subprocess.run([str(LIVE_GUEST), "start", scenario, str(state)], check=True, stdout=subprocess.DEVNULL,
                   env={**os.environ, **env}, timeout=3600)
    values = dict(line.split("=", 1) for line in (state / "env").read_text().split())
    return state, values


def stop(state):
    subprocess.run([str(LIVE_GUEST), "stop", str(state)], timeout=120)


@pytest.fixture(scope="module")
def guest():
    state, env = boot(SCENARIO)
    try:
        yield env, json.loads(Path(env["MANIFEST"]).read_text())
    finally:
        stop(state)


def modules_dir(kaslr=False):
    # The exact .ko files the guest's initramfs loaded.
    return BCACHE / "build" / (SCENARIO + ("-kaslr" if kaslr else "")) / "root" / "lib" / "modules"


# The pid current on each CPU, read by gdb's own expression evaluator (not
# netdbg) at the same stop as `cpus`: rq->curr of the per-CPU runqueues.
CURR_PIDS = ("python print(' '.join(str(int(gdb.parse_and_eval("
             "'((struct rq *)((unsigned long)&runqueues + __per_cpu_offset[%d]))->curr->pid' % c)))"
             " for c in range(int(gdb.parse_and_eval('nr_cpu_ids')))))")


@pytest.fixture(scope="module")
def session(guest):
    env, m = guest
    commands = [
        "rtnlowner --json",                                  # 0
        "uninterruptible --json",                            # 1
        "uninterruptible --group --json",                    # 2
        "lockowner nd_chain_mutex --json",                   # 3
        "python import _netdbg; print(_netdbg.stats())",     # 4
        "rtnlowner",                                         # 5: the stopped target again
        "python import _netdbg; print(_netdbg.stats())",     # 6
        "stepi",                                             # 7: the target runs
        "rtnlowner",                                         # 8
        "python import _netdbg; print(_netdbg.stats())",     # 9
        "netdbg",                                            # 10
        "cpus --json",                                       # 11: registers from the stub's vCPUs
        "kstack -a --json",                                  # 12
        CURR_PIDS,                                           # 13: gdb's own read of each rq->curr
    ]
    parts, raw = run_gdb(commands, remote=f"127.0.0.1:{env['GDB_PORT']}", modules_dir=modules_dir())
    return parts, m


def test_no_kaslr_offset(session):
    parts, _ = session
    assert parts["kaslr"] == ("netdbg: kernel load offset 0 (no KASLR: linux_banner matches vmlinux at its link "
                              "address)")
    assert "loaded 3:" in parts["modules"]


def test_rtnl_owner_and_waiters(session):
    parts, m = session
    j = json_of(parts[0])
    assert j["owner"]["pid"] == m["rtnl_owner"]["pid"]
    assert j["owner"]["comm"] == m["rtnl_owner"]["comm"]
    assert j["owner"]["work"]["function"].startswith("nd_rtnl_hog_work_fn")
    assert j["owner"]["running_on_cpu"] == m["rtnl_owner"]["cpu"]
    assert [w["pid"] for w in j["waiters"]] == [w["pid"] for w in m["rtnl_waiters"]]
    for w, mw in zip(j["waiters"], m["rtnl_waiters"]):
        assert w["wait_function"] == mw["wchan"]


def test_d_state_tasks_chain_and_deadlock(session):
    parts, m = session
    j = json_of(parts[1])
    assert {t["pid"] for t in j["tasks"]} == {t["pid"] for t in m["uninterruptible"]}
    g = json_of(parts[2])
    ch = m["chain"]
    assert [ch["waiter"]["pid"], ch["holder"]["pid"]] in [[n["pid"] for n in c] for c in g["chains"]]
    assert [sorted(n["pid"] for n in c) for c in g["deadlocks"]] == [sorted([m["abba"]["a"]["pid"],
                                                                            m["abba"]["b"]["pid"]])]
    lo = json_of(parts[3])
    assert lo["mutex"]["name"] == "nd_chain_mutex [nd_rtnl_stuck]"
    assert lo["owner"]["pid"] == ch["holder"]["pid"]


def test_cache_kept_while_stopped_and_dropped_after_running(session):
    parts, _ = session
    s1, s2, s3 = (eval(parts[i]) for i in (4, 6, 9))  # dicts printed by Python
    assert s1["live"] is True and s1["pages"] > 0
    assert s2["read_calls"] == s1["read_calls"], "the stopped target was read again"
    assert s3["read_calls"] > s2["read_calls"], "the target ran, yet the cache answered"
    assert parts[8].splitlines()[0].startswith("rtnl_mutex held by")


def test_every_command_runs_live(guest):
    env, m = guest
    lines = [line for _, line in invocations()]
    parts, raw = run_gdb(lines, remote=f"127.0.0.1:{env['GDB_PORT']}", modules_dir=modules_dir(), timeout=1800)
    for i, line in enumerate(lines):
        assert parts[i].strip(), f"{line}: no output"
        assert "internal error" not in parts[i], f"{line}: {parts[i]}"
    assert "Traceback" not in raw
    assert f"rtnl_mutex held by {m['rtnl_owner']['comm']} (pid {m['rtnl_owner']['pid']}" in \
        parts[lines.index("rtnlowner")]


def test_remote_requests_of_rtnlowner(guest, record_property):
    """The remote memory requests of rtnlowner over the gdbstub, recorded
    (bench/gdb_remote_requests.py's measure(): gdb's own packet log, not
    netdbg's counters alone) in BUILD/gdb-live-requests.json and as test
    properties; a count, never a time."""
    import sys
    sys.path.insert(0, str(REPO / "bench"))
    import gdb_remote_requests
    from crashrun import BUILD
    env, _ = guest
    r = gdb_remote_requests.measure(env["GDB_PORT"], modules_dir())
    (BUILD / "gdb-live-requests.json").write_text(json.dumps(r, indent=1) + "\n")
    for tag, v in r.items():
        for k in ("pages", "read_calls", "local_reads", "packets"):
            record_property(f"rtnlowner_{tag}_{k}", v[k])
    cold, warm, resume = r["cold"], r["warm"], r["resume"]
    print(f"rtnlowner cold: {cold['packets']} packets, {cold['read_calls']} remote pages, "
          f"{cold['local_reads']} pages from vmlinux")
    assert cold["packets"] is not None, "gdb's `set debug remote` log showed no memory-read packet"
    # QEMU answers at most 2 KiB per packet: each remote page is one packet or more.
    assert cold["packets"] >= cold["read_calls"] > 0
    # Every page came from gdb or from the vmlinux file (the target's own
    # per-CPU reads go to gdb outside the page cache).
    assert cold["pages"] <= cold["read_calls"] + cold["local_reads"]
    assert warm["pages"] == warm["read_calls"] == warm["packets"] == 0, "the stopped target was read again"
    assert resume["read_calls"] > 0, "the target ran, yet the cache answered"


def test_readonly_sections_from_vmlinux_answer_as_the_stub(guest):
    """Reads inside the kernel image's read-only sections (.text,
    .orc_unwind_ip, .orc_unwind...) come from the vmlinux file on a live
    target: the same commands with those reads sent to the stub instead
    must print the same bytes, and the file must really have answered."""
    env, m = guest
    commands = ["rtnlowner --json", "uninterruptible --group --json", "lockowner nd_chain_mutex --json"]
    stats = "python import _netdbg; print(_netdbg.stats())"
    toggle = "python import _netdbg; _netdbg.local_reads(%s)"
    lines = [toggle % "True", *commands, stats, toggle % "False", *commands, stats]
    parts, raw = run_gdb(lines, remote=f"127.0.0.1:{env['GDB_PORT']}", modules_dir=modules_dir())
    n = len(commands)
    on, off = [parts[1 + i] for i in range(n)], [parts[n + 3 + i] for i in range(n)]
    s_on, s_off = eval(parts[n + 1]), eval(parts[2 * n + 3])
    for command, a, b in zip(commands, on, off):
        assert json_of(a) == json_of(b), f"{command}: answers differ with the read-only sections read from gdb"
    assert json_of(on[0])["owner"]["pid"] == m["rtnl_owner"]["pid"]
    assert s_on["local_sections"] > 0 and s_on["local_reads"] > 0, s_on
    assert s_off["local_reads"] == s_on["local_reads"], "read from vmlinux although turned off"
    assert s_off["read_calls"] > s_on["read_calls"]


def test_cpus_reads_each_vcpus_registers_from_the_stub(session):
    """Each CPU's task is the one gdb itself reads in its rq->curr. The hog
    spins with cond_resched(), so at the instant gdb stops the guest another
    task (a per-CPU kthread of the RT kernel, say) may be current on the
    hog's CPU: only when the hog is current must its row show it holding
    rtnl_mutex and its call chain come from that CPU's registers."""
    parts, m = session
    j = json_of(parts[11])
    owner = m["rtnl_owner"]
    assert all(c["registers"] is not None for c in j["cpus"]), [c["problems"] for c in j["cpus"]]
    curr = [int(p) for p in parts[13].split()]
    assert [c["task"]["pid"] for c in j["cpus"]] == curr
    k = json_of(parts[12])
    hog = next(t for t in k["tasks"] if t["pid"] == owner["pid"])
    assert "nd_rtnl_hog_work_fn" in [f["function"] for f in hog["call_chain"]["frames"]]
    row = j["cpus"][owner["cpu"]]
    if curr[owner["cpu"]] == owner["pid"]:
        assert row["mode"] == "kernel"
        assert any(h["name"] == "rtnl_mutex" for h in row["holds"]), row["holds"]
        assert hog["call_chain"]["source"] == f"orc from CPU {owner['cpu']} registers"
