#!/usr/bin/python3
"""check-rtnl-stuck.py [DUMPDIR]

Checks an rtnl-stuck dump against its manifest with drgn (run it with Debian's
/usr/bin/python3, which has python3-drgn). It reads vmcore.elf. It checks the
owner and wait-queue order of rtnl_mutex, the chain and ABBA mutexes, and that
the tasks in D state are the ones the manifest lists.
Exits 1 on any mismatch.
"""
import json
import os
import sys

import drgn
from drgn import Object
from drgn.helpers.linux.list import list_for_each_entry
from drgn.helpers.linux.pid import for_each_task

cache = os.environ.get("NETDBG_CACHE", os.path.expanduser("~/.cache/netdbg"))
d = sys.argv[1] if len(sys.argv) > 1 else os.path.join(cache, "dumps", "rtnl-stuck")
m = json.load(open(os.path.join(d, "manifest.json")))
prog = drgn.Program()
prog.set_core_dump(os.path.join(d, m["files"]["vmcore_elf"]))
prog.load_debug_info([os.path.join(cache, "kernel", "vmlinux"),
                      os.path.join(d, m["files"]["modules"]["nd_rtnl_stuck"])])


def owner(mx):
    v = mx.owner.counter.value_() & (2**64 - 1) & ~7
    return Object(prog, "struct task_struct *", v)


def waiters(mx):
    return [w.task.pid.value_() for w in list_for_each_entry(
        "struct mutex_waiter", mx.wait_list.address_of_(), "list")]


bad = []


def check(what, got, want):
    ok = got == want
    print("%-4s %s: %s" % ("ok" if ok else "FAIL", what, got if ok else "%r != %r" % (got, want)))
    if not ok:
        bad.append(what)


rtnl = prog["rtnl_mutex"]
check("rtnl_mutex owner pid", owner(rtnl).pid.value_(), m["rtnl_owner"]["pid"])
check("rtnl_mutex owner comm", owner(rtnl).comm.string_().decode(), m["rtnl_owner"]["comm"])
check("rtnl_mutex wait order", waiters(rtnl), [w["pid"] for w in m["rtnl_waiters"]])
cm = prog["nd_chain_mutex"]
check("nd_chain_mutex owner", owner(cm).pid.value_(), m["chain"]["holder"]["pid"])
check("nd_chain_mutex waiters", waiters(cm), [m["chain"]["waiter"]["pid"]])
a, b = m["abba"]["a"]["pid"], m["abba"]["b"]["pid"]
check("nd_abba_mutex_a owner/waiters", (owner(prog["nd_abba_mutex_a"]).pid.value_(), waiters(prog["nd_abba_mutex_a"])), (a, [b]))
check("nd_abba_mutex_b owner/waiters", (owner(prog["nd_abba_mutex_b"]).pid.value_(), waiters(prog["nd_abba_mutex_b"])), (b, [a]))
dstate = sorted(t.pid.value_() for t in for_each_task(prog) if t.__state.value_() == 2)
check("D-state tasks", dstate, sorted(t["pid"] for t in m["uninterruptible"]))
sys.exit(1 if bad else 0)
