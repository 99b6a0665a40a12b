"""napiq on the napi dump: every NAPI's state and owner, the poll lists and
the netpoll verdicts are checked against the scenario's manifest (written
in the guest by nd_napi_stuck and by the kernel's own netpoll_setup()) and
against crash's own reads of the same dump (struct, list, per-CPU p)."""
import re

import pytest

from crashrun import json_of, manifest, run_crash

SCENARIO = "napi"
M = manifest(SCENARIO)
DEVS = {d["name"]: d for d in M["devices"]}
BITS = M["state_bits"]  # as nd_napi_stuck was compiled
ND0 = {n["index"]: n for n in DEVS["ndnapi0"]["napis"]}
ALL_NAPIS = [n for d in M["devices"] for n in d["napis"]]


def bit_names(state):
    """State bit names by the module's compile-time NAPI_STATE_* values."""
    return [name for name, bit in sorted(BITS.items(), key=lambda kv: kv[1]) if state >> bit & 1]


@pytest.fixture(scope="module")
def session():
    commands = [
        "napiq --json",                 # 0
        "napiq",                        # 1
        "napiq -c",                     # 2
        "napiq ndnapi0 --json",         # 3
        "napiq no_such_dev",            # 4
        "napiq --all-netns --json",     # 5
        "help napiq",                   # 6
        "napiq eth0 eth1",              # 7
        "struct net_device.napi_list -o",  # 8
        "napiq --max 3 ndnapi0 --json",  # 9
    ]
    commands += [f"p softnet_data:{cpu}" for cpu in range(M["cpus"])]  # 10..
    commands += [f"struct napi_struct.state,poll_owner,napi_id,weight {n['address']}" for n in ALL_NAPIS]
    parts, raw = run_crash(SCENARIO, commands, modules=["nd_napi_stuck"])
    napi_list_off = int(re.search(r"\[(\d+)\] struct list_head napi_list", parts[8]).group(1))
    lists = [f"list -o napi_struct.dev_list -H {hex(int(d['address'], 16) + napi_list_off)}" for d in M["devices"]]
    # Each CPU's poll_list walked by crash from its first entry round to the
    # first again; the last address of the walk is softnet_data's own head.
    heads = [int(re.search(r"poll_list = \{\s+next = (0x[0-9a-f]+)", parts[10 + cpu]).group(1), 16)
             for cpu in range(M["cpus"])]
    lists += [f"list {hex(h)}" for h in heads]
    more, _ = run_crash(SCENARIO, lists, modules=["nd_napi_stuck"])
    parts["napi_list"] = {d["name"]: more[i] for i, d in enumerate(M["devices"])}
    parts["poll_list"] = [[int(a, 16) for a in re.findall(r"^([0-9a-f]{16})$", more[len(M["devices"]) + cpu], re.M)][:-1]
                          for cpu in range(M["cpus"])]
    return parts


def crash_cpu(session, cpu):
    return session[10 + cpu]


def crash_napi(session, i):
    text = session[10 + M["cpus"] + i]
    return {k: int(v, 0) for k, v in re.findall(r"^\s+(\w+) = (-?\w+),?$", text, re.M)}


def devices(j):
    return {d["name"]: d for d in j["devices"]}


def test_devices_and_drivers(session):
    j = json_of(session[0])
    got = devices(j)
    assert sorted(got) == sorted(DEVS)
    for name, md in DEVS.items():
        d = got[name]
        assert d["net_device"] == "0x%016x" % int(md["address"], 16)
        assert d["ifindex"] == md["ifindex"]
        assert d["flags_raw"] == int(md["flags"], 16)
        assert d["priv_flags_raw"] == int(md["priv_flags"], 16)
        assert d["driver"] == md["driver"], name  # module of netdev_ops (%pS in the guest)
        assert (d["master"] or {}).get("name") == md["master"]
    assert "DISABLE_NETPOLL" in got["ndnapi1"]["priv_flags"]
    assert "BONDING" in got["bond0"]["priv_flags"]
    assert "SLAVE" in got["eth1"]["flags"]


def test_state_bits_come_from_the_kernels_enum(session):
    assert json_of(session[0])["state_bits"] == BITS


def test_every_napi_state_owner_and_thread(session):
    j = json_of(session[0])
    got = devices(j)
    for name, md in DEVS.items():
        napis = got[name]["napis"]
        assert [n["napi"] for n in napis] == ["0x%016x" % int(x["address"], 16) for x in md["napis"]], name
        for n, x in zip(napis, md["napis"]):
            assert n["napi_id"] == x["napi_id"]
            assert n["weight"] == x["weight"]
            if md["driver"] == "nd_napi_stuck":
                # The module holds its NAPIs' state still; virtio's move with
                # the guest's traffic (netconsole) between the manifest and
                # the dump: test_napi_fields_match_crash checks those.
                assert n["state"] == int(x["state"], 16)
                assert n["state_bits"] == bit_names(int(x["state"], 16))
            assert n["poll_owner"] == x["poll_owner"]
            assert n["poll"] == x["poll"]  # "%ps [module]" in the guest
            assert (n["thread"] or {}).get("pid", 0) == x["thread_pid"]
    assert j["napi_count"] == len(ALL_NAPIS)


