#!/bin/sh
# demo.sh [SCENARIO] : run crash in batch on a scenario dump with netdbg
# loaded and show each command with its output.
set -eu
. "$(dirname "$0")/common.sh"
SCENARIO="${1:-rtnl-stuck}"
D="$CACHE/dumps/$SCENARIO"
[ -f "$D/vmcore" ] || die "no dump at $D: run 'make dumps' first"
EXT="${NETDBG_EXTENSION:-netdbg.so}"
CMDS="$CACHE/demo-$SCENARIO.crash"
{
    echo "extend $EXT"
    for ko in "$D"/modules/*.ko; do
        echo "mod -s $(basename "$ko" .ko) $ko"
    done
    for c in "netdbg" "rtnlowner" "rtnlowner -s" "uninterruptible" "uninterruptible --group" \
             "lockowner nd_chain_mutex"; do
        echo "!echo; echo 'crash> $c'"
        echo "$c"
    done
    echo "quit"
} >"$CMDS"
echo "crash -s $KDIR/vmlinux $D/vmcore   # netdbg commands on the $SCENARIO dump"
# crash's own start-up chatter (its broken task table on this kernel) is
# left out: the demo starts at the extension's load line.
crash -s "$KDIR/vmlinux" "$D/vmcore" -i "$CMDS" 2>&1 | awk 'f || /shared object loaded/ { f = 1; print }'
