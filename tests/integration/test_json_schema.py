"""Every command's --json output on every scenario dump against the schema
the README documents (tests/integration/schema/command-output.schema.json).
The outputs come from netdbg-report, which runs every command the extension
lists with --json."""
import copy
import json
import subprocess
from pathlib import Path

import pytest

import crashrun
import reportrun

SCHEMA = Path(__file__).parent / "schema" / "command-output.schema.json"


def validator():
    subprocess.run([str(crashrun.REPO / "dumps" / "need-packages.sh"), "python3-jsonschema"], check=True)
    import jsonschema
    schema = json.loads(SCHEMA.read_text())
    jsonschema.Draft7Validator.check_schema(schema)
    return jsonschema.Draft7Validator(schema)


def errors(v, doc):
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message[:200]}" for e in v.iter_errors(doc)]


@pytest.mark.parametrize("scenario", reportrun.scenarios())
def test_every_command_json_matches_the_schema(scenario):
    v = validator()
    rep, _ = reportrun.report(scenario)
    assert rep["status"] != "error", rep["reason"]
    documented = set(json.loads(SCHEMA.read_text())["properties"]["command"]["enum"])
    checked = set()
    for c in rep["commands"]:
        synopsis = next(x["synopsis"] for x in rep["command_list"] if x["command"] == c["command"])
        if "--json" not in synopsis:
            continue
        # a command with --json but no schema fails here: document it first
        assert c["command"] in documented, f"{c['command']} has --json but no schema"
        assert isinstance(c["json"], dict), (c["command"], c["args"], c["error"])
        assert c["json"]["command"] == c["command"]
        assert list(c["json"])[0] == "command"
        errs = errors(v, c["json"])
        assert not errs, (c["command"], c["args"], errs)
        checked.add(c["command"])
    with_json = {x["command"] for x in rep["command_list"] if "--json" in x["synopsis"]}
    skipped = {s["command"] for s in rep["skipped"]}
    assert checked == with_json - skipped


def test_the_schema_rejects_what_the_readme_rules_out():
    """The schema can fail: drop a documented key, break an address or a
    time, and validation must complain."""
    v = validator()
    rep, _ = reportrun.report("rtnl-stuck")
    by = {c["command"]: c["json"] for c in reversed(rep["commands"]) if isinstance(c["json"], dict)}
    un, rt = by["uninterruptible"], by["rtnlowner"]
    assert not errors(v, un) and not errors(v, rt)
    cases = []
    d = copy.deepcopy(un); del d["deadlocks"]; cases.append(d)
    d = copy.deepcopy(un); d["tasks"][0]["task"] = "ffff888005294800"; cases.append(d)
    d = copy.deepcopy(un); d["now_ns"] = "23.6"; cases.append(d)
    d = copy.deepcopy(rt); d["mutex"]["owner"] = 5; cases.append(d)
    d = copy.deepcopy(rt); del d["owner"]["pid"]; cases.append(d)
    d = copy.deepcopy(rt); d["command"] = "nosuchcommand"; cases.append(d)
    for d in cases:
        assert errors(v, d), d
