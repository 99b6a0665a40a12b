#!/usr/bin/python3
"""make bench, ftrace part: netdbg's ftrace on a full 1 MiB-per-CPU ring
buffer (the ftrace-full dump, built on first use, ~2 min, then cached)
against Debian's `trace-cmd report` on the trace.dat netdbg writes.

In one crash session, --reps times each (cold: `extend -u`, `extend` before
each run), timed between MARK lines as bench/run.py times its commands
(crash's own CPU time from /proc/PID/schedstat, the cost of an empty MARK
pair subtracted):
  `ftrace > /dev/null`: read, decode and print every event;
  `ftrace --stalls -o FILE`: read, decode and write trace.dat;
then `trace-cmd report FILE` (its CPU time). Events per second = events /
CPU time. The events netdbg prints must be the events trace-cmd reports
(same count)."""
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

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import MARK, mark  # noqa: E402  (bench/run.py's MARK lines)

REPO = Path(__file__).resolve().parents[1]
CACHE = Path(os.environ.get("NETDBG_CACHE", Path.home() / ".cache" / "netdbg"))
VMLINUX = CACHE / "kernel" / "vmlinux"
SCENARIO = "ftrace-full"
# A line of the trace: COMM-PID [CPU] ...
EVENT = re.compile(r"^\s*\S.*-\d+\s+\[\d{3}\]\s")
DUMP = CACHE / "dumps" / SCENARIO


def crash_session(so, dat, reps, tmp):
    lines = [f"extend {so}", "ftrace --stalls"]
    for r in range(reps):
        lines += [mark(f"empty-{r}-a"), mark(f"empty-{r}-b")]
        for name, cmd in (("show", "ftrace > /dev/null"), ("write", f"ftrace --stalls -o {dat} > /dev/null")):
            lines += [f"extend -u {so}", f"extend {so}", mark(f"{name}-{r}-a"), cmd, mark(f"{name}-{r}-b")]
    lines.append(f"ftrace > {Path(tmp) / 'events.txt'}")
    script = Path(tmp) / "cmds"
    script.write_text("\n".join(lines + ["quit"]) + "\n")
    p = subprocess.run(["crash", "-s", str(VMLINUX), str(DUMP / "vmcore"), "-i", str(script)],
                       stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=3600)
    marks = {}
    for line in p.stdout.splitlines():
        f = line.split()
        if len(f) == 4 and f[0] == MARK:
            marks[f[1]] = (float(f[2]), int(f[3]) / 1e9)
    if not marks:
        sys.exit("bench ftrace: crash printed no marks:\n" + p.stdout[-3000:])

    def median(name, index):
        return statistics.median(marks[f"{name}-{r}-b"][index] - marks[f"{name}-{r}-a"][index] for r in range(reps))

    times = {n: (median(n, 0) - median("empty", 0), median(n, 1) - median("empty", 1)) for n in ("show", "write")}
    first = next((l for l in p.stdout.splitlines() if " events in " in l), "")
    events = int(first.split()[0]) if first else 0
    printed = sum(1 for l in (Path(tmp) / "events.txt").read_text().splitlines() if EVENT.match(l))
    return times, events, printed


def cpu_of(cmd):
    """Wall and CPU (user + sys of the child) time of a command, and its output."""
    before = os.times()
    t0 = time.monotonic()
    p = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.monotonic() - t0
    after = os.times()
    return wall, (after.children_user - before.children_user) + (after.children_system - before.children_system), p


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
        times, events, printed = crash_session(so, dat, a.reps, tmp)
        report = [cpu_of(["trace-cmd", "report", "-N", str(dat)]) for _ in range(a.reps)]
        reported = sum(1 for l in report[-1][2].stdout.splitlines() if EVENT.match(l))
    rw, rc = statistics.median(x[0] for x in report), statistics.median(x[1] for x in report)
    full = all(c["overrun"] > 0 for c in m["per_cpu_stats"])
    print(f"bench ftrace: {SCENARIO} dump: {m['cpus']} CPUs x {m['buffer_size_kb']} KiB, "
          f"{'every buffer full' if full else 'NOT every buffer full'}; {events} events; median of {a.reps} runs")
    print(f"  {'':34}{'WALL':>9}{'CPU':>9}{'EVENTS/S (CPU)':>16}")
    for label, (w, c) in (("ftrace (print every event)", times["show"]),
                          ("ftrace --stalls -o trace.dat", times["write"]), ("trace-cmd report trace.dat", (rw, rc))):
        print(f"  {label:34}{w:8.2f}s{c:8.2f}s{events / max(c, 1e-9):16.0f}")
    print(f"  netdbg prints {rc / max(times['show'][1], 1e-9):.1f}x as many events per CPU second as trace-cmd report")
    if printed != events or reported != events:
        sys.exit(f"bench ftrace: netdbg counted {events}, printed {printed}, trace-cmd reported {reported}")


if __name__ == "__main__":
    main()
