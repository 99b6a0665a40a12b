#!/usr/bin/python3
"""drgn baseline of `rtnlowner`: rtnl_mutex's owner (pid, comm, state, wait
function, the work function of a kworker) and its waiters in queue order
with their wait functions, and how long the lock has been held at least
(the oldest waiter's time since its last arrival on a CPU).
argv: DUMP_DIR [REPEATS]."""
from drgn import Object
from drgn.helpers.linux.list import list_for_each_entry
from drgn.helpers.linux.sched import task_state_to_char

import drgnlib

PF_WQ_WORKER = 0x20


def rtnlowner(prog):
    text = drgnlib.Text(prog)
    now = drgnlib.now_ns(prog)
    m = prog["rtnl_mutex"]
    o = m.owner.counter.value_() & ~7
    owner = None
    if o:
        t = Object(prog, "struct task_struct *", o)
        owner = {"pid": t.pid.value_(), "comm": t.comm.string_().decode(), "state": task_state_to_char(t),
                 "wait_function": "" if t.on_cpu else drgnlib.wait_function(prog, text, prog.stack_trace(t)),
                 "work_function": None}
        if t.flags & PF_WQ_WORKER:
            # kthread_data(): to_kthread(task)->data is the struct worker
            kt = Object(prog, "struct kthread *", t.worker_private.value_())
            w = Object(prog, "struct worker *", kt.data.value_())
            if w.current_func:
                owner["work_function"] = prog.symbol(w.current_func.value_()).name
    waiters = []
    held = None
    for w in list_for_each_entry("struct mutex_waiter", m.wait_list.address_of_(), "list"):
        t = w.task
        blocked = max(0, now - t.sched_info.last_arrival.value_())
        held = blocked if held is None or blocked > held else held
        waiters.append({"pid": t.pid.value_(), "comm": t.comm.string_().decode(),
                        "wait_function": drgnlib.wait_function(prog, text, prog.stack_trace(t))})
    return {"owner": owner, "waiters": waiters, "held_for_at_least_ns": held}


drgnlib.main(rtnlowner)
