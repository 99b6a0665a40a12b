#!/usr/bin/python3
"""make bench: netdbg against crash's built-ins and drgn on the scale dump.

  bench/run.py [--reps N] [--build DIR] [--json FILE]
  bench/run.py --live-only [--live-state DIR] [--build DIR]   (step 4's live part alone)

1. Makes the scale dump (dumps/make-dump.sh scale, under the QEMU lock; a
   no-op when it is up to date) and checks it once with dumps/checks/check-scale.py.
2. One crash session on vmcore: crash's peak RSS before and after listcheck
   on the 1M-entry list, the answers of each netdbg command (--json), then N
   timed runs of each netdbg command and of crash's `list -H` / `list -B -H`.
   Every netdbg run starts cold: the extension is unloaded and loaded again
   (`extend -u`), so its page cache and layouts start empty, as in a fresh
   session. A command is timed inside the session between two
   `!echo MARK $(date) $(schedstat)` lines, so crash's start-up is not in
   the figure; the cost of an empty MARK pair is measured and subtracted.
3. The drgn baselines (bench/drgn_*.py) on vmcore.elf, N timed runs each
   after an untimed warm-up run whose answer is compared with netdbg's.
4. gdb, when the gdb front end exists: the same commands on vmcore.elf, and
   the remote memory requests of each on a live gdbstub guest: the `m`
   packets gdb sends to QEMU's stub (at most 2 KiB each, so a page costs
   two), the target rtnlowner's <= 50 is checked against.
Prints a table of medians with ratios. Ratios use CPU time (the process's
own time on a CPU: /proc/PID/schedstat for crash, process_time() for
drgn), because the machine may be shared; wall-clock medians are shown too.
Exit status 1 when an answer disagrees or a target is missed.
"""
import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BENCH = REPO / "bench"
PY3 = "/usr/bin/python3"
CACHE = Path(os.environ.get("NETDBG_CACHE", Path.home() / ".cache" / "netdbg"))
VMLINUX = CACHE / "kernel" / "vmlinux"
SCENARIO = "scale"
DUMP = CACHE / "dumps" / SCENARIO
MARK = "NDBENCH-MARK"

BIG = "nd_scale_big"
LOOP = "nd_scale_loop"
ENTRY = "nd_scale_entry.link"
# netdbg commands timed in crash: name -> command line (output discarded)
NETDBG_CASES = {
    "listcheck": f"listcheck {BIG} -o {ENTRY} --count",
    "listcheck-loop": f"listcheck {LOOP} -o {ENTRY} --count",
    "uninterruptible": "uninterruptible --group",
    "rtnlowner": "rtnlowner",
    "aclist": "aclist",
    "netdev": "netdev",
}
CRASH_CASES = {
    "crash-list": f"list -H {BIG}",
    "crash-list-B": f"list -B -H {BIG}",
    "crash-list-loop": f"list -H {LOOP}",
    "crash-net": "net",
}
# answers: name -> command (JSON output)
ANSWERS = {
    "listcheck": f"listcheck {BIG} -o {ENTRY} --count --json",
    "listcheck-loop": f"listcheck {LOOP} -o {ENTRY} --count --json",
    "uninterruptible": "uninterruptible --group --json",
    "rtnlowner": "rtnlowner --json",
    "aclist": "aclist --json",
    "netdev": "netdev --json",
}


def log(msg):
    print(f"bench: {msg}", file=sys.stderr, flush=True)


# ---- the dump -------------------------------------------------------------------
def make_dump():
    lock = CACHE / "qemu.lock"
    CACHE.mkdir(parents=True, exist_ok=True)
    log(f"scale dump (built once, then cached in {DUMP}; the first build takes ~20 min under TCG)")
    subprocess.run(["flock", str(lock), str(REPO / "dumps" / "make-dump.sh"), SCENARIO], check=True)
    stamp = (DUMP / "stamp").read_text().strip()
    checked = DUMP / ".checked"
    if checked.exists() and checked.read_text().strip() == stamp:
        return
    log("checking the new dump against its manifest (dumps/checks/check-scale.py, a few minutes)")
    r = subprocess.run([PY3, str(REPO / "dumps" / "checks" / "check-scale.py"), str(DUMP)], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True)
    fails = [line for line in r.stdout.splitlines() if line.startswith("FAIL")]
    if r.returncode != 0:
        sys.exit("bench: the scale dump does not match its manifest:\n" + "\n".join(fails or [r.stdout[-3000:]]))
    checked.write_text(stamp + "\n")


