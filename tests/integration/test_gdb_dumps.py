"""netdbg in gdb on the ELF dumps (vmcore.elf): the answers checked against
each scenario's manifest (written in the guest from /proc), gdb's help,
completion and cache behaviour. Output equality with crash is
test_parity.py's business."""
import json
import re

import pytest

from crashrun import dump_dir, json_of, manifest
from gdbrun import invocations, run_gdb, scenarios

SCENARIO = "rtnl-stuck"
M = manifest(SCENARIO)
MODULES = dump_dir(SCENARIO) / "modules"


@pytest.fixture(scope="module")
def session():
    commands = [
        "rtnlowner --json",                          # 0
        "uninterruptible --json",                    # 1
        "uninterruptible --group --json",            # 2
        "lockowner nd_chain_mutex --json",           # 3
        "lockowner nd_abba_mutex_a --json",          # 4
        "lockowner jiffies",                         # 5
        "lockowner no_such_symbol_anywhere",         # 6
        "rtnlowner bogus",                           # 7
        "help rtnlowner",                            # 8
        "complete lockowner nd_chain_mu",            # 9
        "complete uninterruptible --gro",            # 10
        "netdbg -v",                                 # 11
        "netdbg -v",                                 # 12: the same pages again
        "python import _netdbg; print(_netdbg.stats())",  # 13
        "rtnlowner",                                 # 14
        "p rtnl_mutex.owner.counter",                # 15: gdb's own read
        "help user-defined",                         # 16
        "netdbg-load-modules",                       # 17: list only
        "uninterruptible --for 1x",                  # 18
        "complete uninterruptible --gr",             # 19: --group or --graph
        "complete aclist --json --a",                # 20
        "p (unsigned long)rtnl_mutex.rtmutex.owner",  # 21: gdb's own read, PREEMPT_RT
    ]
    parts, raw = run_gdb(commands, scenario=SCENARIO, modules_dir=MODULES)
    return parts


def test_kaslr_offset_is_zero_from_vmcoreinfo(session):
    assert session["kaslr"] == "netdbg: kernel load offset 0 (VMCOREINFO KERNELOFFSET=0, linux_banner matches vmlinux)"


def test_modules_are_loaded_at_their_addresses(session):
    assert "loaded 3:" in session["modules"]
    listing = {l.split()[1]: l for l in session[17].splitlines()}
    for mod in M["modules"]:
        # /proc/modules' address is the module's core base, its .text here
        text = int(listing[mod["name"]].split(".text")[1].split()[0], 16)
        assert text == int(mod["address"], 16)


def test_rtnl_owner_and_waiters(session):
    j = json_of(session[0])
    o = M["rtnl_owner"]
    assert j["owner"]["pid"] == o["pid"]
    assert j["owner"]["comm"] == o["comm"]
    assert j["owner"]["work"]["function"].startswith("nd_rtnl_hog_work_fn")
    assert j["owner"]["work"]["workqueue"] == o["workqueue"]
    assert j["owner"]["running_on_cpu"] == o["cpu"]
    assert [w["pid"] for w in j["waiters"]] == [w["pid"] for w in M["rtnl_waiters"]]
    for w, mw in zip(j["waiters"], M["rtnl_waiters"]):
        assert w["wait_function"] == mw["wchan"]
    # gdb's own read of the owner word (an rt_mutex's on PREEMPT_RT), flags stripped.
    read = session[15] if "=" in session[15] else session[21]
    word = int(read.split("=")[1]) & (2**64 - 1)
    assert int(j["owner"]["task"], 16) == word & ~7


def test_uninterruptible_is_the_d_state_set(session):
    j = json_of(session[1])
    assert {t["pid"] for t in j["tasks"]} == {t["pid"] for t in M["uninterruptible"]}
    by_pid = {t["pid"]: t for t in j["tasks"]}
    for t in M["uninterruptible"]:
        assert by_pid[t["pid"]]["wait_function"] == t["wchan"]


def test_chain_and_deadlock(session):
    j = json_of(session[2])
    ch = M["chain"]
    assert [ch["waiter"]["pid"], ch["holder"]["pid"]] in [[n["pid"] for n in c] for c in j["chains"]]
    assert [sorted(n["pid"] for n in c) for c in j["deadlocks"]] == [sorted([M["abba"]["a"]["pid"],
                                                                            M["abba"]["b"]["pid"]])]


def test_lockowner_on_module_mutexes(session):
    j = json_of(session[3])
    assert j["mutex"]["name"] == "nd_chain_mutex [nd_rtnl_stuck]"
    assert j["owner"]["pid"] == M["chain"]["holder"]["pid"]
    assert [w["pid"] for w in j["waiters"]] == [M["chain"]["waiter"]["pid"]]
    a = json_of(session[4])
    assert a["owner"]["pid"] == M["abba"]["a"]["pid"]
    assert [w["pid"] for w in a["waiters"]] == [M["abba"]["b"]["pid"]]


def test_errors_are_one_line_and_gdb_goes_on(session):
    assert session[5] == "lockowner: jiffies is not a struct mutex, rw_semaphore or semaphore (it is unsigned long)"
    assert session[6].startswith("lockowner: no_such_symbol_anywhere: no such symbol")
    assert "takes no arguments" in session[7] and len(session[7].splitlines()) == 1
    assert "not a duration" in session[18]
    assert session[14].startswith("rtnl_mutex held by")


def test_help_is_the_help_page(session):
    text = session[8]
    assert text.splitlines()[0] == "who holds rtnl_mutex, and who waits for it."
    for section in ("SYNOPSIS", "DESCRIPTION", "EXAMPLES"):
        assert section in text
    assert "rtnlowner [-s] [--json]" in text
    assert "(gdb) rtnlowner" in text and "crash>" not in text
    for name, _ in invocations():
        assert re.search(rf"^{re.escape(name)} -- ", session[16], re.M), f"{name} is not a gdb command"


def test_completion(session):
    assert "lockowner nd_chain_mutex" in session[9].splitlines()
    # gdb breaks words at '-': the whole option is completed all the same.
    assert session[10].splitlines() == ["uninterruptible --group"]
    assert sorted(session[19].splitlines()) == ["uninterruptible --graph", "uninterruptible --group"]
    assert session[20].splitlines() == ["aclist --json --all-netns"]


def test_dump_pages_stay_cached(session):
    first, second = session[11], session[12]
    reads = lambda t: int(re.search(r"target reads: (\d+)", t).group(1))
    assert reads(first) == reads(second) > 0
    stats = eval(session[13])  # a dict printed by Python
    assert stats["live"] is False and stats["pages"] == reads(first)


@pytest.mark.parametrize("scenario", scenarios())
def test_every_command_runs_on_every_dump(scenario):
    lines = [line for _, line in invocations()]
    d = dump_dir(scenario)
    m = json.loads((d / "manifest.json").read_text())
    parts, raw = run_gdb(["netdbg"] + lines, scenario=scenario, modules_dir=d / "modules", timeout=1800)
    assert f"kernel release: {m['kernel_release']}" in parts[0]
    assert f"cpus: {m['cpus']}" in parts[0]
    for i, line in enumerate(lines, 1):
        assert parts[i].strip(), f"{line}: no output"
        assert "internal error" not in parts[i], f"{line}: {parts[i]}"
        assert "Traceback" not in parts[i], f"{line}: {parts[i]}"
    assert "Traceback" not in raw
