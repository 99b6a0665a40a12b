#!/usr/bin/python3
"""check-reset-after-remove.py [DUMPDIR]

Checks a reset-after-remove dump against its manifest.  drgn (vmcore.elf)
finds on its own: nd_reset_remove on the modules list in state GOING, the
worker of the manifest's reset kworker executing the reset work, the reset,
stats and link works pending on the IRQ CPU's normal worker pool (workqueue
names from work->data's pwq), the fw worker executing its freed (0x6b)
work, the two retry works inactive on nd_rr_fw's pwq, the watchdog and
link-poll delayed works on their CPUs' timer wheels (bucket from the timer's
flags), the freed request's timer still first in a bucket of CPU 2's wheel,
the freed NAPI poisoned, and rmmod in D state in nd_rr_exit.  crash
(vmcore) must read the same module state, worker, worklist and poison.
Run with /usr/bin/python3.  Exits 1 on any mismatch.
"""
import sys

from drgn import Object, cast, container_of, offsetof, sizeof
from drgn.helpers.linux.percpu import per_cpu
from drgn.helpers.linux.pid import find_task

sys.dont_write_bytecode = True  # no __pycache__ in dumps/
import checklib as c  # noqa: E402

m, d, prog = c.load("reset-after-remove")
check = c.check
hx = c.hx
POISON = 0x6b
TIMER_ARRAYSHIFT = 22  # include/linux/timer.h


def lst(head, typename, member, limit=10000):
    """Entries of the list_head at head (an address), raw next pointers, bounded."""
    out, p = [], prog.read_u64(head)
    while p != head and len(out) < limit:
        out.append(p - offsetof(prog.type(typename), member))
        p = prog.read_u64(p)
    return out


def sym(addr):
    try:
        return prog.symbol(addr).name
    except LookupError:
        return hx(addr)


def wq_of_data(data):
    """get_work_pwq(): data & WORK_STRUCT_PWQ -> pwq->wq->name."""
    pwq_bit = 1 << prog.constant("WORK_STRUCT_PWQ_BIT").value_()
    if not data & pwq_bit:
        return None
    mask = (1 << prog.constant("WORK_STRUCT_FLAG_BITS").value_()) - 1
    pwq = Object(prog, "struct pool_workqueue *", data & ~mask & (2**64 - 1))
    return pwq.wq.name.string_().decode()


def poisoned(addr, size):
    raw = prog.read(addr, size)
    return all(b == POISON for b in raw[:-1]) and raw[-1] in (POISON, 0xa5)


# ---- the module: GOING ---------------------------------------------------------
M = m["module"]
mods = {}
head = prog["modules"].address_of_().value_()
for a in lst(head, "struct module", "list", 1000):
    mod = Object(prog, "struct module *", a)
    mods[mod.name.string_().decode()] = mod
check("module on the modules list", M["name"] in mods, True)
mod = mods[M["name"]]
check("struct module address", hx(mod.value_()), M["module"])
check("module state", mod.state.value_(), prog.constant("MODULE_STATE_GOING").value_())
check("manifest initstate", (M["initstate"], M["proc_modules_state"]), ("going", "Unloading"))
check("module core base", hx(mod.core_layout.base.value_()), M["base"])
base, text = mod.core_layout.base.value_(), mod.core_layout.text_size.value_()


def in_module_text(addr):
    return base <= addr < base + text


# ---- the reset worker: executing the reset work -------------------------------
R = m["reset"]
task = find_task(prog, R["worker"]["pid"])
check("reset worker task exists", bool(task), True)
check("reset worker comm", task.comm.string_().decode(), R["worker"]["comm"])
kthread = cast("struct kthread *", task.worker_private)
worker = cast("struct worker *", kthread.data)
check("reset worker current_work", hx(worker.current_work.value_()), R["work"])
check("reset worker current_func", sym(worker.current_func.value_()), R["function"])
check("reset work function is in the module's text", in_module_text(worker.current_func.value_()), True)
check("reset worker's workqueue", worker.current_pwq.wq.name.string_().decode(), R["workqueue"])
pool = worker.pool
check("reset worker's pool is the IRQ CPU's normal pool",
      pool.value_(), per_cpu(prog["cpu_worker_pools"], m["device"]["irq_cpu"])[0].address_of_().value_())
check("reset worker's pool cpu", pool.cpu.value_(), m["device"]["irq_cpu"])
# busy_hash holds it
busy = []
for b in range(len(pool.busy_hash)):
    p = pool.busy_hash[b].first.value_()
    while p and len(busy) < 1000:
        busy.append(p - offsetof(prog.type("struct worker"), "hentry"))
        p = prog.read_u64(p)
check("reset worker in its pool's busy_hash", worker.value_() in busy, True)

# ---- pending on the pool's worklist ---------------------------------------------
wl = lst(pool.worklist.address_of_().value_(), "struct work_struct", "entry")
pending = {}
for a in wl:
    w = Object(prog, "struct work_struct *", a)
    pending[hx(a)] = (sym(w.func.value_()), wq_of_data(w.data.counter.value_()))
