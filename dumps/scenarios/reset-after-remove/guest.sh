# Guest side of scenario reset-after-remove (sourced by /init, busybox ash).
# nd_reset_remove.ko is a fake device whose interrupt timer queues its reset
# work; rmmod cancels the work (cancel_work_sync) but not the timer, frees
# the NAPI context and blocks in the exit function; the timer re-queues the
# reset, which spins on the freed NAPI.  See the module's header comment.
# Prints the manifest as one line:  NETDBG-MANIFEST {json}
. /lib/netdbg/lib.sh
ND_CTL=/proc/nd_reset_remove
MOD=nd_reset_remove

insmod /lib/modules/$MOD.ko || fail "insmod $MOD.ko failed"
ctl() { kv $ND_CTL "$1"; }
field() { # field KEY N : word N of KEY's value
    ctl "$1" | cut -d' ' -f"$2"
}
field_is() { [ "$(field "$1" "$2")" = "$3" ]; }   # for wait_until: read on every poll
field_ge() { [ "$(field "$1" "$2")" -ge "$3" ]; }
is_D() { [ "$(state_of "$1")" = D ]; }
[ "$(cat /sys/module/$MOD/initstate)" = live ] || fail "$MOD not live after insmod"
[ "$(cat /sys/kernel/slab/nd_rr_napi/poison 2>/dev/null)" = 1 ] || fail "nd_rr_napi cache is not poisoned (SLAB_POISON)"
# let the interrupt timer run the reset, stats and link works for a while
wait_until 10 "the reset work to run" field_ge counters 2 20
BEFORE=$(ctl counters)
echo "netdbg-init: $MOD loaded, counters before removal: $BEFORE"

# rmmod by its absolute path: a real execve, so comm is "rmmod"
/sbin/rmmod $MOD &
RMMOD_PID=$!
wait_until 20 "the exit function" field_is exit_entered 1 1
wait_until 20 "the reset work to spin on the freed napi" field_is reset_spinning 1 1
wait_until 20 "the fw work to block" field_is fw_blocked 1 1
wait_until 20 "rmmod in D state" is_D "$RMMOD_PID"
wait_until 20 "the reset work to be re-queued while it runs" field_is pending 1 1
[ "$(field napi_freed 1)" = 1 ] || fail "napi not freed"
[ "$(ctl req_freed)" = 1 ] || fail "request not freed"
[ "$(cat /sys/module/$MOD/initstate)" = going ] || fail "$MOD is not going: $(cat /sys/module/$MOD/initstate)"
# the worker pool of the IRQ CPU is stuck behind the spinning reset: the
# stats and link works stay pending (their run counters stop)
sleep 1
C1=$(ctl counters)
sleep 1
C2=$(ctl counters)
[ "$(echo "$C1" | cut -d' ' -f3,4)" = "$(echo "$C2" | cut -d' ' -f3,4)" ] || fail "stats/link works still run: $C1 / $C2"
[ "$(field pending 2)" = 1 ] && [ "$(field pending 3)" = 1 ] || fail "stats/link works not pending: $(ctl pending)"

# pointers as 0x... without zero padding; %ps's " [module]" dropped
sed -e 's/0x0*\([0-9a-f]\)/0x\1/g' -e 's/ \[[a-z_]*\]//g' $ND_CTL > /tmp/rr
echo "netdbg-init: status:"; cat /tmp/rr
v() { kv /tmp/rr "$1"; }
w() { v "$1" | cut -d' ' -f"$2"; }
RESET_PID=$(w reset_task 1)
FW_PID=$(w fw_task 1)
EXIT_PID=$(w exit_task 1)
[ "$EXIT_PID" = "$RMMOD_PID" ] || fail "exit ran in pid $EXIT_PID, rmmod is $RMMOD_PID"

