"""Every kind of wait on the `waits` dump: uninterruptible (JSON, --group,
--graph) and lockowner name each D-state task's blocker, its kind, object
and holder as the scenario's module recorded them in the manifest, and the
chains across kinds; lock words are compared with crash's own reads and
the RCU and socket state with drgn's."""
import re

import pytest
from drgn import Object

from crashrun import drgn_program, json_of, manifest, run_crash

SCENARIO = "waits"
M = manifest(SCENARIO)
MOD = "nd_waits"
OBJ = {o["name"]: o for o in M["objects"]}
TASK = {t["pid"]: t for t in M["tasks"]}
D_PIDS = {t["pid"] for t in M["uninterruptible"]}
RCU = OBJ["rcu_state"]
FLUSH = M["flush"]
# PREEMPT_RT: an rw_semaphore is an rwbase_rt (readers word, rt_mutex_base).
RT = bool(M.get("preempt_rt"))
COUNT = "rwbase.readers.counter" if RT else "count.counter"
OWNER = "rwbase.rtmutex.owner" if RT else "owner.counter"


def signed64(v):
    return v - (1 << 64) if v >= 1 << 63 else v


def member(struct, name, path):
    return f"((struct {struct} *){OBJ[name]['address']})->{path}"


@pytest.fixture(scope="module")
def session():
    commands = [
        "uninterruptible --json",          # 0
        "uninterruptible --group",         # 1
        "uninterruptible --graph",         # 2
        "lockowner nd_rwsem_w --json",     # 3
        "lockowner nd_rwsem_r --json",     # 4
        "lockowner nd_sem --json",         # 5
        "lockowner nd_never_done",         # 6
        "lockowner nd_flush_mutex --json",  # 7
        # crash's own reads of the objects at the addresses the module
        # recorded (crash 8.0.6's `p nd_rwsem_w` on a 6.12 module reads 8
        # bytes off the symbol: its module data layout, not the dump's).
        f"p -x {member('rw_semaphore', 'nd_rwsem_w', COUNT)}",  # 8
        f"p -x {member('rw_semaphore', 'nd_rwsem_r', COUNT)}",  # 9
        f"p -x {member('rw_semaphore', 'nd_rwsem_r', OWNER)}",  # 10
        "lockowner nd_rwsem_r",            # 11
        f"p {member('semaphore', 'nd_sem', 'count')}",  # 12
        "uninterruptible",                 # 13
        "help lockowner",                  # 14
        f"lockowner {RCU['address']} -t rwsem",  # 15: rcu_state is no rwsem
        "lockowner nd_rwsem_w -t semaphore --json",  # 16: the type comes from the debug info
    ]
    parts, _ = run_crash(SCENARIO, commands, modules=[MOD])
    return parts


@pytest.fixture(scope="module")
def tasks(session):
    j = json_of(session[0])
    return {t["pid"]: t for t in j["tasks"]}


@pytest.fixture(scope="module")
def drgn():
    return drgn_program(SCENARIO)


def holder_pids(b):
    return [h["pid"] for h in b["holders"]]


def test_every_d_task_is_listed(tasks):
    assert set(tasks) == D_PIDS


def test_every_d_task_has_a_blocker(tasks):
    missing = [p for p, t in tasks.items() if t["blocker"] is None]
    assert not missing, f"no blocker for {missing}"


def test_rwsem_held_for_write(tasks):
    o = OBJ["nd_rwsem_w"]
    for w in o["waiters"]:
        b = tasks[w["pid"]]["blocker"]
        assert b["kind"] == "rwsem"
        assert b["object"] == f"0x{int(o['address'], 16):016x}"
        assert b["name"] == "nd_rwsem_w [nd_waits]"
        assert b["mode"] == w["mode"]
        assert holder_pids(b) == [o["writer_pid"]]
        assert b["holders"][0]["role"] == "writer"
    fields = tasks[o["waiters"][0]["pid"]]["blocker"]["rwsem"]
    assert [(w["pid"], w["mode"]) for w in fields["waiters"]] == [(w["pid"], w["mode"]) for w in o["waiters"]]


