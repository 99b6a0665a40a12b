"""netdbg on the rtnl-stuck dump: every answer is checked against the
scenario's manifest (read in the guest from /proc) or crash's own reads
of the same dump, never against netdbg's earlier output."""
import re

import pytest

from crashrun import drgn_program, json_of, manifest, run_crash

SCENARIO = "rtnl-stuck"
M = manifest(SCENARIO)
ALL_D = {t["pid"] for t in M["uninterruptible"]}
# The module's waiters, in the order it started them. Other tasks may queue
# behind them before the dump (addrconf_verify_work's kworker, ...): the
# whole queue comes from an independent reader (rtnl_queue below).
WAITERS = [w["pid"] for w in M["rtnl_waiters"]]


def rtnl_queue():
    """([(task address, pid)] of rtnl_mutex's waiters in queue order, as drgn
    reads them: wait_list, or on PREEMPT_RT the rt_mutex's waiter tree in
    priority order; whether the kernel is PREEMPT_RT)."""
    from drgn.helpers.linux.list import list_for_each_entry
    from drgn.helpers.linux.rbtree import rbtree_inorder_for_each_entry

    prog = drgn_program(SCENARIO)
    m = prog["rtnl_mutex"]
    rt = m.type_.has_member("rtmutex")
    if rt:
        tree = m.rtmutex.waiters.rb_root.address_of_()
        member = "tree.entry" if prog.type("struct rt_mutex_waiter").has_member("tree") else "tree_entry"
        ws = rbtree_inorder_for_each_entry("struct rt_mutex_waiter", tree, member)
    else:
        ws = list_for_each_entry("struct mutex_waiter", m.wait_list.address_of_(), "list")
    return [(w.task.value_(), w.task.pid.value_()) for w in ws], rt


QUEUE, RT = rtnl_queue()


def ts(seconds):
    return int(round(seconds * 1e9))


@pytest.fixture(scope="module")
def session():
    commands = [
        "rtnlowner --json",                      # 0
        "rtnlowner",                             # 1
        "rtnlowner -s",                          # 2
        "uninterruptible --json",                # 3
        "uninterruptible --group --json",        # 4
        "uninterruptible --all --json",          # 5
        "lockowner nd_chain_mutex --json",       # 6
        "lockowner 0xdeadbeef",                  # 7
        "p jiffies",                             # 8
        "lockowner jiffies",                     # 9
        "lockowner no_such_symbol_anywhere",     # 10
        "p rtnl_mutex.rtmutex.owner" if RT else "p rtnl_mutex.owner",  # 11
        "p &rtnl_mutex.wait_list",               # 12
        "help rtnlowner",                        # 13
        "uninterruptible --group",               # 14
        "lockowner nd_abba_mutex_a --json",      # 15
        "uninterruptible --for 1x",              # 16
        "rtnlowner bogus",                       # 17
        "p jiffies",                             # 18
    ]
    parts, raw = run_crash(SCENARIO, commands, modules=["nd_rtnl_stuck"])
    return parts


def test_rtnl_owner_is_the_hog_kworker(session):
    j = json_of(session[0])
    o = M["rtnl_owner"]
    assert j["owner"]["pid"] == o["pid"]
    assert j["owner"]["comm"] == o["comm"]
    assert j["owner"]["work"]["function"].startswith("nd_rtnl_hog_work_fn")
    assert j["owner"]["work"]["workqueue"] == o["workqueue"]
    assert j["owner"]["running_on_cpu"] == o["cpu"]
    # crash's own read of rtnl_mutex.owner (on PREEMPT_RT rtmutex.owner),
    # flags stripped.
    owner_word = int(re.search(r"(?:counter = |\) )(0x[0-9a-f]+|-?\d+)", session[11]).group(1), 0) & (2**64 - 1)
    assert int(j["owner"]["task"], 16) == owner_word & ~7
    assert "WAITERS" in j["mutex"]["flags"]


def test_rtnl_waiters_in_queue_order(session):
    j = json_of(session[0])
    assert [w["pid"] for w in j["waiters"]][:len(WAITERS)] == WAITERS
    assert [(int(w["task"], 16), w["pid"]) for w in j["waiters"]] == QUEUE
    if not RT:
        # crash's own walk of the wait list gives the same tasks in the same order.
        head = re.search(r"\) (0x[0-9a-f]+) <rtnl_mutex", session[12]).group(1)
        parts, _ = run_crash(SCENARIO, [f"list -H {head} -o mutex_waiter.list -s mutex_waiter.task"])
        crash_tasks = [int(x, 16) for x in re.findall(r"task = (0x[0-9a-f]+)", parts[0])]
        assert [int(w["task"], 16) for w in j["waiters"]] == crash_tasks
    for w, mw in zip(j["waiters"], M["rtnl_waiters"]):
        assert w["comm"] == mw["comm"]
        assert w["state"] == "UN"
        assert w["wait_function"] == mw["wchan"]


def test_rtnl_hold_time_is_oldest_waiter(session):
    j = json_of(session[0])
    oldest = max(w["since_last_arrival_ns"] for w in j["waiters"])
    assert j["held_for_at_least_ns"] == oldest
    # The first waiter started after rtnl was taken and has waited since.
    first = M["rtnl_waiters"][0]
    assert j["waiters"][0]["last_arrival_ns"] >= ts(M["rtnl_owner"]["rtnl_taken_ts"])
    assert abs(j["waiters"][0]["last_arrival_ns"] - ts(first["started_ts"])) < ts(1.0)


def test_rtnl_verdict_line(session):
    first = session[1].strip().splitlines()[0]
    o = M["rtnl_owner"]
    assert first.startswith(f"rtnl_mutex held by {o['comm']} (pid {o['pid']}, running nd_rtnl_hog_work_fn [nd_rtnl_stuck]) for >= ")
    assert first.endswith(f"; {len(QUEUE)} waiters")


