#!/usr/bin/python3
"""check-anycast-loop.py [DUMPDIR]

Checks an anycast-loop dump against its manifest.  drgn (vmcore.elf): the
rtnl_mutex owner is the manifest's kworker; the looping device's
ac_list, walked through aca_next (bounded), gives the manifest's entries in
order and then comes back to the target entry; every other device's ac_list
and mc_list are as the manifest lists them.  crash (vmcore): the same
ac_list head and loop pointer, and `list` stops at the repeated entry.
Run with /usr/bin/python3.  Exits 1 on any mismatch.
"""
import drgn
from drgn import Object

import sys

sys.dont_write_bytecode = True  # no __pycache__ in dumps/
import checklib as c  # noqa: E402

m, d, prog = c.load("anycast-loop")
check = c.check
L = m["loop"]

# ---- rtnl owner -------------------------------------------------------------
rtnl = prog["rtnl_mutex"]
owner = Object(prog, "struct task_struct *", rtnl.owner.counter.value_() & (2**64 - 1) & ~7)
check("rtnl_mutex owner pid", owner.pid.value_(), m["rtnl_owner"]["pid"])
check("rtnl_mutex owner comm", owner.comm.string_().decode(), m["rtnl_owner"]["comm"])
check("rtnl_mutex owner is a workqueue worker", bool(owner.flags.value_() & 0x20), True)

# ---- the looping device -----------------------------------------------------
devs = {name: (idx, dev) for name, idx, dev in c.netdevs(prog)}
idx, dev = devs[L["device"]]
check("loop device ifindex", idx, L["ifindex"])
idev = drgn.cast("struct inet6_dev *", dev.ip6_ptr)
check("loop device idev", c.hx(idev.value_()), L["idev"])
check("loop device ac_list head", c.hx(idev.ac_list.value_()), L["ac_list"])
nodes, loop_at, cut = c.walk_next(idev.ac_list, "aca_next", limit=1000)
check("ac_list entries before the repeat", [c.hx(n.value_()) for n in nodes], [e["entry"] for e in L["entries"]])
check("ac_list entry addresses", [c.v6(n.aca_addr) for n in nodes], [e["addr"] for e in L["entries"]])
check("ac_list loops back to entry (index)", loop_at, L["target_index"])
check("distinct entries", len(nodes), L["distinct_entries"])
check("last entry", c.hx(nodes[-1].value_()), L["last_entry"])
check("last entry aca_next (loop target)", c.hx(nodes[-1].aca_next.value_()), L["target_entry"])
check("cycle length", len(nodes) - loop_at if loop_at is not None else None, L["cycle_length"])

# ---- the other devices are untouched ----------------------------------------
for md in m["devices"]:
    if md["name"] == L["device"]:
        continue
    i, dv = devs[md["name"]]
    id6 = drgn.cast("struct inet6_dev *", dv.ip6_ptr)
    ns, lp, ct = c.walk_next(id6.ac_list, "aca_next")
    check("%s ac_list (addr, users)" % md["name"],
          ([(c.v6(n.aca_addr), n.aca_users.value_()) for n in ns], lp, ct),
          ([(a["addr"], a["users"]) for a in md["anycast"]], None, False))
    ns, lp, ct = c.walk_next(id6.mc_list, "next")
    check("%s mc_list (addr, users)" % md["name"],
          ([(c.v6(n.mca_addr), n.mca_users.value_()) for n in ns], lp, ct),
          ([(a["addr"], a["users"]) for a in md["multicast"]], None, False))

# ---- crash ----------------------------------------------------------------
outs = c.crash(d, m, ["struct inet6_dev.ac_list %s" % L["idev"],
                      "struct ifacaddr6.aca_next %s" % L["last_entry"],
                      "list -o ifacaddr6.aca_next %s" % L["ac_list"],
                      "p nd_ac_loop_work_fn"])
check("crash: inet6_dev.ac_list", c.crash_value(outs[0]), L["ac_list"])
check("crash: last entry's aca_next", c.crash_value(outs[1]), L["target_entry"])
print("crash> list -o ifacaddr6.aca_next %s\n%s" % (L["ac_list"], outs[2].rstrip()))
listed = [l.strip() for l in outs[2].splitlines() if l.strip().startswith("ffff")]
# crash's list stops at the first repeated entry (silently with -s)
check("crash: list shows each entry once and stops at the repeat",
      ["0x" + x for x in listed], [e["entry"] for e in L["entries"]])
check("crash: module symbols (nd_ac_loop_work_fn)", "nd_ac_loop_work_fn" in outs[3], True)
c.finish()
