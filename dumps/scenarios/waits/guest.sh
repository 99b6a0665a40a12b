# Guest side of scenario waits (sourced by /init, busybox ash).
# nd_waits.ko puts a D-state task on every kind of kernel wait (rwsem held for
# write and for read, semaphore, completion, flush_work behind a mutex, socket
# lock, net device unregister with a leaked reference, RCU grace period); see
# README.md and the module's header comment.  Each waiter is started only
# after the one before it on the same object is in D state, so every queue's
# order is known.  Prints the manifest as one line:  NETDBG-MANIFEST {json}
. /lib/netdbg/lib.sh
MOD=nd_waits
# PREEMPT_RT runs timers in per-CPU threads, and none runs on CPU 3 once the
# RCU spinner keeps preemption off there: this shell and its children stay
# off CPU 3, or their sleeps would never end (nd_waits.c does the same for
# its threads).
if [ -e /sys/kernel/realtime ]; then
    taskset -p 0x7 $$ >/dev/null || fail "taskset: cannot keep the shell off CPU 3"
fi
ND_CTL=/proc/nd_waits

insmod /lib/modules/$MOD.ko || fail "insmod $MOD.ko failed"
# the objects' symbols (module statics and rcu_state), checked against the module's addresses
awk 'BEGIN { n = split("nd_rwsem_w nd_rwsem_r nd_sem nd_never_done nd_flush_mutex nd_flush_work nd_rcu_head rcu_state", s, " ")
             for (i = 1; i <= n; i++) want[s[i]] = 1 }
     ($3 in want) && !($3 in got) { got[$3] = 1; a = $1; sub(/^0*/, "", a); print $3, "0x" a }' /proc/kallsyms > /tmp/ksyms

# ---- helpers -------------------------------------------------------------------
ctl() { echo "$*" > $ND_CTL || fail "nd_waits: command '$*' failed"; }
st() { kv $ND_CTL "$1"; }
word() { st "$1" | cut -d' ' -f"$2"; }
pid_of() { word "$1" 1; }
stage_is() { [ "$(word "$1" 2)" = "$2" ]; }
is_state() { [ "$(state_of "$1")" = "$2" ]; }
is_D() { is_state "$1" D; }
stack_has() { grep -q " $2+" "/proc/$1/stack" 2>/dev/null; }
waiting_D() { stage_is "$1" waiting && is_D "$2"; }
func_off() { # func_off PID FUNC : the offset of FUNC's frame on PID's stack, in decimal
    o=$(sed -n "s/.* $2+\(0x[0-9a-f]*\)\/.*/\1/p" "/proc/$1/stack" | head -n 1)
    echo $(( ${o:-0} ))
}

hold() { # hold KEY : start a holder, wait until it holds its lock and sleeps (S)
    ctl start "$1"
    hp=$(pid_of "$1")
    wait_until 20 "nd_$1 to hold its lock" stage_is "$1" holding
    wait_until 20 "nd_$1 (pid $hp) asleep in S" is_state "$hp" S
    echo "netdbg-init: nd_$1 pid $hp holds its lock"
}
block() { # block KEY : start a waiter, wait until it is asleep on the lock (D)
    ctl start "$1"
    bp=$(pid_of "$1")
    wait_until 30 "nd_$1 (pid $bp) in D state" waiting_D "$1" "$bp"
    echo "netdbg-init: nd_$1 pid $bp in D state (wchan $(wchan_of "$bp"))"
}

# ---- 1.-6. the locks -----------------------------------------------------------
hold rww_holder
block rww_reader
block rww_writer
hold rwr_reader1
hold rwr_reader2
block rwr_writer
hold sem_holder
block sem_waiter
block cmp_waiter
hold flush_holder
ctl queue_flush
kw_D() { kp=$(word flush_kworker 1); [ "${kp:-0}" != 0 ] && is_D "$kp"; }
wait_until 30 "the nd_flush_work kworker in D state" kw_D
KW_PID=$(word flush_kworker 1)
echo "netdbg-init: nd_flush_work_fn runs in pid $KW_PID ($(proc_comm "$KW_PID")), D on nd_flush_mutex"
block flusher
hold sk_owner
block sk_waiter

