"""netdev on the txhang dump: the devices, TX queues, qdiscs and the device
being unregistered are checked against what the scenario module recorded in
the guest (manifest: nd_txhang's own ring, counters and qdisc sums), against
drgn (trans_timeout, which the watchdog keeps raising until the dump, the
driver's own timeout count, per-CPU qdisc qlens, the leaked device's per-CPU
refcount) and against crash's own reads (struct netdev_queue, softnet_data)."""
import re

import pytest

from crashrun import drgn_program, json_of, manifest, run_crash

SCENARIO = "txhang"
M = manifest(SCENARIO)
DEVS = {d["name"]: d for d in M["devices"]}
LEAK = M["leak"]
TXQS = [(d["name"], q) for d in M["devices"] for q in d["tx_queues"]]


@pytest.fixture(scope="module")
def session():
    commands = [
        "netdev --json",                  # 0
        "netdev",                         # 1
        "netdev tx0 -q",                  # 2
        "netdev -s",                      # 3
        "netdev ndleak0 --json",          # 4
        "netdev nosuch0",                 # 5
        "help netdev",                    # 6
        "netdev --all-netns --json",      # 7
        "netdev tx0 tx1",                 # 8
        "p jiffies_64",                   # 9
    ]
    commands += [f"struct netdev_queue.state,trans_start,trans_timeout {q['address']}" for _, q in TXQS]  # 10..
    commands += [f"p softnet_data:{cpu}" for cpu in range(M["cpus"])]
    parts, _ = run_crash(SCENARIO, commands, modules=["nd_txhang"])
    return parts


@pytest.fixture(scope="module")
def drgn():
    from drgn import Object, cast
    from drgn.helpers.linux.cpumask import for_each_possible_cpu
    from drgn.helpers.linux.percpu import per_cpu_ptr

    prog = drgn_program(SCENARIO)
    out = {"trans_timeout": {}, "qlen": {}}
    for name, q in TXQS:
        txq = Object(prog, "struct netdev_queue *", int(q["address"], 16))
        out["trans_timeout"][(name, q["index"])] = txq.trans_timeout.counter.value_()
        qd = cast("struct Qdisc *", txq.qdisc_sleeping)
        n = qd.qstats.qlen.value_()
        if qd.flags.value_() & 0x20:  # TCQ_F_CPUSTATS
            n += sum(per_cpu_ptr(qd.cpu_qstats, c).qlen.value_() for c in for_each_possible_cpu(prog))
        else:
            n += qd.q.qlen.value_()
        out["qlen"][(name, q["index"])] = n
    leak = Object(prog, "struct net_device *", int(LEAK["address"], 16))
    out["leak_refs"] = sum(per_cpu_ptr(leak.pcpu_refcnt, c)[0].value_() for c in for_each_possible_cpu(prog))
    out["refs"], out["operstate"], out["root_kind"] = {}, {}, {}
    for name, d in DEVS.items():
        dev = Object(prog, "struct net_device *", int(d["address"], 16))
        out["refs"][name] = sum(per_cpu_ptr(dev.pcpu_refcnt, c)[0].value_() for c in for_each_possible_cpu(prog))
        out["operstate"][name] = dev.operstate.value_()
    lo = prog["init_net"].loopback_dev
    from drgn.helpers.linux.list import list_for_each_entry
    out["init_net_devices"] = [d.name.string_().decode() for d in
                               list_for_each_entry("struct net_device", prog["init_net"].dev_base_head.address_of_(),
                                                   "dev_list")]
    out["root_kind"]["lo"] = cast("struct Qdisc *", lo.qdisc).ops.id.string_().decode()
    return out


def crash_txq(session, i):
    return {k: int(v, 0) for k, v in re.findall(r"^\s+(\w+) = (?:\{\s*counter = )?(-?\w+)", session[10 + i], re.M)}


def devices(j):
    return {d["name"]: d for d in j["devices"]}


