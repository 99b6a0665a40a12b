"""Shared code of the drgn baselines (bench/drgn_*.py): loading the ELF dump
and timing one function several times in the same drgn process.

The baselines are what a drgn user would write for the same question; they
are comparison points for `make bench`, not part of netdbg.  Each script
prints one JSON document: {"result": ..., "times": [seconds, ...]}.  The
first call is a warm-up (drgn indexes the debug info lazily) and is not
timed; its result is the answer the benchmark compares with netdbg's.
"""
import json
import os
import sys
import time

import drgn
from drgn.helpers.linux.cpumask import for_each_online_cpu
from drgn.helpers.linux.percpu import per_cpu

CACHE = os.environ.get("NETDBG_CACHE", os.path.expanduser("~/.cache/netdbg"))
VMLINUX = os.path.join(CACHE, "kernel", "vmlinux")


def load(dump_dir):
    m = json.load(open(os.path.join(dump_dir, "manifest.json")))
    prog = drgn.Program()
    prog.set_core_dump(os.path.join(dump_dir, m["files"]["vmcore_elf"]))
    # the scenario modules only: the stock .ko files carry no DWARF
    prog.load_debug_info([VMLINUX] + [os.path.join(dump_dir, p) for n, p in m["files"]["modules"].items()
                                      if n.startswith("nd_")])
    return prog


def main(fn):
    """fn(prog) -> JSON-able result.  argv: DUMP_DIR [REPEATS]."""
    prog = load(sys.argv[1])
    reps = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    result = fn(prog)
    times, cpu = [], []
    for _ in range(reps):
        t0, c0 = time.perf_counter(), time.process_time()
        fn(prog)
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    json.dump({"result": result, "times": times, "cpu": cpu}, sys.stdout)
    sys.stdout.write("\n")


def now_ns(prog):
    """The dump's "now": the newest per-CPU rq->clock (as netdbg takes it)."""
    rqs = prog["runqueues"]
    return max(per_cpu(rqs, cpu).clock.value_() for cpu in for_each_online_cpu(prog))


def idle_task_count(prog):
    """The per-CPU idle tasks (init_task is CPU 0's)."""
    rqs = prog["runqueues"]
    return len({per_cpu(rqs, cpu).idle.value_() for cpu in for_each_online_cpu(prog)})


class Text:
    """kernel/sched/core.c:in_sched_functions(): .sched.text, .spinlock.text."""

    def __init__(self, prog):
        s = lambda n: prog.symbol(n).address  # noqa: E731
        self.ranges = [(s("__sched_text_start"), s("__sched_text_end")),
                       (s("__lock_text_start"), s("__lock_text_end"))]

    def in_sched(self, pc):
        return any(a <= pc < b for a, b in self.ranges)


def wait_function(prog, text, trace):
    """__get_wchan(): the first function of the stack outside the scheduler
    and lock primitives ("" if none)."""
    for f in trace:
        if f.is_inline:
            continue
        pc = f.pc
        if text.in_sched(pc):
            continue
        try:
            return prog.symbol(pc).name
        except LookupError:
            return ""
    return ""