# ---- 7. net device unregister with a leaked reference ----------------------------
# No "waiting for ndleak0 to become free" (pr_emerg) every 10 s.
echo 3600 > /proc/sys/net/core/netdev_unregister_timeout_secs || fail "netdev_unregister_timeout_secs"
ip link add ndleak0 type dummy || fail "ip link add ndleak0 type dummy"
ctl leak ndleak0
# absolute path: a real execve, so comm is "ip"
/sbin/ip link delete ndleak0 </dev/null >/tmp/ipdel.out 2>&1 &
IP_PID=$!
ip_waits() { is_D "$IP_PID" && stack_has "$IP_PID" netdev_run_todo; }
wait_until 30 "ip link delete (pid $IP_PID) to wait in netdev_run_todo" ip_waits
echo "netdbg-init: ip link delete pid $IP_PID waits in netdev_run_todo (refcnt $(word leak 5))"

# ---- 8. RCU: a grace period that never ends ---------------------------------------
# The spinner keeps CPU 3 busy with preemption off forever: no soft-lockup
# reports (pr_emerg, they would reach the console through quiet_console).
echo 0 > /proc/sys/kernel/soft_watchdog || fail "soft_watchdog"
# PREEMPT_RT: nothing else runs on CPU 3 once the spinner spins there, and
# an RCU grace-period kthread left queued on it would never start the
# grace period the scenario needs (one run in two): keep them off it.
if uname -v | grep -q PREEMPT_RT; then
    for t in /proc/[0-9]*; do
        case "$(cat "$t/comm" 2>/dev/null)" in
        rcu_preempt|rcu_sched|rcub/*|rcu_exp_gp_kthr*) taskset -p 0x7 "${t#/proc/}" > /dev/null 2>&1 || true ;;
        esac
    done
fi
ctl start rcu_reader
ctl start rcu_spinner
wait_until 20 "nd_rcu_reader ready" stage_is rcu_reader ready
wait_until 20 "nd_rcu_spinner ready" stage_is rcu_spinner ready
ctl start sync_rcu
ctl start rcu_barrier
wait_until 20 "nd_sync_rcu gated" stage_is sync_rcu gated
wait_until 20 "nd_rcu_barrier gated" stage_is rcu_barrier gated
ctl rcu
[ "$(word rcu_reader_state 1)" = 1 ] || fail "nd_rcu_reader not blocked in its critical section: $(st rcu_reader_state)"
RD_PID=$(pid_of rcu_reader)
SP_PID=$(pid_of rcu_spinner)
wait_until 20 "nd_rcu_reader asleep in S" is_state "$RD_PID" S
echo "netdbg-init: rcu stuck: $(st rcu); reader $(st rcu_reader_state); spinner $(st rcu_spinner_state)"
# The ip task calls rcu_barrier() on every loop of netdev_run_todo: with a
# callback queued that no grace period will ever invoke, its next call takes
# rcu_state.barrier_mutex and waits on the barrier completion forever.
ip_in_barrier() { is_D "$IP_PID" && stack_has "$IP_PID" rcu_barrier; }
wait_until 20 "ip link delete (pid $IP_PID) to block in rcu_barrier" ip_in_barrier
sleep 1
ip_in_barrier || fail "ip link delete left rcu_barrier: $(cat /proc/$IP_PID/stack)"
echo "netdbg-init: ip link delete pid $IP_PID blocked in rcu_barrier (owns barrier_mutex)"
ctl go sync_rcu
SYNC_PID=$(pid_of sync_rcu)
wait_until 20 "nd_sync_rcu in D state" waiting_D sync_rcu "$SYNC_PID"
ctl go rcu_barrier
BAR_PID=$(pid_of rcu_barrier)
wait_until 20 "nd_rcu_barrier in D state" waiting_D rcu_barrier "$BAR_PID"
stack_has "$BAR_PID" rcu_barrier || fail "nd_rcu_barrier not in rcu_barrier: $(cat /proc/$BAR_PID/stack)"
# rcu_barrier() calls mutex_lock(&barrier_mutex) first and wait_for_completion()
# last: the mutex waiter's return address is the lower one.
[ "$(func_off "$BAR_PID" rcu_barrier)" -lt "$(func_off "$IP_PID" rcu_barrier)" ] \
    || fail "nd_rcu_barrier is not the barrier_mutex waiter: $(cat /proc/$BAR_PID/stack) / $(cat /proc/$IP_PID/stack)"
echo "netdbg-init: nd_sync_rcu pid $SYNC_PID and nd_rcu_barrier pid $BAR_PID in D state"

# ---- settle, then check every task -------------------------------------------------
# From here on the spinner keeps one vCPU (and so one host core) busy: every
# fork is slow, so the checks and the manifest are each one awk process.
sed -e 's/0x0*\([0-9a-f]\)/0x\1/g' $ND_CTL > /tmp/st
# pid:state of every task of the scenario
EXPECT=$(awk -v kw="$KW_PID" -v ip="$IP_PID" 'BEGIN {
    while ((getline l < "/tmp/st") > 0) { k = l; sub(/=.*/, "", k); v = l; sub(/^[^=]*=/, "", v); split(v, a, " "); P[k] = a[1] }
    n = split("rww_holder:S rwr_reader1:S rwr_reader2:S sem_holder:S flush_holder:S sk_owner:S rcu_reader:S rcu_spinner:R " \
              "rww_reader:D rww_writer:D rwr_writer:D sem_waiter:D cmp_waiter:D flusher:D sk_waiter:D sync_rcu:D rcu_barrier:D", e, " ")
    for (i = 1; i <= n; i++) { split(e[i], b, ":"); printf "%s:%s ", P[b[1]], b[2] }
    printf "%s:D %s:D", kw, ip }')