def test_devices(session, drgn):
    got = devices(json_of(session[0]))
    assert {"lo", "tx0", "tx1"} <= set(got)
    assert "ndleak0" not in got  # off the device list
    for name, md in DEVS.items():
        d = got[name]
        assert d["net_device"] == "0x%016x" % int(md["address"], 16)
        assert d["ifindex"] == md["ifindex"]
        assert d["mtu"] == md["mtu"]
        assert d["driver"] == "nd_txhang"  # no bus parent: the module of netdev_ops
        # dev->flags as the module read it; netdev shows dev_get_flags(), which
        # adds RUNNING, LOWER_UP and DORMANT from the carrier and operstate.
        assert d["flags_raw"] & ~(0x40 | 0x10000 | 0x20000) == md["flags"]
        assert {"UP", "RUNNING", "LOWER_UP"} <= set(d["flags"])
        # IF_OPER_*: no linkwatch event set it on these fake devices
        assert d["operstate"] == ["unknown", "notpresent", "down", "lowerlayerdown", "testing", "dormant",
                                  "up"][drgn["operstate"][name]]
        assert d["carrier"]
        assert d["num_tx_queues"] == d["real_num_tx_queues"] == md["txqs"]
        assert d["watchdog_timeo_jiffies"] == md["watchdog_timeo"]
        assert d["watchdog_timeo_ns"] == md["watchdog_timeo"] * 10**9 // M["hz"]
        assert d["ndo_tx_timeout"].startswith("nd_tx_timeout")
        assert d["usage_count"] == drgn["refs"][name]
        assert d["reg_state"] == "NETREG_REGISTERED"
        for k in ("tx_packets", "tx_bytes", "rx_packets", "tx_fifo_errors"):
            assert d["stats"][k] == md["stats"][k], (name, k)
    assert got["lo"]["qdiscs"][0]["kind"] == drgn["root_kind"]["lo"]  # lo is down here: noop
    assert got["tx0"]["napis"][0]["napi"] == "0x%016x" % int(DEVS["tx0"]["napi"], 16)


def test_tx_queues(session, drgn):
    j = json_of(session[0])
    got = devices(j)
    for i, (name, mq) in enumerate(TXQS):
        q = got[name]["tx_queues"][mq["index"]]
        c = crash_txq(session, i)
        assert q["netdev_queue"] == "0x%016x" % int(mq["address"], 16)
        assert q["state"] == mq["state"] == c["state"]
        assert q["stopped"] == (mq["state"] & 3 != 0)
        assert q["state_bits"] == (["DRV_XOFF"] if mq["state"] == 1 else [])
        assert q["trans_start"] == mq["trans_start"] == c["trans_start"]
        assert q["trans_timeout"] == drgn["trans_timeout"][(name, mq["index"])] == c["trans_timeout"]
        assert q["trans_timeout"] >= mq["trans_timeout"]
        assert q["since_trans_start_jiffies"] == j["jiffies"] - mq["trans_start"]
        assert q["qdisc_sleeping"] == "0x%016x" % int(mq["qdisc_sleeping"], 16)
    crash_jiffies = int(re.search(r"= (\d+)", session[9]).group(1))
    assert j["jiffies"] == crash_jiffies


def test_qdiscs(session, drgn):
    got = devices(json_of(session[0]))
    for name, md in DEVS.items():
        qs = got[name]["qdiscs"]
        assert qs[0]["kind"] == md["root_qdisc"]["kind"]
        assert qs[0]["qdisc"] == "0x%016x" % int(md["root_qdisc"]["address"], 16)
        children = {q["qdisc"]: q for q in qs[1:]}
        total = 0
        for mq in md["tx_queues"]:
            want = mq["qdisc_stats"]
            q = children.get("0x%016x" % int(want["address"], 16), qs[0])
            assert q["kind"] == want["kind"]
            for k in ("qlen", "backlog", "drops", "requeues", "overlimits", "gso_skb", "bytes", "packets"):
                assert q[k] == want[k], (name, mq["index"], k)
            assert q["qlen"] == drgn["qlen"][(name, mq["index"])]
            assert q["per_cpu_stats"] == bool(want["flags"] & 0x20)
            total += want["qlen"]
        assert got[name]["qdisc_totals"]["qlen"] == total
        # every ping is in the driver's ring or in a qdisc
        assert md["ring_len"] + total == M["pings"][name]
    assert got["tx0"]["qdiscs"][0]["kind"] == "mq" and len(got["tx0"]["qdiscs"]) == 3
    assert [q["where"] for q in got["tx0"]["qdiscs"][1:]] == ["txq 0", "txq 1"]


