#!/usr/bin/python3
"""make bench, ftrace part: netdbg's ftrace on a full 1 MiB-per-CPU ring
buffer (the ftrace-full dump, built on first use, ~2 min, then cached)
against Debian's `trace-cmd report` on the trace.dat netdbg writes.

Times, each the median of --reps runs:
  crash + extend alone (the baseline every session pays),
  crash + `ftrace` printing every event (minus the baseline),
  crash + `ftrace --stalls -o FILE` (read, decode, write trace.dat),
  `trace-cmd report FILE` printing every event.
Events per second = events / time. The events netdbg prints must be the
events trace-cmd reports (same count)."""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CACHE = Path(os.environ.get("NETDBG_CACHE", Path.home() / ".cache" / "netdbg"))
VMLINUX = CACHE / "kernel" / "vmlinux"
SCENARIO = "ftrace-full"
DUMP = CACHE / "dumps" / SCENARIO


def crash(so, commands, tmp):
    script = Path(tmp) / "cmds"
    script.write_text("\n".join([f"extend {so}"] + commands + ["quit"]) + "\n")
    t0 = time.monotonic()
    p = subprocess.run(["crash", "-s", str(VMLINUX), str(DUMP / "vmcore"), "-i", str(script)],
                       stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=3600)
    return time.monotonic() - t0, p.stdout


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=str(REPO / "build"))
    ap.add_argument("--reps", type=int, default=3)
    a = ap.parse_args()
    so = Path(a.build) / "netdbg.so"
    r = subprocess.run([str(REPO / "dumps" / "make-dump.sh"), SCENARIO])
    if r.returncode:
        sys.exit("bench ftrace: making the ftrace-full dump failed")
    m = json.loads((DUMP / "manifest.json").read_text())
    with tempfile.TemporaryDirectory() as tmp:
        dat = Path(tmp) / "trace.dat"
        base, show, write, report = [], [], [], []
        events = printed = reported = 0
        for _ in range(a.reps):
            base.append(crash(so, [], tmp)[0])
            t, out = crash(so, ["ftrace"], tmp)
            show.append(t)
            first = next((l for l in out.splitlines() if " events in " in l), "")
            events = int(first.split()[0]) if first else 0
            printed = sum(1 for l in out.splitlines() if re.match(r"^\s*\S.*-\d+\s+\[\d{3}\] ", l))
            write.append(crash(so, [f"ftrace --stalls -o {dat}"], tmp)[0])
            t0 = time.monotonic()
            p = subprocess.run(["trace-cmd", "report", "-N", str(dat)], capture_output=True, text=True)
            report.append(time.monotonic() - t0)
            reported = sum(1 for l in p.stdout.splitlines() if re.match(r"^\s*\S.*-\d+\s+\[\d{3}\]\s", l))
    b, s, w, rp = (statistics.median(x) for x in (base, show, write, report))
    full = all(c["overrun"] > 0 for c in m["per_cpu_stats"])
    print(f"bench ftrace: {SCENARIO} dump: {m['cpus']} CPUs x {m['buffer_size_kb']} KiB, "
          f"{'every buffer full' if full else 'NOT every buffer full'}; {events} events")
    print(f"  crash + extend alone           {b:8.2f} s")
    print(f"  ftrace (print every event)     {s - b:8.2f} s  {events / max(s - b, 1e-9):10.0f} events/s")
    print(f"  ftrace --stalls -o trace.dat   {w - b:8.2f} s  {events / max(w - b, 1e-9):10.0f} events/s")
    print(f"  trace-cmd report trace.dat     {rp:8.2f} s  {reported / max(rp, 1e-9):10.0f} events/s")
    if printed != events or reported != events:
        sys.exit(f"bench ftrace: netdbg counted {events}, printed {printed}, trace-cmd reported {reported}")


if __name__ == "__main__":
    main()