# ---- crash ----------------------------------------------------------------------
def mark(tag):
    # $PPID of crash's shell escape is crash; schedstat's first field is the
    # main thread's time on a CPU in ns.
    return f"!echo {MARK} {tag} $(date +%s.%N) $(cut -d' ' -f1 /proc/$PPID/schedstat)"


def rss_mark(tag):
    return f"!echo {MARK} {tag} $(awk '/^VmHWM|^VmRSS/ {{printf \"%s %s \", $1, $2}}' /proc/$PPID/status)"


def crash_session(so, manifest, reps, tmp):
    ko = DUMP / manifest["files"]["modules"]["nd_scale"]
    lines = [f"extend {so}", f"mod -s nd_scale {ko}"]
    # peak RSS before/after the first listcheck of the session
    lines += [rss_mark("rss-before"), f"{NETDBG_CASES['listcheck']} > /dev/null", rss_mark("rss-after")]
    # the answers; a command the build lacks says "command not found" here
    answers = {}
    for name, cmd in ANSWERS.items():
        answers[name] = tmp / f"answer-{name}.json"
        lines.append(f"{cmd} > {answers[name]}")
    for r in range(reps):
        lines += [mark(f"empty-{r}-a"), mark(f"empty-{r}-b")]
        for name, cmd in NETDBG_CASES.items():
            lines += [f"extend -u {so}", f"extend {so}"]
            lines += [mark(f"{name}-{r}-a"), f"{cmd} > /dev/null", mark(f"{name}-{r}-b")]
        for name, cmd in CRASH_CASES.items():
            lines += [mark(f"{name}-{r}-a"), f"{cmd} > /dev/null", mark(f"{name}-{r}-b")]
    lines.append("quit")
    script = tmp / "crash.in"
    script.write_text("\n".join(lines) + "\n")
    log(f"crash session: {reps} runs of {len(NETDBG_CASES) + len(CRASH_CASES)} commands (start-up ~30-90 s)")
    t0 = time.time()
    p = subprocess.run(["crash", "-s", str(VMLINUX), str(DUMP / manifest["files"]["vmcore"]), "-i", str(script)],
                       stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    log(f"crash session took {time.time() - t0:.0f} s")
    marks, rss = {}, {}
    for line in p.stdout.splitlines():
        if not line.startswith(MARK + " "):
            continue
        f = line.split()
        if f[1].startswith("rss-"):
            rss[f[1]] = {f[i].rstrip(":"): int(f[i + 1]) for i in range(2, len(f) - 1, 2)}
        elif len(f) >= 4:
            marks[f[1]] = (float(f[2]), int(f[3]) / 1e9)
    if not marks:
        sys.exit("bench: crash printed no marks:\n" + p.stdout[-3000:])
    # interval of each run, minus the median cost of an empty MARK pair
    def intervals(name):
        out = []
        for r in range(reps):
            a, b = marks.get(f"{name}-{r}-a"), marks.get(f"{name}-{r}-b")
            if a and b:
                out.append((b[0] - a[0], b[1] - a[1]))
        return out

    empty = intervals("empty")
    e_wall = statistics.median(x[0] for x in empty)
    e_cpu = statistics.median(x[1] for x in empty)
    times = {}
    for name in list(NETDBG_CASES) + list(CRASH_CASES):
        iv = intervals(name)
        if iv:
            times[name] = {"wall": [max(0.0, w - e_wall) for w, _ in iv], "cpu": [max(0.0, c - e_cpu) for _, c in iv]}
    got, have = {}, set()
    for name, path in answers.items():
        text = path.read_text() if path.exists() else ""
        if "command not found" in text:
            continue
        have.add(name.split("-")[0])
        try:
            got[name] = json.loads(text[text.index("{"):])
        except ValueError:
            got[name] = {"error": f"no JSON answer: {text[:300]}"}
    for name in list(times):
        if name in NETDBG_CASES and name.split("-")[0] not in have:
            del times[name]
    if "listcheck" not in have:
        rss = {}
    return times, rss, got, have, {"empty_mark_wall": e_wall, "empty_mark_cpu": e_cpu}


# ---- drgn -----------------------------------------------------------------------
def run_drgn(script, reps, *args):
    log(f"drgn: {script} ({reps} runs after a warm-up)")
    p = subprocess.run([PY3, str(BENCH / script), str(DUMP), str(reps), *args], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True)
    if p.returncode != 0:
        sys.exit(f"bench: {script} failed:\n{p.stderr[-3000:]}")
    return json.loads(p.stdout)


# ---- gdb ------------------------------------------------------------------------
# Runs inside gdb's Python after netdbg-gdb.py: the answers (--json) of each
# command, then reps timed runs of each with netdbg's page cache dropped
# first, and the remote requests of one run: netdbg's page reads (remote,
# into gdb, and local, from the vmlinux file) and gdb's own `m` packets,
# counted from `set debug remote 1`. gdb 13 sends that log to gdb_stdlog,
# which gdb.execute(..., to_string=True) captures along with the command's
# output: the packets are counted in the captured text, and on gdb's stderr
# between the marks in case a gdb leaves the log there.
GDB_DRIVER = r"""
import gdb, json, re, sys, time
nd = sys.modules["_netdbg"]
cases, answers, reps, live = json.loads(%(args)r)
out = {"times": {}, "answers": {}, "requests": {}}
def run(cmd):
    try:
        return gdb.execute(cmd, to_string=True)
    except gdb.error as e:
        return "ERROR " + str(e)
for name, cmd in answers:
    nd.drop_memory()
    out["answers"][name] = run(cmd)
for name, cmd in cases:
    nd.drop_memory()
    s0 = nd.stats()
    if live:
        gdb.execute("set debug remote 1")
        gdb.write("%(mark)s begin %%s\n" %% name, gdb.STDLOG)
    text = run(cmd)
    if live:
        gdb.write("%(mark)s end %%s\n" %% name, gdb.STDLOG)
        gdb.execute("set debug remote 0")
    s1 = nd.stats()
    r = {k: s1.get(k, 0) - s0.get(k, 0) for k in ("pages", "read_calls", "local_reads")}
    if live:
        r["packets_captured"] = len(re.findall(%(packet)r, text))
    out["requests"][name] = r
for r in range(reps):
    for name, cmd in cases:
        nd.drop_memory()
        t0, c0 = time.perf_counter(), time.process_time()
        run(cmd)
        t = out["times"].setdefault(name, {"wall": [], "cpu": []})
        t["wall"].append(time.perf_counter() - t0)
        t["cpu"].append(time.process_time() - c0)
gdb.write("%(mark)s result " + json.dumps(out) + "\n")
"""
# A memory read sent to the stub, as `set debug remote 1` logs it (gdb 13:
# "[remote] Sending packet: $mffffffff82a1a000,800#4e"): `m` (hex), or the
# binary `x` of newer gdbs.
PACKET = r"Sending packet: \$[mx][0-9a-fA-F]+,[0-9a-fA-F]+#"


def gdb_front_end(build):
    d = Path(build) / "gdb"
    return d if (d / "_netdbg.so").exists() and (d / "netdbg-gdb.py").exists() else None


def run_gdb(gdb_dir, target_cmds, cases, answers, reps, live, modules_dir, tmp):
    os.environ["NETDBG_BUILD"] = str(gdb_dir.parent)
    sys.path.insert(0, str(REPO / "tests" / "integration"))
    import crashrun  # noqa: E402  (the vmlinux with its gdb index: gdb loads it in seconds)
    driver = tmp / "gdb-driver.py"
    driver.write_text(GDB_DRIVER % {"mark": MARK, "packet": PACKET,
                                    "args": json.dumps([cases, answers, reps, live])})
    argv = ["gdb", "-nx", "-batch", "-ex", "set pagination off", "-ex", "set width 0",
            "-ex", f"file {crashrun.indexed_vmlinux()}"]
    for c in target_cmds:
        argv += ["-ex", c]
    argv += ["-ex", f"source {gdb_dir / 'netdbg-gdb.py'}", "-ex", "netdbg-kaslr"]
    if modules_dir:
        argv += ["-ex", f"netdbg-load-modules {modules_dir}"]
    argv += ["-x", str(driver)]
    p = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       env={**os.environ, "NETDBG_GDB_MODULE": str(gdb_dir / "_netdbg.so")})
    res = None
    for line in p.stdout.splitlines():
        if line.startswith(f"{MARK} result "):
            res = json.loads(line[len(f"{MARK} result "):])
    if res is None:
        raise RuntimeError(f"gdb printed no result:\n{p.stdout[-2000:]}\n{p.stderr[-2000:]}")
    if live:  # gdb's packets: in each command's captured text, and on stderr between its marks
        logged, current = {}, None
        for line in p.stderr.splitlines():
            if line.startswith(f"{MARK} begin "):
                current = line.split()[-1]
                logged[current] = 0
            elif line.startswith(f"{MARK} end "):
                current = None
            elif current and re.search(PACKET, line):
                logged[current] += 1
        for name, r in res["requests"].items():
            n = r.pop("packets_captured", 0) + logged.get(name, 0)
            # No packet at all while netdbg read from gdb: the log was not
            # seen (another gdb's format or destination), not zero requests.
            r["packets"] = n if n or not r.get("read_calls") else None
    return res


