"""KASLR in gdb: gdb loads vmlinux at its link address; netdbg finds the
kernel's load offset and applies it. On the KASLR dump (make-dump.sh with
NETDBG_KASLR=1) the offset must be the VMCOREINFO KERNELOFFSET, read here
from the ELF note by this test; on a live KASLR guest, where there is no
note, netdbg finds linux_banner by itself. Either way the answers must match
the manifest, which a wrong offset cannot."""
import json
import subprocess
from pathlib import Path

import pytest

from crashrun import CACHE, VMLINUX, json_of, run_crash
from elfnotes import elf_notes, elf_read
from gdbrun import run_gdb
from test_gdb_live import boot, modules_dir, stop

SCENARIO = "rtnl-stuck-kaslr"
DUMP = CACHE / "dumps" / SCENARIO


def kerneloffset(elf_path):
    """KERNELOFFSET of the VMCOREINFO note of an ELF core."""
    for name, _, desc in elf_notes(elf_path):
        if name == b"VMCOREINFO":
            for line in desc.decode(errors="replace").splitlines():
                if line.startswith("KERNELOFFSET="):
                    return int(line.split("=", 1)[1], 16)
    raise AssertionError(f"no VMCOREINFO KERNELOFFSET in {elf_path}")


def offset_of(kaslr_line):
    word = kaslr_line.split("kernel load offset ")[1].split()[0]
    return int(word, 16) if word != "0" else 0


def check_answers(parts, m):
    j = json_of(parts[0])
    assert j["owner"]["pid"] == m["rtnl_owner"]["pid"]
    assert j["owner"]["work"]["function"].startswith("nd_rtnl_hog_work_fn")
    assert [w["pid"] for w in j["waiters"]] == [w["pid"] for w in m["rtnl_waiters"]]
    for w, mw in zip(j["waiters"], m["rtnl_waiters"]):
        assert w["wait_function"] == mw["wchan"]
    u = json_of(parts[1])
    assert {t["pid"] for t in u["tasks"]} == {t["pid"] for t in m["uninterruptible"]}
    lo = json_of(parts[2])
    assert lo["owner"]["pid"] == m["chain"]["holder"]["pid"]
    # rtnl_mutex's address is the runtime one: its link address plus the offset.
    assert parts[3].startswith("rtnl_mutex held by")


COMMANDS = ["rtnlowner --json", "uninterruptible --json", "lockowner nd_chain_mutex --json", "rtnlowner -s"]


def test_kaslr_dump_offset_is_kerneloffset():
    if not (DUMP / "vmcore.elf").exists():
        pytest.fail(f"no {DUMP}: make it with `make dumps` (NETDBG_KASLR=1 dumps/make-dump.sh rtnl-stuck)")
    m = json.loads((DUMP / "manifest.json").read_text())
    assert m["kernel"]["kaslr"] is True
    expected = kerneloffset(DUMP / "vmcore.elf")
    assert expected != 0, "the KASLR guest was not randomized"
    parts, raw = run_gdb(COMMANDS, core=DUMP / "vmcore.elf", modules_dir=DUMP / "modules")
    assert offset_of(parts["kaslr"]) == expected
    assert f"VMCOREINFO KERNELOFFSET={expected:x}" in parts["kaslr"]
    check_answers(parts, m)


def test_kaslr_forced_wrong_offset_fails_cleanly_and_auto_recovers():
    parts, raw = run_gdb(["netdbg-kaslr 0", "rtnlowner", "netdbg-kaslr auto", "rtnlowner"],
                         core=DUMP / "vmcore.elf", modules_dir=DUMP / "modules")
    assert "offset 0 (set by netdbg-kaslr)" in parts[0]
    assert parts[1].startswith("rtnlowner: ") and len(parts[1].splitlines()) == 1
    assert "VMCOREINFO" in parts[2]
    assert parts[3].startswith("rtnl_mutex held by")


def link_address(symbol):
    """The symbol's address in the vmlinux file (nm), where it was linked."""
    out = subprocess.run(["nm", str(VMLINUX)], capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[2] == symbol:
            return int(parts[0], 16)
    raise AssertionError(f"{symbol} not in {VMLINUX}")


def test_kaslr_link_addresses_are_not_memory():
    """Under KASLR rtnl_mutex is not at its link address. crash reads a
    kernel-text address of a kdump through phys_base, so at the link address
    it either fails or shows other physical memory (which, depends on the
    random physical and virtual slides), never rtnl_mutex's owner word, which
    it shows at the relocated address. gdb itself answers from the vmlinux
    file's .data; netdbg in gdb answers from the dump alone: when the random
    slide is smaller than rtnl_mutex's distance from _text, the link address
    lies inside the relocated kernel image and the dump maps it (other kernel
    data), else nothing maps it. Which, this test reads from the ELF core's
    own PT_LOAD segments."""
    addr = link_address("rtnl_mutex")
    crash, _ = run_crash(SCENARIO, [f"rd {addr:#x}", "rd rtnl_mutex"])
    owner = crash[1].split()[1]
    assert int(owner, 16) != 0, crash[1]  # held: the owner task pointer
    assert ("error" in crash[0] and f"{addr:x}" in crash[0]) or crash[0].split()[1] != owner, crash
    parts, raw = run_gdb([f"lockowner {addr:#x}", f"x/gx {addr:#x}"], core=DUMP / "vmcore.elf")
    assert "<rtnl_mutex>" in parts[1]  # gdb's own read: the file's bytes
    in_dump = elf_read(DUMP / "vmcore.elf", addr, 8)
    if in_dump is None:
        assert parts[0] == f"lockowner: {addr:#x}: cannot read a struct mutex at {addr:016x}"
    else:
        assert int.from_bytes(in_dump, "little") != int(owner, 16)
        assert parts[0].startswith(f"lockowner: {addr:#x}: "), parts[0]
        assert "cannot read" not in parts[0] and f"{int(owner, 16):x}" not in parts[0], parts[0]


@pytest.fixture(scope="module")
def kaslr_guest():
    state, env = boot("rtnl-stuck", kaslr=True)
    try:
        yield env, json.loads(Path(env["MANIFEST"]).read_text())
    finally:
        stop(state)


def test_kaslr_live_offset_found_from_the_banner(kaslr_guest):
    env, m = kaslr_guest
    parts, raw = run_gdb(COMMANDS, remote=f"127.0.0.1:{env['GDB_PORT']}", modules_dir=modules_dir(kaslr=True))
    line = parts["kaslr"]
    assert "KASLR: linux_banner matches vmlinux at +0x" in line, line
    off = offset_of(line)
    assert off != 0 and off % (2 << 20) == 0
    check_answers(parts, m)
