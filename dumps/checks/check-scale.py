#!/usr/bin/python3
"""check-scale.py [DUMPDIR]

Checks a scale dump against its manifest with drgn (vmcore.elf) and a few
crash (vmcore) cross-checks:
- the task list: at least 10,000 tasks, the module's kthreads by name
  (nd_sleep/N, nd_mwait/N, nd_rwait/N), the D-state set;
- nd_scale_mutex: its owner and its wait list (every nd_mwait/N, nothing else);
- rtnl_mutex: its owner, and the nd_rwait/N waiters in the manifest's order;
- nd_scale_big: the entries, each one's index, cookie and prev (drgn's
  prev) and crash's count of `list -H`;
- nd_scale_loop: the entries up to the last one, whose next is the target;
- the IPv6 anycast lists of every device (as check-anycast.py).
Run with /usr/bin/python3.  Exits 1 on any mismatch.
"""
import os
import struct
import sys

import drgn
from drgn.helpers.linux.list import list_for_each
from drgn.helpers.linux.pid import for_each_task
from drgn.helpers.linux.sched import task_state_to_char

sys.dont_write_bytecode = True  # no __pycache__ in dumps/
import checklib as c  # noqa: E402

m, d, prog = c.load("scale")
check = c.check
u64 = 2**64 - 1

# ---- tasks -------------------------------------------------------------------
tasks = {}
for t in for_each_task(prog):
    tasks[t.value_()] = (t.pid.value_(), t.comm.string_().decode(), task_state_to_char(t))
by_pid = {pid: (addr, comm, st) for addr, (pid, comm, st) in tasks.items()}
print("tasks: %d" % len(tasks))
check("at least 10,000 tasks", len(tasks) >= 10000, True)
check("task count close to the guest's /proc count", abs(len(tasks) - m["tasks"]["total"]) <= 16, True)


def count_prefix(p):
    return sum(1 for pid, comm, st in tasks.values() if comm.startswith(p))


check("nd_sleep/N kthreads", count_prefix("nd_sleep/"), m["tasks"]["sleepers"])
check("nd_mwait/N kthreads", count_prefix("nd_mwait/"), m["mutex"]["waiters"])
check("nd_rwait/N kthreads", count_prefix("nd_rwait/"), len(m["rtnl"]["waiters"]))
dset = {pid for pid, comm, st in tasks.values() if st == "D"}
want_d = set(m["mutex"]["waiter_pids"]) | {w["pid"] for w in m["rtnl"]["waiters"]}
check("module waiters in D state", sorted(want_d - dset), [])
check("other D-state tasks", sorted(dset - want_d), sorted(x["pid"] for x in m["tasks"]["other_d_state"]))
check("at least 2,000 tasks in D state", len(dset) >= 2000, True)


# ---- mutexes -----------------------------------------------------------------
def mutex_waiters(mutex):
    out = []
    for w in list_for_each(mutex.wait_list.address_of_()):
        out.append(drgn.container_of(w, "struct mutex_waiter", "list").task.pid.value_())
    return out


def owner_pid(mutex):
    o = mutex.owner.counter.value_() & ~7
    return drgn.Object(prog, "struct task_struct *", o).pid.value_() if o else None


mx = prog.object("nd_scale_mutex")
check("nd_scale_mutex address", c.hx(mx.address_), m["mutex"]["addr"])
check("nd_scale_mutex owner", owner_pid(mx), m["mutex"]["holder"]["pid"])
mw = mutex_waiters(mx)
check("nd_scale_mutex waiters", len(mw), m["mutex"]["waiters"])
check("nd_scale_mutex wait list = the nd_mwait/N kthreads", sorted(mw), sorted(m["mutex"]["waiter_pids"]))
rtnl = prog["rtnl_mutex"]
check("rtnl_mutex owner", owner_pid(rtnl), m["rtnl"]["holder"]["pid"])
rw = mutex_waiters(rtnl)
mine = [p for p in rw if by_pid.get(p, (0, ""))[1].startswith("nd_rwait/")]
check("rtnl_mutex: nd_rwait/N waiters in order", mine, [w["pid"] for w in m["rtnl"]["waiters"]])
print("     rtnl_mutex: %d waiters, %d of them not the module's: %s" %
      (len(rw), len(rw) - len(mine), [by_pid.get(p) for p in rw if p not in mine]))

# ---- lists -------------------------------------------------------------------
L = m["lists"]
et = prog.type("struct nd_scale_entry")
check("struct nd_scale_entry size", et.size, L["entry_size"])
check("nd_scale_entry.link offset", drgn.offsetof(et, "link"), L["link_offset"])
big = prog.object("nd_scale_big")
check("nd_scale_big head", c.hx(big.address_), L["big"]["head"])
cookie = int(L["cookie"], 16)


# slab poison (0x5a, 0x6b, 0xa5) and the 0xEC of the backptr scenario as
# aligned words: a list checker must find no poisoned entry here.
POISON_WORDS = {int.from_bytes(bytes([p]) * 8, "little") for p in (0x5a, 0x6b, 0xa5, 0xec)}


