"""Runs crash in batch on a scenario dump with netdbg loaded and splits the
output per command, so each test reads what one command printed."""
import json
import os
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CACHE = Path(os.environ.get("NETDBG_CACHE", Path.home() / ".cache" / "netdbg"))
VMLINUX = CACHE / "kernel" / "vmlinux"
BUILD = Path(os.environ.get("NETDBG_BUILD", REPO / "build"))
EXTENSION = BUILD / "netdbg.so"
MARK = "==netdbg-test-mark=="


def dump_dir(scenario):
    return CACHE / "dumps" / scenario


def manifest(scenario):
    return json.loads((dump_dir(scenario) / "manifest.json").read_text())


def drgn_program(scenario):
    """drgn on the scenario's paging ELF dump with the vmlinux: the
    independent reader the tests compare with."""
    import drgn

    prog = drgn.Program()
    prog.set_core_dump(str(dump_dir(scenario) / "vmcore.elf"))
    prog.load_debug_info([str(VMLINUX)])
    return prog


def run_crash(scenario, commands, modules=(), timeout=300):
    """Returns {index: output} for each command (by position in `commands`)."""
    d = dump_dir(scenario)
    lines = [f"extend {EXTENSION}"]
    for mod in modules:
        lines.append(f"mod -s {mod} {d / 'modules' / (mod + '.ko')}")
    for i, c in enumerate(commands):
        lines.append(f"!echo {MARK}{i}")
        lines.append(c)
    lines.append(f"!echo {MARK}end")
    lines.append("quit")
    script = d.parent / f".crash-cmds-{os.getpid()}.txt"
    script.write_text("\n".join(lines) + "\n")
    try:
        p = subprocess.run(["crash", "-s", str(VMLINUX), str(d / "vmcore"), "-i", str(script)],
                           stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout)
    finally:
        script.unlink(missing_ok=True)
    out = p.stdout + p.stderr
    parts = {}
    current = None
    for line in out.splitlines():
        if line.startswith(MARK):
            tag = line[len(MARK):]
            current = None if tag == "end" else int(tag)
            if current is not None:
                parts[current] = []
            continue
        if current is not None:
            parts[current].append(line)
    assert f"{MARK}end" in out, f"crash did not reach the end of the script:\n{out[-3000:]}"
    return {i: "\n".join(v) for i, v in parts.items()}, out


def json_of(text):
    start = text.index("{")
    return json.loads(text[start:])
