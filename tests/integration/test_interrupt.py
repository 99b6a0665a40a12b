"""Ctrl-C in the middle of a netdbg walk returns to crash's prompt with a
clear line, and the session goes on: crash under a pseudo-terminal, reads
slowed down (NETDBG_TEST_READ_DELAY_US) so the walk is still running when
the key is pressed.

The delay applies to netdbg's page-cache misses only, and the cache lives
as long as netdbg is loaded: a second command over the same pages is
instant. So netdbg is reloaded before each interrupted command (a cold
cache, every page read waits), and the key is pressed once crash is seen
sleeping in one of those delayed reads (/proc/PID/syscall), not after a
fixed time a loaded machine may not honour."""
import time

import pytest

from crashpty import CrashSession
from crashrun import EXTENSION, dump_dir, manifest

SCENARIO = "rtnl-stuck"
M = manifest(SCENARIO)


DELAY_US = 20000  # per page read: a cold walk of a few hundred pages takes seconds
SLEEP_SYSCALLS = {35, 230}  # x86_64 nanosleep, clock_nanosleep: usleep() in CrashTarget::read


@pytest.fixture(scope="module")
def slow_crash():
    s = CrashSession(SCENARIO, env={"NETDBG_TEST_READ_DELAY_US": str(DELAY_US)})
    out = s.run(f"extend {EXTENSION}", timeout=60)
    assert "shared object" in out
    yield s
    s.close()


def reload_netdbg(s):
    """A fresh netdbg: its page cache is empty, so every page costs DELAY_US."""
    s.run(f"extend -u {EXTENSION}", timeout=60)
    assert "shared object" in s.run(f"extend {EXTENSION}", timeout=60)


def wait_for_a_slow_read(s, timeout=120):
    """Returns once crash sleeps in a delayed read: the command is walking."""
    deadline = time.monotonic() + timeout
    while s.syscall() not in SLEEP_SYSCALLS:
        assert time.monotonic() < deadline, "crash never slept in a delayed read (NETDBG_TEST_READ_DELAY_US)"
        time.sleep(0.001)


def interrupt_mid_walk(s, command):
    reload_netdbg(s)
    s.send(command)
    wait_for_a_slow_read(s)
    started = time.monotonic()
    s.interrupt()
    out = s.expect_prompt(timeout=30)
    stopped = time.monotonic() - started
    s.sync()  # a command that ended before the key leaves a second prompt
    assert stopped < 10, "the walk did not stop soon after Ctrl-C"
    assert "interrupted" in out, out
    assert s.alive()


@pytest.mark.parametrize("command", ["uninterruptible --group", "uninterruptible --all", "rtnlowner -s",
                                     "lockowner rtnl_mutex", "lockowner nd_abba_mutex_a -s",
                                     "listcheck rtnl_mutex.wait_list -o mutex_waiter.list"])
def test_ctrl_c_mid_walk_returns_to_the_prompt(slow_crash, command):
    s = slow_crash
    interrupt_mid_walk(s, command)
    # crash itself still works, and so does the next netdbg command.
    assert "rtnl_mutex" in s.run("sym rtnl_mutex")


def test_next_command_after_interrupt_completes(slow_crash):
    s = slow_crash
    interrupt_mid_walk(s, "uninterruptible")
    out = s.run("lockowner rtnl_mutex", timeout=600)
    owner = M["rtnl_owner"]
    assert f"pid {owner['pid']}" in out


def test_output_into_a_closed_pipe_leaves_crash_usable(slow_crash):
    # `| head -1` exits after one line: crash gets SIGPIPE mid-command.
    s = slow_crash
    out = s.run("uninterruptible | head -1", timeout=600)
    assert "tasks in D state" in out
    assert s.alive()
    assert "rtnl_mutex" in s.run("sym rtnl_mutex")


# The other long commands, each on the dump where it has most to walk, with
# a next netdbg command whose answer comes from the manifest (written in
# the guest) or from crash's own reads of the same dump.
BACKPTR = manifest("backptr")
OTHER = [
    ("backptr", ["nd_backptr"], "listcheck nd_clean_list -o nd_entry.link"),
    ("backptr", ["nd_backptr"],
     f"listcheck nd_instances.table --array {BACKPTR['layout']['nr_instances']} -o nd_entry.link --backptr inst"),
    ("backptr", ["nd_backptr"], "listcheck nd_hash --hlist --array 64 -o nd_hnode.node"),
    ("anycast", [], "aclist --all-netns"),
    ("anycast", [], "aclist --mc --all-netns"),
    ("napi", [], "napiq -c --all-netns"),
    ("napi", [], "napiq"),
    ("reset-after-remove", ["nd_reset_remove"], "workq"),
    ("reset-after-remove", ["nd_reset_remove"], "workq --pending"),
]


def next_command(scenario):
    """A netdbg command that completes after the interrupted one, and a
    check of its answer against the manifest or crash."""
    if scenario == "backptr":
        clean = BACKPTR["clean_list"]["entries"]
        return "listcheck nd_clean_list -o nd_entry.link --count", f"{clean} entries in 1 list, no findings"
    if scenario == "anycast":
        return "aclist lo", "lo"
    if scenario == "napi":
        return "napiq lo", "lo"
    return "workq --func nosuchfunction_xyz", "nosuchfunction_xyz"


@pytest.fixture(scope="module")
def sessions():
    """One slowed crash session at a time (OTHER is ordered by dump)."""
    open_ = {}

    def get(scenario, modules):
        if scenario not in open_:
            for s in open_.values():
                s.close()
            open_.clear()
            s = CrashSession(scenario, env={"NETDBG_TEST_READ_DELAY_US": str(DELAY_US)})
            assert "shared object" in s.run(f"extend {EXTENSION}", timeout=60)
            for m in modules:
                out = s.run(f"mod -s {m} {dump_dir(scenario) / 'modules' / (m + '.ko')}", timeout=180)
                assert m in out
            open_[scenario] = s
        return open_[scenario]

    yield get
    for s in open_.values():
        s.close()


@pytest.mark.parametrize("scenario,modules,command", OTHER, ids=[f"{c[0]}:{c[2].split()[0]}" for c in OTHER])
def test_ctrl_c_in_every_long_command(sessions, scenario, modules, command):
    s = sessions(scenario, modules)
    interrupt_mid_walk(s, command)
    assert "jiffies" in s.run("sym jiffies")
    line, expected = next_command(scenario)
    out = s.run(line, timeout=600)
    assert expected in out, out
    assert "interrupted" not in out