def gdb_on_elf(gdb_dir, manifest, reps, have, tmp):
    cases = [[n, c] for n, c in NETDBG_CASES.items() if n.split("-")[0] in have]
    answers = [[n, c] for n, c in ANSWERS.items() if n.split("-")[0] in have]
    log(f"gdb on vmcore.elf: {reps} runs of {len(cases)} commands")
    return run_gdb(gdb_dir, [f"core-file {DUMP / manifest['files']['vmcore_elf']}"], cases, answers, reps, False,
                   DUMP / "modules", tmp)


LIVE_CASES = {
    "rtnlowner": "rtnlowner",
    "uninterruptible": "uninterruptible --group",
    "listcheck": "listcheck init_net.dev_base_head -o net_device.dev_list --count",
    "aclist": "aclist",
}


def gdb_live(gdb_dir, have, tmp, state=None):
    """The remote requests of LIVE_CASES on a live rtnl-stuck guest: booted
    here (and stopped after), or the running one of dumps/live-guest.sh in
    `state`."""
    script = REPO / "dumps" / "live-guest.sh"
    if not script.exists():
        return None
    booted = state is None
    if booted:
        state = tmp / "live"
        log("live rtnl-stuck guest with a gdbstub (dumps/live-guest.sh, under the QEMU lock)")
        subprocess.run([str(script), "start", "rtnl-stuck", str(state)], check=True, stdout=subprocess.DEVNULL)
    try:
        env = dict(line.split("=", 1) for line in (Path(state) / "env").read_text().split() if "=" in line)
        cases = [[n, c] for n, c in LIVE_CASES.items() if n in have]
        return run_gdb(gdb_dir, [f"target remote 127.0.0.1:{env['GDB_PORT']}"], cases, [], 0, True,
                       CACHE / "dumps" / "rtnl-stuck" / "modules", tmp)
    finally:
        if booted:
            subprocess.run([str(script), "stop", str(state)], stdout=subprocess.DEVNULL)


