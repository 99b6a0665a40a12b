"""Real dumps made hostile: every netdbg command ends with findings or one
clear line, within a bounded time, and crash stays usable.

- truncated: the rtnl-stuck dump cut in half (the kdump is refused by crash
  itself; so is the paging ELF cut as it is, since the per-CPU areas crash
  needs to start sit at the top of RAM: the copy stores RAM's top 64 MiB
  first, then the rest from address 0, and is cut in half, so RAM from
  about 200 MiB up to that top is missing);
- another build's debug info: the backptr dump with nd_rtnl_stuck.ko loaded
  as nd_backptr's object (`mod -s` accepts it), so its types are missing and
  its lock symbols point into memory that holds something else (the only
  kernel available offline is the dumps' own; crash refuses a vmlinux whose
  banner differs before any extension runs);
- garbage pointers: each pointer of one backptr table and of
  rtnl_mutex.wait_list overwritten in turn in a copy of the paging ELF
  dump, in one crash session (netdbg reloaded so its page cache is fresh;
  crash's own `rd` confirms the patch is seen).

Copies live in $NETDBG_CACHE/hostile/, never in the repo; they are reached
through crashrun/crashpty as the scenario "../hostile/<name>"."""
import json
import os
import re
import shutil
import struct
import subprocess
import time

import pytest

from crashpty import CrashSession
from crashrun import CACHE, EXTENSION, VMLINUX, dump_dir, json_of, manifest, run_crash
from elfnotes import ELF_PHDR, PT_LOAD, program_headers

HOSTILE = CACHE / "hostile"

# Every long command, with the arguments that make it walk the most.
ALL_COMMANDS = [
    "uninterruptible",
    "uninterruptible --group --all",
    "rtnlowner -s",
    "lockowner rtnl_mutex -s",
    "listcheck rtnl_mutex.wait_list -o mutex_waiter.list",
    "aclist --all-netns",
    "aclist --mc",
    "napiq -c --all-netns",
    "workq",
]


def hostile_copy(scenario, name, source, size=None):
    """A fresh copy of a scenario's dump file (its first `size` bytes) as
    HOSTILE/name/vmcore, with the scenario's modules; returns the scenario
    name crashrun and crashpty take for it."""
    d = HOSTILE / name
    d.mkdir(parents=True, exist_ok=True)
    src = dump_dir(scenario) / source
    dst = d / "vmcore"
    with open(src, "rb") as fi, open(dst, "wb") as fo:
        left = src.stat().st_size if size is None else size
        while left > 0:
            chunk = fi.read(min(left, 1 << 24))
            if not chunk:
                break
            fo.write(chunk)
            left -= len(chunk)
    mods = d / "modules"
    if not mods.exists():
        mods.symlink_to(dump_dir(scenario) / "modules")
    return f"../hostile/{name}"


def answered(out):
    """Findings, a summary or one clear line: non-empty, no C++ escape."""
    text = out.strip()
    return bool(text) and "internal error" not in text and "terminate called" not in text


def netdbg_error_lines(out, command):
    name = command.split()[0]
    return [l for l in out.splitlines() if l.startswith(f"{name}: ")]


# ---------------------------------------------------------------- truncated


