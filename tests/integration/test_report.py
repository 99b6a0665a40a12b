"""netdbg-report and netdbg-triage on the scenario dumps: exit codes, the
verdicts in the summary and the wait-for graph, checked against each
scenario's manifest (written in the guest), never against netdbg's output."""
import json
import re
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

import crashrun
import reportrun


# ------------------------------------------------------------------ triage

def test_triage_covers_every_dump_and_exits_with_the_worst_status():
    rc, out, _ = reportrun.triage()
    s = reportrun.summary()
    got = sorted(Path(r["dump"]).parent.name for r in s["dumps"])
    assert got == reportrun.scenarios(), out
    assert rc == max(r["exit_code"] for r in s["dumps"]), out
    # groups partition the dumps
    grouped = sorted(d for g in s["groups"] for d in g["dumps"])
    assert grouped == sorted(r["dump"] for r in s["dumps"])
    for g in s["groups"]:
        sigs = {r.get("signature") for r in s["dumps"] if r["dump"] in g["dumps"]}
        assert len(sigs) == 1, g
    assert "SIGNATURES" in out


def test_rtnl_stuck_summary_names_the_owner_and_the_deadlock():
    m = crashrun.manifest("rtnl-stuck")
    r = reportrun.row("rtnl-stuck")
    assert r["exit_code"] == 1 and r["status"] == "findings", r
    assert r["release"] == m["kernel_release"]
    texts = [v["text"] for v in r["verdicts"]]
    o = m["rtnl_owner"]
    func = o["work_fn"].split()[0]
    rtnl = [t for t in texts if t.startswith("rtnl_mutex held by")]
    assert len(rtnl) == 1, texts
    assert f"{o['comm']} (pid {o['pid']})" in rtnl[0] and func in rtnl[0], rtnl
    assert f"{len(m['rtnl_waiters'])} waiters" in rtnl[0], rtnl
    a, b = m["abba"]["a"], m["abba"]["b"]
    dl = [t for t in texts if t.startswith("DEADLOCK")]
    assert len(dl) == 1, texts
    # the cycle in either rotation: a -> (a waits for) -> b -> (b waits for) -> a
    pat_a = f"{a['comm']} (pid {a['pid']}) -> {a['waits_for']}"
    pat_b = f"{b['comm']} (pid {b['pid']}) -> {b['waits_for']}"
    assert pat_a in dl[0] and pat_b in dl[0], dl
    out = reportrun.triage()[1]
    assert str(o["pid"]) in out and "DEADLOCK" in out


def test_anycast_has_no_rtnl_owner_deadlock_or_loop():
    m = crashrun.manifest("anycast")
    assert "rtnl_owner" not in m and "loop" not in m  # the scenario is clean
    r = reportrun.row("anycast")
    assert r["release"] == m["kernel_release"]
    kinds = [v["kind"] for v in r["verdicts"] if v["finding"]]
    assert "rtnl" not in kinds and "deadlock" not in kinds and "loop" not in kinds, r["verdicts"]
    assert r["exit_code"] == (1 if kinds else 0), r


def test_anycast_loop_summary_has_the_loop_and_the_rtnl_owner():
    m = crashrun.manifest("anycast-loop")
    r = reportrun.row("anycast-loop")
    assert r["exit_code"] == 1, r
    loops = [v["text"] for v in r["verdicts"] if v["kind"] == "loop"]
    assert any(m["loop"]["device"] in t and f"cycle of {m['loop']['cycle_length']}" in t for t in loops), loops
    rtnl = [v["text"] for v in r["verdicts"] if v["kind"] == "rtnl"]
    assert rtnl and f"(pid {m['rtnl_owner']['pid']})" in rtnl[0], r["verdicts"]


# ------------------------------------------------------------------ report

def test_report_json_has_release_time_version_and_every_command():
    m = crashrun.manifest("rtnl-stuck")
    rep, d = reportrun.report("rtnl-stuck")
    assert rep["kernel_release"] == m["kernel_release"]
    assert re.match(r"\w{3} \w{3} +\d+ \d\d:\d\d:\d\d \w+ \d{4}$", rep["dump_time"]), rep["dump_time"]
    assert rep["netdbg_version"]
    assert rep["cpus"] == m["cpus"]
    assert all(x["loaded"] for x in rep["modules"]), rep["modules"]
    assert sorted(x["name"] for x in rep["modules"]) == sorted(m["files"]["modules"])
    ran = {c["command"] for c in rep["commands"]}
    listed = {c["command"] for c in rep["command_list"]}
    skipped = {s["command"] for s in rep["skipped"]}
    assert listed == ran | skipped and {"rtnlowner", "uninterruptible", "lockowner", "netdbg"} <= ran
    text = (d / "report.txt").read_text()
    for c in rep["commands"]:
        assert c["error"] is None, c
        assert f"crash> {' '.join([c['command']] + c['args'])}" in text
    # lockowner ran on each mutex of the chain and of the cycle (names from the manifest)
    locks = {c["args"][0] for c in rep["commands"] if c["command"] == "lockowner"}
    assert {m["chain"]["mutex"], m["abba"]["a"]["holds"], m["abba"]["b"]["holds"], "rtnl_mutex"} <= locks