def live_only(build, state, json_out):
    """--live-only: the live guest's part of the benchmark alone (~2 min)."""
    gdb_dir = gdb_front_end(build)
    if not gdb_dir:
        sys.exit(f"bench: no gdb front end in {build}/gdb")
    problems = []
    with tempfile.TemporaryDirectory(prefix="netdbg-bench-") as td:
        live = gdb_live(gdb_dir, set(LIVE_CASES), Path(td), state)
    rtnl_requests = live_table(live)
    print()
    print("targets:")

    def target(label, ok, text):
        print(f"  {'n/a ' if ok is None else 'PASS' if ok else 'MISS'} {label}: {text}")
        if ok is False:
            problems.append(f"target missed: {label}")

    rtnl_target(rtnl_requests, target)
    if json_out:
        Path(json_out).write_text(json.dumps({"live": live, "problems": problems}, indent=1) + "\n")
    return 1 if problems else 0


# ---- answers --------------------------------------------------------------------
def compare(name, ours, theirs, problems):
    ok = ours == theirs
    print(f"  {'agree   ' if ok else 'DISAGREE'} {name}" + ("" if ok else f": netdbg {ours!r:.300} != {theirs!r:.300}"))
    if not ok:
        problems.append(f"{name}: answers disagree")


def netdbg_groups(j):
    """uninterruptible --group --json -> the drgn baseline's shape."""
    groups, order = {}, []
    for t in j["tasks"]:
        b = t["blocker"]
        if b and b["kind"] != "mutex":
            b = None  # the drgn baseline knows mutexes only
        key = b["object"] if b else None
        if key not in groups:
            groups[key] = {"mutex": key, "owner_pid": b["owner_pid"] if b else None, "waiters": []}
            order.append(key)
        groups[key]["waiters"].append(t["pid"])
    return [groups[k] for k in order]


