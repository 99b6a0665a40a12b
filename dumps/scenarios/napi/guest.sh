# Guest side of scenario napi (sourced by /init, busybox ash).  See README.md
# in this directory.  Prints the manifest as one line:
#     NETDBG-MANIFEST {json}
. /lib/netdbg/lib.sh
ND_CTL=/proc/nd_napi_stuck
NC=/sys/kernel/config/netconsole
LOCAL_IP=10.0.2.15
REMOTE_IP=10.0.2.2

# ---- 1. devices -------------------------------------------------------------
# The two virtio NICs, told apart by the MACs scenario.conf gives them.
dev_by_mac() {
    for a in /sys/class/net/*/address; do
        [ "$(cat "$a")" = "$1" ] && { basename "$(dirname "$a")"; return 0; }
    done
    return 1
}
wait_until 20 "the virtio NICs" dev_by_mac 52:54:00:4e:44:01
MQ=$(dev_by_mac 52:54:00:4e:44:00) || fail "no multi-queue virtio NIC"
SLAVE=$(dev_by_mac 52:54:00:4e:44:01) || fail "no second virtio NIC"
NQ=$(ls -d /sys/class/net/$MQ/queues/rx-* | wc -l)
[ "$NQ" -ge 2 ] || fail "$MQ has $NQ rx queue(s): mq did not take effect"

ip link set lo up || fail "lo up"
ip addr add $LOCAL_IP/24 dev "$MQ" || fail "address on $MQ"
ip link set "$MQ" up || fail "$MQ up"
# bonding made bond0 at load (max_bonds=1); a slave must be down to be enslaved.
ip link set "$SLAVE" down
echo "+$SLAVE" > /sys/class/net/bond0/bonding/slaves || fail "enslaving $SLAVE to bond0"
ip link set bond0 up || fail "bond0 up"

insmod /lib/modules/nd_napi_stuck.ko || fail "insmod nd_napi_stuck.ko failed"
ip link set ndnapi0 up || fail "ndnapi0 up"
ip link set ndnapi1 up || fail "ndnapi1 up"
echo 1 > /sys/class/net/ndnapi1/threaded || fail "threaded NAPI on ndnapi1"
DEVS="lo $MQ $SLAVE bond0 ndnapi0 ndnapi1"

# ---- 2. netpoll: ask the kernel itself -----------------------------------------
# For every device, a netconsole target runs netpoll_setup(); the result
# (and the kernel's message when it refuses) is the verdict napiq must give.
# The probe target is removed again (netpoll_cleanup()).
mount -t configfs configfs /sys/kernel/config 2>/dev/null
[ -d $NC ] || fail "no $NC (configfs, netconsole)"
nc_target() { # nc_target NAME DEV : a netconsole target, not yet enabled
    mkdir "$NC/$1" || fail "mkdir $NC/$1"
    echo "$2" > "$NC/$1/dev_name" && echo $LOCAL_IP > "$NC/$1/local_ip" &&
        echo $REMOTE_IP > "$NC/$1/remote_ip" || fail "configuring netconsole target $1"
}
probe_json() { # probe_json DEV
    nc_target "probe_$1" "$1"
    dmesg -c > /dev/null
    if err=$( { echo 1 > "$NC/probe_$1/enabled"; } 2>&1 ); then
        echo 0 > "$NC/probe_$1/enabled" || fail "disabling probe on $1"
        printf '{"accepted":true,"error":null,"kernel_message":null}'
    else
        msg=$(dmesg | grep 'netpoll: ' | tail -n 1 | sed 's/^\[[^]]*\] *//')
        printf '{"accepted":false,"error":%s,"kernel_message":%s}' \
            "$(jstr "${err#*: }")" "$(jstr "$msg")"
    fi
    rmdir "$NC/probe_$1" || fail "rmdir probe_$1"
}
for d in $DEVS; do
    probe_json "$d" > "/tmp/probe_$d"
    echo "netdbg-init: netpoll probe $d: $(cat "/tmp/probe_$d")"
done
# The real netconsole targets.
NETCONSOLE=""
for d in "$MQ" ndnapi0; do
    nc_target "nc_$d" "$d"
    echo 1 > "$NC/nc_$d/enabled" || fail "netconsole on $d"
    t="{\"target\":\"nc_$d\",\"device\":\"$d\",\"local_ip\":\"$(cat $NC/nc_$d/local_ip)\",\"remote_ip\":\"$(cat $NC/nc_$d/remote_ip)\""
    t="$t,\"local_port\":$(cat $NC/nc_$d/local_port),\"remote_port\":$(cat $NC/nc_$d/remote_port)}"
    NETCONSOLE="$NETCONSOLE${NETCONSOLE:+,}$t"
done

# ---- 3. the NAPI states --------------------------------------------------------
ctl() { echo "$*" > $ND_CTL || fail "writing '$*' to $ND_CTL"; }
thread_field() { sed -n "s/^$1=//p" $ND_CTL | cut -d' ' -f"$2"; }
ctl stuck 1
ctl stuck 2
ctl disable 2
RESET_PID=$(thread_field nd_napi_reset 1)
wait_until 20 "nd_napi_reset in D state" sh -c "[ \"\$(sed 's/.*) //' /proc/$RESET_PID/stat | cut -d' ' -f1)\" = D ]"
ctl netpoll 2 5 6
[ "$(thread_field nd_napi_netpoll 3)" = holding ] || fail "nd_napi_netpoll: $(sed -n 's/^nd_napi_netpoll=//p' $ND_CTL)"
# Last: from here on CPU 3 spins with BH disabled (RCU cannot end a grace
# period, nothing else runs there); keep this shell and its children off it.
HEADER=$(manifest_header napi)
taskset -p 0x7 $$ > /dev/null || fail "taskset"
ctl softirq 3 3 4
sleep 1
cat $ND_CTL > /tmp/ctl
grep -q '^poll_list=3 ' /tmp/ctl || fail "no poll_list line"

# ---- 4. manifest ------------------------------------------------------------------
hexp() { # %px text -> 0x... without zero padding
    printf '0x%s' "$(printf '%s' "$1" | sed 's/^0*//; s/^$/0/')"
}
napis_json() { # napis_json DEV : the napi= lines of DEV
    sed -n "s/^napi=$1 //p" /tmp/ctl | while read -r pos idx addr id state weight owner tpid poll; do
        [ "$pos" = 0 ] || printf ','
        printf '{"pos":%s,"index":%s,"address":"%s","napi_id":%s,"state":"%s","weight":%s,"poll_owner":%s,"thread_pid":%s,"poll":%s}' \
            "$pos" "$idx" "$(hexp "$addr")" "$id" "$state" "$weight" "$owner" "$tpid" "$(jstr "$poll")"
    done
}
devices_json() {
    first=1
    sed -n 's/^dev=//p' /tmp/ctl | while read -r name ifindex addr flags priv npinfo master ops; do
        [ $first = 1 ] || printf ','
        first=0
        driver=$(printf '%s' "$ops" | sed -n 's/.*\[\(.*\)\].*/\1/p')
        nc=false
        case " $MQ ndnapi0 " in *" $name "*) nc=true ;; esac
        [ "$master" = - ] && master=null || master=$(jstr "$master")
        printf '{"name":%s,"ifindex":%s,"address":"%s","flags":"%s","priv_flags":"%s","npinfo":"%s","master":%s,"netdev_ops":%s,"driver":%s' \
            "$(jstr "$name")" "$ifindex" "$(hexp "$addr")" "$flags" "$priv" "$(hexp "$npinfo")" "$master" \
            "$(jstr "${ops%%+*}")" "$(if [ -n "$driver" ]; then jstr "$driver"; else echo null; fi)"
        printf ',"operstate":%s,"threaded":%s,"rx_queues":%s,"tx_queues":%s,"netconsole":%s,"netpoll":%s,"napis":[%s]}' \
            "$(jstr "$(cat /sys/class/net/$name/operstate)")" "$(cat /sys/class/net/$name/threaded 2>/dev/null || echo null)" \
            "$(ls -d /sys/class/net/$name/queues/rx-* 2>/dev/null | wc -l)" \
            "$(ls -d /sys/class/net/$name/queues/tx-* 2>/dev/null | wc -l)" \
            "$nc" "$(cat /tmp/probe_$name 2>/dev/null || echo null)" "$(napis_json "$name")"
    done
}
bits_json() {
    sed -n 's/^bits=//p' /tmp/ctl | tr ' ' '\n' | awk -F: '{ printf "%s\"%s\":%s", (NR > 1 ? "," : ""), $1, $2 }'
}
thread_json() { # thread_json NAME : {pid,cpu,stage,napis:[index...],task...}
    set -- $(sed -n "s/^$1=//p" /tmp/ctl)
    pid=$1; cpu=$2; stage=$3; shift 3
    # /proc/PID/stack is empty while the task is on the runqueue (the reset
    # thread's usleep_range() loop wakes it every few ms): read it asleep.
    n=0
    while tj=$(task_json "$pid"); [ $n -lt 50 ]; do
        case "$tj" in *'"stack":[]'*) n=$((n + 1)); sleep 0.02 ;; *) break ;; esac
    done
    printf '{%s,"cpu":%s,"stage":"%s","napis":[%s]}' "$tj" "$cpu" "$stage" "$(echo "$@" | tr ' ' ',')"
}
set -- $(sed -n 's/^poll_list=//p' /tmp/ctl)
PL_CPU=$1; shift
PL=""
for a in "$@"; do PL="$PL${PL:+,}\"$(hexp "$a")\""; done

quiet_console
printf 'NETDBG-MANIFEST {%s,"state_bits":{%s},"iff_disable_netpoll":"%s","mq_device":%s,"mq_queue_pairs":%s,"slave_device":%s,"devices":[%s],"netconsole":[%s],"stuck":{"device":"ndnapi0","napis":[%s]},"reset_thread":%s,"netpoll_thread":%s,"softirq_thread":%s,"poll_list":{"cpu":%s,"napis":[%s]},"modules":%s}\n' \
    "$HEADER" "$(bits_json)" "$(sed -n 's/^iff_disable_netpoll=//p' /tmp/ctl)" \
    "$(jstr "$MQ")" "$NQ" "$(jstr "$SLAVE")" "$(devices_json)" "$NETCONSOLE" \
    "$(sed -n 's/^stuck=//p' /tmp/ctl | tr ' ' ',')" \
    "$(thread_json nd_napi_reset)" "$(thread_json nd_napi_netpoll)" "$(thread_json nd_napi_softirq)" \
    "$PL_CPU" "$PL" "$(modules_json)"
