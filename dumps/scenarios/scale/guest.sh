# Guest side of scenario scale (sourced by /init, busybox ash).
# 64 dummy devices with IPv6 anycast entries (as scenario anycast) and
# 4,096 more dummy devices (down, for netdev), then
# nd_scale.ko: a 1,000,000-entry list, a 100,000-entry list with a loop at
# its end, 10,000 kthreads, 2,000 of them in D state on nd_scale_mutex and
# 32 queued on rtnl_mutex.  Prints the manifest as one line:
#     NETDBG-MANIFEST {json}
. /lib/netdbg/lib.sh
ND_CTL=/proc/nd_scale
NDEVS=64
NDUMMIES=4096
NR_SLEEPERS=8000
NR_MUTEX_WAITERS=2000
NR_RTNL_WAITERS=32
BIG_ENTRIES=1000000
LOOP_ENTRIES=100000
LOOP_TARGET=50000

# 2,000 tasks stay in D state: keep khungtaskd quiet.
[ -w /proc/sys/kernel/hung_task_timeout_secs ] && echo 0 > /proc/sys/kernel/hung_task_timeout_secs

# ---- 1. devices, before anything holds rtnl --------------------------------
# dummy0..dummy4159 in one go (dummy.ko's numdummies; 4,096 ip link add take
# too long under TCG): the first 64 get the anycast setup, the others stay
# down, for netdev's timing in make bench.
rmmod dummy || fail "rmmod dummy"
insmod /lib/modules/dummy.ko numdummies=$(( NDEVS + NDUMMIES )) || fail "insmod dummy.ko numdummies"
ND_AC_DEVS=""
i=0
while [ $i -lt $NDEVS ]; do ND_AC_DEVS="$ND_AC_DEVS dummy$i"; i=$(( i + 1 )); done
setup_anycast_devices
sleep 2
settle_ipv6 /tmp/ipv6
ndev=$(awk '{ print $2 }' /tmp/ipv6/anycast6 | sort -u | wc -l)
nac=$(wc -l < /tmp/ipv6/anycast6)
echo "netdbg-init: $nac anycast entries on $ndev devices"
[ "$ndev" -ge $NDEVS ] || fail "only $ndev devices have anycast entries (need $NDEVS)"

NETDEVS=$(ls /sys/class/net | wc -l)
echo "netdbg-init: $NETDEVS net devices"
[ "$NETDEVS" -ge $(( NDUMMIES + NDEVS )) ] || fail "only $NETDEVS net devices"


# ---- 2. lists, tasks, locks ---------------------------------------------------
echo "netdbg-init: loading nd_scale (this takes a while under TCG)"
insmod /lib/modules/nd_scale.ko nr_sleepers=$NR_SLEEPERS nr_mutex_waiters=$NR_MUTEX_WAITERS \
    nr_rtnl_waiters=$NR_RTNL_WAITERS big_entries=$BIG_ENTRIES loop_entries=$LOOP_ENTRIES \
    loop_target=$LOOP_TARGET || fail "insmod nd_scale.ko failed"
[ "$(kv $ND_CTL result)" = ready ] || fail "nd_scale: $(kv $ND_CTL result)"
sed -n 's/^rtnl_waiter=//p' $ND_CTL > /tmp/rtnl-waiters       # order pid
sed -n 's/^mutex_waiter=//p' $ND_CTL > /tmp/mutex-waiters     # index pid
[ "$(wc -l < /tmp/rtnl-waiters)" -eq $NR_RTNL_WAITERS ] || fail "rtnl waiters missing"
[ "$(wc -l < /tmp/mutex-waiters)" -eq $NR_MUTEX_WAITERS ] || fail "mutex waiters missing"

# ---- 3. every task, in one pass: "pid state comm" ------------------------------
task_table() {
    awk '{ l = $0; p = index(l, " ("); pid = substr(l, 1, p - 1); rest = l
           sub(/.*\) /, "", rest); comm = substr(l, p + 2, length(l) - length(rest) - p - 3)
           print pid, substr(rest, 1, 1), comm }' /proc/[0-9]*/task/[0-9]*/stat
}
sleep 1
task_table > /tmp/tasks
ntasks=$(wc -l < /tmp/tasks)
nd=$(awk '$2 == "D"' /tmp/tasks | wc -l)
echo "netdbg-init: $ntasks tasks, $nd in D state"
[ "$ntasks" -ge 10000 ] || fail "only $ntasks tasks"
# every module waiter is in D state
notd=$(awk 'NR == FNR { st[$1] = $2; next } st[$2] != "D"' /tmp/tasks /tmp/rtnl-waiters /tmp/mutex-waiters | wc -l)
[ "$notd" -eq 0 ] || fail "$notd module waiters are not in D state"
# D tasks that are not the module's waiters
cat /tmp/rtnl-waiters /tmp/mutex-waiters | awk 'NR == FNR { w[$2] = 1; next } $2 == "D" && !($1 in w)' - /tmp/tasks \
    > /tmp/other-d
