# Guest side of scenario rtnl-stuck (sourced by /init, busybox ash).
# Builds the hang, waits until every expected task is asleep on its lock,
# then prints the manifest as one line:  NETDBG-MANIFEST {json}
ND_CTL=/proc/nd_rtnl_stuck

. /lib/netdbg/lib.sh

# ---- helpers -------------------------------------------------------------
cmdline_of() { tr '\0' ' ' < "/proc/$1/cmdline" 2>/dev/null | sed 's/ $//'; }
ctl() { kv $ND_CTL "$1"; }
kmsg_ts() { # timestamp (s) of the last dmesg line containing $1
    dmesg | grep -F "$1" | tail -n 1 | sed -n 's/^\[ *\([0-9.]*\)\].*/\1/p'
}
is_D() { [ "$(state_of "$1")" = D ]; }
stage_is() { [ "$(ctl "$1_stage")" = "$2" ]; }

# ---- 1. network devices exist before the hog takes rtnl -----------------
ip link show dummy0 >/dev/null 2>&1 || fail "dummy0 missing (dummy.ko loaded?)"
sleep 1   # let any deferred rtnl work from the device registration finish

# ---- 2. the hog: kworker takes rtnl_mutex (insmod returns after that) ----
insmod /lib/modules/nd_rtnl_stuck.ko || fail "insmod nd_rtnl_stuck.ko failed"
HOG_PID=$(ctl hog_pid)
[ -n "$HOG_PID" ] && [ "$HOG_PID" != 0 ] || fail "hog did not take rtnl"
echo "netdbg-init: hog pid $HOG_PID ($(proc_comm "$HOG_PID")) holds rtnl_mutex"

# ---- 3. user processes queue on rtnl_mutex, one at a time ---------------
# Absolute paths: busybox ash runs "ip" in-process (NOEXEC applet), which
# leaves /proc/PID/cmdline as the shell's; /sbin/ip is a real execve.
# Kernel paths they block in (all on rtnl_mutex):
#  1 SIOCSIFFLAGS ioctl: devinet_ioctl -> rtnl_lock -> mutex_lock
#  2 RTM_GETLINK dump (busybox resolves names first): __netlink_dump_start
#    -> mutex_lock(nlk->cb_mutex == &rtnl_mutex)
#  3 RTM_NEWROUTE: rtnetlink_rcv_msg -> rtnl_lock -> mutex_lock
#  4 RTM_GETLINK dump again (before RTM_NEWLINK)
WAITER_CMDS="/sbin/ip link set dummy0 up
/sbin/ip addr add 10.1.0.1/24 dev dummy0
/sbin/ip route add blackhole 10.9.0.0/24
/sbin/ip link add nd1 type dummy"
i=0
WAITERS=""
WAITERS_JSON=""
IFS_SAVE=$IFS
IFS='
'
for cmd in $WAITER_CMDS; do
    IFS=$IFS_SAVE
    i=$(( i + 1 ))
    # shellcheck disable=SC2086
    $cmd </dev/null >/tmp/waiter$i.out 2>&1 &
    pid=$!
    echo "netdbg-init: rtnl waiter $i started pid=$pid: $cmd" > /dev/kmsg
    wait_until 20 "rtnl waiter $i ($cmd, pid $pid) to block in D state" is_D "$pid"
    sleep 1
    is_D "$pid" || fail "rtnl waiter $i ($cmd) is no longer in D state"
    ts=$(kmsg_ts "netdbg-init: rtnl waiter $i started pid=$pid")
    WAITERS="$WAITERS $pid"
    [ -n "$WAITERS_JSON" ] && WAITERS_JSON="$WAITERS_JSON,"
    WAITERS_JSON="$WAITERS_JSON{\"order\":$i,$(task_json "$pid"),\"kind\":\"user\",\"cmdline\":$(jstr "$(cmdline_of "$pid")"),\"command\":$(jstr "$cmd"),\"started_ts\":${ts:-null}}"
    echo "netdbg-init: rtnl waiter $i pid $pid in D state (wchan $(wchan_of "$pid"))"
    IFS='
'
done
IFS=$IFS_SAVE

