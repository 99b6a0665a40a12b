#!/usr/bin/python3
"""check-napi.py [DUMPDIR]

Checks a napi dump against its manifest.  drgn (vmcore.elf) finds every
device of init_net and walks each dev->napi_list on its own, and must find
the manifest's devices (address, ifindex, flags, priv_flags, npinfo, master)
and NAPIs (address, napi_id, state, weight, poll_owner, thread) in list
order; the NAPI_STATE_* enumerators must be the bits the module was built
with; the softirq CPU's softnet_data.poll_list must hold exactly the
manifest's NAPIs in order, and no other CPU's poll list any NAPI of
ndnapi0; the stuck NAPIs must have SCHED set, be self-linked and on no
poll list; netconsole's devices must have npinfo->netpoll pointing back at
them; nd_napi_reset must sleep in napi_disable().  crash (vmcore) must show
the same states and owners and name the same poll functions.
Run with /usr/bin/python3.  Exits 1 on any mismatch.
"""
import json
import os
import sys

import drgn
from drgn.helpers.linux.list import list_for_each_entry
from drgn.helpers.linux.percpu import per_cpu
from drgn.helpers.linux.pid import find_task

sys.dont_write_bytecode = True  # no __pycache__ in dumps/
import checklib as c  # noqa: E402

d = c.dump_dir("napi")
m = json.load(open(os.path.join(d, "manifest.json")))
if m.get("scenario") != "napi":
    sys.exit("%s: not a napi dump" % d)
prog = drgn.Program()
prog.set_core_dump(os.path.join(d, m["files"]["vmcore_elf"]))
try:
    # The stock modules carry no DWARF; only vmlinux and nd_napi_stuck do.
    prog.load_debug_info([c.VMLINUX, os.path.join(d, m["files"]["modules"]["nd_napi_stuck"])])
except drgn.MissingDebugInfoError:
    pass
check, hx = c.check, c.hx

# ---- enum and flags ---------------------------------------------------------
check("NAPI_STATE_* from the debug info = the module's build",
      {k: prog["NAPI_STATE_" + k].value_() for k in m["state_bits"]}, m["state_bits"])
check("IFF_DISABLE_NETPOLL", hx(prog["IFF_DISABLE_NETPOLL"].value_()), m["iff_disable_netpoll"])
SCHED = 1 << m["state_bits"]["SCHED"]
DISABLE = 1 << m["state_bits"]["DISABLE"]


def master_of(dev):
    """netdev_master_upper_dev_get(): the first upper adjacency, if master."""
    head = dev.adj_list.upper.address_of_()
    if head.next.value_() == head.value_():
        return None
    adj = drgn.container_of(head.next, "struct netdev_adjacent", "list")
    return adj.dev.name.string_().decode() if adj.master else None


def napis(dev):
    return list(list_for_each_entry("struct napi_struct", dev.napi_list.address_of_(), "dev_list"))


devs = {name: dev for name, _, dev in c.netdevs(prog)}
check("devices", sorted(devs), sorted(x["name"] for x in m["devices"]))
all_napis = {}
for md in m["devices"]:
    dev = devs.get(md["name"])
    if dev is None:
        continue
    n = md["name"]
    check(n + ": net_device", hx(dev.value_()), md["address"])
    check(n + ": ifindex, flags, priv_flags",
          (dev.ifindex.value_(), hx(dev.flags.value_()), hx(dev.priv_flags.value_())),
          (md["ifindex"], md["flags"], md["priv_flags"]))
    check(n + ": npinfo", hx(dev.npinfo.value_()), md["npinfo"])
    check(n + ": master", master_of(dev), md["master"])
    got = []
    for napi in napis(dev):
        all_napis[napi.value_()] = n
        got.append({"address": hx(napi.value_()), "napi_id": napi.napi_id.value_(), "state": hx(napi.state.value_()),
                    "weight": napi.weight.value_(), "poll_owner": napi.poll_owner.value_(),
                    "thread_pid": napi.thread.pid.value_() if napi.thread else 0})
    want = [{k: x[k] for k in ("address", "napi_id", "state", "weight", "poll_owner", "thread_pid")}
            for x in md["napis"]]
    check(n + ": NAPIs (address, id, state, weight, owner, thread) in napi_list order", got, want)
    if md["driver"] == "nd_napi_stuck":
        check(n + ": poll functions", [prog.symbol(x.poll.value_()).name for x in napis(dev)],
              [x["poll"].split()[0] for x in md["napis"]])

# ---- netpoll ------------------------------------------------------------------
for nc in m["netconsole"]:
    dev = devs[nc["device"]]
    # (cast: nd_napi_stuck's DWARF declares struct netpoll_info without members)
    np = drgn.Object(prog, "struct netpoll_info *", dev.npinfo.value_()).netpoll
    check(nc["device"] + ": npinfo->netpoll (name, dev_name, dev, ports)",
          (np.name.string_().decode(), np.dev_name.string_().decode(), np.dev.value_(),
           np.local_port.value_(), np.remote_port.value_()),
          ("netconsole", nc["device"], dev.value_(), nc["local_port"], nc["remote_port"]))
