#!/usr/bin/python3
"""check-waits.py [DUMPDIR]

Checks a waits dump against its manifest.  drgn (vmcore.elf) reads on its
own: every scenario task's state, comm and call chain (the manifest's
/proc/PID/stack frames, in order, within drgn's unwinding); the two rwsems'
count and owner bits and their wait lists in order with the waiter modes
(struct rwsem_waiter); the semaphore's count and wait list (the task is the
word after each semaphore_waiter's list_head); the completion's swait list;
nd_flush_mutex's owner and waiter, the kworker executing nd_flush_work and
the flusher's wq_barrier on its scheduled list; the socket's sk_lock.owned,
its sk_lock.wq waiter, inode, family, protocol and local address; the
leaked device's reg_state and per-CPU refcount sum, off init_net's list;
rcu_state.gp_seq in progress, the reader on the root rcu_node's blkd_tasks
(and gp_tasks), the spinner's CPU bit in its leaf rcu_node's qsmask and the
spinner current on that CPU with preemption off, barrier_mutex's owner and
waiter, the barrier completion's waiter, and the queued callback.  crash
(vmcore) must read the same lock words and gp_seq.  Run with
/usr/bin/python3.  Exits 1 on any mismatch.
"""
import re
import socket
import struct
import sys

from drgn import Object, cast, container_of
from drgn.helpers.linux.cpumask import for_each_possible_cpu
from drgn.helpers.linux.list import list_for_each_entry
from drgn.helpers.linux.percpu import per_cpu, per_cpu_ptr
from drgn.helpers.linux.pid import find_task, for_each_task
from drgn.helpers.linux.sched import task_cpu

sys.dont_write_bytecode = True  # no __pycache__ in dumps/
import checklib as c  # noqa: E402

m, d, prog = c.load("waits")
check = c.check
hx = c.hx
OBJ = {o["name"]: o for o in m["objects"]}
TASKS = {t["pid"]: t for t in m["tasks"]}
STATE = {"R": 0, "S": 1, "D": 2}  # TASK_RUNNING, TASK_INTERRUPTIBLE, TASK_UNINTERRUPTIBLE


def lst(head, limit=1000):
    """Entry addresses (the list_heads) of the list at head (an address), bounded."""
    out, p = [], prog.read_u64(head)
    while p != head and len(out) < limit:
        out.append(p)
        p = prog.read_u64(p)
    return out


def task(pid):
    t = find_task(prog, pid)
    if not t:
        sys.exit("task %d of the manifest is not in the dump" % pid)
    return t


def tpid(t):
    return t.pid.value_()


def frame_names(t):
    out = []
    for f in prog.stack_trace(t):
        name = f.name
        if name is None:
            try:
                name = prog.symbol(f.pc).name
            except LookupError:
                pass
        out.append(name)
    return out


def subsequence(want, got):
    it = iter(got)
    return all(any(w == g for g in it) for w in want)


# ---- every task: state, comm, call chain -----------------------------------------
for t in m["tasks"]:
    tk = task(t["pid"])
    what = "%s (pid %d)" % (t["comm"], t["pid"])
    check("%s comm" % what, tk.comm.string_().decode(), t["comm"])
    check("%s state" % what, tk.__state.value_(), STATE[t["state"]])
    if "task" in t:
        check("%s task_struct" % what, hx(tk.value_()), t["task"])
    if t["state"] != "R":
        # /proc shows the entry_SYSCALL_64_after_hwframe label, drgn its function
        want = [re.sub(r"^entry_SYSCALL_64_.*", "entry_SYSCALL_64", re.sub(r"\+.*", "", f)) for f in t["stack"]]
        got = frame_names(tk)
        if not check("%s call chain %s within drgn's" % (what, " <- ".join(want[:4])), subsequence(want, got), True):
            print("     drgn: %s" % got)
D_PIDS = sorted(t["pid"] for t in m["tasks"] if t["state"] == "D")
check("waiters in D state", sorted(t["pid"] for t in m["tasks"] if t["role"] == "waiter"), D_PIDS)
dump_d = set(tpid(tk) for tk in for_each_task(prog) if tk.__state.value_() == 2)
man_d = set(u["pid"] for u in m["uninterruptible"])
check("the manifest's D tasks are D in the dump", man_d <= dump_d, True)
if dump_d - man_d:
    print("note: D in the dump only: %s" % sorted(dump_d - man_d))

