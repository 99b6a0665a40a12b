#!/bin/sh
# make-dumps.sh [SCENARIO...] : make the dumps of the given scenarios
# (default: every scenario under dumps/scenarios/).  Each is rebuilt only
# when its inputs changed; see make-dump.sh and README.md.
set -eu
DUMPS_DIR="$(cd "$(dirname "$0")" && pwd)"
if [ $# -eq 0 ]; then
    set --
    for d in "$DUMPS_DIR"/scenarios/*/; do
        # ON_DEMAND=1 scenarios (scale: slow, for make bench) only when named
        [ -f "$d/scenario.conf" ] && ! grep -q '^ON_DEMAND=1' "$d/scenario.conf" && set -- "$@" "$(basename "$d")"
    done
fi
for s in "$@"; do
    "$DUMPS_DIR/make-dump.sh" "$s"
    # rtnl-stuck is also dumped KASLR-booted (rtnl-stuck-kaslr), for the
    # gdb front end's load-offset tests.
    if [ "$s" = rtnl-stuck ]; then
        NETDBG_KASLR=1 "$DUMPS_DIR/make-dump.sh" "$s"
    fi
done
