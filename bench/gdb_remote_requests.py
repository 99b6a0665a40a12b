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
For each it prints the netdbg reads (pages asked of gdb, the core's
Memory::target_reads) and the gdbstub `m` packets gdb sent (QEMU answers
at most 2 KiB per packet, so a page costs two). A record, not an
assertion: the goal is <= 50 requests for rtnlowner. Prints one JSON
document last."""
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

import gdbrun  # noqa: E402

STEP = r'''
import gdb, json, time
import _netdbg
def measure(tag):
    before = _netdbg.stats()
    gdb.execute("set debug remote 1")
    gdb.write("==bench-begin==%s\n" % tag, gdb.STDERR)
    t0 = time.perf_counter()
    gdb.execute("rtnlowner")  # not to_string: that would swallow the debug log too
    t = time.perf_counter() - t0
    gdb.write("==bench-end==%s\n" % tag, gdb.STDERR)
    gdb.execute("set debug remote 0")
    after = _netdbg.stats()
    pages = after["pages"] - before["pages"] if after["pages"] >= before["pages"] else after["pages"]
    gdb.write("==bench-result== %s\n" % json.dumps({"tag": tag, "pages": pages,
              "read_calls": after["read_calls"] - before["read_calls"], "seconds": t}))
gdb.execute("netdbg-kaslr")
measure("cold")
measure("warm")
gdb.execute("stepi", to_string=True)
measure("resume")
'''


def run(state):
    env = dict(line.split("=", 1) for line in (Path(state) / "env").read_text().split())
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as f:
        f.write(STEP)
    try:
        p = subprocess.run(["gdb", "-nx", "-batch", "-ex", "set pagination off",
                            "-ex", f"file {gdbrun.indexed_vmlinux()}",
                            "-ex", f"target remote 127.0.0.1:{env['GDB_PORT']}",
                            "-ex", f"source {gdbrun.SCRIPT}", "-x", f.name],
                           capture_output=True, text=True, timeout=600)
    finally:
        os.unlink(f.name)
    results = {}
    for line in p.stdout.splitlines():
        if line.startswith("==bench-result== "):
            r = json.loads(line.split(" ", 1)[1])
            results[r["tag"]] = r
    # Count the `m` packets between each begin/end mark of the debug log.
    tag = None
    for line in p.stderr.splitlines():
        m = re.match(r"==bench-(begin|end)==(\w+)", line)
        if m:
            tag = m.group(2) if m.group(1) == "begin" else None
            continue
        if tag and re.search(r"Sending packet: \$m[0-9a-f]+,", line):
            results[tag]["m_packets"] = results[tag].get("m_packets", 0) + 1
    if set(results) != {"cold", "warm", "resume"}:
        sys.exit(f"gdb run failed:\n{p.stdout[-2000:]}\n{p.stderr[-2000:]}")
    return results


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
        print(f"rtnlowner {tag:6}: {r['pages']:4d} netdbg reads (pages), {r.get('m_packets', 0):4d} remote 'm' "
              f"packets, {r['seconds']:.2f}s")
    cold = results["cold"]["pages"]
    print(f"goal <= 50 requests: {'met' if cold <= 50 else 'not met'} ({cold} pages on a cold cache)")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