check("devices with npinfo = netconsole's devices",
      sorted(n for n, dev in devs.items() if dev.npinfo), sorted(x["device"] for x in m["netconsole"]))
check("IFF_DISABLE_NETPOLL set on exactly the devices the kernel refused as \"doesn't support polling\"",
      sorted(n for n, dev in devs.items() if dev.priv_flags & prog["IFF_DISABLE_NETPOLL"]),
      sorted(x["name"] for x in m["devices"] if x["netpoll"] and "support polling" in (x["netpoll"]["kernel_message"] or "")))
check("devices with a master = the devices refused as slaves",
      sorted(n for n, dev in devs.items() if master_of(dev)),
      sorted(x["name"] for x in m["devices"] if x["netpoll"] and "slave" in (x["netpoll"]["kernel_message"] or "")))

# ---- poll lists ---------------------------------------------------------------------
cpus = m["cpus"]
lists = {}
for cpu in range(cpus):
    sd = per_cpu(prog["softnet_data"], cpu)
    lists[cpu] = [hx(x.value_()) for x in
                  list_for_each_entry("struct napi_struct", sd.poll_list.address_of_(), "poll_list")]
pl = m["poll_list"]
check("CPU %d poll_list" % pl["cpu"], lists[pl["cpu"]], pl["napis"])
nd0 = {hx(a) for a, n in all_napis.items() if n == "ndnapi0"}
check("ndnapi0 NAPIs on other CPUs' poll lists",
      {cpu: [a for a in l if a in nd0] for cpu, l in lists.items() if cpu != pl["cpu"]},
      {cpu: [] for cpu in range(cpus) if cpu != pl["cpu"]})
listed = {a for l in lists.values() for a in l}
by_index = {x["index"]: x for md in m["devices"] if md["name"] == "ndnapi0" for x in md["napis"]}
for i in m["stuck"]["napis"]:
    napi = drgn.Object(prog, "struct napi_struct *", int(by_index[i]["address"], 16))
    check("stuck NAPI %d: SCHED set, self-linked, on no poll list, no owner" % i,
          (bool(napi.state & SCHED), napi.poll_list.next.value_() == napi.poll_list.address_of_().value_(),
           hx(napi.value_()) in listed, napi.poll_owner.value_()), (True, True, False, -1))
r = m["reset_thread"]
napi = drgn.Object(prog, "struct napi_struct *", int(by_index[r["napis"][0]]["address"], 16))
check("NAPI under napi_disable(): DISABLE and SCHED", (bool(napi.state & DISABLE), bool(napi.state & SCHED)),
      (True, True))
task = find_task(prog, r["pid"])
check("nd_napi_reset: comm, D state", (task.comm.string_().decode(), task.__state.value_()), (r["comm"], 2))
check("nd_napi_reset sleeps in napi_disable",
      any(f.name == "napi_disable" for f in prog.stack_trace(task) if f.name), True)
t = m["netpoll_thread"]
check("nd_napi_netpoll: comm, and poll_owner of the NAPIs it holds",
      (find_task(prog, t["pid"]).comm.string_().decode(),
       [drgn.Object(prog, "struct napi_struct *", int(by_index[i]["address"], 16)).poll_owner.value_()
        for i in t["napis"]]), (t["comm"], [t["cpu"]] * len(t["napis"])))
t = m["softirq_thread"]
task = find_task(prog, t["pid"])
check("nd_napi_softirq: comm, and current on its CPU",
      (task.comm.string_().decode(), per_cpu(prog["runqueues"], t["cpu"]).curr.value_() == task.value_()),
      (t["comm"], True))

# ---- crash ------------------------------------------------------------------------------
nd_all = [x for md in m["devices"] for x in md["napis"]]
cmds = ["struct napi_struct.state,poll_owner,napi_id %s" % x["address"] for x in nd_all]
cmds += ["sym %s" % hx(prog.read_u64(int(x["address"], 16) + prog.type("struct napi_struct").member("poll").offset))
         for x in nd_all]
outs = c.crash(d, m, cmds)
got_c, sym_c = [], []
for x, o, s in zip(nd_all, outs[:len(nd_all)], outs[len(nd_all):]):
    v = c.crash_members(o)
    got_c.append((hx(int(v.get("state", "-1"), 0)), int(v.get("poll_owner", "-99")), int(v.get("napi_id", "-1"))))
    parts = s.split()
    sym_c.append(parts[2] if len(parts) > 2 else s.strip())
check("crash: every NAPI's state, poll_owner, napi_id", got_c,
      [(x["state"], x["poll_owner"], x["napi_id"]) for x in nd_all])
check("crash: every NAPI's poll function", sym_c, [x["poll"].split()[0] for x in nd_all])
c.finish()