def test_rwsem_held_by_readers(tasks):
    o = OBJ["nd_rwsem_r"]
    (w,) = o["waiters"]
    b = tasks[w["pid"]]["blocker"]
    assert (b["kind"], b["mode"]) == ("rwsem", "W")
    # Readers are not recorded: no proven holder, a count, and the last
    # reader (the owner word) only as a candidate.
    assert b["holders"] == []
    assert b["rwsem"]["readers"] == len(o["reader_pids"])
    assert "held by 2 readers" in b["holder"]
    if RT:
        # rwbase_rt keeps no reader at all; the rt_mutex's owner is the
        # writer itself, which waits for the readers to leave.
        assert b["rwsem"]["reader_owned"] is False
        assert b["candidates"] == []
        assert int(o["owner_task"], 16) == int(TASK[w["pid"]]["task"], 16)
        assert f"the writer {w['comm']} (pid {w['pid']}) holds its rt_mutex" in b["holder"]
        return
    assert b["rwsem"]["reader_owned"] is True
    assert [c["task"] for c in b["candidates"]] == [f"0x{int(o['owner_task'], 16):016x}"]
    assert b["candidates"][0]["pid"] in o["reader_pids"]


def test_semaphore_has_no_recorded_holder(tasks):
    o = OBJ["nd_sem"]
    (w,) = o["waiters"]
    b = tasks[w["pid"]]["blocker"]
    assert b["kind"] == "semaphore"
    assert b["name"] == "nd_sem [nd_waits]"
    assert b["holders"] == [] and b["candidates"] == []
    assert "records no holder" in b["holder"]
    assert b["semaphore"]["count"] == o["count"] == 0


def test_completion(tasks):
    o = OBJ["nd_never_done"]
    (w,) = o["waiters"]
    b = tasks[w["pid"]]["blocker"]
    assert b["kind"] == "completion"
    assert b["object"] == f"0x{int(o['address'], 16):016x}"
    assert b["completion"]["done"] == o["done"]


def test_flush_work_leads_to_the_worker(tasks):
    b = tasks[FLUSH["flusher_pid"]]["blocker"]
    assert b["kind"] == "flush_work"
    assert b["object"] == f"0x{int(FLUSH['work'], 16):016x}"
    assert b["flush_work"]["function"] == f"{FLUSH['function']} [nd_waits]"
    assert b["flush_work"]["workqueue"] == FLUSH["workqueue"]
    assert b["flush_work"]["running"] is True
    assert holder_pids(b) == [FLUSH["kworker_pid"]]
    # ...and the worker's own wait: the mutex its work function takes.
    kb = tasks[FLUSH["kworker_pid"]]["blocker"]
    assert (kb["kind"], kb["name"]) == ("mutex", "nd_flush_mutex [nd_waits]")
    assert kb["owner_pid"] == FLUSH["holder_pid"] == OBJ["nd_flush_mutex"]["owner_pid"]


def test_socket_lock(tasks, drgn):
    o = OBJ["nd_sock"]
    (w,) = o["waiters"]
    b = tasks[w["pid"]]["blocker"]
    assert b["kind"] == "socket"
    assert b["object"] == f"0x{int(o['sock'], 16):016x}"
    f = b["socket"]
    assert f["local"] == f"{o['local_addr']}:{o['local_port']}"
    assert f["inode"] == o["inode"]
    assert (f["family"], f["protocol"]) == ("AF_INET", "IPPROTO_UDP")
    assert f["owned"] == o["owned"] == 1
    assert b["holders"] == []
    assert "does not record the owner" in b["holder"]
    sk = Object(drgn, "struct sock", address=int(o["sock"], 16))
    assert int(sk.sk_lock.owned) == f["owned"]


