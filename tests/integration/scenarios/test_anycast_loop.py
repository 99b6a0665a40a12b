"""aclist and listcheck on the anycast-loop dump: dummy2's ac_list loops
back on itself while a kworker holds rtnl. The loop (where, after how
many entries, the cycle) must match what nd_ac_loop did (the manifest),
the entries must match crash's own `list` of the same dump, and neither
command may hang."""
import re

import drgn
import pytest

from crashrun import drgn_program, json_of, manifest, run_crash

SCENARIO = "anycast-loop"
M = manifest(SCENARIO)
L = M["loop"]


@pytest.fixture(scope="module")
def prog():
    return drgn_program(SCENARIO)


@pytest.fixture(scope="module")
def session(prog):
    ac_list_off = drgn.offsetof(prog.type("struct inet6_dev"), "ac_list")
    head = int(L["idev"], 16) + ac_list_off
    commands = [
        "aclist --json",                                                     # 0
        "aclist",                                                            # 1
        f"list -o ifacaddr6.aca_next {L['ac_list']}",                        # 2
        f"listcheck {head:#x} --single -o ifacaddr6.aca_next --count --json",  # 3
        "aclist --mc --json",                                                # 4
        f"listcheck {head:#x} --single -o ifacaddr6.aca_next",               # 5
    ]
    parts, _ = run_crash(SCENARIO, commands, modules=["nd_ac_loop"])
    return parts


def loop_finding(j):
    d = next(d for d in j["devices"] if d["name"] == L["device"])
    assert len(d["findings"]) == 1, d["findings"]
    return d, d["findings"][0]


def test_the_loop_is_found_where_the_module_made_it(session):
    j = json_of(session[0])
    d, f = loop_finding(j)
    assert f["kind"] == "loop"
    assert f["index"] == L["last_index"]
    assert int(f["entry"], 16) == int(L["last_entry"], 16)
    assert int(f["actual"], 16) == int(L["target_entry"], 16)
    assert int(f["cycle_entry"], 16) == int(L["target_entry"], 16)
    assert f["cycle_entry_index"] == L["target_index"]
    assert f["cycle_length"] == L["cycle_length"]
    assert f["distinct_entries"] == L["distinct_entries"]
    assert d["ifindex"] == L["ifindex"] and int(d["inet6_dev"], 16) == int(L["idev"], 16)
    # each entry once, as the module recorded them
    assert [(int(e["entry"], 16), e["addr"], e["users"]) for e in d["entries"]] == \
        [(int(e["entry"], 16), e["addr"], e["users"]) for e in L["entries"]]


def test_entries_match_crash_list(session):
    j = json_of(session[0])
    d, _ = loop_finding(j)
    listed = [int(x, 16) for x in re.findall(r"^\s*([0-9a-f]{16})\s*$", session[2], re.M)]
    assert [int(e["entry"], 16) for e in d["entries"]] == listed


def test_verdict_names_the_looping_device_and_the_rtnl_owner(session):
    lines = session[1].strip().splitlines()
    total = sum(len(md["anycast"]) for md in M["devices"])
    assert lines[0].startswith(f"{total} anycast entries on ")
    assert lines[0].endswith(
        f", 1 finding: {L['device']}'s ac_list: loop: entry {L['last_index']} -> entry {L['target_index']} "
        f"after {L['distinct_entries']} entries, cycle of {L['cycle_length']}")
    o = M["rtnl_owner"]
    assert lines[1].startswith(f"rtnl_mutex held by {o['comm']} (pid {o['pid']}, running {o['work_fn']})")
    j = json_of(session[0])
    assert j["rtnl"]["owner_pid"] == o["pid"]
    assert j["finding_count"] == 1


def test_other_devices_are_intact(session):
    j = json_of(session[0])
    ours = {d["name"]: d for d in j["devices"]}
    for md in M["devices"]:
        if md["name"] == L["device"]:
            continue
        d = ours[md["name"]]
        assert d["findings"] == [] and d["verdict"] == "ok"
        assert [(e["addr"], e["users"]) for e in d["entries"]] == [(a["addr"], a["users"]) for a in md["anycast"]]
    mc = json_of(session[4])
    assert mc["finding_count"] == 0


def test_listcheck_finds_the_same_loop(session):
    j = json_of(session[3])
    assert j["summary"] == f"{L['distinct_entries']} entries in 1 list, 1 finding: 1 loop"
    f = j["findings"][0]
    assert (f["index"], f["cycle_entry_index"], f["cycle_length"]) == \
        (L["last_index"], L["target_index"], L["cycle_length"])
    assert int(f["entry"], 16) == int(L["last_entry"], 16)
    text = session[5]
    assert text.strip().splitlines()[0] == j["summary"]
    assert "<- loop" in text