def test_rtnlowner_stack_shows_the_work_function(session):
    text = session[2]
    chain = text[text.index("OWNER CALL CHAIN"):]
    assert "nd_rtnl_hog_work_fn" in chain
    assert "process_one_work" in chain
    assert "worker_thread" in chain


def test_uninterruptible_lists_exactly_the_d_state_tasks(session):
    j = json_of(session[3])
    assert {t["pid"] for t in j["tasks"]} == ALL_D
    by_pid = {t["pid"]: t for t in j["tasks"]}
    for t in M["uninterruptible"]:
        assert by_pid[t["pid"]]["comm"] == t["comm"]
        assert by_pid[t["pid"]]["wait_function"] == t["wchan"]
    # Oldest first.
    arrivals = [t["last_arrival_ns"] for t in j["tasks"]]
    assert arrivals == sorted(arrivals)


def test_uninterruptible_names_each_blocker(session):
    j = json_of(session[3])
    by_pid = {t["pid"]: t for t in j["tasks"]}
    for w in M["rtnl_waiters"]:
        b = by_pid[w["pid"]]["blocker"]
        assert b["name"] == "rtnl_mutex"
        assert b["owner_pid"] == M["rtnl_owner"]["pid"]
    ch = M["chain"]
    b = by_pid[ch["waiter"]["pid"]]["blocker"]
    assert b["name"].startswith(ch["mutex"])
    assert b["owner_pid"] == ch["holder"]["pid"]
    for side in ("a", "b"):
        t = M["abba"][side]
        b = by_pid[t["pid"]]["blocker"]
        assert b["name"].startswith(t["waits_for"])
        other = M["abba"]["b" if side == "a" else "a"]
        assert b["owner_pid"] == other["pid"]


def test_idle_kworkers_only_with_all(session):
    plain = json_of(session[3])
    everything = json_of(session[5])
    extra = {t["pid"] for t in everything["tasks"]} - {t["pid"] for t in plain["tasks"]}
    assert extra, "TASK_IDLE kworkers exist in any running kernel"
    assert ALL_D <= {t["pid"] for t in everything["tasks"]}
    for t in everything["tasks"]:
        if t["pid"] in extra:
            assert t["state"] == "ID"


def test_group_finds_the_chain_and_the_deadlock(session):
    j = json_of(session[4])
    ch = M["chain"]
    chains = [[n["pid"] for n in c] for c in j["chains"]]
    assert [ch["waiter"]["pid"], ch["holder"]["pid"]] in chains
    chain = j["chains"][chains.index([ch["waiter"]["pid"], ch["holder"]["pid"]])]
    assert chain[-1]["waits_for"]["name"] == "rtnl_mutex"
    cycles = [sorted(n["pid"] for n in c) for c in j["deadlocks"]]
    assert cycles == [sorted([M["abba"]["a"]["pid"], M["abba"]["b"]["pid"]])]
    text = session[14]
    assert "DEADLOCK" in text and "CHAINS" in text
    assert f"rtnl_mutex (" in text and f"{len(QUEUE)} waiters" in text


@pytest.mark.parametrize("which", [1, 2, 3])
def test_since_filters_by_last_arrival(which):
    # The waiters were started in order, at least a second apart.
    cut = M["rtnl_waiters"][which]["started_ts"] - 0.2
    parts, _ = run_crash(SCENARIO, [f"uninterruptible --since {cut:.6f} --json"])
    j = json_of(parts[0])
    shown = {t["pid"] for t in j["tasks"]}
    assert all(t["last_arrival_ns"] >= ts(cut) for t in j["tasks"])
    assert {w["pid"] for w in M["rtnl_waiters"][which:]} <= shown
    assert not {w["pid"] for w in M["rtnl_waiters"][:which]} & shown


def test_for_filters_by_blocked_time(session):
    j = json_of(session[3])
    now = j["now_ns"]
    # Blocked at least as long as the third waiter: the first three.
    third = j["tasks"][[t["pid"] for t in j["tasks"]].index(WAITERS[2])]
    d_ms = (now - third["last_arrival_ns"]) // 1_000_000
    parts, _ = run_crash(SCENARIO, [f"uninterruptible --for {d_ms}ms --json"])
    shown = {t["pid"] for t in json_of(parts[0])["tasks"]}
    assert set(WAITERS[:3]) <= shown
    assert not set(WAITERS[3:]) & shown


def test_lockowner_on_a_module_mutex(session):
    j = json_of(session[6])
    ch = M["chain"]
    assert j["owner"]["pid"] == ch["holder"]["pid"]
    assert [w["pid"] for w in j["waiters"]] == [ch["waiter"]["pid"]]
    assert j["mutex"]["name"] == "nd_chain_mutex [nd_rtnl_stuck]"
    a = json_of(session[15])
    assert a["owner"]["pid"] == M["abba"]["a"]["pid"]
    assert [w["pid"] for w in a["waiters"]] == [M["abba"]["b"]["pid"]]


def test_bad_arguments_give_one_clear_line_and_crash_goes_on(session):
    assert "cannot read a struct mutex at 00000000deadbeef" in session[7]
    assert "jiffies = " in session[8]
    assert "jiffies is not a struct mutex" in session[9]
    assert "no such symbol" in session[10]
    assert "not a duration" in session[16]
    assert "takes no arguments" in session[17]
    assert "jiffies = " in session[18]


def test_help_page(session):
    text = session[13]
    for section in ("NAME", "SYNOPSIS", "DESCRIPTION", "EXAMPLES"):
        assert section in text
    assert "rtnlowner [-s] [--json]" in text