def test_verdicts(session, drgn):
    j = json_of(session[0])
    v = [x for x in j["verdicts"] if x["kind"] == "tx_timeout"]
    assert sorted((x["device"], x["txq"]) for x in v) == [("tx0", 0), ("tx1", 0)]
    by = {x["device"]: x["text"] for x in v}
    for name, md in DEVS.items():
        q = md["tx_queues"][md["stopped_queue"]]
        t = drgn["trans_timeout"][(name, q["index"])]
        assert f"{name} txq 0 stopped by the driver for " in by[name]
        assert f", {t} timeout{'s' if t != 1 else ''} counted)" in by[name]
        assert f"its qdisc holds {q['qdisc_stats']['qlen']} packets" in by[name]
    assert "(1 requeued in gso_skb)" in by["tx0"]
    text = session[1]
    n = len(drgn["init_net_devices"])
    assert text.splitlines()[0].startswith(f"netdev: {n} devices in init_net, 1 being unregistered; 3 verdicts")
    assert [l for l in text.splitlines() if l.startswith("verdict: ")] == ["verdict: " + x["text"] for x in j["verdicts"]]


def test_unregistering(session, drgn):
    j = json_of(session[0])
    assert len(j["unregistering"]) == 1
    u = j["unregistering"][0]
    assert u["name"] == LEAK["name"] and u["ifindex"] == LEAK["ifindex"]
    assert u["net_device"] == "0x%016x" % int(LEAK["address"], 16)
    assert u["usage_count"] == LEAK["refcnt"] == drgn["leak_refs"]
    assert u["reg_state"] == {2: "NETREG_UNREGISTERING", 3: "NETREG_UNREGISTERED"}[LEAK["reg_state"]]
    assert u["source"] == "todo_list" and u["pid"] == LEAK["waiter"]["pid"] and u["comm"] == "ip"
    # the wait began after the ip task started (USER_HZ ticks since boot)
    started_ns = LEAK["waiter"]["start_ticks"] * 10**9 // M["clk_tck"]
    assert abs(u["waited_at_most_ns"] - (j["now_ns"] - started_ns)) < 0.2e9
    v = [x for x in j["verdicts"] if x["kind"] == "unregister"]
    assert len(v) == 1 and v[0]["device"] == "ndleak0"
    assert f"usage count {LEAK['refcnt']} (1 expected): {LEAK['refcnt'] - 1} reference" in v[0]["text"]
    assert f"ip (pid {LEAK['waiter']['pid']}) waits in netdev_run_todo" in v[0]["text"]
    one = json_of(session[4])
    assert one["devices"] == [] and [x["name"] for x in one["unregistering"]] == ["ndleak0"]


def test_queues_page(session):
    text = session[2]
    assert "tx0: ifindex" in text and "tx1: ifindex" not in text
    rows = [l.split() for l in text.splitlines() if re.match(r"^\s+[01]\s+[0-9a-f]{16}\s", l)]
    assert [r[2] for r in rows] == ["DRV_XOFF", "-"]
    assert re.search(r"^\s+pfifo_fast\s+0:\s+:1\s", text, re.M), text
    assert "RX queues: 2 (2 active)" in text


def test_softnet_against_crash(session):
    j = json_of(session[0])
    text = session[3]
    assert "SOFTNET" in text
    for cpu in range(M["cpus"]):
        out = session[10 + len(TXQS) + cpu]
        processed = int(re.search(r"processed = (\d+)", out).group(1))
        assert j["softnet"][cpu]["processed"] == processed
        # an atomic_t on 6.12: dropped = { counter = N }
        dropped = int(re.search(r"dropped = (?:\{\s*counter = )?(\d+)", out).group(1))
        assert j["softnet"][cpu]["dropped"] == dropped


def test_errors_and_help(session):
    assert session[5].strip().splitlines()[-1].endswith("no net device named 'nosuch0' in init_net (try --all-netns)")
    assert "at most one device name" in session[8]
    assert "netdev [DEV] [-q] [-s] [--all-netns]" in session[6]
    allns = json_of(session[7])
    assert {"tx0", "tx1", "lo"} <= {d["name"] for d in allns["devices"]}