def check_answers(manifest, got, drgn, problems):
    print("answers (netdbg --json vs drgn on the ELF of the same instant, and the manifest):")
    L = manifest["lists"]
    if "listcheck" in got:
        j = got["listcheck"]
        compare("listcheck --count nd_scale_big: entries, findings",
                (j.get("entry_count"), j.get("findings")), (drgn["validate"]["result"]["count"], []), problems)
        compare("listcheck: entries = manifest", j.get("entry_count"), L["big"]["entries"], problems)
    if "listcheck-loop" in got:
        j = got["listcheck-loop"]
        loops = [f for f in j.get("findings", []) if f.get("kind") == "loop"]
        compare("listcheck nd_scale_loop: one loop, re-entry index, cycle length",
                (len(loops), loops[0].get("cycle_entry_index") if loops else None,
                 loops[0].get("cycle_length") if loops else None),
                (1, L["loop"]["target_index"], L["loop"]["cycle_length"]), problems)
    if "uninterruptible" in got:
        j, d = got["uninterruptible"], drgn["uninterruptible"]["result"]
        compare("uninterruptible: tasks, D-state tasks", (j.get("task_count"), j.get("d_state_count")),
                (d["task_count"], d["d_state_count"]), problems)
        compare("uninterruptible --group: mutex, owner, waiters (oldest first)", netdbg_groups(j), d["groups"],
                problems)
        compare("uninterruptible: wait function of each task",
                {str(t["pid"]): t["wait_function"] for t in j["tasks"]}, d["wait_function"], problems)
    if "rtnlowner" in got:
        j, d = got["rtnlowner"], drgn["rtnlowner"]["result"]
        o = j.get("owner") or {}
        compare("rtnlowner: owner pid, comm, wait function",
                (o.get("pid"), o.get("comm"), o.get("wait_function")),
                (d["owner"]["pid"], d["owner"]["comm"], d["owner"]["wait_function"]), problems)
        compare("rtnlowner: waiters in order with wait functions",
                [(w.get("pid"), w.get("wait_function")) for w in j.get("waiters", [])],
                [(w["pid"], w["wait_function"]) for w in d["waiters"]], problems)
        compare("rtnlowner: held for at least (ns)", j.get("held_for_at_least_ns"), d["held_for_at_least_ns"],
                problems)
        compare("rtnlowner: waiters = manifest", [w.get("pid") for w in j.get("waiters", [])
                                                  if w.get("comm", "").startswith("nd_rwait/")],
                [w["pid"] for w in manifest["rtnl"]["waiters"]], problems)
    if "aclist" in got:
        j = got["aclist"]
        compare("aclist: anycast entries = manifest", j.get("entry_count"), manifest["anycast_entries"], problems)
    if "netdev" in got and "netdev_devices" in manifest:
        j = got["netdev"]
        compare("netdev: devices = manifest (/sys/class/net)", len(j.get("devices", [])), manifest["netdev_devices"],
                problems)


