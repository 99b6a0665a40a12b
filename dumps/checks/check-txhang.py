#!/usr/bin/python3
"""check-txhang.py [DUMPDIR]

Checks a txhang dump against its manifest.  drgn (vmcore.elf) reads on its
own: tx0 and tx1 on init_net's device list with the manifest's address and
ifindex; each TX queue's state (DRV_XOFF on queue 0), trans_start, and
trans_timeout equal to the timeouts the driver itself counted in its
private data (it can have grown since the manifest, never shrunk); each
qdisc's kind (ops->id), its qlen as qdisc_qlen_sum() computes it (per-CPU
for pfifo_fast), its gso_skb length and backlog; the driver's ring fill and
dev->stats; ndleak0 off the device list, its reg_state and its per-CPU
refcount sum; the ip task in D state in netdev_run_todo.  crash (vmcore)
must read the same queue state, trans_start and trans_timeout.  Run with
/usr/bin/python3.  Exits 1 on any mismatch.
"""
import sys

from drgn import Object, cast
from drgn.helpers.linux.cpumask import for_each_possible_cpu
from drgn.helpers.linux.percpu import per_cpu_ptr
from drgn.helpers.linux.pid import find_task

sys.dont_write_bytecode = True  # no __pycache__ in dumps/
import checklib as c  # noqa: E402

m, d, prog = c.load("txhang")
check = c.check
hx = c.hx
DEVS = {n: dev for n, _, dev in c.netdevs(prog)}
TCQ_F_CPUSTATS = 0x20


def qlen_sum(q):
    """qdisc_qlen_sum()"""
    n = q.qstats.qlen.value_()
    if q.flags.value_() & TCQ_F_CPUSTATS:
        for cpu in for_each_possible_cpu(prog):
            n += per_cpu_ptr(q.cpu_qstats, cpu).qlen.value_()
    else:
        n += q.q.qlen.value_()
    return n


def backlog_sum(q):
    if q.flags.value_() & TCQ_F_CPUSTATS:
        return sum(per_cpu_ptr(q.cpu_qstats, cpu).backlog.value_() for cpu in for_each_possible_cpu(prog))
    return q.qstats.backlog.value_()


crash_cmds = []
for md in m["devices"]:
    name = md["name"]
    dev = DEVS.get(name)
    if not check("%s on init_net's device list" % name, dev is not None, True):
        continue
    check("%s address" % name, hx(dev.value_()), md["address"])
    check("%s ifindex" % name, dev.ifindex.value_(), md["ifindex"])
    check("%s watchdog_timeo" % name, dev.watchdog_timeo.value_(), md["watchdog_timeo"])
    priv = cast("struct nd_priv *", Object(prog, "unsigned long", dev.value_() + prog.type("struct net_device").size
                                           + (-prog.type("struct net_device").size % 32)))
    check("%s ring fill" % name, priv.ring_len.value_(), md["ring_len"])
    check("%s dev->stats.tx_packets" % name, dev.stats.tx_packets.value_(), md["stats"]["tx_packets"])
    check("%s dev->stats.tx_fifo_errors" % name, dev.stats.tx_fifo_errors.value_(), md["stats"]["tx_fifo_errors"])
    timeouts = priv.timeouts.value_()
    check("%s timeouts counted by the driver >= manifest" % name, timeouts >= md["timeouts"], True)
    root = cast("struct Qdisc *", dev.qdisc)  # net_device.qdisc may be an incomplete type here
    check("%s root qdisc" % name, root.ops.id.string_().decode(), md["root_qdisc"]["kind"])
    total = 0
    for mq in md["tx_queues"]:
        i = mq["index"]
        txq = dev._tx[i]
        check("%s txq %d address" % (name, i), hx(txq.address_of_().value_()), mq["address"])
        check("%s txq %d state" % (name, i), txq.state.value_(), mq["state"])
        check("%s txq %d trans_start" % (name, i), txq.trans_start.value_(), mq["trans_start"])
        tt = txq.trans_timeout.counter.value_()
        if i == md["stopped_queue"]:
            check("%s txq %d trans_timeout == the driver's count" % (name, i), tt, timeouts)
        check("%s txq %d trans_timeout >= manifest" % (name, i), tt >= mq["trans_timeout"], True)
        q = cast("struct Qdisc *", txq.qdisc_sleeping)
        mqs = mq["qdisc_stats"]
        check("%s txq %d qdisc" % (name, i), hx(q.value_()), mqs["address"])
        check("%s txq %d qdisc kind" % (name, i), q.ops.id.string_().decode(), mqs["kind"])
        check("%s txq %d qdisc qlen" % (name, i), qlen_sum(q), mqs["qlen"])
        check("%s txq %d qdisc backlog" % (name, i), backlog_sum(q), mqs["backlog"])
        check("%s txq %d gso_skb" % (name, i), q.gso_skb.qlen.value_(), mqs["gso_skb"])
        total += qlen_sum(q)
        crash_cmds.append(("%s txq %d" % (name, i), "struct netdev_queue.state,trans_start,trans_timeout %s" % mq["address"],
                           txq))
    # every ping is in the ring or in a qdisc: none left the guest
    check("%s packets held (ring + qdisc) == pings sent" % name, md["ring_len"] + total, m["pings"][name])

leak = m["leak"]
check("ndleak0 off init_net's device list", leak["name"] in DEVS, False)
ldev = Object(prog, "struct net_device *", int(leak["address"], 16))
check("ndleak0 name", ldev.name.string_().decode(), leak["name"])
check("ndleak0 reg_state", ldev.reg_state.value_(), leak["reg_state"])
refs = sum(per_cpu_ptr(ldev.pcpu_refcnt, cpu)[0].value_() for cpu in for_each_possible_cpu(prog))
check("ndleak0 usage count (pcpu_refcnt summed)", refs, leak["refcnt"])
t = find_task(prog, leak["waiter"]["pid"])
check("ip link delete task", t.comm.string_().decode() if t else None, "ip")
if t:
    check("ip link delete in D state", t.__state.value_(), 2)
    names = []
    for f in prog.stack_trace(t):
        try:
            names.append(f.name or prog.symbol(f.pc).name)
        except LookupError:
            pass
    check("ip link delete waits in netdev_run_todo", "netdev_run_todo" in names, True)

outs = c.crash(d, m, [cmd for _, cmd, _ in crash_cmds])
for (what, _, txq), out in zip(crash_cmds, outs):
    got = c.crash_members(out)
    check("crash: %s state" % what, int(got.get("state", "-1"), 0), txq.state.value_())
    check("crash: %s trans_start" % what, int(got.get("trans_start", "-1"), 0), txq.trans_start.value_())
c.finish()
