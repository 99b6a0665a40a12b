# Guest side of scenario cpus (sourced by /init, busybox ash).  See README.md
# in this directory.  nd_cpus.ko: nd_spinner holds nd_cpus_mutex and spins
# with preemption off on CPU 1 past the soft-lockup threshold, two kthreads
# wait for the mutex, nd_deep sleeps at the end of a known call path.
# Prints the manifest as one line:  NETDBG-MANIFEST {json}
. /lib/netdbg/lib.sh
MOD=nd_cpus
ND_CTL=/proc/nd_cpus

insmod /lib/modules/$MOD.ko || fail "insmod $MOD.ko failed"
MUTEX_SYM=$(awk '$3 == "nd_cpus_mutex" { a = $1; sub(/^0*/, "", a); print "0x" a; exit }' /proc/kallsyms)

ctl() { echo "$*" > $ND_CTL || fail "nd_cpus: command '$*' failed"; }
st() { kv $ND_CTL "$1"; }
word() { st "$1" | cut -d' ' -f"$2"; }
pid_of() { word "$1" 1; }
stage_is() { [ "$(word "$1" 2)" = "$2" ]; }
is_state() { [ "$(state_of "$1")" = "$2" ]; }
stack_has() { grep -q " $2+" "/proc/$1/stack" 2>/dev/null; }

# ---- the watchdogs: a 10 s soft-lockup threshold, no panic -------------------------
echo 5 > /proc/sys/kernel/watchdog_thresh || fail "watchdog_thresh"
echo 0 > /proc/sys/kernel/softlockup_panic || fail "softlockup_panic"
[ "$(cat /proc/sys/kernel/soft_watchdog)" = 1 ] || fail "the soft-lockup watchdog is off"
THRESH=$(cat /proc/sys/kernel/watchdog_thresh)
HUNG_TIMEOUT=$(cat /proc/sys/kernel/hung_task_timeout_secs 2>/dev/null || echo null)

# ---- the deep sleeper ----------------------------------------------------------------
ctl start deep
DEEP_PID=$(pid_of deep)
deep_asleep() { is_state "$DEEP_PID" D && stack_has "$DEEP_PID" nd_deep_8; }
wait_until 20 "nd_deep (pid $DEEP_PID) asleep in nd_deep_8" deep_asleep
echo "netdbg-init: nd_deep pid $DEEP_PID asleep: $(tr '\n' ' ' < /proc/$DEEP_PID/stack)"

# ---- the mutex: held by the spinner (napping), two waiters ---------------------------
ctl start spinner
SP_PID=$(pid_of spinner)
wait_until 20 "nd_spinner to hold nd_cpus_mutex" stage_is spinner holding
waiter() { # waiter KEY : start it and wait until it sleeps on the mutex (D)
    ctl start "$1"
    wp=$(pid_of "$1")
    w_d() { stage_is "$1" waiting && is_state "$wp" D; }
    wait_until 20 "nd_$1 (pid $wp) in D on nd_cpus_mutex" w_d "$1"
    echo "netdbg-init: nd_$1 pid $wp waits for nd_cpus_mutex"
}
waiter waiter1
waiter waiter2
W1=$(pid_of waiter1); W2=$(pid_of waiter2)
[ "$(st mutex_waiters)" = "$W1 $W2" ] || fail "nd_cpus_mutex waiters: '$(st mutex_waiters)' != '$W1 $W2'"
W1_JSON="{$(task_json "$W1")}"; W2_JSON="{$(task_json "$W2")}"; DEEP_JSON="{$(task_json "$DEEP_PID")}"