def test_napi_fields_match_crash(session):
    j = json_of(session[0])
    by_addr = {int(n["napi"], 16): n for d in j["devices"] for n in d["napis"]}
    for i, x in enumerate(ALL_NAPIS):
        c = crash_napi(session, i)
        n = by_addr[int(x["address"], 16)]
        assert (n["state"], n["poll_owner"], n["napi_id"], n["weight"]) == \
            (c["state"], c["poll_owner"], c["napi_id"], c["weight"]), x["address"]


def test_napi_list_order_matches_crash_list(session):
    j = devices(json_of(session[0]))
    for name, text in session["napi_list"].items():
        crash_addrs = [int(a, 16) for a in re.findall(r"^([0-9a-f]{16})$", text, re.M)]
        assert [int(n["napi"], 16) for n in j[name]["napis"]] == crash_addrs, name


def test_poll_lists_per_cpu(session):
    j = json_of(session[0])
    pl = M["poll_list"]
    cpu = j["cpus"][pl["cpu"]]
    # The module's NAPIs as it scheduled them; a virtio NAPI the guest's own
    # traffic scheduled may follow them (crash's walk says which).
    ours = [int(e["napi"], 16) for e in cpu["poll_list"] if e["device"] == "ndnapi0"]
    assert ours == [int(a, 16) for a in pl["napis"]]
    for c in j["cpus"]:
        assert [int(e["napi"], 16) for e in c["poll_list"]] == session["poll_list"][c["cpu"]], c["cpu"]
    by_addr = {int(n["napi"], 16): n for d in j["devices"] for n in d["napis"]}
    for a in pl["napis"]:
        assert by_addr[int(a, 16)]["poll_list_cpu"] == pl["cpu"]
    # crash's own per-CPU read: the head of each CPU's poll_list and the counters.
    for c in j["cpus"]:
        text = crash_cpu(session, c["cpu"])
        nxt = int(re.search(r"poll_list = \{\s+next = (0x[0-9a-f]+)", text).group(1), 16)
        first = int(c["poll_list"][0]["napi"], 16) if c["poll_list"] else int(c["softnet_data"], 16)
        assert nxt == first, c["cpu"]
        for field in ("processed", "time_squeeze", "dropped"):
            assert c[field] == int(re.search(rf"^  {field} = (\d+),", text, re.M).group(1)), (c["cpu"], field)


def test_stuck_napis_flagged_and_nothing_else(session):
    j = json_of(session[0])
    stuck = {int(ND0[i]["address"], 16) for i in M["stuck"]["napis"]}
    got = {int(f["napi"], 16) for f in j["findings"] if f["kind"] == "stuck"}
    assert got == stuck
    for f in j["findings"]:
        if f["kind"] == "stuck":
            assert f["device"] == "ndnapi0"
            assert "SCHED set, on no CPU's poll_list" in f["message"]


def test_disable_pending_on_the_napi_under_napi_disable(session):
    j = json_of(session[0])
    r = M["reset_thread"]
    # Where the thread waits, from the guest: the module's own stage and the
    # kernel's /proc/PID/stack. Not /proc/PID/wchan: napi_disable() sleeps
    # in a usleep_range() loop, and get_wchan() answers 0 whenever the task
    # is on the runqueue between two sleeps (the manifest caught it so).
    assert r["stage"] == "napi_disable" and r["state"] == "D"
    assert r["stack"][0].startswith("napi_disable+"), r["stack"]
    napi = int(ND0[r["napis"][0]]["address"], 16)
    got = [int(f["napi"], 16) for f in j["findings"] if f["kind"] == "disable-pending"]
    assert got == [napi]


def test_netpoll_held_pattern(session):
    j = json_of(session[0])
    t = M["netpoll_thread"]
    held = [f for f in j["findings"] if f["kind"] == "netpoll-held"]
    assert len(held) == 1
    assert held[0]["cpu"] == t["cpu"] and held[0]["device"] == "ndnapi0"
    assert f"holds {len(t['napis'])} of the {len(ND0)} NAPIs of ndnapi0" in held[0]["message"]
    assert len(j["findings"]) == len(M["stuck"]["napis"]) + 2


