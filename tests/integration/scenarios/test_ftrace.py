"""ftrace on the `ftrace` dump: the guest traced sched_switch, workqueue:*
and irq:* from boot into 16 KiB per CPU, copied the kernel's own text of
the trace (/sys/kernel/tracing/trace), then stalled CPU 3 with a work item
that disables interrupts and spins (nd_ftrace). The events netdbg reads
from the dump are compared event for event with the guest's text over the
time both cover, the ring buffer counters with the guest's per_cpu stats
and with drgn, the stall with what the module recorded, and the trace.dat
netdbg writes with Debian's `trace-cmd report`."""
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from crashrun import drgn_program, json_of, manifest, run_crash

SCENARIO = "ftrace"
M = manifest(SCENARIO)
MOD = "nd_ftrace"
STALL = M["stall"]
STATS = {s["cpu"]: s for s in M["per_cpu_stats"]}
# The instance's clock, as the guest's trace_clock file marks it: "local [global] counter ...".
CLOCK = M["trace_clock"].split("[")[1].split("]")[0]
TMP = Path(tempfile.mkdtemp(prefix="netdbg-ftrace-"))
DAT = TMP / "trace.dat"

# The kernel's trace line (trace_print_context(), trace_print_lat_fmt()).
LINE = re.compile(r"^\s*(.*)-(\d+)\s+\[(\d{3})\]\s+(\S{5})\s+(\d+\.\d{6}): (\w+): ?(.*)$")
PTR = re.compile(r"\(____ptrval____\)|0x[0-9a-f]+|\b[0-9a-f]{16}\b")


def norm(info):
    """Pointers differ by design: the kernel's text hashes %p."""
    return PTR.sub("PTR", info).strip()


@pytest.fixture(scope="module")
def session():
    commands = [
        "ftrace --json",                       # 0
        "ftrace",                              # 1
        "ftrace --stalls",                     # 2
        f"ftrace -o {DAT}",                    # 3
        "ftrace -c 3 --last 5",                # 4
        "ftrace -e workqueue:workqueue_execute_start -e sched:* --json",  # 5
        "ftrace -B nosuch",                    # 6
        "ftrace --since 5000",                 # 7
        "help ftrace",                         # 8
    ]
    parts, raw = run_crash(SCENARIO, commands, modules=[MOD])
    yield parts
    shutil.rmtree(TMP, ignore_errors=True)


@pytest.fixture(scope="module")
def doc(session):
    return json_of(session[0])


def guest_segments():
    """The guest's events per CPU, split where the kernel's own iterator
    printed "CPU:N [LOST EVENTS]" (it skipped events there: 6.1's
    rb_iter_head_event() resets when it thinks the writer moved the page)."""
    segs = {}
    for line in M["trace"]:
        if line.startswith("#"):
            continue
        lost = re.match(r"^CPU:(\d+) \[LOST EVENTS\]$", line)
        if lost:
            segs.setdefault(int(lost.group(1)), [[]]).append([])
            continue
        m = LINE.match(line)
        assert m, f"unparsed line of the guest's trace: {line!r}"
        comm, pid, cpu, lat, ts, name, info = m.groups()
        segs.setdefault(int(cpu), [[]])[-1].append(
            {"cpu": int(cpu), "pid": int(pid), "lat": lat, "ts": ts, "name": name, "info": norm(info)})
    return segs


def ts_text(ns):
    us = (ns + 500) // 1000
    return f"{us // 1000000}.{us % 1000000:06d}"


def our_events(doc):
    return [{"cpu": e["cpu"], "pid": e["pid"], "lat": e["latency"], "ts": ts_text(e["ts_ns"]), "name": e["name"],
             "info": norm(e["info"] or "")} for e in doc["events"]]


def test_events_match_the_guests_text_over_the_overlap(doc):
    """Over each stretch the guest's copy holds without a gap, and the time
    the dump's buffer still covers, the events are the same, in order:
    time (us), pid, latency flags, name and fields."""
    ours = our_events(doc)
    key = lambda e: float(e["ts"])
    compared = {}
    for cpu, segs in guest_segments().items():
        a = [e for e in ours if e["cpu"] == cpu]
        for b in segs:
            if not a or not b:
                continue
            lo, hi = max(key(a[0]), key(b[0])), min(key(a[-1]), key(b[-1]))
            if lo > hi:
                continue  # overwritten since the copy
            wa = [e for e in a if lo <= key(e) <= hi]
            wb = [e for e in b if lo <= key(e) <= hi]
            assert wa == wb, f"CPU{cpu}: events in [{lo}, {hi}] differ from the guest's trace"
            compared[cpu] = compared.get(cpu, 0) + len(wa)
    # CPU 3 wrote only until the stall after the copy: the copy's last
    # stretch there lies wholly in the dump's buffer.
    last = guest_segments()[STALL["cpu"]][-1]
    assert last and compared.get(STALL["cpu"], 0) >= len(last) >= 20, compared


