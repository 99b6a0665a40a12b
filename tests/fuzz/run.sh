#!/bin/sh
# run.sh BUILD_DIR RUNS TARGET... : runs each libFuzzer target RUNS times on
# its seed corpus (tests/fuzz/corpus/<target>, read only; new inputs go to
# BUILD_DIR/corpus/<target>) and prints the executions per target. Fails on
# the first crash, hang (-timeout), leak, sanitizer report or memory blow-up
# (-rss_limit_mb); the reproducer is left in BUILD_DIR/artifacts/.
set -eu
build=$1 runs=$2
shift 2
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$build/artifacts"
for t in "$@"; do
    mkdir -p "$build/corpus/$t"
    log="$build/$t.log"
    start=$(date +%s)
    if ! "$build/$t" -runs="$runs" -timeout=20 -rss_limit_mb=2048 -max_len=512 -print_final_stats=1 \
        -artifact_prefix="$build/artifacts/$t-" "$build/corpus/$t" "$here/corpus/$t" >"$log" 2>&1; then
        tail -60 "$log" >&2
        echo "fuzz: $t FAILED after $(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo '?') runs; see $log" >&2
        exit 1
    fi
    execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$')
    echo "fuzz: $t: $execs executions in $(( $(date +%s) - start ))s, no crash, hang, leak or sanitizer report"
done