# tasks per state letter
STATES_JSON=$(awk '{ n[$2]++ } END { s = ""; for (k in n) s = s (s == "" ? "" : ",") "\"" k "\":" n[k]; print "{" s "}" }' /tmp/tasks)

# ---- 4. manifest ----------------------------------------------------------------
ptr() { kv $ND_CTL "$1" | sed 's/0x0*\([0-9a-f]\)/0x\1/'; }
comm_of_pid() { awk -v p="$1" '$1 == p { print $3 }' /tmp/tasks; }
RTNL_JSON=$(awk 'NR == FNR { c[$1] = $3; next }
    { printf "%s{\"order\":%d,\"pid\":%d,\"comm\":\"%s\"}", (FNR > 1 ? "," : ""), $1 + 1, $2, c[$2] }' \
    /tmp/tasks /tmp/rtnl-waiters)
MUTEX_PIDS=$(awk '{ printf "%s%d", (NR > 1 ? "," : ""), $2 }' /tmp/mutex-waiters)
OTHER_D=$(awk '{ printf "%s{\"pid\":%d,\"comm\":\"%s\"}", (NR > 1 ? "," : ""), $1, $3 }' /tmp/other-d)
MH=$(kv $ND_CTL mutex_holder_pid)
RH=$(kv $ND_CTL rtnl_holder_pid)
LAST=$(kv $ND_CTL loop_last_index)
LISTS_JSON="{\"entry_struct\":\"nd_scale_entry\",\"entry_size\":$(kv $ND_CTL entry_size),\"link_offset\":$(kv $ND_CTL entry_link_offset),\"index_offset\":$(kv $ND_CTL entry_index_offset),\"cookie_offset\":$(kv $ND_CTL entry_cookie_offset),\"cookie\":$(jstr "$(kv $ND_CTL cookie)"),\
\"big\":{\"symbol\":\"nd_scale_big\",\"head\":$(jstr "$(ptr big_head)"),\"entries\":$(kv $ND_CTL big_entries),\"first_entry\":$(jstr "$(ptr big_first)"),\"last_entry\":$(jstr "$(ptr big_last)")},\
\"loop\":{\"symbol\":\"nd_scale_loop\",\"head\":$(jstr "$(ptr loop_head)"),\"entries\":$(kv $ND_CTL loop_entries),\"first_entry\":$(jstr "$(ptr loop_first)"),\"last_index\":$LAST,\"last_entry\":$(jstr "$(ptr loop_last)"),\"last_next_before\":$(jstr "$(ptr loop_old_next)"),\"target_index\":$(kv $ND_CTL loop_target_index),\"target_entry\":$(jstr "$(ptr loop_target)"),\"distinct_entries\":$(kv $ND_CTL loop_entries),\"cycle_length\":$(( LAST - $(kv $ND_CTL loop_target_index) + 1 ))}}"
MUTEX_JSON="{\"symbol\":\"nd_scale_mutex\",\"module\":\"nd_scale\",\"addr\":$(jstr "$(ptr mutex)"),\"holder\":{\"pid\":$MH,\"comm\":$(jstr "$(comm_of_pid "$MH")")},\"waiters\":$(kv $ND_CTL mutex_waiters),\"wait_list_len\":$(kv $ND_CTL mutex_wait_list_len),\"waiter_comm_prefix\":\"nd_mwait/\",\"waiter_pids\":[$MUTEX_PIDS]}"
RTNLM_JSON="{\"symbol\":\"rtnl_mutex\",\"holder\":{\"pid\":$RH,\"comm\":$(jstr "$(comm_of_pid "$RH")")},\"waiters\":[$RTNL_JSON]}"
TASKS_JSON="{\"total\":$ntasks,\"d_state\":$nd,\"by_state\":$STATES_JSON,\"sleepers\":$(kv $ND_CTL sleepers),\"sleeper_comm_prefix\":\"nd_sleep/\",\"other_d_state\":[$OTHER_D]}"

# the devices of the anycast setup (and lo): not the 4,096 down dummies' ff02::1
awk 'NR == FNR { keep[$2] = 1; next } ($2 in keep) || $2 == "lo"' /tmp/ipv6/anycast6 /tmp/ipv6/igmp6 > /tmp/ipv6/igmp6.kept
quiet_console
printf 'NETDBG-MANIFEST {%s,"tasks":%s,"lists":%s,"mutex":%s,"rtnl":%s,"ipv6_forwarding":%s,"anycast_devices":%s,"anycast_entries":%s,"devices":%s,"netdev_devices":%s,"modules":%s}\n' \
    "$(manifest_header scale)" "$TASKS_JSON" "$LISTS_JSON" "$MUTEX_JSON" "$RTNLM_JSON" \
    "$(cat /proc/sys/net/ipv6/conf/all/forwarding)" "$ndev" "$nac" \
    "$(ipv6_devices_json /tmp/ipv6/anycast6 /tmp/ipv6/igmp6.kept)" "$NETDEVS" "$(modules_json)"
