# Guest side of scenario ftrace (sourced by /init, busybox ash).  The kernel
# traces sched_switch, workqueue:* and irq:* from boot into a small ring
# buffer.  The guest copies the kernel's own text of the trace, then stalls
# CPU 3 for good: nd_ftrace.ko's work item disables interrupts and spins, so
# that CPU's last event is the work's workqueue_execute_start.  The other CPUs
# go on tracing (a fork loop) until their buffers have wrapped past it.
# Prints the manifest as one line:  NETDBG-MANIFEST {json}
. /lib/netdbg/lib.sh
MOD=nd_ftrace
ND_CTL=/proc/nd_ftrace
STALL_CPU=3
T=/sys/kernel/tracing

# Every user task stays off the stalled CPU: a task whose page tables are
# freed would IPI it and wait forever (flush_tlb_mm_range with freed tables).
taskset -p 0x7 $$ >/dev/null || fail "taskset"
mount -t tracefs nodev $T 2>/dev/null
[ -r $T/trace ] || fail "no tracefs at $T"
grep -q '^1' $T/tracing_on || fail "tracing is off"
# CPU 3's buffer is 256 KiB: its ticks and softirqs alone fill 16 KiB in
# under a second, and the copy must still be in it at the stall.
echo 256 > $T/per_cpu/cpu$STALL_CPU/buffer_size_kb || fail "resizing CPU $STALL_CPU's buffer"
insmod /lib/modules/$MOD.ko || fail "insmod $MOD.ko failed"

churn() { # churn SECONDS : fork and exec on CPUs 0-2 (sched_switch, workqueue, irq events)
    end=$(( $(cut -d. -f1 /proc/uptime) + $1 ))
    while [ "$(cut -d. -f1 /proc/uptime)" -lt "$end" ]; do
        /bin/busybox true; /bin/busybox true; ls / >/dev/null
    done
}
stats_json() { # per_cpu/cpuN/stats of every CPU as a JSON array
    out=""
    for d in $T/per_cpu/cpu*; do
        c=${d##*cpu}
        o=$(awk -F': *' -v cpu="$c" '
            { k = $1; gsub(/ /, "_", k); v = $2
              if (k ~ /_ts$/) v = "\"" v "\""
              s = s "," "\"" k "\":" v }
            END { printf "{\"cpu\":%d%s}", cpu, s }' "$d/stats")
        [ -n "$out" ] && out="$out,"
        out="$out$o"
    done
    printf '[%s]' "$out"
}
lines_json() { # FILE as a JSON array of its lines
    awk 'BEGIN { printf "[" }
         { gsub(/\\/, "\\\\"); gsub(/"/, "\\\""); gsub(/\t/, "\\t")
           printf "%s\"%s\"", (NR > 1 ? "," : ""), $0 }
         END { printf "]" }' "$1"
}

# 1. Events on every CPU until the buffers have wrapped.
churn 4
# 2. The kernel's text of the buffer (opening `trace` stops recording until it
#    is closed; it needs synchronize_rcu(), which the stall would block).
cat $T/per_cpu/cpu$STALL_CPU/stats > /tmp/stats-before
cat $T/trace > /tmp/trace.txt || fail "reading $T/trace"
COPY_UPTIME=$(cut -d' ' -f1 /proc/uptime)
# 3. The stall.
echo "stall $STALL_CPU" > $ND_CTL || fail "nd_ftrace: stall"
spinning() { [ "$(kv $ND_CTL stage)" = spinning ]; }
wait_until 20 "the stall work to spin" spinning
echo "netdbg-init: nd_ftrace_stall_fn spins with interrupts off on CPU $(kv $ND_CTL cpu) in pid $(kv $ND_CTL pid)"
# 4. The other CPUs go on (far past their 16 KiB each), then the manifest.
churn 8
quiet_console
STATS=$(stats_json)
printf 'NETDBG-MANIFEST {%s,"trace_clock":%s,"buffer_size_kb":%s,"stall_cpu_buffer_size_kb":%s,"stall":{"cpu":%s,"pid":%s,"comm":%s,"work":%s,"function":%s,"workqueue":%s,"trace_local_ns":%s,"trace_global_ns":%s,"local_clock_ns":%s},"trace_copy_uptime":%s,"trace":%s,"per_cpu_stats":%s,"modules":%s}\n' \
    "$(manifest_header ftrace)" "$(jstr "$(cat $T/trace_clock)")" "$(cat $T/per_cpu/cpu0/buffer_size_kb)" "$(cat $T/per_cpu/cpu$STALL_CPU/buffer_size_kb)" \
    "$(kv $ND_CTL cpu)" "$(kv $ND_CTL pid)" "$(jstr "$(kv $ND_CTL comm)")" "$(jstr "$(kv $ND_CTL work)")" \
    "$(jstr "$(kv $ND_CTL function)")" "$(jstr "$(kv $ND_CTL workqueue)")" \
    "$(kv $ND_CTL trace_local_ns)" "$(kv $ND_CTL trace_global_ns)" "$(kv $ND_CTL local_clock_ns)" "$COPY_UPTIME" \
    "$(lines_json /tmp/trace.txt)" "$STATS" "$(modules_json)"