# ---- rwsems ---------------------------------------------------------------------------
RW_READ = prog.constant("RWSEM_WAITING_FOR_READ").value_()
for name in ("nd_rwsem_w", "nd_rwsem_r"):
    o = OBJ[name]
    sem = prog[name]
    check("%s address" % name, hx(sem.address_), o["address"])
    count = sem.count.counter.value_() & (2**64 - 1)
    owner = sem.owner.counter.value_() & (2**64 - 1)
    check("%s count" % name, hx(count), o["count"])
    check("%s owner word" % name, hx(owner), o["owner"])
    check("%s owner task" % name, hx(owner & ~7), o["owner_task"])
    check("%s waiters bit" % name, count & 2, 2)
    waiters = [(tpid(w.task), "R" if w.type.value_() == RW_READ else "W")
               for w in list_for_each_entry("struct rwsem_waiter", sem.wait_list.address_of_(), "list")]
    check("%s wait_list (pid, mode) in order" % name, waiters, [(w["pid"], w["mode"]) for w in o["waiters"]])
w = OBJ["nd_rwsem_w"]
cw = int(w["count"], 16)
check("nd_rwsem_w writer-locked, no readers", (cw & 1, cw >> 8), (1, 0))
check("nd_rwsem_w owner is the writer", w["owner_task"], hx(task(w["writer_pid"]).value_()))
check("nd_rwsem_w owner not reader-owned", int(w["owner"], 16) & 1, 0)
r = OBJ["nd_rwsem_r"]
cr = int(r["count"], 16)
check("nd_rwsem_r not writer-locked, readers", (cr & 1, cr >> 8), (0, len(r["reader_pids"])))
check("nd_rwsem_r owner is reader-owned", int(r["owner"], 16) & 1, 1)
check("nd_rwsem_r owner is the last reader", r["owner_task"], hx(task(r["reader_pids"][-1]).value_()))

# ---- semaphore --------------------------------------------------------------------------
o = OBJ["nd_sem"]
sem = prog["nd_sem"]
check("nd_sem address", hx(sem.address_), o["address"])
check("nd_sem count", sem.count.value_(), o["count"])
# struct semaphore_waiter is private to kernel/locking/semaphore.c: list_head, then the task
sw = [Object(prog, "struct task_struct *", prog.read_u64(e + 16)) for e in lst(sem.wait_list.address_of_().value_())]
check("nd_sem wait_list", [tpid(t) for t in sw], [w["pid"] for w in o["waiters"]])

# ---- completion ---------------------------------------------------------------------------
o = OBJ["nd_never_done"]
cmp = prog["nd_never_done"]
check("nd_never_done address", hx(cmp.address_), o["address"])
check("nd_never_done done", cmp.done.value_(), o["done"])
check("nd_never_done swait list", [tpid(q.task) for q in list_for_each_entry(
    "struct swait_queue", cmp.wait.task_list.address_of_(), "task_list")], [w["pid"] for w in o["waiters"]])

# ---- mutex, flush_work ---------------------------------------------------------------------
o = OBJ["nd_flush_mutex"]
mx = prog["nd_flush_mutex"]
mowner = mx.owner.counter.value_() & (2**64 - 1)
check("nd_flush_mutex address", hx(mx.address_), o["address"])
check("nd_flush_mutex owner word", hx(mowner), o["owner"])
check("nd_flush_mutex owner task", hx(mowner & ~7), hx(task(o["owner_pid"]).value_()))
check("nd_flush_mutex WAITERS bit", mowner & 1, 1)
mw = [Object(prog, "struct task_struct *", prog.read_u64(e + 16)) for e in lst(mx.wait_list.address_of_().value_())]
check("nd_flush_mutex wait_list", [tpid(t) for t in mw], [w["pid"] for w in o["waiters"]])
F = m["flush"]
check("the flush kworker is the mutex waiter", [w["pid"] for w in o["waiters"]], [F["kworker_pid"]])
kw = task(F["kworker_pid"])
worker = cast("struct worker *", cast("struct kthread *", kw.worker_private).data)
check("kworker current_work", hx(worker.current_work.value_()), F["work"])
check("kworker current_func", prog.symbol(worker.current_func.value_()).name, F["function"])
check("kworker's workqueue", worker.current_pwq.wq.name.string_().decode(), F["workqueue"])
check("kworker's pool cpu", worker.pool.cpu.value_(), F["cpu"])
check("nd_flush_work address", hx(prog["nd_flush_work"].address_), F["work"])
barriers = [container_of(w, "struct wq_barrier", "work") for w in list_for_each_entry(
    "struct work_struct", worker.scheduled.address_of_(), "entry")]