def check_gdb_answers(crash_answers, gdb_texts, problems):
    print("answers (netdbg in gdb on vmcore.elf vs netdbg in crash on vmcore):")
    for name, text in gdb_texts.items():
        try:
            g = json.loads(text[text.index("{"):])
        except ValueError:
            compare(f"gdb {name} --json", text[:200], "a JSON document", problems)
            continue
        c = crash_answers.get(name, {})
        if name.startswith("listcheck"):
            compare(f"gdb {name}: entries, findings", (g.get("entry_count"), g.get("findings")),
                    (c.get("entry_count"), c.get("findings")), problems)
        elif name == "uninterruptible":
            compare("gdb uninterruptible --group: groups", netdbg_groups(g), netdbg_groups(c), problems)
        elif name == "rtnlowner":
            compare("gdb rtnlowner: owner, waiters", ((g.get("owner") or {}).get("pid"),
                                                      [w.get("pid") for w in g.get("waiters", [])]),
                    ((c.get("owner") or {}).get("pid"), [w.get("pid") for w in c.get("waiters", [])]), problems)
        elif name == "aclist":
            compare("gdb aclist: entries, devices", (g.get("entry_count"), g.get("device_count")),
                    (c.get("entry_count"), c.get("device_count")), problems)


# ---- table ----------------------------------------------------------------------
def med(xs):
    return statistics.median(xs) if xs else None


def fmt_s(x):
    if x is None:
        return "n/a"
    return f"{x * 1000:.0f} ms" if x < 1 else f"{x:.2f} s"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--build", default=os.environ.get("NETDBG_BUILD", str(REPO / "build")))
    ap.add_argument("--json", help="also write the figures here")
    ap.add_argument("--cached-dump", action="store_true",
                    help="use the scale dump in the cache as it is (do not rebuild or check it)")
    ap.add_argument("--live-only", action="store_true",
                    help="only the remote requests on a live rtnl-stuck guest (gdb front end)")
    ap.add_argument("--live-state", metavar="DIR",
                    help="with --live-only: the running guest of `dumps/live-guest.sh start rtnl-stuck DIR`")
    a = ap.parse_args()
    if a.live_only:
        return live_only(Path(a.build).resolve(), a.live_state, a.json)
    so = Path(a.build).resolve() / "netdbg.so"
    if not so.exists():
        sys.exit(f"bench: {so} missing (make build)")
    if not a.cached_dump:
        make_dump()
    manifest = json.loads((DUMP / "manifest.json").read_text())
    problems = []
    with tempfile.TemporaryDirectory(prefix="netdbg-bench-") as td:
        tmp = Path(td)
        times, rss, got, have, calib = crash_session(so, manifest, a.reps, tmp)
    drgn = {"validate": run_drgn("drgn_validate_list.py", a.reps, BIG),
            "uninterruptible": run_drgn("drgn_uninterruptible.py", a.reps),
            "rtnlowner": run_drgn("drgn_rtnlowner.py", a.reps)}
    for k, v in drgn.items():
        times["drgn-" + k] = {"wall": v["times"], "cpu": v["cpu"]}
    check_answers(manifest, got, drgn, problems)

    gdb_dir, gdb_elf, live = gdb_front_end(a.build), None, None
    if gdb_dir:
        with tempfile.TemporaryDirectory(prefix="netdbg-bench-") as td:
            try:
                gdb_elf = gdb_on_elf(gdb_dir, manifest, a.reps, have, Path(td))
                check_gdb_answers(got, gdb_elf["answers"], problems)
            except (RuntimeError, subprocess.CalledProcessError) as e:
                problems.append(f"gdb on the ELF failed: {e}")
            try:
                live = gdb_live(gdb_dir, have, Path(td))
            except (RuntimeError, subprocess.CalledProcessError) as e:
                problems.append(f"gdb on a live guest failed: {e}")
    report(manifest, a.reps, have, times, rss, calib, problems, a.json, gdb_elf, live)
    return 1 if problems else 0


