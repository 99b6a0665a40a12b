#!/usr/bin/env bash
# run-matrix.sh BUILD_DIR : the test matrix beyond the primary build's own
# dumps (dumps/builds.conf): for every other kernel build, its dumps are made
# (NETDBG_KVER=KVER dumps/make-dumps.sh) and the integration tests of those
# scenarios run on them (tests/integration/scenarios/test_SCENARIO.py, with the crash
# version builds.conf names), and gdb's tests on those dumps and on a live
# guest of the build (test_gdb_dumps.py, test_gdb_live.py); the primary
# build's real kdumps (SCENARIO-kdump) run the same tests with
# NETDBG_DUMP_VARIANT=kdump. The answers are checked against each dump's own
# manifest and drgn, never against another build.
set -uo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BUILD=${1:?usage: $0 BUILD_DIR}
PY3=/usr/bin/python3
CONF="$ROOT/dumps/builds.conf"
status=0
summary=()

# run_tests LABEL ENV... -- SCENARIO|FILE.py...: pytest on the scenarios'
# test files (and on the test files named).
run_tests() {
    local label=$1; shift
    local envs=()
    while [ "$1" != -- ]; do envs+=("$1"); shift; done
    shift
    local files=()
    for s in "$@"; do
        case "$s" in *.py) f=$s ;; *) f="scenarios/test_${s//-/_}.py" ;; esac
        [ -f "$ROOT/tests/integration/$f" ] && files+=("$f")
    done
    [ ${#files[@]} -gt 0 ] || return 0
    echo "==== matrix: $label: ${files[*]}" >&2
    if (cd "$ROOT/tests/integration" && env "${envs[@]}" NETDBG_BUILD="$BUILD" $PY3 -m pytest -q -n "${JOBS:-2}" --dist loadfile "${files[@]}"); then
        summary+=("$label: ok")
    else
        summary+=("$label: FAILED")
        status=1
    fi
}

primary=$(awk '!/^#/ && NF { print $1; exit }' "$CONF")
# Every build's dumps first (make-dumps.sh --matrix, NETDBG_DUMP_JOBS at a time);
# a build whose dumps failed is reported below and its tests still run on
# what exists.
"$ROOT/dumps/make-dumps.sh" --matrix || { summary+=("dumps: FAILED"); status=1; }
while read -r kver crash dumps; do
    if [ "$kver" = "$primary" ]; then
        kd=()
        for d in $dumps; do case "$d" in *-kdump) kd+=("${d%-kdump}") ;; esac; done
        [ ${#kd[@]} -gt 0 ] && run_tests "$kver kdump" NETDBG_DUMP_VARIANT=kdump -- "${kd[@]}"
        continue
    fi
    # gdb too: on every dump of the build, and on a live guest of it.
    # shellcheck disable=SC2086
    run_tests "$kver (crash $crash, gdb)" NETDBG_KVER="$kver" -- $dumps test_gdb_dumps.py test_gdb_live.py
done < <(awk '!/^#/ && NF' "$CONF")
# crash 8.0.6 on a 6.1 dump: taskfix finds nothing to repair there.
run_tests "crash 8.0.6 on 6.1" -- test_crash_versions.py

echo
printf '%s\n' "${summary[@]}"
exit $status