check("flusher's wq_barrier on the kworker's scheduled list", [tpid(b.task) for b in barriers], [F["flusher_pid"]])
check("wq_barrier not done", [b.done.done.value_() for b in barriers], [0])
check("flusher waits on the barrier's completion", [tpid(q.task) for b in barriers for q in list_for_each_entry(
    "struct swait_queue", b.done.wait.task_list.address_of_(), "task_list")], [F["flusher_pid"]])

# ---- socket lock -----------------------------------------------------------------------------
o = OBJ["nd_sock"]
sock = Object(prog, "struct socket *", int(o["socket"], 16))
sk = Object(prog, "struct sock *", int(o["sock"], 16))
check("nd_sock (module static) is the socket", hx(prog["nd_sock"].value_()), o["socket"])
check("socket->sk", hx(sock.sk.value_()), o["sock"])
check("sk_lock.owned", sk.sk_lock.owned.value_(), o["owned"])
check("sk_lock.wq waiters", [tpid(cast("struct task_struct *", e.private)) for e in list_for_each_entry(
    "struct wait_queue_entry", sk.sk_lock.wq.head.address_of_(), "entry")], [w["pid"] for w in o["waiters"]])
check("socket inode", container_of(sock, "struct socket_alloc", "socket").vfs_inode.i_ino.value_(), o["inode"])
skc = sk.__sk_common  # sk_family, inet_rcv_saddr, inet_num are #defines into it
check("family, type, protocol", (skc.skc_family.value_(), sk.sk_type.value_(), sk.sk_protocol.value_()),
      (o["family"], o["type"], o["protocol"]))
check("local address", socket.inet_ntoa(struct.pack("<I", skc.skc_rcv_saddr.value_())), o["local_addr"])
check("local port", skc.skc_num.value_(), o["local_port"])

# ---- the leaked device -----------------------------------------------------------------------
o = OBJ["ndleak0"]
dev = Object(prog, "struct net_device *", int(o["dev"], 16))
check("nd_leak_dev (module static)", hx(prog["nd_leak_dev"].value_()), o["dev"])
check("device name", dev.name.string_().decode(), o["name"])
check("ifindex", dev.ifindex.value_(), o["ifindex"])
check("reg_state", dev.reg_state.value_(), o["reg_state"])
check("reg_state name", prog.constant(o["reg_state_name"]).value_(), o["reg_state"])
ref = sum(per_cpu_ptr(dev.pcpu_refcnt, cpu)[0].value_() for cpu in for_each_possible_cpu(prog))
check("pcpu_refcnt sum", ref, o["refcnt"])
check("the device is off init_net's list", o["name"] in [n for n, _, _ in c.netdevs(prog)], False)
check("the unregistering task", [w["pid"] for w in o["waiters"]], [t["pid"] for t in m["tasks"] if t.get("unregistering") == o["name"]])
ip = task(o["waiters"][0]["pid"])
check("ip is in netdev_run_todo -> rcu_barrier", subsequence(["rcu_barrier", "netdev_run_todo"], frame_names(ip)), True)