def live_table(live):
    """Prints the remote requests of each command on the live guest; returns rtnlowner's
    (count, what was counted) for the target, or None."""
    rtnl_requests = None
    na = "n/a (command not available)"
    if live is None:
        print("remote memory requests on a live gdbstub guest: n/a (gdb front end or dumps/live-guest.sh missing)")
    else:
        print()
        print(f"{'live rtnl-stuck guest over gdbstub':<56} {'PAGES':>5} {'REMOTE':>6} {'LOCAL':>5} {'PACKETS':>7}")
        for name, cmd in LIVE_CASES.items():
            r = live["requests"].get(name)
            if r is None:
                print(f"{cmd:<56} {na}")
                continue
            packets = r.get("packets")
            print(f"{cmd:<56} {r.get('pages', 0):>5} {r.get('read_calls', 0):>6} {r.get('local_reads', 0):>5} "
                  f"{'n/a' if packets is None else packets:>7}")
        r = live["requests"].get("rtnlowner")
        if r:
            if r.get("packets") is not None:
                rtnl_requests = (r["packets"], "packets to the stub")
            else:  # the debug log was not seen: at least one request per remote page
                rtnl_requests = (r.get("read_calls", 0), "remote page reads; packets not counted")
        print("(PAGES: pages netdbg's cache asked for; REMOTE: read through gdb; LOCAL: read-only kernel image")
        print(" sections read from the vmlinux file; PACKETS: gdb's memory-read packets to the stub, which")
        print(" answers at most 2 KiB per packet)")
    return rtnl_requests


def rtnl_target(rtnl_requests, target):
    target("rtnlowner over gdbstub in <= 50 remote memory requests",
           None if rtnl_requests is None else rtnl_requests[0] <= 50,
           "n/a (gdb front end not available)" if rtnl_requests is None
           else f"{rtnl_requests[0]} requests ({rtnl_requests[1]})")