def test_the_stalled_cpu_ends_with_the_work_that_never_ended(doc):
    cpu = next(c for c in doc["cpus"] if c["cpu"] == STALL["cpu"])
    w = cpu["open_work"]
    assert w is not None, cpu
    assert w["symbol"] == STALL["function"]
    assert w["pid"] == STALL["pid"] and w["comm"] == STALL["comm"]
    assert int(w["work"], 16) == int(STALL["work"], 16)
    assert cpu["last_event"] == "workqueue_execute_start" and cpu["last_ns"] == w["ts_ns"]
    assert w["switched_out_ns"] is None
    # The event is written just before the function reads the same clock
    # (global on 6.1 under TCG, whose sched_clock is unstable; local on 6.12).
    assert doc["clock"] == CLOCK
    assert 0 <= STALL[f"trace_{CLOCK}_ns"] - w["ts_ns"] < 50_000_000
    # The work outlived the rest of the trace: every other CPU's oldest event is later.
    for c in doc["cpus"]:
        if c["cpu"] != STALL["cpu"] and c["events"]:
            assert c["first_ns"] > w["ts_ns"], c
            assert c["open_work"] is None


def test_before_the_dump_against_drgn(doc):
    prog = drgn_program(SCENARIO)
    from drgn.helpers.linux.cpumask import for_each_online_cpu
    from drgn.helpers.linux.percpu import per_cpu
    now = max(int(per_cpu(prog["runqueues"], c).clock) for c in for_each_online_cpu(prog))
    assert doc["now_ns"] == now
    w = next(c for c in doc["cpus"] if c["cpu"] == STALL["cpu"])["open_work"]
    expect = now - STALL["local_clock_ns"]  # the module's local_clock() at the same instant
    assert abs(w["before_dump_ns"] - expect) < 50_000_000


def test_counters_against_the_guest_and_drgn(doc):
    prog = drgn_program(SCENARIO)
    buffers = prog["global_trace"].array_buffer.buffer.buffers
    for c in doc["cpus"]:
        cb = buffers[c["cpu"]]
        assert int(cb.cpu) == c["cpu"]
        entries = int(cb.entries.a.counter) - int(cb.overrun.a.counter) - int(cb.read)
        assert c["entries"] == entries
        assert c["overrun"] == int(cb.overrun.a.counter)
        assert c["nr_pages"] == int(cb.nr_pages)
        # Every entry the buffer counts is decoded.
        assert c["events"] == entries, c
    # The stalled CPU has not written since the guest read its stats.
    s = STATS[STALL["cpu"]]
    c = next(c for c in doc["cpus"] if c["cpu"] == STALL["cpu"])
    assert (c["entries"], c["overrun"]) == (s["entries"], s["overrun"])
    assert doc["findings"] == []


def test_text_verdict_and_stalls(session, doc):
    text = session[1].splitlines()
    assert text[0].startswith(f"{doc['summary']['events']} events in the top instance on {M['cpus']} CPUs, trace clock {CLOCK}")
    assert "1 work item never ended" in text[0]
    stalls = session[2]
    line = next(l for l in stalls.splitlines() if l.strip().startswith(f"CPU{STALL['cpu']}:"))
    assert f"workqueue_execute_start {STALL['function']} in {STALL['comm']} (pid {STALL['pid']})" in line
    assert "no execute_end: the CPU's last event" in line
    for cpu in range(M["cpus"]):
        if cpu != STALL["cpu"]:
            assert re.search(rf"^  CPU{cpu}: events until (\S+ before )?the dump$", stalls, re.M), stalls


def test_filters(session):
    lines = [l for l in session[4].splitlines() if LINE.match(l)]
    assert len(lines) == 5 and all("[003]" in l for l in lines)
    assert ": workqueue_execute_start: " in lines[-1] and STALL["function"] in lines[-1]
    sel = json_of(session[5])
    names = {e["name"] for e in sel["events"]}
    assert names <= {"workqueue_execute_start", "sched_switch"} and len(names) == 2
    assert "no trace instance 'nosuch'" in session[6]
    assert not [l for l in session[7].splitlines() if LINE.match(l)]
    assert "EXAMPLES" in session[8]


def trace_cmd_report():
    p = subprocess.run(["trace-cmd", "report", "-N", str(DAT)], capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    return p.stdout


def test_trace_dat_reads_back_with_trace_cmd(session, doc):
    assert "wrote" in session[3] and DAT.exists()
    rows = []
    for line in trace_cmd_report().splitlines():
        m = re.match(r"^\s*(.*)-(\d+)\s+\[(\d{3})\]\s+(\d+\.\d+): (\w+):\s+(.*)$", line)
        if m:
            comm, pid, cpu, ts, name, info = m.groups()
            rows.append((int(cpu), int(pid), ts, name, norm(info)))
    ours = [(e["cpu"], e["pid"], e["ts"], e["name"], e["info"]) for e in our_events(doc)]
    assert len(rows) == len(ours)
    # trace-cmd prints time with as many digits as it likes: compare to the us.
    fix = lambda r: (r[0], r[1], f"{float(r[2]):.6f}", r[3], r[4])
    mismatch = [(a, b) for a, b in zip(map(fix, rows), map(fix, ours)) if a != b]
    assert not mismatch, mismatch[:5]
