# Shared guest-side helpers (busybox ash).  make-dump.sh puts this file at
# /lib/netdbg/lib.sh in every initramfs; scenario scripts may source it:
#     . /lib/netdbg/lib.sh
# It relies on fail() from /init.

# ---- JSON and /proc helpers -----------------------------------------------
jstr() { # JSON string literal of $1
    printf '"%s"' "$(printf '%s' "$1" | sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' | tr -d '\n\r\t')"
}
stat_field() { # stat_field PID N : field N of /proc/PID/stat counting from the state (=1)
    sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f"$2"
}
state_of() { stat_field "$1" 1; }
proc_comm() { cat "/proc/$1/comm" 2>/dev/null; }
task_comm() { # task_struct.comm: /proc shows workqueue workers as comm+desc / comm-desc
    c=$(proc_comm "$1")
    flags=$(stat_field "$1" 7)
    if [ -n "$flags" ] && [ $(( flags & 0x20 )) -ne 0 ]; then # PF_WQ_WORKER
        c=$(printf '%s' "$c" | sed 's/[+-].*//')
    fi
    printf '%s' "$c"
}
wchan_of() { cat "/proc/$1/wchan" 2>/dev/null; }
stack_json() { # kernel stack of PID as a JSON array of "func+off/size"
    first=1
    printf '['
    sed -e 's/^\[<[0-9a-f]*>\] //' "/proc/$1/stack" 2>/dev/null | while read -r fr; do
        [ -n "$fr" ] || continue
        [ $first -eq 1 ] || printf ','
        first=0
        jstr "$fr"
    done
    printf ']'
}
task_json() { # common per-task keys (no braces)
    printf '"pid":%s,"comm":%s,"proc_comm":%s,"state":%s,"wchan":%s,"stack":%s' \
        "$1" "$(jstr "$(task_comm "$1")")" "$(jstr "$(proc_comm "$1")")" \
        "$(jstr "$(state_of "$1")")" "$(jstr "$(wchan_of "$1")")" "$(stack_json "$1")"
}
wait_until() { # wait_until SECONDS DESCRIPTION COMMAND... : poll every 0.1 s
    secs=$1; what=$2; shift 2
    n=$(( secs * 10 ))
    while [ $n -gt 0 ]; do
        "$@" && return 0
        sleep 0.1
        n=$(( n - 1 ))
    done
    fail "timeout waiting for $what"
}
modules_json() { # /proc/modules as a JSON array of {name,size,address}
    mj=""
    while read -r name size refs deps live addr rest; do
        [ -n "$mj" ] && mj="$mj,"
        mj="$mj{\"name\":$(jstr "$name"),\"size\":$size,\"address\":$(jstr "$addr")}"
    done < /proc/modules
    printf '[%s]' "$mj"
}
kv() { # kv FILE KEY : value of a key=value line
    sed -n "s/^$2=//p" "$1"
}
manifest_header() { # manifest_header SCENARIO : the common leading keys (no braces); cpus: online CPUs, whatever this shell's affinity (nproc follows it)
    printf '"format":1,"scenario":%s,"kernel_release":%s,"cpus":%s,"uptime_at_manifest":%s' \
        "$(jstr "$1")" "$(jstr "$(uname -r)")" "$(grep -c '^processor' /proc/cpuinfo)" "$(cut -d' ' -f1 /proc/uptime)"
}
quiet_console() { # keep kernel messages off the manifest line
    echo "1 4 1 7" > /proc/sys/kernel/printk
}