def test_rcu_grace_period(tasks, drgn):
    (w,) = [x for x in RCU["waiters"] if x["wait"] == "gp"]
    b = tasks[w["pid"]]["blocker"]
    assert b["kind"] == "rcu_gp"
    assert b["rcu_gp"]["gp_seq"] == signed64(RCU["gp_seq"]) == signed64(int(drgn["rcu_state"].gp_seq))
    assert b["rcu_gp"]["gp_in_progress"] is True
    holders = {h["pid"]: h for h in b["holders"]}
    assert set(holders) == {RCU["spinner_pid"], RCU["blocking_reader_pid"]}
    assert holders[RCU["spinner_pid"]]["cpu"] == RCU["spinning_cpu"]
    assert "preempted RCU reader" in holders[RCU["blocking_reader_pid"]]["role"]
    # drgn: the spinner's CPU is the one the root node still waits for.
    qsmask = int(drgn["rcu_state"].node[0].qsmask)
    assert qsmask & (1 << RCU["spinning_cpu"])
    assert [c["cpu"] for c in b["rcu_gp"]["cpus_pending"]] == [c for c in range(64) if qsmask >> c & 1]


def test_rcu_barrier_and_its_mutex(tasks, drgn):
    ip = [x for x in RCU["waiters"] if x["wait"] == "barrier_completion"][0]["pid"]
    waiter = [x for x in RCU["waiters"] if x["wait"] == "barrier_mutex"][0]["pid"]
    b = tasks[ip]["blocker"]
    assert b["kind"] == "rcu_barrier"
    assert b["object"] == f"0x{int(drgn['rcu_state'].barrier_completion.address_of_()):016x}"
    assert {RCU["spinner_pid"], RCU["blocking_reader_pid"]} <= set(holder_pids(b))
    m = tasks[waiter]["blocker"]
    assert m["kind"] == "mutex"
    assert m["object"] == f"0x{int(drgn['rcu_state'].barrier_mutex.address_of_()):016x}"
    assert m["owner_pid"] == RCU["barrier_mutex_owner_pid"] == ip


def test_netdev_unregister_is_named_around_the_barrier(tasks):
    """ip link delete waits in rcu_barrier() inside netdev_run_todo(): the
    device whose references leaked is the wait it is inside of."""
    o = OBJ["ndleak0"]
    (w,) = o["waiters"]
    inside = [i for i in tasks[w["pid"]]["inside"] if i["kind"] == "netdev_unregister"]
    assert len(inside) == 1
    (dev,) = inside[0]["netdev_unregister"]["devices"]
    assert dev["dev"] == f"0x{int(o['dev'], 16):016x}"
    assert (dev["name"], dev["ifindex"]) == ("ndleak0", o["ifindex"])
    assert dev["usage_count"] == o["refcnt"]
    assert dev["leaked"] == o["refcnt"] - 1
    assert dev["reg_state"] == o["reg_state_name"]


def test_chains_cross_kinds(session):
    j = json_of(session[0])
    chains = [[(c["pid"], c["waits_for"]["kind"]) for c in ch] for ch in j["chains"]]
    assert [(FLUSH["flusher_pid"], "flush_work"), (FLUSH["kworker_pid"], "mutex")] in chains
    ip = RCU["barrier_mutex_owner_pid"]
    waiter = [x for x in RCU["waiters"] if x["wait"] == "barrier_mutex"][0]["pid"]
    assert [(waiter, "mutex"), (ip, "rcu_barrier")] in chains
    assert j["deadlocks"] == []


