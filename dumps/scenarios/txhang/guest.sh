# Guest side of scenario txhang (sourced by /init, busybox ash).
# nd_txhang.ko registers tx0 and tx1, fake Ethernet devices that keep every
# packet they are given and never complete it; ping fills their rings and
# qdiscs, dev_watchdog() times the stopped queues out.  Then a dummy device
# with a leaked reference is deleted.  See README.md.  Prints the manifest as
# one line:  NETDBG-MANIFEST {json}
. /lib/netdbg/lib.sh
MOD=nd_txhang
ND_CTL=/proc/nd_txhang
PINGS0=20
PINGS1=10

ctl() { echo "$*" > $ND_CTL || fail "nd_txhang: command '$*' failed"; }
# no IPv6 on the new devices: no router solicitations or MLD reports in
# their queues, only the pings
echo 1 > /proc/sys/net/ipv6/conf/default/disable_ipv6 || fail "disable_ipv6"
# no "waiting for ndleak0 to become free" (pr_emerg) every 10 s
echo 3600 > /proc/sys/net/core/netdev_unregister_timeout_secs || fail "netdev_unregister_timeout_secs"
insmod /lib/modules/$MOD.ko || fail "insmod $MOD.ko failed"

# ---- 1. tx0: mq with pfifo_fast children (lockless, per-CPU stats) -------------
echo pfifo_fast > /proc/sys/net/core/default_qdisc || fail "default_qdisc pfifo_fast"
ctl add0
ip link set tx0 up || fail "tx0 up"
# ---- 2. tx1: the kernel's default fq_codel (locked, q.qlen) ---------------------
echo fq_codel > /proc/sys/net/core/default_qdisc || fail "default_qdisc fq_codel"
ctl add1
ip link set tx1 up || fail "tx1 up"
ip addr add 10.20.0.1/24 dev tx0 || fail "tx0 addr"
ip addr add 10.21.0.1/24 dev tx1 || fail "tx1 addr"
arp -i tx0 -s 10.20.0.2 02:00:00:00:20:02 || fail "tx0 neigh"
arp -i tx1 -s 10.21.0.2 02:00:00:00:21:02 || fail "tx1 neigh"

# ---- 3. traffic that never leaves the guest --------------------------------------
ping -q -c $PINGS0 -i 0.05 -W 1 10.20.0.2 >/dev/null 2>&1
ping -q -c $PINGS1 -i 0.05 -W 1 10.21.0.2 >/dev/null 2>&1
echo "netdbg-init: pings sent"; cat $ND_CTL

# ---- 4. the watchdog fires (tx0: 1 s, tx1: 2 s) ------------------------------------
timeouts() { kv $ND_CTL dev | awk -v d="$1" '$1 == d { print $15 }'; }
timed_out() { [ "$(timeouts "$1")" -ge "$2" ]; }
wait_until 30 "2 TX timeouts on tx0" timed_out tx0 2
wait_until 30 "1 TX timeout on tx1" timed_out tx1 1
echo "netdbg-init: tx0 timeouts $(timeouts tx0), tx1 timeouts $(timeouts tx1)"

# ---- 5. a device deleted with a leaked reference -----------------------------------
ip link add ndleak0 type dummy || fail "ip link add ndleak0 type dummy"
ctl leak ndleak0
/sbin/ip link delete ndleak0 </dev/null >/tmp/ipdel.out 2>&1 &
IP_PID=$!
ip_waits() { [ "$(state_of "$IP_PID")" = D ] && grep -q " netdev_run_todo+" "/proc/$IP_PID/stack" 2>/dev/null; }
wait_until 30 "ip link delete (pid $IP_PID) to wait in netdev_run_todo" ip_waits
IP_START=$(stat_field "$IP_PID" 20)   # starttime, clock ticks since boot
sleep 2

