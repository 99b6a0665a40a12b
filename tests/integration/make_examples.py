"""Regenerates the Examples block of docs/commands/NAME.md, the EXAMPLES of
each help page, from a real run of crash on a scenario dump (run after
changing a command's output; the build makes the help pages from the docs)."""
import re
import sys
from pathlib import Path

from crashrun import REPO, manifest, run_crash

EXAMPLES = {
    "netdbg": ("rtnl-stuck", ["netdbg"]),
    "rtnlowner": ("rtnl-stuck", ["rtnlowner", "rtnlowner -s"]),
    "lockowner": [("rtnl-stuck", ["lockowner nd_chain_mutex", "lockowner jiffies"]),
                  ("waits", ["lockowner nd_rwsem_w", "lockowner nd_rwsem_r", "lockowner nd_sem"], ["nd_waits"])],
    "uninterruptible": [("rtnl-stuck", ["uninterruptible", "uninterruptible --group", "uninterruptible --for 12s"]),
                        ("waits", ["uninterruptible --group"], ["nd_waits"])],
    "listcheck": ("backptr", ["listcheck nd_instances.table --array 32 -o nd_entry.link --backptr inst --poison 0xEC --count",
                              "listcheck nd_hash --hlist --array 64 -o nd_hnode.node --count"], ["nd_backptr"]),
    "aclist": ("anycast-loop", ["aclist", "aclist dummy0 --mc"], ["nd_ac_loop"]),
    "napiq": ("napi", ["napiq", "napiq ndnapi0 -c"]),
    "netdev": ("txhang", ["netdev", "netdev tx0 -q", "netdev -s"], ["nd_txhang"]),
    "taskfix": ("rtnl-stuck", ["taskfix -n", "taskfix", "taskfix"]),
    "workq": ("reset-after-remove", ["workq --busy", "workq --func nd_rr_reset_work_fn"]),
    "cpus": [("cpus", ["cpus"], ["nd_cpus"]), ("waits", ["cpus"], ["nd_waits"])],
    "ftrace": ("ftrace", ["ftrace --stalls", "ftrace -c 3 --last 8", f"ftrace --since {manifest('ftrace')['stall']['trace_global_ns'] / 1e9 - 1:.1f} -e workqueue --first 8"],
               ["nd_ftrace"]),
    "kstack": ("cpus", [f"kstack {manifest('cpus')['deep']['pid']}", "kstack -a"], ["nd_cpus"]),
}


def main(names):
    for name in names or EXAMPLES:
        runs = EXAMPLES[name] if isinstance(EXAMPLES[name], list) else [EXAMPLES[name]]
        lines = []
        for scenario, commands, *mods in runs:
            parts, _ = run_crash(scenario, commands, modules=mods[0] if mods else ["nd_rtnl_stuck"])
            for i, c in enumerate(commands):
                if lines:
                    lines.append("")
                lines.append(f"  Taken from the {scenario} dump (dumps/):")
                lines.append("")
                lines.append(f"    crash> {c}")
                lines += ["    " + l if l else "" for l in parts[i].rstrip().splitlines()]
        page = REPO / "docs" / "commands" / f"{name}.md"
        text, n = re.subn(r"(## Examples\n\n```text\n).*?(^```$)", lambda m: m.group(1) + "\n".join(lines) + "\n" + m.group(2),
                          page.read_text(), count=1, flags=re.S | re.M)
        if not n:
            sys.exit(f"{page}: no ```text block under ## Examples")
        page.write_text(text)
        print(f"wrote the examples of {page} ({len(lines)} lines)")


if __name__ == "__main__":
    main(sys.argv[1:])