def test_group_text(session):
    text = session[1]
    holder = TASK[FLUSH["holder_pid"]]
    assert (f"nd_flusher (pid {FLUSH['flusher_pid']}) -> flush_work nd_flush_work [nd_waits] -> "
            f"{TASK[FLUSH['kworker_pid']]['comm']} (pid {FLUSH['kworker_pid']}) -> mutex nd_flush_mutex [nd_waits] -> "
            f"{holder['comm']} (pid {holder['pid']}, IN in msleep_interruptible, until a timer expires)") in text
    for header in ("rwsem nd_rwsem_w [nd_waits]", "rwsem nd_rwsem_r [nd_waits]", "semaphore nd_sem [nd_waits]",
                   "completion nd_never_done [nd_waits]", "socket lock UDP 127.0.0.1:7777", f"RCU grace period gp_seq {signed64(RCU['gp_seq'])}",
                   "rcu_barrier rcu_state.barrier_completion"):
        assert re.search(rf"^{re.escape(header)} \(", text, re.M), header
    if not RT:
        assert "CANDIDATE: nd_rwr_reader2" in text or "CANDIDATE: nd_rwr_reader1" in text
    assert "no known wait found" not in text


def test_graph_shapes(session):
    dot = session[2]
    assert dot.startswith("digraph waitfor {")
    for kind, shape in (("rwsem", "hexagon"), ("semaphore", "octagon"), ("completion", "diamond"),
                        ("flush_work", "component"), ("rcu_gp", "doubleoctagon"), ("socket", "cylinder"),
                        ("mutex", "ellipse")):
        assert re.search(rf"^  {kind}_[0-9a-f]{{16}} \[.*shape={shape}", dot, re.M), kind


def test_lockowner_rwsem_write(session):
    j = json_of(session[3])
    o = OBJ["nd_rwsem_w"]
    assert j["kind"] == "rwsem"
    assert int(j["rwsem"]["count"], 16) == int(session[8].split("=")[1], 16) == int(o["count"], 16)
    assert j["owner"]["pid"] == o["writer_pid"]
    assert [(w["pid"], w["mode"]) for w in j["waiters"]] == [(w["pid"], w["mode"]) for w in o["waiters"]]
    assert j["verdict"].startswith("nd_rwsem_w [nd_waits] held for write by ")


def test_lockowner_rwsem_readers(session):
    j = json_of(session[4])
    o = OBJ["nd_rwsem_r"]
    assert j["owner"] is None
    assert int(j["rwsem"]["count"], 16) == int(session[9].split("=")[1], 16)
    assert int(j["rwsem"]["owner_word"], 16) == int(re.search(r"0x[0-9a-f]+", session[10].split("=", 1)[1]).group(0), 16)
    assert j["rwsem"]["readers"] == len(o["reader_pids"])
    assert [c["pid"] for c in j["candidates"]] == [TASK[p]["pid"] for p in o["reader_pids"]
                                                   if int(TASK[p]["task"], 16) == int(o["owner_task"], 16)]
    assert "held by 2 readers" in session[11]
    assert ("CANDIDATE:" in session[11]) is not RT


def test_lockowner_semaphore(session):
    j = json_of(session[5])
    assert j["kind"] == "semaphore"
    assert j["semaphore"]["count"] == int(session[12].split("=")[1]) == 0
    assert [w["pid"] for w in j["waiters"]] == [w["pid"] for w in OBJ["nd_sem"]["waiters"]]
    assert "records no holder" in j["verdict"]


def test_lockowner_refuses_other_types(session):
    assert "nd_never_done is not a struct mutex, rw_semaphore or semaphore (it is struct completion)" in session[6]
    assert "does not look like a struct rw_semaphore" in session[15]
    # a typed symbol's own type wins over -t
    assert json_of(session[16])["kind"] == "rwsem"


def test_lockowner_mutex_in_module(session):
    j = json_of(session[7])
    assert j["kind"] == "mutex"
    assert j["owner"]["pid"] == OBJ["nd_flush_mutex"]["owner_pid"]
    assert [w["pid"] for w in j["waiters"]] == [w["pid"] for w in OBJ["nd_flush_mutex"]["waiters"]]


def test_plain_table_names_each_kind(session):
    text = session[13]
    for pid in D_PIDS:
        line = next(l for l in text.splitlines() if re.search(rf"\s{pid}\s", l))
        assert not line.rstrip().endswith(" -"), line


def test_help_lockowner_mentions_kinds(session):
    assert "rw_semaphore" in session[14]