def entries(head, limit):
    """(link address, its prev, index, cookie) of each entry from the head,
    one read per entry (drgn Objects would take minutes for a million), at
    most limit entries; stops at the head."""
    off, size = L["link_offset"], L["entry_size"]
    pos = prog.read_u64(head)
    for _ in range(limit):
        if pos == head:
            return
        b = prog.read(pos - off, size)
        nxt, pprev = struct.unpack_from("<2Q", b, off)
        idx, = struct.unpack_from("<Q", b, L["index_offset"])
        ck, = struct.unpack_from("<Q", b, L["cookie_offset"])
        poisoned = any(w in POISON_WORDS for w in struct.unpack_from("<%dQ" % (size // 8), b))
        yield pos, pprev, idx, ck, poisoned
        pos = nxt


n = bad_index = bad_prev = poisoned = 0
first = last = None
prev = big.address_
for pos, pprev, idx, ck, pz in entries(big.address_, L["big"]["entries"] + 10):
    bad_prev += pprev != prev
    poisoned += pz
    bad_index += idx != n or ck != (cookie ^ idx)
    first = first or pos - L["link_offset"]
    last = pos - L["link_offset"]
    prev = pos
    n += 1
check("nd_scale_big entries whose prev is not the entry before", bad_prev, 0)
check("nd_scale_big entries", n, L["big"]["entries"])
check("nd_scale_big entries with a wrong index/cookie", bad_index, 0)
check("nd_scale_big entries with a poison word", poisoned, 0)
check("nd_scale_big first/last entry", (c.hx(first), c.hx(last)), (L["big"]["first_entry"], L["big"]["last_entry"]))

lp = prog.object("nd_scale_loop")
lo = L["loop"]
check("nd_scale_loop head", c.hx(lp.address_), lo["head"])
seen = {}
rep = None
for pos, pprev, idx, ck, pz in entries(lp.address_, lo["entries"] + 10):
    if pos in seen:
        rep = pos
        break
    if idx != len(seen) or ck != (cookie ^ idx):
        break
    seen[pos] = len(seen)
i = len(seen)
check("nd_scale_loop distinct entries before the repeat", i, lo["distinct_entries"])
check("nd_scale_loop re-enters at", (c.hx((rep or 0) - L["link_offset"]), seen.get(rep)),
      (lo["target_entry"], lo["target_index"]))
check("nd_scale_loop cycle length", i - seen.get(rep, i), lo["cycle_length"])
check("nd_scale_loop: the last entry's next was the head", lo["last_next_before"], lo["head"])
last = drgn.Object(prog, "struct nd_scale_entry *", int(lo["last_entry"], 16))
check("nd_scale_loop last entry index", last.index.value_(), lo["last_index"])

# ---- IPv6 anycast ------------------------------------------------------------
devs = {name: dev for name, idx, dev in c.netdevs(prog)}
with_ac = 0
ac_ok = 0
for md in m["devices"]:
    dev = devs.get(md["name"])
    if dev is None:
        check("device %s exists" % md["name"], False, True)
        continue
    idev = drgn.cast("struct inet6_dev *", dev.ip6_ptr)
    nodes, loop, cut = c.walk_next(idev.ac_list, "aca_next")
    with_ac += bool(nodes)
    got = ([(c.v6(x.aca_addr), x.aca_users.value_()) for x in nodes], loop, cut)
    want = ([(a["addr"], a["users"]) for a in md["anycast"]], None, False)
    if got == want:
        ac_ok += 1
    else:
        check("%s ac_list" % md["name"], got, want)
check("devices whose ac_list is the manifest's", ac_ok, len(m["devices"]))
check("devices with anycast entries", with_ac, m["anycast_devices"])
check("at least 64 devices with anycast entries", with_ac >= 64, True)

# ---- crash ---------------------------------------------------------------------
# crash's list stops with an error at a repeated entry, which breaks a pipe:
# write to a file and count its lines.
tmp = os.path.join(d, ".check-scale-%d.txt" % os.getpid())
outs = c.crash(d, m, ["p &nd_scale_mutex", "list -H nd_scale_big > %s" % tmp, "!wc -l < %s" % tmp,
                      "p/x rtnl_mutex.owner.counter", "list -H nd_scale_loop > %s" % tmp,
                      "!grep -x '[0-9a-f][0-9a-f]*' %s | sort -u | wc -l" % tmp])
os.unlink(tmp)
check("crash: &nd_scale_mutex", c.crash_value(outs[0]), m["mutex"]["addr"])
check("crash: list -H nd_scale_big count", outs[2].strip(), str(L["big"]["entries"]))
check("crash: rtnl_mutex.owner is the holder",
      int(c.crash_value(outs[3]), 16) & ~7, by_pid[m["rtnl"]["holder"]["pid"]][0])
# crash stops shortly after the first repeated entry: count the distinct
# entries it printed (its error lines and the repeats left out)
check("crash: list -H nd_scale_loop distinct entries", outs[5].strip(), str(lo["distinct_entries"]))
check("crash: list -H nd_scale_loop reports the repeat", "duplicate list entry" in outs[4], True)
c.finish()
