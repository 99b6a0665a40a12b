#!/usr/bin/python3
"""check-backptr.py [DUMPDIR]

Checks a backptr dump against its manifest.  drgn (vmcore.elf) checks the
layout, walks every instance table (raw next pointers, bounded), and finds
the faults on its own: entries whose inst is not their table's instance,
entries poisoned with 0xEC from inst to the end, and links whose
next->prev is not the link.  Exactly the manifest's three faults must come
out.  It also counts nd_clean_list and the nd_hash buckets.  crash (vmcore)
must show the same instance and fault pointers.
Run with /usr/bin/python3.  Exits 1 on any mismatch.
"""
import drgn
from drgn import Object, cast, offsetof, sizeof

import sys

sys.dont_write_bytecode = True  # no __pycache__ in dumps/
import checklib as c  # noqa: E402

m, d, prog = c.load("backptr")
check = c.check
hx = c.hx
L = m["layout"]
F = m["faults"]

# ---- layout -------------------------------------------------------------------
inst_t = prog.type("struct nd_instance")
ent_t = prog.type("struct nd_entry")
insts = prog["nd_instances"]
check("nd_instances address", hx(insts.address_), L["nd_instances"])
check("nr_instances", len(insts), L["nr_instances"])
check("layout", {
    "instance_size": sizeof(inst_t), "instance_id_offset": offsetof(inst_t, "id"),
    "instance_name_offset": offsetof(inst_t, "name"), "instance_table_offset": offsetof(inst_t, "table"),
    "instance_nr_entries_offset": offsetof(inst_t, "nr_entries"), "entry_size": sizeof(ent_t),
    "entry_link_offset": offsetof(ent_t, "link"), "entry_inst_offset": offsetof(ent_t, "inst"),
    "entry_key_offset": offsetof(ent_t, "key"), "entry_payload_offset": offsetof(ent_t, "payload")},
    {k: v for k, v in L.items() if k not in ("nd_instances", "nr_instances", "poison")})

POISON = int(L["poison"], 16)
ioff = offsetof(ent_t, "inst")


def walk(head_addr, limit=100000):
    """Entries (addresses of their list_head) of the list at head_addr, via next."""
    out = []
    p = prog.read_u64(head_addr)
    while p != head_addr and len(out) < limit:
        out.append(p)
        p = prog.read_u64(p)
    return out


wrong, poisoned, badprev, counts = [], [], [], []
for i in range(len(insts)):
    inst = insts[i]
    head = inst.table.address_of_().value_()
    links = walk(head)
    counts.append(len(links))
    prev = head
    for j, ln in enumerate(links):
        e = drgn.container_of(Object(prog, "struct list_head *", ln), "struct nd_entry", "link")
        raw = prog.read(e.value_() + ioff, sizeof(ent_t) - ioff)
        if all(b == POISON for b in raw):
            poisoned.append((i, hx(e.value_()), j))
        elif e.inst.value_() != inst.address_:
            wrong.append((i, hx(e.value_()), j, hx(inst.address_), hx(e.inst.value_())))
        actual_prev = prog.read_u64(ln + 8)
        if actual_prev != prev:
            badprev.append((i, hx(e.value_()), j, hx(prev), hx(actual_prev)))
        prev = ln
    if prog.read_u64(head + 8) != prev:
        badprev.append((i, "head", len(links), hx(prev), hx(prog.read_u64(head + 8))))

check("instance addresses", [hx(insts[i].address_) for i in range(len(insts))],
      [x["addr"] for x in m["instances"]])
check("entries per instance", counts, [x["entries"] for x in m["instances"]])
check("nr_entries per instance", [insts[i].nr_entries.value_() for i in range(len(insts))],
      [x["nr_entries"] for x in m["instances"]])
check("names", [insts[i].name.string_().decode() for i in range(len(insts))], [x["name"] for x in m["instances"]])
a, b, cc = F["wrong_backptr"], F["poisoned"], F["bad_prev"]
check("wrong back-pointers found", wrong,
      [(a["instance"], a["entry"], a["index"], a["expected_inst"], a["actual_inst"])])
check("wrong back-pointer is the owner instance",
      hx(insts[a["owner_instance"]].address_), a["actual_inst"])
check("poisoned entries found", poisoned, [(b["instance"], b["entry"], b["index"])])
check("poisoned range", (b["offset"], b["length"]), (ioff, sizeof(ent_t) - ioff))
check("bad prev pointers found", badprev,
      [(cc["instance"], cc["entry"], cc["index"], cc["expected_prev"], cc["actual_prev"])])
links26 = walk(insts[cc["instance"]].table.address_of_().value_())
check("bad prev points to entry (index)", links26.index(int(cc["actual_prev"], 16)), cc["actual_prev_index"])

# ---- clean structures -----------------------------------------------------------
cl = prog["nd_clean_list"]
check("nd_clean_list head", hx(cl.address_), m["clean_list"]["head"])
clinks = walk(cl.address_)
check("nd_clean_list entries", len(clinks), m["clean_list"]["entries"])
ok_prev = all(prog.read_u64(ln + 8) == (clinks[k - 1] if k else cl.address_) for k, ln in enumerate(clinks))
check("nd_clean_list prev pointers consistent", ok_prev, True)
check("nd_clean_list keys are 0..N-1 in order", [prog.read_u32(ln + offsetof(ent_t, "key")) for ln in clinks]
      == list(range(m["clean_list"]["entries"])), True)
H = m["hash"]
h = prog["nd_hash"]
check("nd_hash head", hx(h.address_), H["head"])
hn_t = prog.type("struct nd_hnode")
check("nd_hnode layout", (sizeof(hn_t), offsetof(hn_t, "node"), offsetof(hn_t, "key")),
      (H["node_size"], H["node_offset"], H["key_offset"]))
hc = []
for i in range(len(h)):
    n, p = 0, h[i].first.value_()
    while p and n < 10000:
        n += 1
        p = prog.read_u64(p)
    hc.append(n)
check("nd_hash bucket counts", (len(h), hc), (H["buckets"], H["counts"]))
check("nd_hash nodes", sum(hc), H["nodes"])

# ---- crash --------------------------------------------------------------------
outs = c.crash(d, m, ["p &nd_instances[3]", "p nd_instances[3]", "struct nd_entry.inst %s" % a["entry"],
                      "struct nd_entry.key %s" % b["entry"], "struct list_head.prev %s" % cc["entry"],
                      "list -H nd_clean_list"])
print("crash> p nd_instances[3]\n" + outs[1].rstrip())
check("crash: &nd_instances[3]", c.crash_value(outs[0]), hx(insts[3].address_))
check("crash: nd_instances[3].id and name", ("id = 103," in outs[1], 'name = "nat03' in outs[1]), (True, True))

check("crash: wrong entry's inst", c.crash_value(outs[2]), a["actual_inst"])
check("crash: poisoned entry's key", c.crash_value(outs[3]), str(0xecececec))
check("crash: bad prev", c.crash_value(outs[4]), cc["actual_prev"])
check("crash: list -H nd_clean_list count",
      len([l for l in outs[5].splitlines() if l.strip().startswith("ffff")]), m["clean_list"]["entries"])
c.finish()
