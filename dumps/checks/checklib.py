"""checklib.py: shared helpers of the dumps/check-*.py scripts.

Run the scripts with Debian's /usr/bin/python3 (python3-drgn). They open the
ELF dump (vmcore.elf) with drgn, and the kdump dump (vmcore) with crash in
batch mode for a few cross-checks.
"""
import ipaddress
import json
import os
import re
import subprocess
import sys
import tempfile

import drgn

CACHE = os.environ.get("NETDBG_CACHE", os.path.expanduser("~/.cache/netdbg"))
VMLINUX = os.path.join(CACHE, "kernel", "vmlinux")

bad = []


def dump_dir(scenario):
    return sys.argv[1] if len(sys.argv) > 1 else os.path.join(CACHE, "dumps", scenario)


def load(scenario):
    """(manifest, dump dir, drgn program with vmlinux and the dump's modules)."""
    d = dump_dir(scenario)
    m = json.load(open(os.path.join(d, "manifest.json")))
    if m.get("scenario") != scenario:
        sys.exit("%s: manifest is for scenario %r" % (d, m.get("scenario")))
    prog = drgn.Program()
    prog.set_core_dump(os.path.join(d, m["files"]["vmcore_elf"]))
    prog.load_debug_info([VMLINUX] + [os.path.join(d, p) for p in m["files"]["modules"].values()
                                      if not p.endswith(("/dummy.ko", "/qemu_fw_cfg.ko"))])
    return m, d, prog


def check(what, got, want):
    ok = got == want
    print("%-4s %s: %s" % ("ok" if ok else "FAIL", what, got if ok else "%r != %r" % (got, want)))
    if not ok:
        bad.append(what)
    return ok


def finish():
    if bad:
        print("%d check(s) failed: %s" % (len(bad), ", ".join(bad)))
    sys.exit(1 if bad else 0)


def hx(v):
    """Pointer value -> "0x..." as the manifests write them."""
    return "0x%x" % (v & (2**64 - 1))


def v6(obj):
    """struct in6_addr -> compressed text (RFC 5952)."""
    return str(ipaddress.IPv6Address(bytes(obj.in6_u.u6_addr8.value_())))


def netdevs(prog):
    """[(name, ifindex, net_device object)] of init_net, in dev_base order."""
    out = []
    head = prog["init_net"].dev_base_head.address_of_()
    pos = head.next
    for _ in range(10000):
        if pos.value_() == head.value_():
            break
        dev = drgn.container_of(pos, "struct net_device", "dev_list")
        out.append((dev.name.string_().decode(), dev.ifindex.value_(), dev))
        pos = pos.next
    return out


def walk_next(first, member, limit=64):
    """Follow a singly linked list from pointer `first` through `member`,
    at most `limit` steps.  Returns (nodes in order, index of the first
    repeated node or None, whether the limit was hit)."""
    nodes, seen = [], {}
    p = first
    while p.value_() and len(nodes) < limit:
        v = p.value_()
        if v in seen:
            return nodes, seen[v], False
        seen[v] = len(nodes)
        nodes.append(p)
        p = getattr(p, member)
    return nodes, None, bool(p.value_())


def crash(d, m, cmds):
    """Run crash in batch on the dump's vmcore, with every scenario module's
    symbols loaded.  Returns one output text per command of `cmds`."""
    lines = ["mod -s %s %s" % (name, os.path.join(d, p))
             for name, p in m["files"]["modules"].items() if name.startswith("nd_")]
    for i, c in enumerate(cmds):
        lines += ["!echo NDMARK-%d" % i, c]
    lines += ["!echo NDMARK-END", "quit"]
    with tempfile.NamedTemporaryFile("w", suffix=".crash", delete=False) as f:
        f.write("\n".join(lines) + "\n")
        name = f.name
    try:
        r = subprocess.run(["crash", "-s", VMLINUX, os.path.join(d, m["files"]["vmcore"]), "-i", name],
                           stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True, timeout=300)
    finally:
        os.unlink(name)
    text = r.stdout
    outs = []
    for i in range(len(cmds)):
        a = text.find("NDMARK-%d\n" % i)
        b = text.find("NDMARK-%s\n" % (i + 1 if i + 1 < len(cmds) else "END"))
        outs.append(text[a + len("NDMARK-%d\n" % i):b] if a >= 0 and b >= 0 else "")
    return outs


def crash_members(text):
    """`struct X ADDR` output -> {member: value text} (top level only)."""
    out = {}
    for l in text.splitlines():
        mm = re.match(r"^  (\w+) = (.*?),?$", l)
        if mm:
            out[mm.group(1)] = mm.group(2)
    return out


def crash_value(out):
    """The value of crash's `p X` / `struct T.member ADDR` output: the first
    0x... number after the last '=' (crash may put a (type) before it and a
    <symbol> after it), else the
    text after it."""
    v = out.split("=")[-1].strip().rstrip(",")
    mm = re.match(r"(?:\([^)]*\) )?(0x[0-9a-f]+)", v)
    return mm.group(1) if mm else v