# ---- IPv6 address lists (anycast scenarios) ---------------------------------
# awk: v6(hex32) -> RFC 5952 text (lower case, longest run of >= 2 zero
# groups, the first one on a tie, becomes "::"), as Python's ipaddress and the
# kernel's %pI6c print it.
ND_AWK_V6='
function v6(h,   i, g, best, bl, cur, cl, s) {
    for (i = 0; i < 8; i++) {
        g[i] = substr(h, 4 * i + 1, 4); sub(/^0+/, "", g[i]); if (g[i] == "") g[i] = "0"
    }
    best = -1; bl = 0; cl = 0
    for (i = 0; i < 8; i++) {
        if (g[i] == "0") { if (cl == 0) cur = i; cl++; if (cl > bl) { bl = cl; best = cur } }
        else cl = 0
    }
    if (bl < 2) best = -1
    s = ""
    for (i = 0; i < 8; i++) {
        if (i == best) { s = s "::"; i += bl - 1; continue }
        if (s != "" && substr(s, length(s)) != ":") s = s ":"
        s = s g[i]
    }
    return s
}'
# v6_lines FILE : "ifindex devname hex text users" per line, in file order, from
# /proc/net/anycast6 or /proc/net/igmp6 (both: ifindex dev hex users ...).
v6_lines() {
    awk "$ND_AWK_V6"'{ print $1, $2, $3, v6($3), $4 }' "$1"
}
# ipv6_devices_json ANYCAST_COPY IGMP6_COPY : JSON array, one object per
# device (in ifindex order) that has an anycast or multicast entry:
#   {"name","ifindex","anycast":[{"addr","hex","users"}],"multicast":[...]}
# Entry order is the file's order, i.e. the kernel list order
# (inet6_dev.ac_list via aca_next; inet6_dev.mc_list via next).
ipv6_devices_json() {
    { v6_lines "$1" | sed 's/^/A /'; v6_lines "$2" | sed 's/^/M /'; } | awk '
    {
        k = $1; idx = $2 + 0; dev[idx] = $3
        e = "{\"addr\":\"" $5 "\",\"hex\":\"" $4 "\",\"users\":" ($6 + 0) "}"
        if (k == "A") { if (nac[idx]++) ac[idx] = ac[idx] ","; ac[idx] = ac[idx] e }
        else          { if (nmc[idx]++) mc[idx] = mc[idx] ","; mc[idx] = mc[idx] e }
        if (idx > maxi) maxi = idx
    }
    END {
        out = ""
        for (i = 0; i <= maxi; i++) {
            if (!(i in dev)) continue
            if (out != "") out = out ","
            out = out "{\"name\":\"" dev[i] "\",\"ifindex\":" i ",\"anycast\":[" ac[i] "],\"multicast\":[" mc[i] "]}"
        }
        printf "[%s]", out
    }'
}
# snapshot_ipv6 DIR : copy /proc/net/anycast6 and /proc/net/igmp6 into DIR
# (only the columns that do not change by themselves: the igmp6 timer column
# is left out).
snapshot_ipv6() {
    mkdir -p "$1"
    cat /proc/net/anycast6 > "$1/anycast6" || fail "reading /proc/net/anycast6"
    awk '{ print $1, $2, $3, $4, $5 }' /proc/net/igmp6 > "$1/igmp6" || fail "reading /proc/net/igmp6"
}
# settle_ipv6 DIR : wait until two snapshots 1 s apart are equal (addrconf,
# DAD and MLD settled); the last one is left in DIR.
settle_ipv6() {
    n=0
    snapshot_ipv6 "$1.prev"
    while :; do
        sleep 1
        snapshot_ipv6 "$1"
        if cmp -s "$1/anycast6" "$1.prev/anycast6" && cmp -s "$1/igmp6" "$1.prev/igmp6"; then
            return 0
        fi
        n=$(( n + 1 ))
        [ $n -lt 20 ] || fail "IPv6 anycast/multicast lists did not settle"
        cp "$1/anycast6" "$1/igmp6" "$1.prev/"
    done
}
# setup_anycast_devices : IPv6 forwarding on, dummy0..dummy5 up (multicast
# on), each with one
# or more global /64 prefixes, so that every inet6_dev.ac_list holds the
# subnet-router anycast addresses (fe80:: and 2001:db8:N:M::).
#   dummyN gets 2001:db8:N::1/64; odd N also 2001:db8:N:1::1/64;
#   dummy2 also 2001:db8:2:1::1/64 and 2001:db8:2:2::1/64 (4 anycast entries).
# Half of the prefixes are added before forwarding is switched on (joined by
# dev_forward_change), half after (joined on RTM_NEWADDR).
ND_AC_DEVS="dummy0 dummy1 dummy2 dummy3 dummy4 dummy5"
setup_anycast_devices() {
    ip link set lo up || fail "lo up"
    for d in $ND_AC_DEVS; do
        ip link show "$d" >/dev/null 2>&1 || /sbin/ip link add "$d" type dummy || fail "ip link add $d"
        # dummy clears IFF_MULTICAST; with it on the devices also join the
        # solicited-node and (forwarding) all-routers groups, like a real NIC
        ip link set "$d" multicast on || fail "ip link set $d multicast on"
        ip link set "$d" up || fail "ip link set $d up"
    done
    for d in $ND_AC_DEVS; do
        n=${d#dummy}
        ip -6 addr add "2001:db8:$n::1/64" dev "$d" || fail "ip -6 addr add on $d"
    done
    echo 1 > /proc/sys/net/ipv6/conf/all/forwarding || fail "enabling IPv6 forwarding"
    for d in $ND_AC_DEVS; do
        n=${d#dummy}
        if [ $(( n % 2 )) -eq 1 ] || [ "$n" = 2 ]; then
            ip -6 addr add "2001:db8:$n:1::1/64" dev "$d" || fail "ip -6 addr add on $d"
        fi
    done
    ip -6 addr add "2001:db8:2:2::1/64" dev dummy2 || fail "ip -6 addr add on dummy2"
    [ "$(cat /proc/sys/net/ipv6/conf/all/forwarding)" = 1 ] || fail "IPv6 forwarding is off"
}
