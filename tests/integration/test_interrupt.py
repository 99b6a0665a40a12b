"""Ctrl-C in the middle of a netdbg walk returns to crash's prompt with a
clear line, and the session goes on: crash under a pseudo-terminal, reads
slowed down (NETDBG_TEST_READ_DELAY_US) so the walk is still running when
the key is pressed."""
import time

import pytest

from crashpty import CrashSession
from crashrun import EXTENSION, manifest

SCENARIO = "rtnl-stuck"
M = manifest(SCENARIO)


@pytest.fixture(scope="module")
def slow_crash():
    s = CrashSession(SCENARIO, env={"NETDBG_TEST_READ_DELAY_US": "20000"})
    out = s.run(f"extend {EXTENSION}", timeout=60)
    assert "shared object" in out
    yield s
    s.close()


@pytest.mark.parametrize("command", ["uninterruptible --group", "rtnlowner -s", "lockowner rtnl_mutex"])
def test_ctrl_c_mid_walk_returns_to_the_prompt(slow_crash, command):
    s = slow_crash
    s.send(command)
    time.sleep(1.0)  # at 20 ms per page the walk needs several seconds
    started = time.monotonic()
    s.interrupt()
    out = s.expect_prompt(timeout=30)
    assert time.monotonic() - started < 10, "the walk did not stop soon after Ctrl-C"
    assert "interrupted" in out
    assert s.alive()
    # crash itself still works, and so does the next netdbg command.
    assert "rtnl_mutex" in s.run("sym rtnl_mutex")


def test_next_command_after_interrupt_completes(slow_crash):
    s = slow_crash
    s.send("uninterruptible")
    time.sleep(0.5)
    s.interrupt()
    s.expect_prompt(timeout=30)
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
