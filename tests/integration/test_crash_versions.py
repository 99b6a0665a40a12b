"""crash 8.0.6 (built by dumps/build-crash.sh for the 6.12 build) on a 6.1
dump: it reads struct pid's numbers[] itself and holds every task, so
taskfix must find nothing to repair and change nothing. Checked against
drgn's task walk of the same dump. (crash 8.0.6 opens the generic 6.1
build's dumps; on the cloud build's it stops in its exception-stack setup
before any command runs.)"""
import json
import subprocess

import pytest

from crashrun import BUILD, CACHE, MARK, PRIMARY_KVER

VERSION = "8.0.6"
KVER = "6.1.0-56-amd64"
CRASH = CACHE / f"crash-{VERSION}" / "crash"
EXTENSION = BUILD / f"crash-{VERSION}" / "netdbg.so"
BCACHE = CACHE if KVER == PRIMARY_KVER else CACHE / "builds" / KVER
DUMP = BCACHE / "dumps" / "rtnl-stuck"
VMLINUX = BCACHE / "kernel" / "vmlinux"

DRGN_TASKS = r"""
import sys, drgn
from drgn.helpers.linux.pid import for_each_task
prog = drgn.Program()
prog.set_core_dump(sys.argv[1])
prog.load_debug_info([sys.argv[2]])
print(sum(1 for _ in for_each_task(prog)))
"""

pytestmark = pytest.mark.skipif(
    not (CRASH.exists() and EXTENSION.exists() and (DUMP / "vmcore").exists()),
    reason=f"needs crash {VERSION} (make crash) and the {KVER} rtnl-stuck dump (make matrix)")


@pytest.fixture(scope="module")
def out(tmp_path_factory):
    commands = ["ps", "taskfix -n --json", "taskfix --json", "ps"]
    lines = [f"extend {EXTENSION}"]
    for i, c in enumerate(commands):
        lines += [f"!echo {MARK}{i}", c]
    lines += [f"!echo {MARK}end", "quit"]
    script = tmp_path_factory.mktemp("crash806") / "cmds"
    script.write_text("\n".join(lines) + "\n")
    p = subprocess.run([str(CRASH), "-s", str(VMLINUX), str(DUMP / "vmcore"), "-i", str(script)],
                       stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=600)
    text = p.stdout + p.stderr
    assert f"{MARK}end" in text, text[-3000:]
    parts, cur = {}, None
    for line in text.splitlines():
        if line.startswith(MARK):
            tag = line[len(MARK):]
            cur = None if tag == "end" else int(tag)
            if cur is not None:
                parts[cur] = []
        elif cur is not None:
            parts[cur].append(line)
    return {k: "\n".join(v) for k, v in parts.items()}


def drgn_task_count():
    r = subprocess.run(["/usr/bin/python3", "-c", DRGN_TASKS, str(DUMP / "vmcore.elf"), str(VMLINUX)],
                       check=True, capture_output=True, text=True, timeout=300)
    return int(r.stdout)


def ps_tasks(text):
    """crash's ps rows that are not idle tasks (pid 0)."""
    rows = [l.split() for l in text.splitlines() if l[:1] in (" ", ">") and l.split()[:1] != ["PID"]]
    return [r for r in rows if r and r[0] != ">" and r[0] != "0" or (r and r[0] == ">" and r[1] != "0")]


def test_crash_806_holds_every_task_before_any_repair(out):
    assert len(ps_tasks(out[0])) == drgn_task_count()


def test_taskfix_finds_nothing_to_repair_and_changes_nothing(out):
    for i in (1, 2):
        j = json.loads(out[i][out[i].index("{"):])
        assert j["action"] == "none"
        assert j["task_table"]["repair"] is False
        # netdbg counts the idle tasks too, one per CPU; drgn's walk does not
        cpus = json.loads((DUMP / "manifest.json").read_text())["cpus"]
        assert j["tasks"]["before"] == j["tasks"]["after"] == j["tasks"]["kernel"] == drgn_task_count() + cpus
    assert out[3] == out[0]
