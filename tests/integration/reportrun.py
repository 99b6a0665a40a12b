"""Runs netdbg-triage (and through it netdbg-report) once per test session
on every scenario dump, for test_report.py and test_json_schema.py."""
import functools
import json
import subprocess
import tempfile
from pathlib import Path

import crashrun

REPORT = crashrun.REPO / "tools" / "netdbg-report"
TRIAGE = crashrun.REPO / "tools" / "netdbg-triage"
DUMPS = crashrun.CACHE / "dumps"


def scenarios():
    return sorted(p.parent.name for p in DUMPS.glob("*/vmcore"))


def need_graphviz():
    subprocess.run([str(crashrun.REPO / "dumps" / "need-packages.sh"), "graphviz"], check=True)


@functools.lru_cache(maxsize=None)
def triage():
    """(exit status, stdout, output dir) of netdbg-triage over all dumps."""
    need_graphviz()
    out = Path(tempfile.mkdtemp(prefix="netdbg-triage-"))
    p = subprocess.run([str(TRIAGE), str(DUMPS), "-j", "2", "-o", str(out / "triage"),
                        "--extension", str(crashrun.EXTENSION)],
                       capture_output=True, text=True, timeout=7200)
    return p.returncode, p.stdout + p.stderr, out / "triage"


def summary():
    return json.loads((triage()[2] / "summary.json").read_text())


def row(scenario):
    for r in summary()["dumps"]:
        if Path(r["dump"]).parent.name == scenario:
            return r
    raise AssertionError(f"no triage row for {scenario}")


def report(scenario):
    """The report.json netdbg-report wrote for one scenario dump."""
    r = row(scenario)
    return json.loads((Path(r["report"]) / "report.json").read_text()), Path(r["report"])