check_states() { # every task in its state, the ip task in rcu_barrier, the spinner spinning, a GP in progress
    msg=$(awk -v expect="$EXPECT" -v ip="$IP_PID" '
    function rd(f,   l) { l = ""; getline l < f; close(f); return l }
    BEGIN {
        n = split(expect, e, /[ \n]+/)
        for (i = 1; i <= n; i++) {
            split(e[i], pw, ":"); st = rd("/proc/" pw[1] "/stat"); sub(/.*\) /, "", st); split(st, a, " ")
            if (a[1] != pw[2]) { print "task " pw[1] " (" rd("/proc/" pw[1] "/comm") ") is " a[1] ", not " pw[2]; exit 1 }
        }
        f = "/proc/" ip "/stack"; ok = 0
        while ((getline l < f) > 0) if (l ~ / rcu_barrier\+/) ok = 1
        close(f)
        if (!ok) { print "ip link delete is not in rcu_barrier"; exit 1 }
        f = "/proc/nd_waits"
        while ((getline l < f) > 0) {
            if (l ~ /^rcu_spinner_state=/ && l !~ /^rcu_spinner_state=1 /) { print "the spinner does not spin: " l; exit 1 }
            if (l ~ /^rcu=/) { split(l, r, " "); if (r[2] == 0) { print "no grace period in progress: " l; exit 1 }; seq = r[1] }
        }
        close(f)
        print seq
    }')
}
# The S holders sleep in msleep_interruptible() loops: each wakes once a
# second, and a slow host may catch one running. Look again before failing.
sleep 2
n=0
until check_states; do
    n=$((n + 1))
    [ $n -lt 10 ] || fail "$msg"
    sleep 0.3
done
GP_SEQ_CHECKED=$msg

