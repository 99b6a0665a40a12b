#!/usr/bin/python3
"""drgn baseline of `uninterruptible --group`: every D-state task (TASK_IDLE
left out), the mutex it waits for (the `lock` argument of its __mutex_lock
frame, accepted when the mutex's wait_list holds the task), the owner, the
wait function (first frame outside the scheduler), grouped by mutex with
the waiters oldest first.  argv: DUMP_DIR [REPEATS]."""
from drgn import Object
from drgn.helpers.linux.list import list_for_each_entry
from drgn.helpers.linux.pid import for_each_task
from drgn.helpers.linux.sched import task_state_to_char

import drgnlib


def waiters_of(prog, mutex, cache):
    a = mutex.value_()
    if a not in cache:
        cache[a] = {w.task.value_() for w in
                    list_for_each_entry("struct mutex_waiter", mutex.wait_list.address_of_(), "list")}
    return cache[a]


def uninterruptible(prog):
    text = drgnlib.Text(prog)
    # for_each_task() walks the pid table: the CPUs' idle tasks (pid 0) are
    # not in it; count them as netdbg (and the kernel's task list) do.
    ntasks = drgnlib.idle_task_count(prog)
    blocked = []  # (last_arrival, pid, mutex or None, owner pid, wait function)
    lists = {}
    for t in for_each_task(prog):
        ntasks += 1
        if task_state_to_char(t) != "D":
            continue
        trace = prog.stack_trace(t)
        lock = None
        for f in trace:
            name = f.name
            if name and name.startswith("__mutex_lock"):
                try:
                    lock = f["lock"]
                except (KeyError, LookupError):
                    continue
                if lock.absent_ or t.value_() not in waiters_of(prog, lock, lists):
                    lock = None
                    continue
                break
        owner = None
        if lock is not None:
            o = lock.owner.counter.value_() & ~7
            owner = Object(prog, "struct task_struct *", o).pid.value_() if o else None
        blocked.append((t.sched_info.last_arrival.value_(), t.pid.value_(),
                        lock.value_() if lock is not None else None, owner,
                        drgnlib.wait_function(prog, text, trace)))
    blocked.sort(key=lambda b: b[0])  # stable: walk order on ties
    groups, order = {}, []
    for _, pid, m, owner, _ in blocked:
        key = m
        if key not in groups:
            groups[key] = {"mutex": "0x%x" % m if m else None, "owner_pid": owner, "waiters": []}
            order.append(key)
        groups[key]["waiters"].append(pid)
    return {"task_count": ntasks, "d_state_count": len(blocked),
            "groups": [groups[k] for k in order],
            "wait_function": {str(pid): wf for _, pid, _, _, wf in blocked}}


drgnlib.main(uninterruptible)