# ---- RCU ----------------------------------------------------------------------------------------
o = OBJ["rcu_state"]
rs = prog["rcu_state"]
check("rcu_state address", hx(rs.address_), o["address"])
seq = rs.gp_seq.value_()
check("rcu_state.gp_seq", seq, o["gp_seq"])
check("grace period in progress (gp_seq & 3)", seq & 3 != 0, True)
check("gp_seq > the idle gp_seq seen at setup (signed)", 0 < (seq - o["gp_seq_idle_at_setup"]) % 2**64 < 2**63, True)
root = rs.node[0].address_of_()
check("root rcu_node (the reader's rcu_blocked_node)", hx(root.value_()), o["rcu_node"])
reader = task(o["blocking_reader_pid"])
check("reader's rcu_blocked_node", hx(reader.rcu_blocked_node.value_()), o["rcu_node"])
check("reader inside a read-side critical section", reader.rcu_read_lock_nesting.value_() > 0, True)
check("reader's rcu_read_unlock_special.b.blocked", reader.rcu_read_unlock_special.b.blocked.value_(), 1)
blkd = [tpid(t) for t in list_for_each_entry("struct task_struct", root.blkd_tasks.address_of_(), "rcu_node_entry")]
check("reader on the root rcu_node's blkd_tasks", o["blocking_reader_pid"] in blkd, True)
check("reader blocks the current GP (gp_tasks)", hx(root.gp_tasks.value_()), hx(reader.rcu_node_entry.address_of_().value_()))
rdp = per_cpu(prog["rcu_data"], o["spinning_cpu"])
leaf = rdp.mynode
check("spinner CPU's leaf rcu_node is the root (<= 16 CPUs)", hx(leaf.value_()), hx(root.value_()))
bit = o["spinning_cpu"] - leaf.grplo.value_()
check("spinner CPU %d's bit in the leaf qsmask (0x%x)" % (o["spinning_cpu"], leaf.qsmask.value_()),
      (leaf.qsmask.value_() >> bit) & 1, 1)
check("leaf rcu_node.gp_seq is the GP in progress", leaf.gp_seq.value_(), seq)
spinner = task(o["spinner_pid"])
check("spinner is current on CPU %d" % o["spinning_cpu"], hx(per_cpu(prog["runqueues"], o["spinning_cpu"]).curr.value_()),
      hx(spinner.value_()))
check("spinner's task cpu", task_cpu(spinner), o["spinning_cpu"])
check("reader's task cpu", task_cpu(reader), o["reader_cpu"])
pc = per_cpu(prog["__preempt_count"], o["spinning_cpu"]).value_() & 0x7FFFFFFF
check("preemption disabled on CPU %d (__preempt_count & 0xff)" % o["spinning_cpu"], (pc & 0xFF) >= 1, True)
bm = rs.barrier_mutex
bowner = bm.owner.counter.value_() & (2**64 - 1)
check("barrier_mutex owner (the ip task)", hx(bowner & ~7), hx(task(o["barrier_mutex_owner_pid"]).value_()))
bw = [prog.read_u64(e + 16) for e in lst(bm.wait_list.address_of_().value_())]
check("barrier_mutex waiters", [tpid(Object(prog, "struct task_struct *", t)) for t in bw],
      [w["pid"] for w in o["waiters"] if w["wait"] == "barrier_mutex"])
check("barrier_completion waiters", [tpid(q.task) for q in list_for_each_entry(
    "struct swait_queue", rs.barrier_completion.wait.task_list.address_of_(), "task_list")],
      [w["pid"] for w in o["waiters"] if w["wait"] == "barrier_completion"])
check("synchronize_rcu waiter in __wait_rcu_gp",
      all(subsequence(["__wait_rcu_gp", "synchronize_rcu"], frame_names(task(w["pid"])))
          for w in o["waiters"] if w["wait"] == "gp"), True)
cb = prog["nd_rcu_head"]
check("nd_rcu_head address", hx(cb.address_), o["callback"]["address"])
check("nd_rcu_head.func", prog.symbol(cb.func.value_()).name, o["callback"]["function"])
check("nd_rcu_cb not invoked", prog["nd_rcu_cb_invoked"].value_(), False)

# ---- crash ----------------------------------------------------------------------------------------
outs = c.crash(d, m, ["p -x nd_rwsem_w.count.counter", "p -x nd_rwsem_r.owner.counter", "p nd_sem.count",
                      "p nd_never_done.done", "p -x nd_flush_mutex.owner.counter", "p rcu_state.gp_seq"])
check("crash: nd_rwsem_w count", c.crash_value(outs[0]), OBJ["nd_rwsem_w"]["count"])
check("crash: nd_rwsem_r owner", c.crash_value(outs[1]), OBJ["nd_rwsem_r"]["owner"])
check("crash: nd_sem count", c.crash_value(outs[2]), str(OBJ["nd_sem"]["count"]))
check("crash: nd_never_done done", c.crash_value(outs[3]), str(OBJ["nd_never_done"]["done"]))
check("crash: nd_flush_mutex owner", c.crash_value(outs[4]), OBJ["nd_flush_mutex"]["owner"])
check("crash: rcu_state.gp_seq", c.crash_value(outs[5]), str(o["gp_seq"]))
c.finish()