work_json() { # work_json KEY PENDING_FLAG : {"work","function","workqueue","cpu","pending"}
    set -- $(v "$1") "$2"
    printf '{"work":"%s","function":"%s","workqueue":"%s","cpu":%s,"pending":%s}' "$1" "$2" "$3" "$4" "$5"
}
bool() { [ "$1" = 1 ] && echo true || echo false; }
dwork_json() { # dwork_json KEY PENDING_FLAG
    set -- $(v "$1") "$2"
    printf '{"work":"%s","timer":"%s","function":"%s","workqueue":"%s","cpu":%s,"expires":%s,"timer_flags":%s,"pending":%s}' \
        "$1" "$2" "$3" "$4" "$5" "$6" "$7" "$8"
}
set -- $(v pending)
P_RESET=$(bool $1); P_STATS=$(bool $2); P_LINK=$(bool $3); P_R0=$(bool $4); P_R1=$(bool $5); P_WD=$(bool $6); P_POLL=$(bool $7)
set -- $(v module); MODULE_ADDR=$1
PROC_MOD=$(grep "^$MOD " /proc/modules)
set -- $PROC_MOD
MODULE_JSON="{\"name\":\"$MOD\",\"module\":\"$MODULE_ADDR\",\"initstate\":$(jstr "$(cat /sys/module/$MOD/initstate)"),\"proc_modules_state\":$(jstr "$5"),\"base\":\"$6\",\"size\":$2}"
set -- $(v napi)
DEV_JSON="{\"priv\":\"$(w priv 1)\",\"name\":\"$(w priv 2)\",\"napi\":\"$1\",\"napi_cache\":\"$2\",\"napi_freed\":$(bool "$(w napi_freed 1)"),\"napi_value_after_free\":\"$(w napi_freed 2)\",\"irq_timer\":\"$(w irq_timer 1)\",\"irq_timer_function\":\"$(w irq_timer 2)\",\"irq_cpu\":$(w irq_timer 3)}"
set -- $(v counters)
COUNTERS="{\"irq_ticks\":$1,\"reset_runs\":$2,\"stats_runs\":$3,\"link_runs\":$4,\"fw_retry_runs\":$5}"
set -- $(v reset_spinning)
RESET_JSON="{$(work_json reset_work "$P_RESET" | sed 's/^{//; s/}$//'),\"running\":true,\"seen_state\":\"$2\",\"requeued_after_cancel\":$(v requeued_after_cancel),\"cancel_jiffies\":$(w cancel_done 2),\"worker\":{$(task_json "$RESET_PID"),\"cpu\":$(w reset_task 2),\"since_jiffies\":$(w reset_task 4)}}"
set -- $(v fw_work)
FW_JSON="{\"work\":\"$1\",\"function\":\"$2\",\"workqueue\":\"$3\",\"request\":\"$5\",\"request_freed\":true,\"running\":true,\"worker\":{$(task_json "$FW_PID"),\"cpu\":$(w fw_task 2),\"since_jiffies\":$(w fw_task 4)}}"
set -- $(v req_timeout)
FREED_JSON="{\"request\":\"$1\",\"work\":\"$2\",\"timer\":\"$3\",\"function\":\"$4\",\"workqueue\":\"$5\",\"cpu\":$6,\"expires\":$7,\"cache\":\"$8\",\"freed\":true}"
set -- $(v jiffies)
JIFFIES=$1; HZ=$2

quiet_console
printf 'NETDBG-MANIFEST {%s,"hz":%s,"jiffies_at_manifest":%s,"module":%s,"device":%s,"rmmod":{%s,"in_exit":true},"reset":%s,"pending":[%s,%s,%s],"inactive":[%s,%s],"fw":%s,"delayed":[%s,%s],"freed_delayed":%s,"counters_before_removal":%s,"counters":%s,"modules":%s}\n' \
    "$(manifest_header reset-after-remove)" "$HZ" "$JIFFIES" "$MODULE_JSON" "$DEV_JSON" "$(task_json "$RMMOD_PID")" \
    "$RESET_JSON" "$(work_json reset_work "$P_RESET")" "$(work_json stats_work "$P_STATS")" "$(work_json link_work "$P_LINK")" \
    "$(work_json fw_retry0 "$P_R0")" "$(work_json fw_retry1 "$P_R1")" "$FW_JSON" \
    "$(dwork_json watchdog "$P_WD")" "$(dwork_json link_poll "$P_POLL")" "$FREED_JSON" \
    "$(echo "$BEFORE" | awk '{printf "{\"irq_ticks\":%s,\"reset_runs\":%s,\"stats_runs\":%s,\"link_runs\":%s,\"fw_retry_runs\":%s}", $1, $2, $3, $4, $5}')" \
    "$COUNTERS" "$(modules_json)"