# ---- spin with preemption off until the watchdog has reported it ----------------------
dmesg -c > /dev/null
ctl spin
wait_until 20 "nd_spinner spinning" stage_is spinner spinning
echo "netdbg-init: nd_spinner pid $SP_PID spinning: $(st spin)"
lockup() { dmesg | grep -q "soft lockup - CPU#$(word spin 2) stuck"; }
wait_until 60 "the soft-lockup report of CPU $(word spin 2)" lockup
LOCKUP_LINE=$(dmesg | grep "soft lockup - CPU#$(word spin 2) stuck" | head -n 1)
echo "netdbg-init: $LOCKUP_LINE"
sleep 2
# nothing moved: the spinner spins, the others sleep where they slept
[ "$(word spin 1)" = 1 ] || fail "nd_spinner stopped spinning"
is_state "$SP_PID" R || fail "nd_spinner is $(state_of "$SP_PID"), not R"
for p in $W1 $W2 $DEEP_PID; do is_state "$p" D || fail "pid $p is $(state_of "$p"), not D"; done
[ "$(word mutex 3)" = "$(word spinner 4)" ] || fail "nd_cpus_mutex owner $(word mutex 3) is not the spinner $(word spinner 4)"

# ---- the manifest ------------------------------------------------------------------------
echo "netdbg-init: status:"; cat $ND_CTL
# kernel messages would cut the manifest line (soft-lockup reports are KERN_EMERG)
echo "0 4 0 7" > /proc/sys/kernel/printk
sp() { word spin "$1"; }
ts() { # ns -> dmesg seconds
    echo "$1" | awk '{ printf "%d.%06d", $1 / 1000000000, ($1 % 1000000000) / 1000 }'
}
ts_s=$(ts "$(sp 4)")
stuck_for=$(echo "$LOCKUP_LINE" | sed -n 's/.*stuck for \([0-9]*\)s.*/\1/p')
lockup_ts=$(echo "$LOCKUP_LINE" | sed -n 's/^\[ *\([0-9.]*\)\].*/\1/p')
SPINNER="{$(task_json "$SP_PID"),\"task\":$(jstr "$(word spinner 4)"),\"cpu\":$(sp 2),\"spin_start_ns\":$(sp 4),\"spin_start_ts\":$(jstr "$ts_s"),\"last_arrival_ns\":$(sp 5),\"mutex_taken_ns\":$(sp 6),\"path\":$(st spin_path | awk '{ printf "["; for (i = 1; i <= NF; i++) printf "%s\"%s\"", (i > 1 ? "," : ""), $i; printf "]" }')}"
DEEP="$(echo "$DEEP_JSON" | sed 's/}$//'),\"task\":$(jstr "$(word deep 4)"),\"completion\":$(jstr "$(word deep_state 2 | sed 's/0x0*/0x/')"),\"path\":$(st deep_path | awk '{ printf "["; for (i = 1; i <= NF; i++) printf "%s\"%s\"", (i > 1 ? "," : ""), $i; printf "]" }'),\"inlined\":{\"nd_deep_4\":[\"nd_deep_inline\"]}}"
MUTEX="{\"name\":\"nd_cpus_mutex\",\"address\":$(jstr "$MUTEX_SYM"),\"owner_task\":$(jstr "$(word mutex 3 | sed 's/0x0*/0x/')"),\"owner_pid\":$SP_PID,\"waiters\":[$W1_JSON,$W2_JSON]}"
WATCHDOG="{\"watchdog_thresh\":$THRESH,\"softlockup_thresh\":$((THRESH * 2)),\"softlockup_panic\":$(cat /proc/sys/kernel/softlockup_panic),\"hung_task_timeout_secs\":$HUNG_TIMEOUT,\"lockup_report\":$(jstr "$LOCKUP_LINE"),\"lockup_report_ts\":$(jstr "$lockup_ts"),\"lockup_stuck_for_s\":${stuck_for:-null}}"
printf 'NETDBG-MANIFEST {%s,"spinner":%s,"mutex":%s,"deep":%s,"watchdog":%s,"modules":%s}\n' \
    "$(manifest_header cpus)" "$SPINNER" "$MUTEX" "$DEEP" "$WATCHDOG" "$(modules_json)"