# ---- the manifest ---------------------------------------------------------------------
sed -e 's/0x0*\([0-9a-f]\)/0x\1/g' $ND_CTL > /tmp/st
echo "netdbg-init: status:"; cat /tmp/st
BODY=$(awk -v ip="$IP_PID" -v kw="$KW_PID" '
function js(s) { gsub(/\\/, "\\\\", s); gsub(/"/, "\\\"", s); gsub(/[\t\r\n]/, "", s); return "\"" s "\"" }
function rd(f,   l) { l = ""; getline l < f; close(f); return l }
function die(m) { print m; exit 1 }
function w(k, i,   a) { if (!(k in S)) die("no status line " k); split(S[k], a, " "); return a[i] }
function tcomm(pid,   pc, st, a) { # task_struct.comm: /proc shows workqueue workers as comm+desc
    pc = rd("/proc/" pid "/comm"); st = rd("/proc/" pid "/stat"); sub(/.*\) /, "", st); split(st, a, " ")
    if (and(a[7] + 0, 32)) sub(/[+-].*/, "", pc)
    return pc
}
function tj(pid,   pc, st, a, c, s, l, f) { # the keys and values of guest-lib.sh task_json
    pc = rd("/proc/" pid "/comm"); st = rd("/proc/" pid "/stat"); sub(/.*\) /, "", st); split(st, a, " ")
    c = pc; if (and(a[7] + 0, 32)) sub(/[+-].*/, "", c)
    s = ""; f = "/proc/" pid "/stack"
    while ((getline l < f) > 0) { sub(/^\[<[0-9a-f]*>\] /, "", l); if (l != "") s = s (s == "" ? "" : ",") js(l) }
    close(f)
    return sprintf("\"pid\":%s,\"comm\":%s,\"proc_comm\":%s,\"state\":%s,\"wchan\":%s,\"stack\":[%s]",
                   pid, js(c), js(pc), js(a[1]), js(rd("/proc/" pid "/wchan")), s)
}
function pids(list,   n, a, i, o) { # "pid ..." -> [{"pid","comm"}]
    n = split(list, a, " "); o = ""
    for (i = 1; i <= n; i++) o = o (o == "" ? "" : ",") "{\"pid\":" a[i] ",\"comm\":" js(tcomm(a[i])) "}"
    return "[" o "]"
}
function rwpids(list,   n, a, b, i, o) { # "pid:M ..." -> [{"pid","comm","mode"}]
    n = split(list, a, " "); o = ""
    for (i = 1; i <= n; i++) {
        split(a[i], b, ":")
        o = o (o == "" ? "" : ",") "{\"pid\":" b[1] ",\"comm\":" js(tcomm(b[1])) ",\"mode\":\"" b[2] "\"}"
    }
    return "[" o "]"
}
function same(what, got, want) { if (got != want) die(what ": \"" got "\" != \"" want "\"") }
function task(pid, kind, obj, role, extra) {
    T = T (T == "" ? "" : ",") "{" tj(pid) ",\"kind\":\"" kind "\",\"object\":\"" obj "\",\"role\":\"" role "\"" (extra == "" ? "" : "," extra) "}"
}
function kt(key, kind, obj, role, extra) {
    task(w(key, 1), kind, obj, role, "\"task\":\"" w(key, 4) "\"" (extra == "" ? "" : "," extra))
}
BEGIN {
    while ((getline l < "/tmp/st") > 0) { k = l; sub(/=.*/, "", k); v = l; sub(/^[^=]*=/, "", v); S[k] = v }
    while ((getline l < "/tmp/ksyms") > 0) { split(l, a, " "); K[a[1]] = a[2] }

    # the queues as the module walks them are the order the tasks were started in
    same("nd_rwsem_w waiters", S["rwsem_w_waiters"], w("rww_reader", 1) ":R " w("rww_writer", 1) ":W")
    same("nd_rwsem_r waiters", S["rwsem_r_waiters"], w("rwr_writer", 1) ":W")
    same("nd_sem waiters", S["sem_waiters"], w("sem_waiter", 1))
    same("nd_never_done waiters", S["never_done_waiters"], w("cmp_waiter", 1))
    same("nd_flush_mutex waiters", S["flush_mutex_waiters"], kw)
    same("nd_sock waiters", S["sk_waiters"], w("sk_waiter", 1))
    same("nd_rwsem_w owner", w("rwsem_w", 4), w("rww_holder", 4))
    # PREEMPT_RT: the waiting writer has taken the rtmutex of the rwbase (nd_waits.c)
    if (S["preempt_rt"] == 1) same("nd_rwsem_r owner (the waiting writer, PREEMPT_RT)", w("rwsem_r", 4), w("rwr_writer", 4))
    else same("nd_rwsem_r owner (the last reader)", w("rwsem_r", 4), w("rwr_reader2", 4))
    same("nd_flush_mutex owner", w("flush_mutex", 3), w("flush_holder", 4))
    same("flush kworker", w("flush_kworker", 1), kw)
    split("nd_rwsem_w:rwsem_w nd_rwsem_r:rwsem_r nd_sem:sem nd_never_done:never_done nd_flush_mutex:flush_mutex nd_flush_work:flush_work nd_rcu_head:rcu_cb", syms, " ")
    for (i in syms) { split(syms[i], a, ":"); same("kallsyms " a[1], K[a[1]], w(a[2], 1)) }
    same("sock", w("sock", 4) " " w("sock", 5) " " w("sock", 6) " " w("sock", 7) " " w("sock", 8) " " w("sock", 9), "2 2 17 127.0.0.1 7777 1")
    reg = w("leak", 6); regname = reg == 2 ? "NETREG_UNREGISTERING" : reg == 3 ? "NETREG_UNREGISTERED" : ""
    if (regname == "") die("ndleak0 reg_state is " reg ", not being unregistered")
    same("rcu reader blocked", w("rcu_reader_state", 1), 1)
    same("rcu callback invoked", w("rcu_cb", 3), 0)
    if (K["rcu_state"] == "") die("rcu_state not in /proc/kallsyms")

    O = "{\"name\":\"nd_rwsem_w\",\"address\":\"" w("rwsem_w", 1) "\",\"kind\":\"rwsem\",\"count\":\"" w("rwsem_w", 2) "\",\"owner\":\"" w("rwsem_w", 3) "\",\"owner_task\":\"" w("rwsem_w", 4) "\",\"owner_flags\":" w("rwsem_w", 5) ",\"writer_pid\":" w("rww_holder", 1) ",\"waiters\":" rwpids(S["rwsem_w_waiters"]) "}"
    O = O ",{\"name\":\"nd_rwsem_r\",\"address\":\"" w("rwsem_r", 1) "\",\"kind\":\"rwsem\",\"count\":\"" w("rwsem_r", 2) "\",\"owner\":\"" w("rwsem_r", 3) "\",\"owner_task\":\"" w("rwsem_r", 4) "\",\"owner_flags\":" w("rwsem_r", 5) ",\"reader_pids\":[" w("rwr_reader1", 1) "," w("rwr_reader2", 1) "],\"waiters\":" rwpids(S["rwsem_r_waiters"]) "}"
    O = O ",{\"name\":\"nd_sem\",\"address\":\"" w("sem", 1) "\",\"kind\":\"semaphore\",\"count\":" w("sem", 2) ",\"holder_pid\":" w("sem_holder", 1) ",\"waiters\":" pids(S["sem_waiters"]) "}"
    O = O ",{\"name\":\"nd_never_done\",\"address\":\"" w("never_done", 1) "\",\"kind\":\"completion\",\"done\":" w("never_done", 2) ",\"waiters\":" pids(S["never_done_waiters"]) "}"
    O = O ",{\"name\":\"nd_flush_mutex\",\"address\":\"" w("flush_mutex", 1) "\",\"kind\":\"mutex\",\"owner\":\"" w("flush_mutex", 2) "\",\"owner_task\":\"" w("flush_mutex", 3) "\",\"owner_flags\":" w("flush_mutex", 4) ",\"owner_pid\":" w("flush_holder", 1) ",\"waiters\":" pids(S["flush_mutex_waiters"]) "}"
    O = O ",{\"name\":\"nd_sock\",\"address\":\"" w("sock", 2) "\",\"kind\":\"socket\",\"sock\":\"" w("sock", 2) "\",\"socket\":\"" w("sock", 1) "\",\"inode\":" w("sock", 3) ",\"family\":" w("sock", 4) ",\"family_name\":\"AF_INET\",\"type\":" w("sock", 5) ",\"protocol\":" w("sock", 6) ",\"local_addr\":\"" w("sock", 7) "\",\"local_port\":" w("sock", 8) ",\"owned\":" w("sock", 9) ",\"owner_pid\":" w("sk_owner", 1) ",\"waiters\":" pids(S["sk_waiters"]) "}"
    O = O ",{\"name\":\"" w("leak", 2) "\",\"address\":\"" w("leak", 1) "\",\"kind\":\"netdev\",\"dev\":\"" w("leak", 1) "\",\"ifindex\":" w("leak", 3) ",\"refcnt_at_leak\":" w("leak", 4) ",\"refcnt\":" w("leak", 5) ",\"reg_state\":" reg ",\"reg_state_name\":\"" regname "\",\"leaked_by\":\"nd_waits\",\"waiters\":" pids(ip) "}"
    sync = w("sync_rcu", 1); bar = w("rcu_barrier", 1)
    O = O ",{\"name\":\"rcu_state\",\"address\":\"" K["rcu_state"] "\",\"kind\":\"rcu\",\"gp_seq\":" w("rcu", 1) ",\"gp_state\":" w("rcu", 2) ",\"gp_in_progress\":true,\"gp_seq_idle_at_setup\":" w("rcu", 4) ",\"gp_seq_after_block\":" w("rcu", 5) ",\"setup_attempts\":" w("rcu", 3) \
        ",\"rcu_node\":\"" w("rcu_reader_state", 3) "\",\"blocking_reader_pid\":" w("rcu_reader", 1) ",\"reader_cpu\":" w("rcu_reader_state", 2) ",\"reader_task\":\"" w("rcu_reader", 4) "\"" \
        ",\"spinning_cpu\":" w("rcu_spinner_state", 2) ",\"spinner_pid\":" w("rcu_spinner", 1) ",\"spinner_task\":\"" w("rcu_spinner", 4) "\"" \
        ",\"callback\":{\"address\":\"" w("rcu_cb", 1) "\",\"function\":\"" w("rcu_cb", 2) "\",\"invoked\":false},\"barrier_mutex_owner_pid\":" ip \
        ",\"waiters\":[{\"pid\":" sync ",\"comm\":\"nd_sync_rcu\",\"wait\":\"gp\"},{\"pid\":" ip ",\"comm\":\"ip\",\"wait\":\"barrier_completion\"},{\"pid\":" bar ",\"comm\":\"nd_rcu_barrier\",\"wait\":\"barrier_mutex\"}]}"

    kt("rww_holder", "-", "-", "holder", "\"holds\":\"nd_rwsem_w\",\"mode\":\"W\"")
    kt("rww_reader", "rwsem", "nd_rwsem_w", "waiter", "\"mode\":\"R\"")
    kt("rww_writer", "rwsem", "nd_rwsem_w", "waiter", "\"mode\":\"W\"")
    kt("rwr_reader1", "-", "-", "holder", "\"holds\":\"nd_rwsem_r\",\"mode\":\"R\"")
    kt("rwr_reader2", "-", "-", "holder", "\"holds\":\"nd_rwsem_r\",\"mode\":\"R\"")
    kt("rwr_writer", "rwsem", "nd_rwsem_r", "waiter", "\"mode\":\"W\"")
    kt("sem_holder", "-", "-", "holder", "\"holds\":\"nd_sem\"")
    kt("sem_waiter", "semaphore", "nd_sem", "waiter", "")
    kt("cmp_waiter", "completion", "nd_never_done", "waiter", "")
    kt("flush_holder", "-", "-", "holder", "\"holds\":\"nd_flush_mutex\"")
    task(kw, "mutex", "nd_flush_mutex", "waiter", "\"task\":\"" w("flush_kworker", 3) "\",\"work\":\"" w("flush_work", 1) "\",\"work_function\":\"nd_flush_work_fn\"")
    kt("flusher", "work", "nd_flush_work", "waiter", "\"wait\":\"flush_work\"")
    kt("sk_owner", "-", "-", "holder", "\"holds\":\"nd_sock\"")
    kt("sk_waiter", "socket", "nd_sock", "waiter", "")
    task(ip, "rcu", "rcu_state", "waiter", "\"wait\":\"barrier_completion\",\"holds\":\"barrier_mutex\",\"unregistering\":\"ndleak0\",\"command\":\"/sbin/ip link delete ndleak0\"")
    kt("rcu_reader", "-", "-", "rcu_reader", "\"holds\":\"rcu_read_lock\",\"cpu\":" w("rcu_reader_state", 2))
    kt("rcu_spinner", "-", "-", "rcu_spinner", "\"cpu\":" w("rcu_spinner_state", 2))
    kt("sync_rcu", "rcu", "rcu_state", "waiter", "\"wait\":\"gp\"")
    kt("rcu_barrier", "rcu", "rcu_state", "waiter", "\"wait\":\"barrier_mutex\"")

    F = "{\"work\":\"" w("flush_work", 1) "\",\"function\":\"" w("flush_work", 2) "\",\"workqueue\":\"" w("flush_work", 3) "\",\"workqueue_address\":\"" S["flush_wq"] "\",\"cpu\":" w("flush_work", 4) \
        ",\"kworker_pid\":" kw ",\"kworker_task\":\"" w("flush_kworker", 3) "\",\"flusher_pid\":" w("flusher", 1) ",\"mutex\":\"nd_flush_mutex\",\"mutex_address\":\"" w("flush_mutex", 1) "\",\"holder_pid\":" w("flush_holder", 1) "}"

    U = ""
    for (i = 1; i < ARGC; i++) { # every task in D state
        pid = ARGV[i]; sub(/.*\//, "", pid)
        st = rd("/proc/" pid "/stat"); sub(/.*\) /, "", st); split(st, a, " ")
        if (a[1] != "D") continue
        U = U (U == "" ? "" : ",") "{\"pid\":" pid ",\"comm\":" js(tcomm(pid)) ",\"proc_comm\":" js(rd("/proc/" pid "/comm")) ",\"wchan\":" js(rd("/proc/" pid "/wchan")) "}"
    }
    printf "\"hz\":%s,\"jiffies_at_manifest\":%s,\"preempt_rt\":%s,\"objects\":[%s],\"tasks\":[%s],\"flush\":%s,\"uninterruptible\":[%s]", S["hz"], w("jiffies", 1), S["preempt_rt"] == 1 ? "true" : "false", O, T, F, U
}' /proc/[0-9]*) || fail "manifest: $BODY"

# still stuck, still in the same places
check_states
[ "$msg" = "$GP_SEQ_CHECKED" ] || fail "rcu_state.gp_seq moved: $GP_SEQ_CHECKED -> $msg"
quiet_console
printf 'NETDBG-MANIFEST {%s,%s,"modules":%s}\n' "$(manifest_header waits)" "$BODY" "$(modules_json)"