# ---- 4. chain: nd_chain_holder (nd_chain_mutex -> rtnl), nd_chain_waiter --
echo chain > $ND_CTL || fail "chain start failed"
CH_PID=$(ctl chain_holder_pid)
CW_PID=$(ctl chain_waiter_pid)
wait_until 20 "nd_chain_holder to wait for rtnl" stage_is chain_holder waiting_rtnl_mutex
wait_until 20 "nd_chain_holder in D state" is_D "$CH_PID"
wait_until 20 "nd_chain_waiter to wait for nd_chain_mutex" stage_is chain_waiter waiting_nd_chain_mutex
wait_until 20 "nd_chain_waiter in D state" is_D "$CW_PID"
sleep 0.5
is_D "$CH_PID" && is_D "$CW_PID" || fail "chain tasks not in D state"
i=$(( i + 1 ))
WAITERS_JSON="$WAITERS_JSON,{\"order\":$i,$(task_json "$CH_PID"),\"kind\":\"kthread\",\"cmdline\":\"\",\"command\":null,\"started_ts\":$(ctl chain_holder_stage_ts)}"

# ---- 5. ABBA deadlock ---------------------------------------------------
echo abba > $ND_CTL || fail "abba start failed"
A_PID=$(ctl abba_a_pid)
B_PID=$(ctl abba_b_pid)
wait_until 30 "nd_abba_a to wait for nd_abba_mutex_b" stage_is abba_a waiting_nd_abba_mutex_b
wait_until 30 "nd_abba_b to wait for nd_abba_mutex_a" stage_is abba_b waiting_nd_abba_mutex_a
wait_until 20 "nd_abba_a in D state" is_D "$A_PID"
wait_until 20 "nd_abba_b in D state" is_D "$B_PID"

# ---- 6. the hog starts spinning (phase 2) -------------------------------
echo spin > $ND_CTL || fail "spin request failed"
hog_spinning() { [ "$(ctl hog_spinning)" = 1 ]; }
wait_until 20 "hog to start spinning" hog_spinning
sleep 1
for p in $WAITERS $CH_PID $CW_PID $A_PID $B_PID; do
    is_D "$p" || fail "task $p ($(proc_comm "$p")) left D state after the hog started spinning"
done

# ---- 7. manifest (the D-state list is taken last) -------------------------
quiet_console
HOG_JSON="{$(task_json "$HOG_PID"),\"comm_at_lock\":$(jstr "$(ctl hog_comm)"),\"work_fn\":$(jstr "$(ctl hog_work_fn)"),\"workqueue\":$(jstr "$(ctl hog_workqueue)"),\"cpu\":$(ctl hog_cpu),\"rtnl_taken_ts\":$(ctl hog_rtnl_ts),\"spin_started_ts\":$(ctl hog_spin_ts)}"
CHAIN_JSON="{\"mutex\":\"nd_chain_mutex\",\"waits_for\":\"rtnl_mutex\",\"holder\":{$(task_json "$CH_PID"),\"holds\":\"nd_chain_mutex\",\"waits_for\":\"rtnl_mutex\"},\"waiter\":{$(task_json "$CW_PID"),\"holds\":null,\"waits_for\":\"nd_chain_mutex\"}}"
ABBA_JSON="{\"a\":{$(task_json "$A_PID"),\"holds\":\"nd_abba_mutex_a\",\"waits_for\":\"nd_abba_mutex_b\"},\"b\":{$(task_json "$B_PID"),\"holds\":\"nd_abba_mutex_b\",\"waits_for\":\"nd_abba_mutex_a\"}}"
D_JSON=""
for d in /proc/[0-9]*; do
    p=${d#/proc/}
    [ "$(state_of "$p")" = D ] || continue
    [ -n "$D_JSON" ] && D_JSON="$D_JSON,"
    D_JSON="$D_JSON{\"pid\":$p,\"comm\":$(jstr "$(task_comm "$p")"),\"proc_comm\":$(jstr "$(proc_comm "$p")"),\"wchan\":$(jstr "$(wchan_of "$p")")}"
done
printf 'NETDBG-MANIFEST {%s,"rtnl_owner":%s,"rtnl_waiters":[%s],"chain":%s,"abba":%s,"modules":%s,"uninterruptible":[%s]}\n' \
    "$(manifest_header rtnl-stuck)" "$HOG_JSON" "$WAITERS_JSON" "$CHAIN_JSON" "$ABBA_JSON" "$(modules_json)" "$D_JSON"