for p in m["pending"]:
    check("pending %s on the worklist" % p["function"], pending.get(p["work"]), (p["function"], p["workqueue"]))
check("the reset work is running and pending", R["work"] in pending and R["pending"], True)

# ---- the fw worker: executing its freed work ----------------------------------
F = m["fw"]
ftask = find_task(prog, F["worker"]["pid"])
fworker = cast("struct worker *", cast("struct kthread *", ftask.worker_private).data)
check("fw worker current_work", hx(fworker.current_work.value_()), F["work"])
check("fw worker current_func", sym(fworker.current_func.value_()), F["function"])
check("fw worker's pool is unbound", fworker.pool.cpu.value_(), -1)
check("fw worker state D", ftask.__state.value_() & 2, 2)
req_size = sizeof(prog.type("struct nd_req"))
check("fw work's request is freed (0x6b)", poisoned(int(F["request"], 16), req_size), True)

# ---- inactive works on nd_rr_fw ----------------------------------------------------
wq = cast("struct workqueue_struct *", fworker.current_pwq.wq)
check("fw workqueue name", wq.name.string_().decode(), F["workqueue"])
inactive = []
for pwq in lst(wq.pwqs.address_of_().value_(), "struct pool_workqueue", "pwqs_node"):
    pw = Object(prog, "struct pool_workqueue *", pwq)
    inactive += [hx(a) for a in lst(pw.inactive_works.address_of_().value_(), "struct work_struct", "entry")]
check("inactive works", inactive, [x["work"] for x in m["inactive"]])

# ---- delayed works on the timer wheels ----------------------------------------------
fn = prog["delayed_work_timer_fn"].address_of_().value_()
tb_type = prog.type("struct timer_base")


def bucket_timers(cpu, base, idx):
    tb = per_cpu(prog["timer_bases"], cpu)[base]
    out, p = [], tb.vectors[idx].first.value_()
    while p and len(out) < 1000:
        out.append(p)
        try:
            p = prog.read_u64(p)
        except Exception:
            break
        if p == 0x6b6b6b6b6b6b6b6b:
            break
    return out


for dw in m["delayed"]:
    t = Object(prog, "struct timer_list *", int(dw["timer"], 16))
    flags = t.flags.value_()
    check("%s timer expires" % dw["function"], t.expires.value_(), dw["expires"])
    check("%s timer function" % dw["function"], t.function.value_(), fn)
    base = 1 if flags & 0x80000 else 0  # TIMER_DEFERRABLE -> BASE_DEF
    idx = flags >> TIMER_ARRAYSHIFT
    check("%s timer on CPU %d's wheel, bucket %d" % (dw["function"], dw["cpu"], idx),
          int(dw["timer"], 16) in bucket_timers(dw["cpu"], base, idx), True)
    dwork = container_of(t, "struct delayed_work", "timer")
    check("%s work func" % dw["function"], sym(dwork.work.func.value_()), dw["function"])
    check("%s workqueue" % dw["function"], dwork.wq.name.string_().decode(), dw["workqueue"])

FD = m["freed_delayed"]
heads = [bucket_timers(FD["cpu"], 0, i)[:1] for i in range(len(per_cpu(prog["timer_bases"], FD["cpu"])[0].vectors))]
check("freed request's timer first in a bucket of CPU %d" % FD["cpu"], [FD["timer"]] in [[hx(x) for x in h] for h in heads], True)
check("freed request is poisoned", poisoned(int(FD["request"], 16), req_size), True)

# ---- the device, rmmod ------------------------------------------------------------
D = m["device"]
check("napi freed and poisoned", poisoned(int(D["napi"], 16), sizeof(prog.type("struct nd_napi"))), True)
priv = Object(prog, "struct nd_priv *", int(D["priv"], 16))
check("priv->napi still points to it", hx(priv.napi.value_()), D["napi"])
check("priv->cancel_done", priv.cancel_done.value_(), 1)
rm = find_task(prog, m["rmmod"]["pid"])
check("rmmod in D state", (rm.comm.string_().decode(), rm.__state.value_() & 2), ("rmmod", 2))

# ---- crash ----------------------------------------------------------------------------
outs = c.crash(d, m, ["struct module.state %s" % M["module"],
                      "struct worker.current_work,current_func %s" % hx(worker.value_()),
                      "list -H %s -o work_struct.entry" % hx(pool.worklist.address_of_().value_()),
                      "rd -64 %s 2" % D["napi"]])
check("crash: module state", "MODULE_STATE_GOING" in outs[0], True)
check("crash: current_work", ("current_work = %s" % R["work"]) in outs[1], True)
check("crash: current_func", "<%s>" % R["function"] in outs[1], True)
crash_wl = [int(x, 16) for x in outs[2].split() if len(x) == 16]
check("crash: worklist", crash_wl, wl)
check("crash: napi poisoned", outs[3].count("6b6b6b6b6b6b6b6b"), 2)
c.finish()
