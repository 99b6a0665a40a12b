#!/usr/bin/python3
"""check-ftrace.py [DUMPDIR]

Checks an ftrace dump against its manifest with drgn (vmcore.elf): the
stalled CPU's current task is the manifest's kworker, running
nd_ftrace_stall_fn (its worker's current_func); the top instance's trace
clock is the one the guest's trace_clock file showed; the stalled CPU's
ring buffer counters (entries, overrun) are what the guest's per_cpu stats
read after the stall began (that CPU writes no event after it), and every
other CPU wrapped (overrun > 0).  Run with /usr/bin/python3.  Exits 1 on
any mismatch.
"""
import sys

from drgn.helpers.linux.percpu import per_cpu

sys.dont_write_bytecode = True  # no __pycache__ in dumps/
import checklib as c  # noqa: E402

m, d, prog = c.load("ftrace")
st = m["stall"]
cpu = st["cpu"]

curr = per_cpu(prog["runqueues"], cpu).curr
c.check("CPU%d's current pid" % cpu, int(curr.pid), st["pid"])
c.check("CPU%d's current comm" % cpu, curr.comm.string_().decode(), st["comm"])
from drgn import cast  # noqa: E402
worker = cast("struct worker *", cast("struct kthread *", curr.worker_private).data)
c.check("the worker's current_func", prog.symbol(int(worker.current_func)).name, st["function"])
c.check("the worker's current_work", hex(int(worker.current_work)), st["work"])

gt = prog["global_trace"]
clocks = prog["trace_clocks"]
clock = clocks[int(gt.clock_id)].name.string_().decode()
active = m["trace_clock"].split("[")[1].split("]")[0]
c.check("trace clock", clock, active)

buffers = gt.array_buffer.buffer.buffers
for s in m["per_cpu_stats"]:
    cb = buffers[s["cpu"]]
    entries = int(cb.entries.a.counter) - int(cb.overrun.a.counter) - int(cb.read)
    overrun = int(cb.overrun.a.counter)
    if s["cpu"] == cpu:
        c.check("CPU%d entries" % cpu, entries, s["entries"])
        c.check("CPU%d overrun" % cpu, overrun, s["overrun"])
    elif overrun == 0:
        c.bad.append("CPU%d's buffer never wrapped (overrun 0)" % s["cpu"])
c.finish()