def dot_graph(dot):
    nodes = dict(re.findall(r'^  (\w+) \[label="((?:[^"\\]|\\.)*)"', dot, re.M))
    edges = {(a, b): (lab, "color=red" in rest)
             for a, b, lab, rest in re.findall(r'^  (\w+) -> (\w+) \[label="([^"]*)"([^\]]*)\]', dot, re.M)}
    return nodes, edges


def node_with(nodes, text):
    found = [n for n, lab in nodes.items() if text in lab.replace("\\n", "\n")]
    assert len(found) == 1, (text, found)
    return found[0]


def test_waitfor_graph_has_the_chain_and_the_red_abba_cycle():
    m = crashrun.manifest("rtnl-stuck")
    rep, d = reportrun.report("rtnl-stuck")
    dot = (d / "waitfor.dot").read_text()
    nodes, edges = dot_graph(dot)
    holder, waiter, owner = m["chain"]["holder"], m["chain"]["waiter"], m["rtnl_owner"]

    def task(t):
        return node_with(nodes, f"{t['comm']}\npid {t['pid']} ")

    def lock(name):
        return node_with(nodes, name + " [" if name != "rtnl_mutex" else "rtnl_mutex\n")

    chain = [task(waiter), lock(m["chain"]["mutex"]), task(holder), lock("rtnl_mutex"), task(owner)]
    for (a, b), label in zip(zip(chain, chain[1:]), ["waits for", "held by"] * 2):
        assert edges.get((a, b)) == (label, False), (a, b, edges.get((a, b)))
    a, b = m["abba"]["a"], m["abba"]["b"]
    cycle = [task(a), lock(a["waits_for"]), task(b), lock(b["waits_for"]), task(a)]
    for (x, y), label in zip(zip(cycle, cycle[1:]), ["waits for", "held by"] * 2):
        assert edges.get((x, y)) == (label, True), (x, y, edges.get((x, y)))
    assert sum(red for _, red in edges.values()) == 4, edges
    # every rtnl waiter of the manifest waits for rtnl_mutex in the graph
    for w in m["rtnl_waiters"]:
        assert edges.get((task(w), lock("rtnl_mutex"))) == ("waits for", False), w
    # Graphviz accepts it, and the picture the report drew is SVG naming the cycle
    p = subprocess.run(["dot", "-Tsvg"], input=dot, capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    svg = (d / rep["graph"]["svg"]).read_text()
    ET.fromstring(svg)
    assert a["comm"] in svg and b["comm"] in svg


# ------------------------------------------------------- could not analyse

def run_report(tmp_path, vmlinux, dump, *extra):
    out = tmp_path / "out"
    p = subprocess.run([str(reportrun.REPORT), str(vmlinux), str(dump), "-o", str(out),
                        "--extension", str(crashrun.EXTENSION), *extra],
                       capture_output=True, text=True, timeout=1800)
    rep = json.loads((out / "report.json").read_text())
    return p, rep


def test_missing_dump_is_exit_2_with_the_reason(tmp_path):
    p, rep = run_report(tmp_path, crashrun.VMLINUX, tmp_path / "nothere")
    assert p.returncode == 2 and rep["status"] == "error"
    assert "missing dump" in rep["reason"] and "missing dump" in p.stderr


def test_vmlinux_of_another_kernel_is_exit_2(tmp_path):
    other = tmp_path / "vmlinux"
    other.write_bytes(b"\0" * 4096 + b"Linux version 5.10.0-99-amd64 (debian-kernel@lists.debian.org) #1\0")
    p, rep = run_report(tmp_path, other, reportrun.DUMPS / "anycast" / "vmcore")
    assert p.returncode == 2
    assert "vmlinux mismatch" in rep["reason"] and "5.10.0-99-amd64" in rep["reason"], rep["reason"]
    assert crashrun.manifest("anycast")["kernel_release"] in rep["reason"]


def test_dump_crash_refuses_is_exit_2(tmp_path):
    bad = tmp_path / "vmcore"
    bad.write_bytes(b"KDUMP   " + b"\xff" * 65536)
    p, rep = run_report(tmp_path, crashrun.VMLINUX, bad)
    assert p.returncode == 2 and rep["status"] == "error"
    assert rep["reason"].startswith("crash exited"), rep["reason"]
