#!/bin/sh
# demo.sh [SCENARIO...] : run crash in batch on scenario dumps with netdbg
# loaded and show each command with its output. Default: rtnl-stuck (the
# lock commands), anycast-loop (aclist, listcheck), napi (napiq),
# reset-after-remove (workq) and waits (every kind of wait: uninterruptible
# --group, lockowner on an rwsem and a semaphore) and cpus (cpus, kstack of
# a deep sleeper) and txhang (netdev: stopped TX queues, qdiscs, a leaked
# device reference, softnet) and ftrace (the stalled CPU, its last events).
# A scenario whose dump is missing is skipped with a note; the demo fails
# only when no dump was there at all.
set -eu
. "$(dirname "$0")/common.sh"
EXT="${NETDBG_EXTENSION:-netdbg.so}"
[ $# -gt 0 ] || set -- rtnl-stuck anycast-loop napi reset-after-remove waits cpus txhang ftrace

# session SCENARIO COMMAND... : one crash run on the scenario's dump (its
# modules' symbols loaded), each command echoed as at the prompt.
session() {
    scen=$1
    shift
    d="$CACHE/dumps/$scen"
    cmds="$CACHE/demo-$scen.crash"
    {
        echo "extend $EXT"
        # module symbols (for locks and works in modules); crash's table of
        # each load is left out, one line names them.
        mods=""
        for ko in "$d"/modules/*.ko; do
            [ -f "$ko" ] || continue
            echo "mod -s $(basename "$ko" .ko) $ko >/dev/null"
            mods="$mods $(basename "$ko" .ko)"
        done
        [ -z "$mods" ] || echo "!echo 'crash> mod -s ...   # symbols of:$mods'"
        for c in "$@"; do
            echo "!echo; echo 'crash> $c'"
            echo "$c"
        done
        echo "quit"
    } >"$cmds"
    echo
    echo "crash -s $KDIR/vmlinux $d/vmcore   # netdbg commands on the $scen dump"
    # crash's own start-up chatter (its broken task table on this kernel) is
    # left out: the demo starts at the extension's load line.
    crash -s "$KDIR/vmlinux" "$d/vmcore" -i "$cmds" 2>&1 | awk 'f || /shared object loaded/ { f = 1; print }'
}

# The ac_list head of the device whose anycast list loops, from aclist's own
# JSON (devices[].head, then that device's verdict), for listcheck to walk.
looping_ac_list() {
    d="$CACHE/dumps/anycast-loop"
    cmds="$CACHE/demo-anycast-loop-head.crash"
    printf 'extend %s\naclist --json\nquit\n' "$EXT" >"$cmds"
    crash -s "$KDIR/vmlinux" "$d/vmcore" -i "$cmds" 2>/dev/null |
        awk -F'"' '$2 == "head" { head = $4 } $2 == "verdict" && $4 ~ /^loop/ && head != "" { print head; exit }'
}

# The pid of the cpus scenario's deep sleeper, from its manifest.
cpus_deep_pid() {
    "$PY3" -c 'import json, sys; print(json.load(open(sys.argv[1]))["deep"]["pid"])' "$CACHE/dumps/cpus/manifest.json"
}

ran=0
for scen in "$@"; do
    if [ ! -f "$CACHE/dumps/$scen/vmcore" ]; then
        echo "demo: no $scen dump in $CACHE/dumps/$scen: skipped (make dumps makes it)"
        continue
    fi
    case "$scen" in
    rtnl-stuck)
        session "$scen" "netdbg" "rtnlowner" "rtnlowner -s" "uninterruptible" "uninterruptible --group" \
            "lockowner nd_chain_mutex"
        ;;
    anycast-loop)
        head=$(looping_ac_list)
        if [ -n "$head" ]; then
            session "$scen" "aclist" "listcheck $head --single -o ifacaddr6.aca_next" "aclist dummy0 --mc"
        else
            session "$scen" "aclist" "aclist dummy0 --mc"
        fi
        ;;
    napi) session "$scen" "napiq" ;;
    reset-after-remove) session "$scen" "workq --busy" ;;
    waits) session "$scen" "uninterruptible --group" "lockowner nd_rwsem_r" "lockowner nd_sem" ;;
    cpus) session "$scen" "cpus" "kstack $(cpus_deep_pid)" ;;
    txhang) session "$scen" "netdev" "netdev tx0 -q" "netdev -s" ;;
    ftrace) session "$scen" "ftrace --stalls" "ftrace -c 3 --last 8" ;;
    *) session "$scen" "netdbg" "uninterruptible --group" ;;
    esac
    ran=$((ran + 1))
done
[ "$ran" -gt 0 ] || die "no dump found under $CACHE/dumps: run 'make dumps' first"