def test_truncated_kdump_is_refused_by_crash_with_a_clear_message():
    src = dump_dir("rtnl-stuck") / "vmcore"
    name = hostile_copy("rtnl-stuck", "truncated-kdump", "vmcore", src.stat().st_size // 2)
    p = subprocess.run(["crash", "-s", str(VMLINUX), str(dump_dir(name) / "vmcore")],
                       stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120)
    assert p.returncode != 0
    assert "truncated" in p.stderr + p.stdout


def copy_range(fi, fo, src_off, dst_off, length, limit):
    """Copies length bytes from src_off to dst_off, none at or past limit."""
    length = max(0, min(length, limit - dst_off))
    fi.seek(src_off)
    fo.seek(dst_off)
    while length > 0:
        chunk = fi.read(min(length, 1 << 24))
        assert chunk, "short read"
        fo.write(chunk)
        length -= len(chunk)


def top_first_elf_copy(scenario, name, keep_top, size):
    """A copy of a scenario's paging ELF whose file holds the top keep_top
    bytes of physical memory first, then the rest, cut at `size` bytes:
    the memory past the cut is missing, the top of RAM is not."""
    d = HOSTILE / name
    d.mkdir(parents=True, exist_ok=True)
    src, dst = dump_dir(scenario) / "vmcore.elf", d / "vmcore"
    with open(src, "rb") as fi:
        phdrs = [list(p) for p in program_headers(fi, src)]
        fi.seek(0)
        eh = bytearray(fi.read(64))
        phentsize, = struct.unpack_from("<H", eh, 54)
        loads = [p for p in phdrs if p[0] == 1 and p[5]]
        delta = loads[0][2] - loads[0][4]
        assert all(p[2] - p[4] == delta for p in loads), "file offsets do not follow physical addresses"
        top = max(p[4] + p[5] for p in loads)
        split = top - keep_top
        new = []  # a PT_LOAD across the split becomes two
        for p in phdrs:
            if p[0] == 1 and p[4] < split < p[4] + p[5]:
                low, high = list(p), list(p)
                low[5] = low[6] = split - p[4]
                high[3] += split - p[4]
                high[4] = split
                high[5] = high[6] = p[4] + p[5] - split
                new += [low, high]
            else:
                new.append(p)
        notes = []
        for p in new:
            if p[0] != 1:
                fi.seek(p[2])
                notes.append((p, fi.read(p[5])))
        offset = 64 + len(new) * phentsize
        for p, blob in notes:
            p[2] = offset
            offset += len(blob)
        base = (offset + 4095) & ~4095
        for p in new:
            if p[0] == 1:
                p[2] = base + (p[4] - split if p[4] >= split else keep_top + p[4])
        struct.pack_into("<Q", eh, 32, 64)
        struct.pack_into("<H", eh, 56, len(new))
        with open(dst, "wb") as fo:
            fo.write(eh)
            for p in new:
                fo.write(struct.pack(ELF_PHDR, *p))
            for p, blob in notes:
                fo.write(blob)
            copy_range(fi, fo, delta + split, base, keep_top, size)
            copy_range(fi, fo, delta, base + keep_top, split, size)
            fo.truncate(size)
    mods = d / "modules"
    if not mods.exists():
        mods.symlink_to(dump_dir(scenario) / "modules")
    return f"../hostile/{name}"


@pytest.fixture(scope="module")
def truncated_elf():
    src = dump_dir("rtnl-stuck") / "vmcore.elf"
    name = top_first_elf_copy("rtnl-stuck", "truncated-elf", 64 << 20, src.stat().st_size // 2)
    commands = []
    for c in ALL_COMMANDS:
        commands += [c, "sym rtnl_mutex"]
    commands += ["uninterruptible --group --json"]
    started = time.monotonic()
    parts, out = run_crash(name, commands, modules=["nd_rtnl_stuck"], timeout=1200)
    return parts, out, time.monotonic() - started


def test_truncated_elf_every_command_answers_and_crash_stays_usable(truncated_elf):
    parts, out, _ = truncated_elf
    assert "may be truncated or incomplete" in out  # crash's own diagnosis
    for i, c in enumerate(ALL_COMMANDS):
        assert answered(parts[2 * i]), f"{c}: {parts[2 * i]!r}"
        assert "rtnl_mutex" in parts[2 * i + 1], f"crash unusable after {c}"


def test_truncated_elf_json_stays_json(truncated_elf):
    parts, _, _ = truncated_elf
    out = parts[2 * len(ALL_COMMANDS)]
    if netdbg_error_lines(out, "uninterruptible"):
        return  # one clear line instead
    j = json_of(out)
    assert isinstance(j["tasks"], list) and isinstance(j["problems"], list)


def test_truncated_elf_bounded_time(truncated_elf):
    _, _, seconds = truncated_elf
    assert seconds < 1200


# ------------------------------------------------ another build's debug info


def test_foreign_module_debuginfo_gives_clear_lines():
    foreign = dump_dir("rtnl-stuck") / "modules" / "nd_rtnl_stuck.ko"
    n = manifest("backptr")["layout"]["nr_instances"]
    commands = [
        f"mod -s nd_backptr {foreign}",
        f"listcheck nd_instances.table --array {n} -o nd_entry.link --backptr inst",
        "listcheck nd_hash --hlist --array 64 -o nd_hnode.node",
        "whatis nd_entry",
        "whatis nd_instances",
        "lockowner nd_chain_mutex -s",
        "lockowner nd_abba_mutex_a",
        "uninterruptible --group",
        "rtnlowner -s",
        "workq",
        "p jiffies",
    ]
    parts, _ = run_crash("backptr", commands, timeout=900)
    assert "nd_rtnl_stuck.ko" in parts[0] or not parts[0].strip()
    # crash itself does not know the type: the missing type is named.
    assert "cannot resolve" in parts[3]
    # nd_instances is known to crash by its kallsyms address only: gdb has
    # no type for it either.
    assert "nd_instances" in parts[4] and ("gdb request failed" in parts[4] or "cannot resolve" in parts[4])
    # The head is resolved first, and its symbol's type is the first thing
    # missing: the line names it and its module (the -o type is missing too,
    # but the head already stops the command).
    lc = netdbg_error_lines(parts[1], "listcheck")
    assert len(lc) == 1, parts[1]
    assert "no type for nd_instances" in lc[0] and "module nd_backptr" in lc[0], lc
    # A bare head needs no type of its own: the missing entry type is named.
    lc = netdbg_error_lines(parts[2], "listcheck")
    assert len(lc) == 1 and "nd_hnode" in lc[0], parts[2]
    for i in range(2, len(commands) - 1):
        assert answered(parts[i]), f"{commands[i]}: {parts[i]!r}"
    assert "jiffies = " in parts[len(commands) - 1]


# ---------------------------------------------------------- garbage pointers


def elf_loads(path):
    """(file offset, physical address, size) of each PT_LOAD."""
    with open(path, "rb") as f:
        return [(p.offset, p.paddr, p.filesz) for p in program_headers(f, path) if p.type == PT_LOAD]


def file_offset(loads, phys):
    for off, paddr, size in loads:
        if paddr <= phys < paddr + size:
            return off + phys - paddr
    raise LookupError(f"physical {phys:#x} not in the dump")


class Patcher:
    """Writes 8-byte words into the dump copy at kernel virtual addresses
    (translated by crash's vtop) and puts the original bytes back."""

    def __init__(self, session, path):
        self.s, self.path, self.loads = session, path, elf_loads(path)

    def phys(self, vaddr):
        out = self.s.run(f"vtop {vaddr:#x}", timeout=120)
        m = re.search(rf"^{vaddr:x}\s+([0-9a-f]+)", out, re.M)
        assert m, out
        return int(m.group(1), 16)

    def offset(self, vaddr):
        return file_offset(self.loads, self.phys(vaddr))

    def poke(self, offset, value):
        with open(self.path, "r+b") as f:
            f.seek(offset)
            old = f.read(8)
            f.seek(offset)
            f.write(struct.pack("<Q", value))
        return old

    def restore(self, offset, old):
        with open(self.path, "r+b") as f:
            f.seek(offset)
            f.write(old)

    def reload(self):
        """A fresh netdbg session: its page cache must not hide the patch."""
        self.s.run(f"extend -u {EXTENSION}", timeout=60)
        assert "shared object" in self.s.run(f"extend {EXTENSION}", timeout=60)

    def rd(self, vaddr):
        out = self.s.run(f"rd -64 {vaddr:#x}", timeout=60)
        m = re.search(r":\s+([0-9a-f]{16})", out)
        return int(m.group(1), 16) if m else None


def one_document(out):
    """--json output is exactly one JSON document: a warning printed beside
    it (rather than in its "problems") fails to parse."""
    return json.loads(out)


def crash_list(session, head):
    """Nodes of a list_head list as crash's own `list -H` walks it."""
    out = session.run(f"list -H {head:#x}", timeout=120)
    return [int(x, 16) for x in re.findall(r"^\s*([0-9a-f]{16})\s*$", out, re.M)]


UNMAPPED = 0xffff8880dead0000  # above the guest's 512 MB of RAM
LIST_POISON1 = 0xdead000000000100
# (value or None for "the node itself", the finding kinds it may give when
# written into next / into prev; listcheck --json's "kind" keys)
GARBAGE = [
    (0x4141414141414141, {"unreadable"}, {"bad_prev"}),
    (0, {"null"}, {"bad_prev"}),
    (LIST_POISON1, {"list_poison"}, {"list_poison", "bad_prev"}),
    (UNMAPPED, {"unreadable"}, {"bad_prev"}),
    (None, {"loop", "bad_prev"}, {"bad_prev"}),
]


def pointers(nodes):
    """Every pointer of a list: (name, address of the word, is next)."""
    out = []
    for i, n in enumerate(nodes):
        who = "head" if i == 0 else f"entry {i - 1}"
        out += [(f"{who}.next", n, True), (f"{who}.prev", n + 8, False)]
    return out


def patchable_session(scenario, copy, module):
    """crash with netdbg and the scenario module's symbols on a copy of the
    scenario's ELF dump, and a Patcher for that copy."""
    name = hostile_copy(scenario, copy, "vmcore.elf")
    s = CrashSession(name)
    try:
        assert "shared object" in s.run(f"extend {EXTENSION}", timeout=60)
        ko = dump_dir(scenario) / "modules" / f"{module}.ko"
        assert module in s.run(f"mod -s {module} {ko}", timeout=300)
        yield s, Patcher(s, dump_dir(name) / "vmcore")
    finally:
        s.close()


@pytest.fixture(scope="module")
def backptr_copy():
    yield from patchable_session("backptr", "backptr-garbage", "nd_backptr")


def test_each_pointer_of_a_backptr_table_in_turn(backptr_copy):
    s, patcher = backptr_copy
    m = manifest("backptr")
    n = m["layout"]["nr_instances"]
    faults = m["faults"]
    faulty = {faults[k]["instance"] for k in faults}
    victim = next(i["index"] for i in m["instances"] if i["index"] not in faulty and 4 <= i["entries"] <= 10)
    head = int(m["instances"][victim]["table"], 16)
    nodes = [head] + crash_list(s, head)
    assert len(nodes) == m["instances"][victim]["entries"] + 1
    # The guest's poison byte, so the poisoned entry is reported as such
    # (without it, its overwritten back-pointer reads as a wrong one).
    command = (f"listcheck nd_instances.table --array {n} -o nd_entry.link --backptr inst "
               f"--poison {m['layout']['poison']} --json")
    for k, (what, addr, is_next) in enumerate(pointers(nodes)):
        value, next_kinds, prev_kinds = GARBAGE[k % len(GARBAGE)]
        value = addr if value is None else value
        off = patcher.offset(addr)
        old = patcher.poke(off, value)
        try:
            patcher.reload()
            assert patcher.rd(addr) == value, f"crash does not see the patch of {what}"
            started = time.monotonic()
            out = s.run(command, timeout=300)
            assert time.monotonic() - started < 300
            j = one_document(out)
            mine = [f for f in j["findings"] if f["list"] == victim]
            assert mine, f"{what} = {value:#x}: no finding on list {victim}:\n{out[:2000]}"
            kinds = next_kinds if is_next else prev_kinds
            assert {f["kind"] for f in mine} & kinds, f"{what} = {value:#x}: {mine}"
            # The other lists keep exactly the faults the guest injected.
            others = sorted(f["kind"] for f in j["findings"] if f["list"] != victim)
            assert others == sorted(faults), others
            text = s.run(command.replace(" --json", " --count"), timeout=300)
            assert answered(text) and "finding" in text.splitlines()[0]
            assert "jiffies = " in s.run("p jiffies")
        finally:
            patcher.restore(off, old)


@pytest.fixture(scope="module")
def rtnl_copy():
    yield from patchable_session("rtnl-stuck", "rtnl-garbage", "nd_rtnl_stuck")


def test_each_pointer_of_rtnl_wait_list_in_turn(rtnl_copy):
    s, patcher = rtnl_copy
    m = manifest("rtnl-stuck")
    out = s.run("p &rtnl_mutex.wait_list", timeout=60)
    head = int(re.search(r"0x([0-9a-f]+)", out).group(1), 16)
    nodes = [head] + crash_list(s, head)
    assert len(nodes) == len(m["rtnl_waiters"]) + 1
    for k, (what, addr, is_next) in enumerate(pointers(nodes)):
        value, next_kinds, prev_kinds = GARBAGE[k % len(GARBAGE)]
        value = addr if value is None else value
        off = patcher.offset(addr)
        old = patcher.poke(off, value)
        try:
            patcher.reload()
            assert patcher.rd(addr) == value, f"crash does not see the patch of {what}"
            j = one_document(s.run("lockowner rtnl_mutex --json", timeout=300))
            assert j["findings"], f"{what} = {value:#x}: wait_list damage not reported: {j}"
            for c in ["rtnlowner -s", "uninterruptible --group",
                      "listcheck rtnl_mutex.wait_list -o mutex_waiter.list --count"]:
                started = time.monotonic()
                text = s.run(c, timeout=300)
                assert time.monotonic() - started < 300
                assert answered(text), f"{c} after {what} = {value:#x}: {text!r}"
                assert "rtnl_mutex" in s.run("sym rtnl_mutex")
            owner = m["rtnl_owner"]
            assert f"pid {owner['pid']}" in s.run("rtnlowner", timeout=300)  # the owner is still found
        finally:
            patcher.restore(off, old)
