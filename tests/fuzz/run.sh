#!/bin/sh
# run.sh BUILD_DIR RUNS TARGET... : runs each libFuzzer target RUNS times on
# its seed corpus (tests/fuzz/corpus/<target>, read only; new inputs go to
# BUILD_DIR/corpus/<target>) and prints the executions per target, FUZZ_JOBS
# targets at a time (default: the number of CPUs). Fails on the first crash,
# hang (-timeout), leak, sanitizer report or memory blow-up (-rss_limit_mb);
# the reproducer is left in BUILD_DIR/artifacts/.
set -eu
if [ "${1:-}" = --one ]; then
    build=$2 runs=$3 t=$4
    here=$(cd "$(dirname "$0")" && pwd)
    mkdir -p "$build/corpus/$t"
    log="$build/$t.log"
    start=$(date +%s)
    if ! "$build/$t" -runs="$runs" -timeout=20 -rss_limit_mb=2048 -max_len=512 -print_final_stats=1 \
        -artifact_prefix="$build/artifacts/$t-" "$build/corpus/$t" "$here/corpus/$t" >"$log" 2>&1; then
        tail -60 "$log" >&2
        echo "fuzz: $t FAILED after $(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo '?') runs; see $log" >&2
        exit 255  # stops xargs
    fi
    execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$')
    secs=$(( $(date +%s) - start ))
    echo "fuzz: $t: $execs executions in ${secs}s ($(( execs / (secs > 0 ? secs : 1) ))/s), no crash, hang, leak or sanitizer report"
    exit 0
fi
build=$1 runs=$2
shift 2
mkdir -p "$build/artifacts"
printf '%s\n' "$@" | xargs -P "${FUZZ_JOBS:-$(nproc)}" -I{} "$0" --one "$build" "$runs" {}
