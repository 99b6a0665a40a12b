"""listcheck on the backptr dump: every fault nd_backptr injected (recorded
in the manifest, written in the guest) is reported once and nothing else;
entry lists are compared with crash's own `list` walk of the same dump."""
import re

import pytest

from crashrun import json_of, manifest, run_crash

SCENARIO = "backptr"
M = manifest(SCENARIO)
F = M["faults"]
N = M["layout"]["nr_instances"]
TABLES = f"listcheck nd_instances.table --array {N} -o nd_entry.link --backptr inst"


@pytest.fixture(scope="module")
def session():
    commands = [
        TABLES + " --poison 0xEC --json",                          # 0
        TABLES + " --poison 0xEC --count",                         # 1
        "listcheck nd_clean_list -o nd_entry.link --json",         # 2
        f"list -H {M['clean_list']['head']}",                      # 3
        f"listcheck nd_hash --hlist --array {M['hash']['buckets']} -o nd_hnode.node --json",  # 4
        TABLES + " --count --json",                                # 5: 0xEC not asked for
        f"list -H {M['instances'][F['wrong_backptr']['instance']]['table']}",  # 6
        f"list -H {M['instances'][F['bad_prev']['instance']]['table']}",       # 7
        "listcheck nd_instances",                                  # 8
        "listcheck nd_hash",                                       # 9
        "listcheck nd_instances.table -o nd_entry.inst",           # 10
        "p jiffies",                                               # 11
        "listcheck 0xffff8880dead0000",                            # 12
        "help listcheck",                                          # 13
        f"listcheck nd_instances.table --array {N + 1}",           # 14
        "listcheck nd_clean_list --max 10 --count",                # 15
    ]
    parts, _ = run_crash(SCENARIO, commands, modules=["nd_backptr"])
    return parts


def crash_list(text):
    return [int(x, 16) for x in re.findall(r"^\s*([0-9a-f]{16})\s*$", text, re.M)]


def test_each_injected_fault_once_and_nothing_else(session):
    j = json_of(session[0])
    kinds = sorted(f["kind"] for f in j["findings"])
    assert kinds == ["bad_prev", "poisoned", "wrong_backptr"], j["findings"]
    by = {f["kind"]: f for f in j["findings"]}

    a = F["wrong_backptr"]
    f = by["wrong_backptr"]
    assert (f["list"], f["index"]) == (a["instance"], a["index"])
    assert int(f["entry"], 16) == int(a["entry"], 16)
    assert int(f["expected"], 16) == int(a["expected_inst"], 16)
    assert int(f["actual"], 16) == int(a["actual_inst"], 16)
    assert f["member"] == "inst"
    assert f["label"] == f"nd_instances[{a['instance']}].table"

    b = F["poisoned"]
    f = by["poisoned"]
    assert (f["list"], f["index"]) == (b["instance"], b["index"])
    assert int(f["entry"], 16) == int(b["entry"], 16)
    assert (f["offset"], f["length"]) == (b["offset"], b["length"])
    assert int(f["byte"], 16) == int(M["layout"]["poison"], 16)

    c = F["bad_prev"]
    f = by["bad_prev"]
    assert (f["list"], f["index"]) == (c["instance"], c["index"])
    assert int(f["entry"], 16) == int(c["entry"], 16)
    assert int(f["expected"], 16) == int(c["expected_prev"], 16)
    assert int(f["actual"], 16) == int(c["actual_prev"], 16)


def test_entry_counts_and_owners_per_instance(session):
    j = json_of(session[0])
    assert j["list_count"] == N
    assert [l["entries"] for l in j["lists"]] == [i["entries"] for i in M["instances"]]
    assert [int(l["owner"], 16) for l in j["lists"]] == [int(i["addr"], 16) for i in M["instances"]]
    assert [int(l["head"], 16) for l in j["lists"]] == [int(i["table"], 16) for i in M["instances"]]
    assert j["entry_count"] == sum(i["entries"] for i in M["instances"])
    assert j["poison"]["list_poison1"] == "0xdead000000000100"
    assert j["poison"]["delta_source"] == "__list_del_entry_valid"


def test_entries_are_the_ones_crash_walks(session):
    j = json_of(session[0])
    for inst, text in ((F["wrong_backptr"]["instance"], session[6]), (F["bad_prev"]["instance"], session[7])):
        ours = [int(x, 16) for x in j["lists"][inst]["entry_addresses"]]
        assert ours == crash_list(text)  # link is at offset 0: node == entry


def test_summary_line_first(session):
    total = sum(i["entries"] for i in M["instances"])
    first = session[1].strip().splitlines()[0]
    assert first == (f"{total} entries in {N} lists, 3 findings: 1 wrong back-pointer, 1 poisoned entry, "
                     "1 bad prev pointer")
    # --count: only the summary and the three findings
    rows = [l for l in session[1].strip().splitlines()[1:] if l.strip()]
    assert len(rows) == 4 and rows[0].split()[:2] == ["LIST", "INDEX"], session[1]


def test_without_the_user_poison_the_entry_is_a_wrong_backpointer(session):
    j = json_of(session[5])
    assert j["counts"] == {"wrong_backptr": 2, "bad_prev": 1}
    poisoned = [f for f in j["findings"] if f["list"] == F["poisoned"]["instance"]]
    assert len(poisoned) == 1 and int(poisoned[0]["actual"], 16) == 0xecececececececec


def test_clean_list_matches_crash(session):
    j = json_of(session[2])
    assert j["summary"] == f"{M['clean_list']['entries']} entries in 1 list, no findings"
    assert j["findings"] == []
    ours = [int(x, 16) for x in j["lists"][0]["entry_addresses"]]
    assert ours == crash_list(session[3])
    assert len(ours) == M["clean_list"]["entries"]


def test_hash_buckets(session):
    j = json_of(session[4])
    assert j["finding_count"] == 0
    assert [l["entries"] for l in j["lists"]] == M["hash"]["counts"]
    assert j["entry_count"] == M["hash"]["nodes"]


def test_truncated_by_max(session):
    assert session[15].strip().splitlines()[0] == "10 entries in 1 list, 1 finding: 1 truncated list"


def test_bad_arguments_give_one_line_and_crash_goes_on(session):
    assert "nd_instances is struct nd_instance, not struct list_head" in session[8]
    assert "nd_hash is struct hlist_head: use --hlist" in session[9]
    assert "nd_entry.inst is 8 bytes, not a list_head node" in session[10]
    assert "jiffies = " in session[11]
    assert session[12].strip().splitlines()[0] == "0 entries in 1 list, 1 finding: 1 unreadable pointer"
    assert f"nd_instances has {N} elements, not {N + 1}" in session[14]


def test_help_page(session):
    text = session[13]
    for section in ("NAME", "SYNOPSIS", "DESCRIPTION", "EXAMPLES"):
        assert section in text
