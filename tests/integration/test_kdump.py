"""A real kdump (rtnl-stuck-kdump: kexec'd crash kernel, makedumpfile -d 31 -c):
pages makedumpfile left out are reported as excluded, never read as
garbage. Which pages are excluded comes from crash's own `rd`; the rest of
the kdump's answers are the rtnl-stuck tests, run on it by tests/run-matrix.sh
(NETDBG_DUMP_VARIANT=kdump)."""
import re

import pytest

from crashrun import dump_dir, run_crash

SCENARIO = "rtnl-stuck-kdump"
# Direct-map addresses across the guest's RAM: free pages (most of a small
# guest's RAM) are excluded by -d 31.
PROBES = [0xffff888000000000 + mb * 2**20 for mb in range(96, 760, 48)]


@pytest.fixture(scope="module")
def excluded():
    if not (dump_dir(SCENARIO) / "vmcore").exists():
        pytest.skip("no rtnl-stuck-kdump dump (make dumps)")
    parts, _ = run_crash(SCENARIO, [f"rd {a:#x}" for a in PROBES])
    out = [a for i, a in enumerate(PROBES) if "page excluded" in parts[i]]
    assert out, "crash's rd finds no excluded page among the probes:\n" + "\n".join(parts.values())
    return out[0]


def test_commands_say_the_page_is_excluded(excluded):
    commands = [f"listcheck {excluded:#x}", f"lockowner {excluded:#x} -t mutex", f"listcheck {excluded:#x} --json"]
    parts, _ = run_crash(SCENARIO, commands)
    assert "cannot read the entry (page excluded from the dump)" in parts[0]
    assert f"cannot read a struct mutex at {excluded:016x} (page excluded from the dump)" in parts[1]
    assert re.search(r"unreadable: entry 0 at [0-9a-f]{16} \(page excluded from the dump\)", parts[2])


def test_a_readable_page_is_not_called_excluded(excluded):
    parts, _ = run_crash(SCENARIO, ["listcheck init_net.dev_base_head"])
    assert "excluded" not in parts[0]
