"""Runs gdb in batch with netdbg's gdb front end (build/gdb/netdbg-gdb.py and
_netdbg.so) on a scenario's ELF dump or on a live guest's gdbstub, and
splits the output per command like crashrun.run_crash does for crash."""
import json
import os
import subprocess
from pathlib import Path

from crashrun import BCACHE, BUILD, MARK, VMLINUX, dump_dir

GDB_DIR = BUILD / "gdb"
SCRIPT = GDB_DIR / "netdbg-gdb.py"
MODULE = GDB_DIR / "_netdbg.so"

# The driver, run by gdb's Python: each command's output goes to gdb's
# stdout after a mark; an error (gdb.GdbError from netdbg, or gdb's own)
# is printed as gdb would print it, on stdout so that it stays in order.
DRIVER = r'''
import json
import gdb
MARK = %(mark)r
for tag, command in json.loads(%(commands)r):
    gdb.write("%%s%%s\n" %% (MARK, tag))
    try:
        gdb.execute(command, from_tty=False)
    except gdb.error as e:
        gdb.write("%%s\n" %% e)
    except KeyboardInterrupt:
        gdb.write("Quit\n")
gdb.write("%%send\n" %% MARK)
'''


def target_of(scenario=None, remote=None, core=None):
    """gdb commands that open the target: a scenario's vmcore.elf, another
    core file, or a gdbstub at host:port."""
    if remote:
        return [f"target remote {remote}"]
    path = Path(core) if core else dump_dir(scenario) / "vmcore.elf"
    return [f"core-file {path}"]


def run_gdb(commands, scenario=None, remote=None, core=None, modules_dir=None, timeout=300, env=None,
            vmlinux=None):
    """Runs netdbg-kaslr, then netdbg-load-modules when modules_dir is given,
    then the commands. Returns ({index or "kaslr"/"modules": output}, raw)."""
    tagged = [("kaslr", "netdbg-kaslr")]
    if modules_dir:
        tagged.append(("modules", f"netdbg-load-modules {modules_dir}"))
    tagged += [(str(i), c) for i, c in enumerate(commands)]
    driver = DRIVER % {"mark": MARK, "commands": json.dumps(tagged)}
    base = dump_dir(scenario).parent if scenario else BCACHE
    script = base / f".gdb-driver-{os.getpid()}.py"
    script.write_text(driver)
    vml = vmlinux or VMLINUX  # with its .gdb_index (conftest.py): loads in a second
    argv = ["gdb", "-nx", "-batch", "-ex", "set pagination off", "-ex", "set width 0",
            "-ex", f"file {vml}"]
    for c in target_of(scenario, remote, core):
        argv += ["-ex", c]
    argv += ["-ex", f"source {SCRIPT}", "-x", str(script)]
    try:
        p = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout,
                           env={**os.environ, **(env or {})})
    finally:
        script.unlink(missing_ok=True)
    out = p.stdout
    parts = {}
    current = None
    for line in out.splitlines():
        if line.startswith(MARK):
            tag = line[len(MARK):]
            current = None if tag == "end" else (int(tag) if tag.isdigit() else tag)
            if current is not None:
                parts[current] = []
            continue
        if current is not None:
            parts[current].append(line)
    assert f"{MARK}end" in out, f"gdb did not reach the end of the script:\n{out[-3000:]}\n{p.stderr[-3000:]}"
    return {k: "\n".join(v) for k, v in parts.items()}, out + p.stderr


def core_module():
    """_netdbg.so imported into this Python (3.11, as gdb's): its command
    table needs no gdb."""
    import importlib.util
    import sys
    if "_netdbg" in sys.modules:
        return sys.modules["_netdbg"]
    spec = importlib.util.spec_from_file_location("_netdbg", MODULE)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    sys.modules["_netdbg"] = mod
    return mod


def invocations():
    """Every command of the core's table, bare, with --json, and as each
    EXAMPLE of its help page runs it: [(command name, command line)]."""
    out = []
    for c in core_module().commands():
        lines = [c["name"], c["name"] + " --json"]
        for line in c["help"].splitlines():
            m = line.strip()
            if m.startswith("(gdb) "):
                lines.append(m[len("(gdb) "):].strip())
        seen = set()
        out += [(c["name"], l) for l in lines if not (l in seen or seen.add(l))]
    return out


def scenarios():
    """Scenario dumps in the cache with both formats and a manifest."""
    root = BCACHE / "dumps"
    if not root.is_dir():
        return []
    return sorted(d.name for d in root.iterdir()
                  if not d.name.startswith(".") and all((d / f).exists() for f in ("vmcore", "vmcore.elf",
                                                                                   "manifest.json")))
