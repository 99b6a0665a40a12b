#!/bin/sh
# crash-versions.sh WHAT : the crash versions of the test matrix (the CRASH
# column of builds.conf), for the Makefile:
#   cmake            NETDBG_CRASH_VERSIONS for cmake: VERSION=DEFS_H;... (the
#                    crash on PATH: /usr/include/crash/defs.h; the others: the
#                    defs.h build-crash.sh keeps in $CACHE/crash-VERSION/)
#   to-build         the versions build-crash.sh has to build (not on PATH)
#   extension BUILD  the netdbg.so of BUILD for the crash on PATH
set -eu
. "$(dirname "$0")/common.sh"

system=""
command -v crash >/dev/null 2>&1 && system=$(crash --version 2>/dev/null | awk '$1 == "crash" { print $2; exit }')
versions=$(awk '!/^#/ && NF { print $2 }' "$BUILDS_CONF" | sort -u)
case "${1:-}" in
cmake)
    out=""
    for v in $versions; do
        if [ "$v" = "$system" ]; then d=/usr/include/crash/defs.h; else d="$CACHE/crash-$v/defs.h"; fi
        out="$out${out:+;}$v=$d"
    done
    echo "$out" ;;
to-build)
    for v in $versions; do [ "$v" = "$system" ] || echo "$v"; done ;;
extension)
    [ $# -eq 2 ] || die "usage: $0 extension BUILD_DIR"
    if [ -n "$system" ] && [ -f "$2/crash-$system/netdbg.so" ]; then echo "$2/crash-$system/netdbg.so"; else echo "$2/netdbg.so"; fi ;;
*) die "usage: $0 cmake | to-build | extension BUILD_DIR" ;;
esac
