#!/bin/sh
# make-dumps.sh [SCENARIO...] : make the dumps of one kernel build (NETDBG_KVER,
#     default the primary build, see builds.conf): the named ones ("all":
#     every scenario; a named rtnl-stuck brings rtnl-stuck-kaslr along), or
#     the build's DUMPS of builds.conf (for the primary build: every scenario under
#     dumps/scenarios/, rtnl-stuck also KASLR-booted as rtnl-stuck-kaslr, and
#     its kdump variants).
# Dumps are made NETDBG_DUMP_JOBS at a time (default 1).
# make-dumps.sh --matrix [-j N] : the dumps of every build of builds.conf,
#     N at a time (default NETDBG_DUMP_JOBS, else 1: each guest is a 4-vCPU
#     TCG QEMU). A build's kernel is fetched once, by its first dump.
# Each dump is rebuilt only when its inputs changed; see make-dump.sh and
# README.md. Then the build's vmlinux gets its gdb index (index-vmlinux.sh).
set -eu
DUMPS_DIR="$(cd "$(dirname "$0")" && pwd)"
. "$DUMPS_DIR/common.sh"

# build_dumps KVER: the dumps builds.conf lists for KVER, "all" expanded.
build_dumps() {
    line=$(awk -v k="$1" '!/^#/ && $1 == k { $1 = ""; $2 = ""; print; exit }' "$BUILDS_CONF")
    [ -n "$line" ] || line=all   # a build builds.conf does not list: every scenario
    expand_dumps $line
}

# expand_dumps WORD...: the dump names, "all" expanded to every scenario.
expand_dumps() {
    for w in "$@"; do
        if [ "$w" = all ]; then
            for d in "$DUMPS_DIR"/scenarios/*/; do
                # ON_DEMAND=1 scenarios (scale: slow, for make bench) only when named
                [ -f "$d/scenario.conf" ] && ! grep -q '^ON_DEMAND=1' "$d/scenario.conf" && echo "$(basename "$d")"
                # rtnl-stuck is also dumped KASLR-booted (rtnl-stuck-kaslr), for
                # the gdb front end's load-offset tests.
                [ "$(basename "$d")" = rtnl-stuck ] && echo rtnl-stuck-kaslr
            done
        else
            echo "$w"
        fi
    done | awk '!seen[$0]++'
}

if [ "${1:-}" = --matrix ]; then
    shift
    jobs=${NETDBG_DUMP_JOBS:-1}
    if [ "${1:-}" = -j ]; then jobs=$2; shift 2; fi
    [ $# -eq 0 ] || die "usage: $0 --matrix [-j N]"
    list="$CACHE/.dumps-matrix.$$"
    mkdir -p "$CACHE"
    # Round robin over the builds, so that the first jobs fetch different kernels.
    for k in $(awk '!/^#/ && NF { print $1 }' "$BUILDS_CONF"); do
        i=0
        for s in $(build_dumps "$k"); do echo "$i $k $s"; i=$((i + 1)); done
    done | sort -s -n -k1,1 | awk '{ print $2, $3 }' > "$list"
    log "matrix: $(wc -l < "$list") dumps of $(awk '!/^#/ && NF' "$BUILDS_CONF" | wc -l) builds, $jobs at a time"
    failed="$list.failed"
    : > "$failed"
    # A failed dump does not stop the others; the list of failures ends it.
    # shellcheck disable=SC2016
    xargs -P "$jobs" -L 1 sh -c 'NETDBG_KVER=$0 "'"$DUMPS_DIR"'/make-dump.sh" "$1" || echo "$1 of $0" >> "'"$failed"'"' < "$list"
    for k in $(awk '!/^#/ && NF { print $1 }' "$BUILDS_CONF"); do
        NETDBG_KVER=$k "$DUMPS_DIR/index-vmlinux.sh" || echo "the vmlinux index of $k" >> "$failed"
    done
    n=$(wc -l < "$failed")
    [ "$n" -eq 0 ] || log "matrix: failed: $(tr '\n' ',' < "$failed" | sed 's/,$//; s/,/, /g')"
    rm -f "$list" "$failed"
    [ "$n" -eq 0 ] || die "matrix: $n dump(s) failed"
    exit 0
fi

if [ $# -eq 0 ]; then
    # shellcheck disable=SC2046
    set -- $(build_dumps "$KVER")
else
    # A named rtnl-stuck brings its KASLR variant along, as it always did.
    # shellcheck disable=SC2046
    set -- $(expand_dumps "$@")
    named="$*"
    for s in $named; do [ "$s" = rtnl-stuck ] && set -- "$@" rtnl-stuck-kaslr; done
fi
# NETDBG_DUMP_JOBS guests at a time (default 1: two at a time on two cores
# made the waits scenario's own state checks fail under load). The kernel
# is fetched once (fetch-kernel.sh locks). A failed dump does not stop the
# others; the list of failures ends the run.
jobs=${NETDBG_DUMP_JOBS:-1}
failed="$CACHE/.dumps-failed.$$"
mkdir -p "$CACHE"
: > "$failed"
# shellcheck disable=SC2016
printf '%s\n' "$@" | awk '!seen[$0]++' |
    xargs -P "$jobs" -I{} sh -c '"$0" "$1" || echo "$1" >> "$2"' "$DUMPS_DIR/make-dump.sh" {} "$failed"
# The vmlinux crash and gdb will read the dumps with, indexed for gdb.
"$DUMPS_DIR/index-vmlinux.sh" || echo "the vmlinux index" >> "$failed"
n=$(wc -l < "$failed")
[ "$n" -eq 0 ] || log "failed: $(tr '\n' ' ' < "$failed")"
rm -f "$failed"
[ "$n" -eq 0 ] || die "$n dump(s) failed"
