# Guest side of scenario ftrace-full (sourced by /init, busybox ash): the
# benchmark's trace. A fork loop on every CPU until each CPU's 1 MiB ring
# buffer has wrapped (per_cpu/cpuN/stats: overrun > 0), then the manifest.
. /lib/netdbg/lib.sh
T=/sys/kernel/tracing
mount -t tracefs nodev $T 2>/dev/null
[ -r $T/trace ] || fail "no tracefs at $T"
full() {
    for s in $T/per_cpu/cpu*/stats; do
        [ "$(sed -n 's/^overrun: //p' "$s")" -gt 0 ] || return 1
    done
}
n=0
while ! full; do
    for c in 0 1 2 3; do taskset -c $c /bin/busybox true; taskset -c $c ls / >/dev/null; done
    n=$((n + 1))
    [ $n -lt 20000 ] || fail "the ring buffers did not fill"
done
quiet_console
stats=""
for d in $T/per_cpu/cpu*; do
    o=$(awk -F': *' -v cpu="${d##*cpu}" '{ k = $1; gsub(/ /, "_", k); v = $2; if (k ~ /_ts$/) v = "\"" v "\""
        s = s "," "\"" k "\":" v } END { printf "{\"cpu\":%d%s}", cpu, s }' "$d/stats")
    stats="$stats${stats:+,}$o"
done
printf 'NETDBG-MANIFEST {%s,"trace_clock":%s,"buffer_size_kb":%s,"loops":%s,"per_cpu_stats":[%s],"modules":%s}\n' \
    "$(manifest_header ftrace-full)" "$(jstr "$(cat $T/trace_clock)")" "$(cat $T/buffer_size_kb)" "$n" \
    "$stats" "$(modules_json)"
