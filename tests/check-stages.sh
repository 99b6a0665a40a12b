#!/usr/bin/env bash
# check-stages.sh STAGE... : `make check`'s stages in order (each a make
# target), stopping at the first that fails, then the time each took, so a
# slow CI run says where its minutes went.
set -uo pipefail
MAKE=${MAKE:-make}
names=() times=() results=()
t_all=$(date +%s)
status=0
for stage in "$@"; do
    echo "==== make $stage" >&2
    t0=$(date +%s)
    $MAKE --no-print-directory "$stage"
    rc=$?
    names+=("$stage") times+=($(( $(date +%s) - t0 )))
    if [ $rc -ne 0 ]; then results+=("FAILED ($rc)"); status=$rc; break; fi
    results+=(ok)
done
echo
echo "STAGE         TIME     RESULT"
for i in "${!names[@]}"; do
    printf '%-12s  %3dm%02ds  %s\n' "${names[$i]}" $((times[i] / 60)) $((times[i] % 60)) "${results[$i]}"
done
total=$(( $(date +%s) - t_all ))
printf '%-12s  %3dm%02ds  %s\n' total $((total / 60)) $((total % 60)) "$([ $status -eq 0 ] && echo ok || echo FAILED)"
exit $status
