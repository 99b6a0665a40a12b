"""aclist on the anycast dump: the addresses and users the guest saw in
/proc/net/anycast6 and /proc/net/igmp6 (the manifest), and every entry's
address, counters, stamps and route as drgn reads them from vmcore.elf,
an independent reader of the same instant."""
import drgn
import pytest

from crashrun import drgn_program, json_of, manifest, run_crash

SCENARIO = "anycast"
M = manifest(SCENARIO)


@pytest.fixture(scope="module")
def session():
    commands = [
        "aclist --json",              # 0
        "aclist",                     # 1
        "aclist --mc --json",         # 2
        "aclist dummy2 --json",       # 3
        "aclist nosuchdev",           # 4
        "p jiffies",                  # 5
        "help aclist",                # 6
        "aclist --all-netns --json",  # 7
        "aclist --mc",                # 8
    ]
    parts, _ = run_crash(SCENARIO, commands)
    return parts


@pytest.fixture(scope="module")
def prog():
    return drgn_program(SCENARIO)


def v6(obj):
    import ipaddress
    return str(ipaddress.IPv6Address(bytes(obj.in6_u.u6_addr8.value_())))


def drgn_devices(prog):
    """[(name, ifindex, dev, idev)] of init_net with an inet6_dev, dev_base order."""
    out = []
    head = prog["init_net"].dev_base_head.address_of_()
    pos = head.next
    while pos.value_() != head.value_():
        dev = drgn.container_of(pos, "struct net_device", "dev_list")
        idev = drgn.cast("struct inet6_dev *", dev.ip6_ptr)
        if idev.value_():
            out.append((dev.name.string_().decode(), dev.ifindex.value_(), dev, idev))
        pos = pos.next
    return out


def drgn_entries(first, nxt, limit=1000):
    out, p = [], first
    while p.value_() and len(out) < limit:
        out.append(p)
        p = getattr(p, nxt)
    return out


def hz_and_jiffies(prog):
    # x86_64's jiffies is a linker alias of jiffies_64 (vmlinux.lds.S), with
    # no DWARF object of its own for drgn to find.
    return round(1e9 / prog["tick_nsec"].value_()), prog["jiffies_64"].value_()


def test_anycast_entries_are_what_the_kernel_holds(session, prog):
    j = json_of(session[0])
    devs = drgn_devices(prog)
    assert [(d["name"], d["ifindex"]) for d in j["devices"]] == [(n, i) for n, i, _, _ in devs]
    hz, jiffies = hz_and_jiffies(prog)
    assert j["hz"] == hz and j["jiffies"] == jiffies
    for d, (name, _, dev, idev) in zip(j["devices"], devs):
        assert int(d["net_device"], 16) == dev.value_()
        assert int(d["inet6_dev"], 16) == idev.value_()
        want = drgn_entries(idev.ac_list, "aca_next")
        assert [int(e["entry"], 16) for e in d["entries"]] == [e.value_() for e in want], name
        for e, w in zip(d["entries"], want):
            assert e["addr"] == v6(w.aca_addr)
            assert e["users"] == w.aca_users.value_()
            assert e["refcnt"] == w.aca_refcnt.refs.counter.value_()
            assert e["cstamp"] == w.aca_cstamp.value_() and e["tstamp"] == w.aca_tstamp.value_()
            assert e["created_ago_ms"] == (jiffies - w.aca_cstamp.value_()) * 1000 // hz
            assert int(e["route"], 16) == w.aca_rt.value_()
            # the route leads back to the device
            assert w.aca_rt.fib6_nh[0].nh_common.nhc_dev.value_() == dev.value_()
        assert d["findings"] == [] and d["verdict"] == "ok"


def test_anycast_matches_the_guests_proc_files(session):
    j = json_of(session[0])
    ours = {d["name"]: [(e["addr"], e["hex"], e["users"]) for e in d["entries"]] for d in j["devices"]}
    for md in M["devices"]:
        assert ours.get(md["name"], []) == [(a["addr"], a["hex"], a["users"]) for a in md["anycast"]], md["name"]
    # every device the guest listed with an anycast entry, and no others
    assert {n for n, v in ours.items() if v} == {md["name"] for md in M["devices"] if md["anycast"]}


def test_verdict_and_rtnl_lines(session, prog):
    total = sum(len(md["anycast"]) for md in M["devices"])
    ndev = len(drgn_devices(prog))
    lines = session[1].strip().splitlines()
    assert lines[0] == f"{total} anycast entries on {ndev} devices, no findings"
    assert prog["rtnl_mutex"].owner.counter.value_() == 0
    assert lines[1] == "rtnl_mutex is not held; 0 waiters"
    j = json_of(session[0])
    assert j["verdict"] == lines[0] and j["finding_count"] == 0
    assert j["rtnl"]["held"] is False


def test_multicast_entries(session, prog):
    j = json_of(session[2])
    assert j["list"] == "mc_list" and j["finding_count"] == 0
    devs = {n: idev for n, _, _, idev in drgn_devices(prog)}
    for d in j["devices"]:
        want = drgn_entries(devs[d["name"]].mc_list, "next")
        assert [int(e["entry"], 16) for e in d["entries"]] == [w.value_() for w in want]
        for e, w in zip(d["entries"], want):
            assert e["flags"] == w.mca_flags.value_()
            assert e["refcnt"] == w.mca_refcnt.refs.counter.value_()
    ours = {d["name"]: [(e["addr"], e["users"]) for e in d["entries"]] for d in j["devices"]}
    for md in M["devices"]:
        assert ours[md["name"]] == [(a["addr"], a["users"]) for a in md["multicast"]], md["name"]
    assert "LOADED" in session[8]


def test_one_device_and_all_namespaces(session):
    j = json_of(session[3])
    assert [d["name"] for d in j["devices"]] == ["dummy2"]
    md = next(d for d in M["devices"] if d["name"] == "dummy2")
    assert [e["addr"] for e in j["devices"][0]["entries"]] == [a["addr"] for a in md["anycast"]]
    every = json_of(session[7])
    assert {d["name"] for d in json_of(session[0])["devices"]} <= {d["name"] for d in every["devices"]}


def test_unknown_device_is_one_line_and_crash_goes_on(session):
    assert "no net device named 'nosuchdev'" in session[4]
    assert "jiffies = " in session[5]


def test_help_page(session):
    for section in ("NAME", "SYNOPSIS", "DESCRIPTION", "EXAMPLES"):
        assert section in session[6]
