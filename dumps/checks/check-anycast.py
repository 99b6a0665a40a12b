#!/usr/bin/python3
"""check-anycast.py [DUMPDIR]

Checks an anycast dump against its manifest.  drgn (vmcore.elf) walks every
device's dev->ip6_ptr->ac_list through aca_next (bounded) and mc_list through
next, and must find exactly the manifest's addresses and users counts, in
order.  crash (vmcore) must show the same ac_list head and struct ifacaddr6
layout.  Run with /usr/bin/python3.  Exits 1 on any mismatch.
"""
import drgn

import sys

sys.dont_write_bytecode = True  # no __pycache__ in dumps/
import checklib as c  # noqa: E402

m, d, prog = c.load("anycast")
check = c.check


def ac_list(dev):
    idev = drgn.cast("struct inet6_dev *", dev.ip6_ptr)
    nodes, loop, cut = c.walk_next(idev.ac_list, "aca_next")
    return idev, nodes, loop, cut


def mc_list(idev):
    nodes, loop, cut = c.walk_next(idev.mc_list, "next")
    return [(c.v6(n.mca_addr), n.mca_users.value_()) for n in nodes], loop, cut


check("IPv6 forwarding (all)", prog["init_net"].ipv6.devconf_all.forwarding.value_(), m["ipv6_forwarding"])
devs = {name: (idx, dev) for name, idx, dev in c.netdevs(prog)}
got_names = sorted(name for name, (idx, dev) in devs.items()
                   if dev.ip6_ptr.value_() and (ac_list(dev)[1] or mc_list(ac_list(dev)[0])[0]))
check("devices with IPv6 anycast/multicast entries", got_names, sorted(x["name"] for x in m["devices"]))
idevs = {}
for md in m["devices"]:
    name = md["name"]
    if name not in devs:
        check("device %s exists" % name, False, True)
        continue
    idx, dev = devs[name]
    check("%s ifindex" % name, idx, md["ifindex"])
    idev, nodes, loop, cut = ac_list(dev)
    idevs[name] = idev
    check("%s ac_list is a terminated list" % name, (loop, cut), (None, False))
    check("%s ac_list (addr, users)" % name,
          [(c.v6(n.aca_addr), n.aca_users.value_()) for n in nodes],
          [(a["addr"], a["users"]) for a in md["anycast"]])
    mcs, loop, cut = mc_list(idev)
    check("%s mc_list (addr, users)" % name, (mcs, loop, cut),
          ([(a["addr"], a["users"]) for a in md["multicast"]], None, False))

# crash: the same ac_list heads, and the ifacaddr6 layout
names = [x["name"] for x in m["devices"] if x["anycast"]]
outs = c.crash(d, m, ["struct ifacaddr6"] + ["struct inet6_dev.ac_list %s" % c.hx(idevs[n].value_())
                                              for n in names])
print(outs[0].strip())
check("crash: struct ifacaddr6 members",
      [l.split()[-1].rstrip(";").lstrip("*").split("[")[0] for l in outs[0].splitlines() if l.strip().endswith(";")],
      [f.name for f in prog.type("struct ifacaddr6").members])
for n, out in zip(names, outs[1:]):
    check("crash: %s inet6_dev.ac_list" % n, c.crash_value(out),
          c.hx(idevs[n].ac_list.value_()))
c.finish()