def report(manifest, reps, have, times, rss, calib, problems, json_out, gdb_elf=None, live=None):
    def m(name, kind="cpu"):
        t = times.get(name)
        return med(t[kind]) if t else None

    print()
    cpu = platform.processor() or ""
    try:
        cpu = re.search(r"model name\s*:\s*(.*)", Path("/proc/cpuinfo").read_text()).group(1)
    except (OSError, AttributeError):
        pass
    mem_kb = int(re.search(r"MemTotal:\s*(\d+)", Path("/proc/meminfo").read_text()).group(1))
    t = manifest["tasks"]
    print(f"netdbg benchmark, scale dump: {t['total']} tasks ({t['d_state']} in D state, "
          f"{manifest['mutex']['waiters']} on one mutex, {len(manifest['rtnl']['waiters'])} on rtnl), "
          f"{manifest['lists']['big']['entries']:,}-entry list, {manifest['anycast_devices']} devices with anycast")
    print(f"machine: {cpu}, {os.cpu_count()} CPUs, {mem_kb / 1048576:.0f} GiB RAM; median of {reps} runs; "
          f"ratio = baseline CPU time / netdbg CPU time")
    print()
    na = "n/a (command not available)"
    hdr = f"{'COMMAND':<44} {'WALL':>9} {'CPU':>9}  RATIO"
    print(hdr)

    def line(label, name, base_of=None):
        if name.split("-")[0] in ("listcheck", "uninterruptible", "rtnlowner", "aclist", "netdev") and \
                name.split("-")[0] not in have:
            print(f"{label:<44} {na}")
            return
        w, c = m(name, "wall"), m(name)
        ratio = ""
        if base_of:
            ours = m(base_of)
            ratio = f"{c / ours:.1f}x" if ours and c is not None else "n/a"
        print(f"{label:<44} {fmt_s(w):>9} {fmt_s(c):>9}  {ratio}")

    line(f"netdbg listcheck --count {BIG}", "listcheck")
    line(f"  crash list -H {BIG}", "crash-list", "listcheck")
    line(f"  crash list -B -H {BIG}", "crash-list-B", "listcheck")
    line(f"  drgn validate_list({BIG})", "drgn-validate", "listcheck")
    line(f"netdbg listcheck --count {LOOP} (loop)", "listcheck-loop")
    line(f"  crash list -H {LOOP} (stops at repeat)", "crash-list-loop", "listcheck-loop")
    line("netdbg uninterruptible --group", "uninterruptible")
    line("  drgn: same grouping (stack_trace)", "drgn-uninterruptible", "uninterruptible")
    line("netdbg rtnlowner", "rtnlowner")
    line("  drgn: same report", "drgn-rtnlowner", "rtnlowner")
    line("netdbg aclist (all devices)", "aclist")
    line(f"netdbg netdev ({manifest.get('netdev_devices', '?')} devices)", "netdev")
    line("  crash net (names and addresses only)", "crash-net", "netdev")
    if "listcheck" in have and "rss-before" in rss and "rss-after" in rss:
        b, a = rss["rss-before"], rss["rss-after"]
        grow = (a["VmHWM"] - b["VmHWM"]) / 1024
        print(f"crash peak RSS (VmHWM) before/after listcheck: {b['VmHWM'] / 1024:.0f} MB -> "
              f"{a['VmHWM'] / 1024:.0f} MB (+{grow:.0f} MB)")
    else:
        grow = None
        print(f"crash peak RSS before/after listcheck: {na}")
    print(f"(an empty MARK pair costs {calib['empty_mark_wall'] * 1000:.1f} ms wall, "
          f"{calib['empty_mark_cpu'] * 1000:.1f} ms CPU; subtracted)")

    print()
    if gdb_elf is None:
        print("gdb on vmcore.elf: n/a (gdb front end not built)")
    else:
        print(f"{'gdb on vmcore.elf (same commands)':<44} {'WALL':>9} {'CPU':>9}  VS CRASH (CPU)")
        for name, cmd in NETDBG_CASES.items():
            t = gdb_elf["times"].get(name)
            if not t:
                continue
            ours = m(name)
            c = med(t["cpu"])
            vs = f"{c / ours:.1f}x crash's time" if ours and c is not None else ""
            print(f"{cmd[:44]:<44} {fmt_s(med(t['wall'])):>9} {fmt_s(c):>9}  {vs}")
    rtnl_requests = live_table(live)

    print()
    print("targets:")

    def target(label, ok, text):
        if ok is None:
            print(f"  n/a  {label}: {text}")
            return
        print(f"  {'PASS' if ok else 'MISS'} {label}: {text}")
        if not ok:
            problems.append(f"target missed: {label}")

    def ratio(base, ours):
        b, o = m(base), m(ours)
        return b / o if b is not None and o else None

    r = ratio("crash-list-B", "listcheck")
    target("listcheck --count >= 3x faster than crash list -B -H", None if r is None else r >= 3,
           "n/a (command not available)" if r is None else f"{r:.1f}x")
    r = ratio("drgn-validate", "listcheck")
    target("listcheck --count >= 10x faster than drgn validate_list", None if r is None else r >= 10,
           "n/a (command not available)" if r is None else f"{r:.1f}x")
    target("crash RSS grows <= 50 MB with listcheck", None if grow is None else grow <= 50,
           "n/a (command not available)" if grow is None else f"+{grow:.0f} MB")
    r = ratio("drgn-uninterruptible", "uninterruptible")
    target("uninterruptible --group >= 2x faster than drgn", None if r is None else r >= 2,
           "n/a" if r is None else f"{r:.1f}x")
    c = m("netdev")
    target("netdev over every device <= 1 s CPU in crash", None if c is None else c <= 1.0,
           "n/a (command not available)" if c is None else f"{fmt_s(c)} (crash net: {fmt_s(m('crash-net'))})")
    rtnl_target(rtnl_requests, target)
    if problems:
        print()
        for p in problems:
            print(f"PROBLEM: {p}")
    if json_out:
        Path(json_out).write_text(json.dumps({"times": times, "rss": rss, "calibration": calib,
                                              "gdb_elf": gdb_elf, "live": live, "problems": problems},
                                             indent=1) + "\n")


if __name__ == "__main__":
    sys.exit(main())