# ---- 6. the manifest ----------------------------------------------------------------
sed -e 's/0x0*\([0-9a-f]\)/0x\1/g' $ND_CTL > /tmp/st
echo "netdbg-init: status:"; cat /tmp/st
BODY=$(awk -v ip="$IP_PID" -v ipstart="$IP_START" -v p0="$PINGS0" -v p1="$PINGS1" '
function js(s) { gsub(/\\/, "\\\\", s); gsub(/"/, "\\\"", s); return "\"" s "\"" }
function q(a, o) { # qdisc= fields from a[3]
    return "{\"address\":\"" a[3] "\",\"kind\":" js(a[4]) ",\"handle\":" hx(a[5]) ",\"parent\":" hx(a[6]) \
        ",\"flags\":" hx(a[7]) ",\"qlen\":" a[8] ",\"backlog\":" a[9] ",\"drops\":" a[10] ",\"requeues\":" a[11] \
        ",\"overlimits\":" a[12] ",\"gso_skb\":" a[13] ",\"bytes\":" a[14] ",\"packets\":" a[15] "}"
}
function rd(f,   l) { l = ""; getline l < f; close(f); return l }
function hx(s,   i, n) { n = 0; s = tolower(s); for (i = 1; i <= length(s); i++) n = n * 16 + index("0123456789abcdef", substr(s, i, 1)) - 1; return n }
BEGIN {
    while ((getline l < "/tmp/st") > 0) {
        k = l; sub(/=.*/, "", k); v = l; sub(/^[^=]*=/, "", v); n = split(v, a, " ")
        if (k == "jiffies") J = v
        else if (k == "hz") HZ = v
        else if (k == "dev") {
            d = a[1]; order[++nd] = d
            D[d] = "\"name\":" js(d) ",\"address\":\"" a[2] "\",\"ifindex\":" a[3] ",\"txqs\":" a[4] ",\"watchdog_timeo\":" a[5] \
                ",\"refcnt\":" a[6] ",\"flags\":" hx(a[7]) ",\"state\":" hx(a[8]) ",\"mtu\":" a[9] \
                ",\"ring_size\":" a[10] ",\"ring_len\":" a[11] ",\"stopped_queue\":" a[12] ",\"stopped_at\":" a[13] \
                ",\"refused\":" a[14] ",\"timeouts\":" a[15] ",\"last_timeout\":" a[16] ",\"last_timeout_queue\":" a[17]
        } else if (k == "stats") {
            D[a[1]] = D[a[1]] ",\"stats\":{\"rx_packets\":" a[2] ",\"tx_packets\":" a[3] ",\"rx_bytes\":" a[4] ",\"tx_bytes\":" a[5] \
                ",\"tx_errors\":" a[6] ",\"tx_dropped\":" a[7] ",\"tx_fifo_errors\":" a[8] "}"
        } else if (k == "qdisc" && a[2] == "root") {
            D[a[1]] = D[a[1]] ",\"root_qdisc\":" q(a)
        } else if (k == "txq") {
            T[a[1]] = T[a[1]] (T[a[1]] == "" ? "" : ",") "{\"index\":" a[2] ",\"address\":\"" a[3] "\",\"state\":" hx(a[4]) \
                ",\"trans_start\":" a[5] ",\"trans_timeout\":" a[6] ",\"qdisc\":\"" a[7] "\",\"qdisc_sleeping\":\"" a[8] "\"" \
                ",\"dql_limit\":" a[9] ",\"dql_inflight\":" a[10]
        } else if (k == "qdisc") {
            T[a[1]] = T[a[1]] ",\"qdisc_stats\":" q(a) "}"
        } else if (k == "napi") {
            D[a[1]] = D[a[1]] ",\"napi\":\"" a[2] "\""
        } else if (k == "leak") {
            L = "\"address\":\"" a[1] "\",\"name\":" js(a[2]) ",\"ifindex\":" a[3] ",\"refcnt_at_leak\":" a[4] ",\"refcnt\":" a[5] ",\"reg_state\":" a[6]
        }
    }
    out = ""
    for (i = 1; i <= nd; i++) out = out (i > 1 ? "," : "") "{" D[order[i]] ",\"tx_queues\":[" T[order[i]] "]}"
    st = rd("/proc/" ip "/stat"); sub(/.*\) /, "", st); split(st, s, " ")
    stk = ""; f = "/proc/" ip "/stack"
    while ((getline l < f) > 0) { sub(/^\[<[0-9a-f]*>\] /, "", l); if (l != "") stk = stk (stk == "" ? "" : ",") js(l) }
    close(f)
    printf "\"hz\":%s,\"jiffies_at_manifest\":%s,\"pings\":{\"tx0\":%s,\"tx1\":%s},\"devices\":[%s]", HZ, J, p0, p1, out
    printf ",\"leak\":{%s,\"waiter\":{\"pid\":%s,\"comm\":\"ip\",\"state\":%s,\"start_ticks\":%s,\"command\":\"/sbin/ip link delete ndleak0\",\"stack\":[%s]}}", L, ip, js(s[1]), ipstart, stk
}') || fail "manifest: $BODY"
quiet_console
printf 'NETDBG-MANIFEST {%s,%s,"clk_tck":100,"modules":%s}\n' "$(manifest_header txhang)" "$BODY" "$(modules_json)"
