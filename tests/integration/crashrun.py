"""Runs crash in batch on a scenario dump with netdbg loaded and splits the
output per command, so each test reads what one command printed."""
import json
import os
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CACHE = Path(os.environ.get("NETDBG_CACHE", Path.home() / ".cache" / "netdbg"))
BUILD = Path(os.environ.get("NETDBG_BUILD", REPO / "build"))
MARK = "==netdbg-test-mark=="


def read_builds():
    """dumps/builds.conf: [(KVER, crash version, dumps)], the primary build first."""
    out = []
    for line in (REPO / "dumps" / "builds.conf").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            kver, crash, *dumps = line.split()
            out.append((kver, crash, dumps))
    return out


BUILDS = read_builds()
PRIMARY_KVER = BUILDS[0][0]
# The kernel build under test (NETDBG_KVER, as for dumps/*.sh): the primary
# build's kernel and dumps are in the cache's kernel/ and dumps/, another's
# under builds/KVER/.
KVER = os.environ.get("NETDBG_KVER") or PRIMARY_KVER
BCACHE = CACHE if KVER == PRIMARY_KVER else CACHE / "builds" / KVER
VMLINUX = BCACHE / "kernel" / "vmlinux"
CRASH_VERSION = next((c for k, c, _ in BUILDS if k == KVER), "8.0.2")
# NETDBG_DUMP_VARIANT=kdump: each scenario's real kdump (SCENARIO-kdump)
# instead of QEMU's dump of the paused guest.
VARIANT = os.environ.get("NETDBG_DUMP_VARIANT", "")


def crash_binary():
    """The crash that opens this build's dumps: the one on PATH when it is
    that version, else the one dumps/build-crash.sh built into the cache."""
    try:
        v = subprocess.run(["crash", "--version"], capture_output=True, text=True, timeout=60).stdout
        if f"crash {CRASH_VERSION}" in (line.strip() for line in v.splitlines()[:3]):
            return "crash"
    except (OSError, subprocess.TimeoutExpired):
        pass
    return str(CACHE / f"crash-{CRASH_VERSION}" / "crash")


def extension_for(version):
    """netdbg.so built against that crash version's defs.h: build/netdbg.so
    for the crash on PATH (8.0.2), build/crash-VERSION/netdbg.so for others."""
    other = BUILD / f"crash-{version}" / "netdbg.so"
    return other if version != "8.0.2" and other.exists() else BUILD / "netdbg.so"


def indexed_vmlinux():
    """VMLINUX, given its gdb index first when it has none
    (dumps/index-vmlinux.sh; make dumps does it too): crash then opens a
    dump in 6 s instead of 15, gdb loads it in 1 s instead of 20."""
    subprocess.run([str(REPO / "dumps" / "index-vmlinux.sh")], check=True, env={**os.environ, "NETDBG_KVER": KVER})
    return VMLINUX


CRASH = crash_binary()
EXTENSION = extension_for(CRASH_VERSION)


def dump_dir(scenario):
    if VARIANT and not scenario.endswith("-" + VARIANT):
        scenario = f"{scenario}-{VARIANT}"
    return BCACHE / "dumps" / scenario


def elf_dump(scenario):
    """The ELF dump drgn and gdb read: QEMU's paging dump, or for a kdump
    makedumpfile's ELF output (physical and virtual addresses as the
    crash kernel's /proc/vmcore had them)."""
    d = dump_dir(scenario)
    return d / "vmcore.elf" if (d / "vmcore.elf").exists() else d / "vmcore-kdump.elf"


def manifest(scenario):
    return json.loads((dump_dir(scenario) / "manifest.json").read_text())


def drgn_program(scenario):
    """drgn on the scenario's paging ELF dump with the vmlinux: the
    independent reader the tests compare with."""
    import drgn

    prog = drgn.Program()
    prog.set_core_dump(str(elf_dump(scenario)))
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
        p = subprocess.run([CRASH, "-s", str(VMLINUX), str(d / "vmcore"), "-i", str(script)],
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
