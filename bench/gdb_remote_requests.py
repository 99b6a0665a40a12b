#!/usr/bin/python3
"""How many remote memory requests `rtnlowner` costs over a QEMU gdbstub.

Boots the rtnl-stuck guest with dumps/live-guest.sh (or uses a running one:
--state DIR), then in one gdb session: connects, loads netdbg, lets it find
the KASLR offset, and runs `rtnlowner` three times under `set debug
remote 1`:
  cold   first run: every page the command touches is fetched;
  warm   the same stopped target again: the core's page cache answers;
  resume after `stepi` (the target ran): the cache was dropped, so all
         pages are fetched again.
For each it prints the pages netdbg's cache asked for (the core's
Memory::target_reads), how many of them went to gdb (remote) and how many
came from the read-only sections of the vmlinux file (local), and the
gdbstub memory-read packets gdb sent (QEMU answers at most 2 KiB per
packet, so a remote page costs two). A record, not an assertion: the
goal is <= 50 requests (packets) for rtnlowner.
tests/integration/test_gdb_live.py records the same figures with
measure(). Prints one JSON document last."""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "integration"))
os.environ.setdefault("NETDBG_BUILD", str(REPO / "build"))

import crashrun  # noqa: E402
import gdbrun  # noqa: E402

STEP = r'''
import gdb, json, time
import _netdbg
COUNTERS = ("pages", "read_calls", "local_reads")
def measure(tag):
    before = _netdbg.stats()
    gdb.execute("set debug remote 1")
    gdb.write("==bench-begin==%s\n" % tag, gdb.STDLOG)
    t0 = time.perf_counter()
    gdb.execute("rtnlowner")  # not to_string: that would swallow the debug log too
    t = time.perf_counter() - t0
    gdb.write("==bench-end==%s\n" % tag, gdb.STDLOG)
    gdb.execute("set debug remote 0")
    after = _netdbg.stats()
    r = {k: after.get(k, 0) - before.get(k, 0) for k in COUNTERS}
    r.update(tag=tag, seconds=t)
    gdb.write("==bench-result== %s\n" % json.dumps(r))
gdb.execute("netdbg-kaslr")
measure("cold")
measure("warm")
gdb.execute("stepi", to_string=True)
measure("resume")
'''
# A memory read sent to the stub, as `set debug remote 1` logs it (gdb 13:
# "[remote] Sending packet: $mffffffff82a1a000,800#4e"); `x` is the binary
# read of newer gdbs.
PACKET = re.compile(r"Sending packet: \$[mx][0-9a-fA-F]+,[0-9a-fA-F]+#")


def measure(port, modules_dir=None):
    """{cold, warm, resume: {pages, read_calls, local_reads, packets, seconds}}
    of rtnlowner on the stopped guest at 127.0.0.1:port. packets is None
    when gdb's debug log showed no packet although netdbg read through gdb."""
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as f:
        f.write(STEP)
    argv = ["gdb", "-nx", "-batch", "-ex", "set pagination off", "-ex", f"file {crashrun.indexed_vmlinux()}",
            "-ex", f"target remote 127.0.0.1:{port}", "-ex", f"source {gdbrun.SCRIPT}"]
    if modules_dir:
        argv += ["-ex", f"netdbg-load-modules {modules_dir}"]
    try:
        p = subprocess.run(argv + ["-x", f.name], capture_output=True, text=True, timeout=600)
    finally:
        os.unlink(f.name)
    results = {}
    for line in p.stdout.splitlines():
        if line.startswith("==bench-result== "):
            r = json.loads(line.split(" ", 1)[1])
            results[r["tag"]] = r
    if set(results) != {"cold", "warm", "resume"}:
        raise RuntimeError(f"gdb run failed:\n{p.stdout[-2000:]}\n{p.stderr[-2000:]}")
    # Count the packets between each begin/end mark of the debug log.
    tag = None
    packets = {t: 0 for t in results}
    for line in p.stderr.splitlines():
        m = re.match(r"==bench-(begin|end)==(\w+)", line)
        if m:
            tag = m.group(2) if m.group(1) == "begin" else None
        elif tag and PACKET.search(line):
            packets[tag] += 1
    for t, r in results.items():
        r["packets"] = packets[t] if packets[t] or not r["read_calls"] else None
    return results


def run(state):
    env = dict(line.split("=", 1) for line in (Path(state) / "env").read_text().split())
    return measure(env["GDB_PORT"])


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--state", help="directory of a running dumps/live-guest.sh guest")
    args = ap.parse_args()
    state = args.state
    booted = None
    if not state:
        booted = tempfile.mkdtemp(prefix="netdbg-bench-")
        subprocess.run([str(REPO / "dumps" / "live-guest.sh"), "start", "rtnl-stuck", booted], check=True,
                       stdout=subprocess.DEVNULL)
        state = booted
    try:
        results = run(state)
    finally:
        if booted:
            subprocess.run([str(REPO / "dumps" / "live-guest.sh"), "stop", booted])
    for tag in ("cold", "warm", "resume"):
        r = results[tag]
        packets = "n/a" if r["packets"] is None else r["packets"]
        print(f"rtnlowner {tag:6}: {r['pages']:4d} pages ({r['read_calls']:4d} remote, {r['local_reads']:4d} from "
              f"vmlinux), {packets:>4} remote packets, {r['seconds']:.2f}s")
    cold = results["cold"]
    n, what = (cold["packets"], "packets") if cold["packets"] is not None else (cold["read_calls"], "remote pages")
    print(f"goal <= 50 requests: {'met' if n <= 50 else 'not met'} ({n} {what} on a cold cache)")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
