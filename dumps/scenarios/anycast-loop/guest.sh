# Guest side of scenario anycast-loop (sourced by /init, busybox ash).
# The devices of scenario anycast; then nd_ac_loop.ko makes a kworker take
# rtnl, loop dummy2's inet6_dev.ac_list back on itself and spin forever
# holding rtnl.  The anycast lists are read BEFORE the loop is made: nothing
# may walk dummy2's ac_list afterwards (/proc/net/anycast6 would never end).
# Prints the manifest as one line:  NETDBG-MANIFEST {json}
. /lib/netdbg/lib.sh
ND_CTL=/proc/nd_ac_loop
LOOP_DEV=dummy2
LOOP_TARGET=1

setup_anycast_devices
sleep 2
settle_ipv6 /tmp/ipv6
echo "netdbg-init: anycast lists before the loop:"
cat /tmp/ipv6/anycast6
nloop=$(awk -v d=$LOOP_DEV '$2 == d' /tmp/ipv6/anycast6 | wc -l)
[ "$nloop" -ge 3 ] || fail "$LOOP_DEV has only $nloop anycast entries (need 3)"

# ---- the loop: kworker takes rtnl, loops the list, spins -------------------
insmod /lib/modules/nd_ac_loop.ko ifname=$LOOP_DEV target=$LOOP_TARGET || fail "insmod nd_ac_loop.ko failed"
[ "$(kv $ND_CTL result)" = looped ] || fail "nd_ac_loop: $(kv $ND_CTL result)"
OWNER=$(kv $ND_CTL owner_pid)
spinning() { [ "$(kv $ND_CTL spinning)" = 1 ]; }
wait_until 20 "the rtnl owner to spin" spinning
sleep 1
[ "$(state_of "$OWNER")" = R ] || fail "rtnl owner $OWNER is in state $(state_of "$OWNER"), not R"
echo "netdbg-init: kworker $OWNER ($(proc_comm "$OWNER")) holds rtnl, $LOOP_DEV ac_list looped"

# entries as the module saw them: "index 0xentry addr users" (0x, no zero padding)
sed -n 's/^entry=//p' $ND_CTL | sed 's/0x0*\([0-9a-f]\)/0x\1/' > /tmp/loop-entries
# the module's list must be the one /proc/net/anycast6 showed
awk '{ print $3, $4 }' /tmp/loop-entries > /tmp/loop-mod
v6_lines /tmp/ipv6/anycast6 | awk -v d=$LOOP_DEV '$2 == d { print $4, $5 }' > /tmp/loop-proc
cmp -s /tmp/loop-mod /tmp/loop-proc || fail "module's $LOOP_DEV ac_list differs from /proc/net/anycast6"

ptr() { kv $ND_CTL "$1" | sed 's/0x0*\([0-9a-f]\)/0x\1/'; }
ENTRIES_JSON=$(awk '{ if (NR > 1) printf ","; printf "{\"index\":%d,\"entry\":\"%s\",\"addr\":\"%s\",\"users\":%d}", $1, $2, $3, $4 }' /tmp/loop-entries)
NDIST=$(awk '{ print $2 }' /tmp/loop-entries | sort -u | wc -l)
FROM=$(kv $ND_CTL loop_from_index)
TO=$(kv $ND_CTL loop_to_index)
LOOP_JSON="{\"device\":$(jstr "$(kv $ND_CTL device)"),\"ifindex\":$(kv $ND_CTL ifindex),\"idev\":$(jstr "$(ptr idev)"),\"ac_list\":$(jstr "$(awk 'NR == 1 { print $2 }' /tmp/loop-entries)"),\"entries\":[$ENTRIES_JSON],\"distinct_entries\":$NDIST,\"last_index\":$FROM,\"last_entry\":$(jstr "$(ptr loop_from)"),\"last_next_before\":$(jstr "$(ptr loop_old_next)"),\"target_index\":$TO,\"target_entry\":$(jstr "$(ptr loop_to)"),\"cycle_length\":$(( FROM - TO + 1 ))}"

quiet_console
OWNER_JSON="{$(task_json "$OWNER"),\"comm_at_lock\":$(jstr "$(kv $ND_CTL owner_comm)"),\"work_fn\":$(jstr "$(kv $ND_CTL work_fn)"),\"workqueue\":$(jstr "$(kv $ND_CTL workqueue)"),\"cpu\":$(kv $ND_CTL owner_cpu),\"rtnl_taken_ts\":$(kv $ND_CTL rtnl_taken_ts)}"
printf 'NETDBG-MANIFEST {%s,"ipv6_forwarding":%s,"devices":%s,"loop":%s,"rtnl_owner":%s,"modules":%s}\n' \
    "$(manifest_header anycast-loop)" "$(cat /proc/sys/net/ipv6/conf/all/forwarding)" \
    "$(ipv6_devices_json /tmp/ipv6/anycast6 /tmp/ipv6/igmp6)" "$LOOP_JSON" "$OWNER_JSON" "$(modules_json)"