def test_netpoll_verdicts_are_the_kernels(session):
    """The guest asked netpoll_setup() itself (a netconsole target per device)."""
    got = devices(json_of(session[0]))
    for name, md in DEVS.items():
        np, want = got[name]["netpoll"], md["netpoll"]
        assert np["accepted"] == want["accepted"], name
        if want["accepted"]:
            assert np["reason"] is None and np["kernel_message"] is None
        else:
            # "netpoll: netconsole: eth1 is a slave device, aborting"
            assert want["kernel_message"].endswith(f"{name} {np['kernel_message']}, aborting"), (name, np)
    assert got["eth1"]["netpoll"]["reason"] == "slave of bond0"
    assert got["ndnapi1"]["netpoll"]["reason"] == "IFF_DISABLE_NETPOLL set"


def test_netconsole_attached(session):
    got = devices(json_of(session[0]))
    attached = sorted(n for n, d in got.items() if d["netpoll"]["attached"])
    assert attached == sorted(nc["device"] for nc in M["netconsole"])
    for nc in M["netconsole"]:
        np = got[nc["device"]]["netpoll"]
        assert int(np["npinfo"], 16) == int(DEVS[nc["device"]]["npinfo"], 16)
        assert np["user"]["name"] == "netconsole"
        assert np["user"]["dev_name"] == nc["device"]
        assert (np["user"]["local_ip"], np["user"]["remote_ip"]) == (nc["local_ip"], nc["remote_ip"])
        assert (np["user"]["local_port"], np["user"]["remote_port"]) == (nc["local_port"], nc["remote_port"])
        assert np["refcnt"] == 1


def test_threaded_napis(session):
    got = devices(json_of(session[0]))
    assert DEVS["ndnapi1"]["threaded"] == 1
    for n in got["ndnapi1"]["napis"]:
        assert "THREADED" in n["state_bits"]
        assert n["thread"]["comm"].startswith("napi/ndnapi1-")


def test_multiqueue_virtio(session):
    got = devices(json_of(session[0]))
    mq = M["mq_device"]
    assert M["mq_queue_pairs"] >= 2
    polls = [n["poll"] for n in got[mq]["napis"]]
    # one rx and one tx NAPI per queue pair
    assert polls.count("virtnet_poll [virtio_net]") == M["mq_queue_pairs"]
    assert polls.count("virtnet_poll_tx [virtio_net]") == M["mq_queue_pairs"]


def test_text_output(session):
    text = session[1]
    first = text.splitlines()[0]
    queued = sum(len(cpu) for cpu in session["poll_list"])
    assert first.startswith(f"{len(DEVS)} devices, {len(ALL_NAPIS)} NAPIs ({queued} on a poll_list)")
    assert "netpoll attached to eth0, ndnapi0" in first
    assert first.endswith(f"{len(M['stuck']['napis']) + 2} FINDINGS")
    assert "REFUSED: slave of bond0 (netpoll_setup: \"is a slave device\")" in text
    assert "REFUSED: IFF_DISABLE_NETPOLL set (netpoll_setup: \"doesn't support polling\")" in text
    assert "netconsole 10.0.2.15:6665 -> 10.0.2.2:6666" in text
    for name in DEVS:
        assert re.search(rf"^{name}  ifindex ", text, re.M), name


def test_cpu_view(session):
    text = session[2]
    pl = M["poll_list"]
    queued = len(session["poll_list"][pl["cpu"]])
    assert f"CPU {pl['cpu']} poll_list ({queued} NAPIs, in poll order):" in text
    block = text.split(f"CPU {pl['cpu']} poll_list")[1]
    addrs = re.findall(r"^  ([0-9a-f]{16})  ndnapi0", block, re.M)
    assert [int(a, 16) for a in addrs] == [int(a, 16) for a in pl["napis"]]


def test_one_device(session):
    j = json_of(session[3])
    assert [d["name"] for d in j["devices"]] == ["ndnapi0"]
    assert len(j["devices"][0]["napis"]) == len(ND0)


def test_max_bounds_the_walk(session):
    j = json_of(session[9])
    d = j["devices"][0]
    assert len(d["napis"]) == 3
    assert any("truncated" in p for p in d["problems"])


def test_all_netns_sees_the_same_devices(session):
    assert sorted(devices(json_of(session[5]))) == sorted(DEVS)


def test_errors_are_one_line(session):
    assert session[4].strip() == "napiq: no net device named 'no_such_dev' in init_net (try --all-netns)"
    assert session[7].strip() == "napiq: at most one device name (see: help napiq)"


def test_help_page(session):
    text = session[6]
    for part in ("NAME", "SYNOPSIS", "DESCRIPTION", "EXAMPLES", "napiq [DEV] [-c]"):
        assert part in text
