#!/usr/bin/python3
"""check-cpus.py [DUMPDIR]

Checks a cpus dump against its manifest with drgn (vmcore.elf): the
spinner is current on its CPU with preemption off (__preempt_count), its
sched_info.last_arrival is the one it recorded when it began to spin, it
owns nd_cpus_mutex whose wait list holds the two waiters in order (both
in D), the soft-lockup watchdog's touch timestamp of that CPU is older
than the threshold (watchdog_thresh * 2, as the guest set it), at least
one other CPU runs its idle task, and the deep sleeper's call chain (drgn's
unwinder) holds the module's call path the manifest recorded from
/proc/PID/stack.  Run with /usr/bin/python3.  Exits 1 on any mismatch.
"""
import sys

from drgn.helpers.linux.cpumask import for_each_online_cpu
from drgn.helpers.linux.list import list_for_each_entry
from drgn.helpers.linux.percpu import per_cpu
from drgn.helpers.linux.pid import find_task

sys.dont_write_bytecode = True  # no __pycache__ in dumps/
import checklib as c  # noqa: E402

m, d, prog = c.load("cpus")
check = c.check
hx = c.hx
SP, MX, DP, WD = m["spinner"], m["mutex"], m["deep"], m["watchdog"]
cpu = SP["cpu"]

rqs = {i: per_cpu(prog["runqueues"], i) for i in for_each_online_cpu(prog)}
now = max(rq.clock.value_() for rq in rqs.values())
sp = find_task(prog, SP["pid"])
check("spinner task_struct", hx(sp.value_()), SP["task"])
check("spinner current on CPU %d" % cpu, rqs[cpu].curr.value_(), sp.value_())
check("spinner TASK_RUNNING", sp.__state.value_(), 0)
check("spinner last_arrival (as recorded at the spin's start)", sp.sched_info.last_arrival.value_(),
      SP["last_arrival_ns"])
pc = per_cpu(prog["__preempt_count"], cpu).value_() & 0xffffffff
check("CPU %d preempt depth >= 1" % cpu, (pc & 0xff) >= 1, True)
check("the dump is later than the spin's start", now > SP["spin_start_ns"], True)
idle = [i for i, rq in rqs.items() if rq.curr.value_() == rq.idle.value_()]
check("another CPU idle", any(i != cpu for i in idle), True)

mutex = prog["nd_cpus_mutex"]
check("nd_cpus_mutex address", hx(mutex.address_), MX["address"])
check("nd_cpus_mutex owner", hx(mutex.owner.counter.value_() & ~7), SP["task"])
waiters = [w.task.pid.value_() for w in list_for_each_entry("struct mutex_waiter", mutex.wait_list.address_of_(),
                                                            "list")]
check("nd_cpus_mutex wait_list", waiters, [w["pid"] for w in MX["waiters"]])
for w in MX["waiters"]:
    check("waiter %d in D" % w["pid"], find_task(prog, w["pid"]).__state.value_(), 2)

touch = per_cpu(prog["watchdog_touch_ts"], cpu).value_()
check("watchdog_thresh", prog["watchdog_thresh"].value_(), WD["watchdog_thresh"])
check("CPU %d soft-lockup age > %ds" % (cpu, WD["softlockup_thresh"]), (now >> 30) - touch > WD["softlockup_thresh"],
      True)

dt = find_task(prog, DP["pid"])
check("deep sleeper task_struct", hx(dt.value_()), DP["task"])


def frame_name(f):
    if f.name is not None:
        return f.name
    try:
        return prog.symbol(f.pc).name  # asm without DWARF (ret_from_fork)
    except LookupError:
        return None


frames = list(prog.stack_trace(dt))
names = [frame_name(f) for f in frames]
want = [f.split("+")[0] for f in DP["stack"]]
it = iter(names)
check("deep sleeper's chain holds /proc/PID/stack's frames", all(any(w == g for g in it) for w in want), True)
inl = [f.name for f in frames if f.is_inline and f.name in m["deep"]["inlined"]["nd_deep_4"]]
check("drgn sees nd_deep_inline inlined at the return address in nd_deep_4", inl, ["nd_deep_inline"])
check("deep path has >= 8 module frames", len([f for f in DP["stack"] if f.endswith("[nd_cpus]")]) >= 8, True)
c.finish()
