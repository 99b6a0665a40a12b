"""crash and gdb print the same text: for every scenario, every command of
the core's table (bare, with --json, and as each EXAMPLE of its help page
runs it) runs in crash on `vmcore` (kdump) and in gdb on `vmcore.elf`
(ELF), the two dumps QEMU wrote of the same paused guest. Both load the
same module .ko files (crash: mod -s, gdb: netdbg-load-modules)."""
import difflib
import functools

import pytest

from crashrun import dump_dir, run_crash
from gdbrun import invocations, run_gdb, scenarios

CALLS = invocations()
LINES = [line for _, line in CALLS]


@functools.lru_cache(maxsize=None)
def outputs(scenario):
    d = dump_dir(scenario)
    mods = sorted(p.stem for p in (d / "modules").glob("*.ko"))
    crash, crash_raw = run_crash(scenario, LINES, modules=mods, timeout=1800)
    gdb, gdb_raw = run_gdb(LINES, scenario=scenario, modules_dir=d / "modules", timeout=1800)
    return crash, gdb, crash_raw, gdb_raw


@pytest.mark.parametrize("scenario", scenarios())
def test_gdb_loaded_the_same_module_symbols(scenario):
    crash, gdb, crash_raw, _ = outputs(scenario)
    d = dump_dir(scenario)
    for ko in sorted(d.glob("modules/*.ko")):
        assert ko.stem in gdb["modules"], gdb["modules"]
    assert "kernel load offset" in gdb["kaslr"]


@pytest.mark.parametrize("scenario", scenarios())
@pytest.mark.parametrize("index", range(len(CALLS)), ids=[line.replace(" ", "_") for line in LINES])
def test_same_text(scenario, index):
    crash, gdb, _, _ = outputs(scenario)
    a, b = crash.get(index), gdb.get(index)
    assert a is not None and b is not None, "a command's output is missing"
    assert a.strip(), f"crash printed nothing for {LINES[index]!r}"
    if a != b:
        diff = "\n".join(difflib.unified_diff(a.splitlines(), b.splitlines(), "crash", "gdb", lineterm=""))
        pytest.fail(f"{scenario}: {LINES[index]!r} differs between crash and gdb:\n{diff}")


def test_every_command_of_the_table_is_covered():
    names = {name for name, _ in CALLS}
    import gdbrun
    assert names == {c["name"] for c in gdbrun.core_module().commands()}
    assert len(CALLS) >= 2 * len(names)
