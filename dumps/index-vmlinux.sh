#!/bin/sh
# index-vmlinux.sh : gives the build's debug vmlinux (NETDBG_KVER, default
# the primary build) a .gdb_index section, once. gdb, and the gdb inside
# crash, then read the DWARF of a compile unit only when a lookup needs it:
# crash opens a 6.1 dump in 6 s instead of 15, a 6.12 dump in 14 s instead
# of 23, gdb loads the vmlinux in 1 s instead of 20. Nothing else in the
# file changes (gdb-add-index adds the section with objcopy), and no dump
# depends on it. The index is made on a copy that then replaces the file,
# so a crash or gdb reading it meanwhile keeps the file it opened.
set -eu
DUMPS_DIR="$(cd "$(dirname "$0")" && pwd)"
. "$DUMPS_DIR/common.sh"

VMLINUX="$KDIR/vmlinux"
[ -e "$VMLINUX" ] || die "no $VMLINUX: fetch the kernel first (NETDBG_KVER=$KVER dumps/fetch-kernel.sh)"
REAL=$(readlink -f "$VMLINUX")
has_index() { readelf -S -W "$1" 2>/dev/null | grep -q ' \.gdb_index '; }
# An older cache kept an indexed copy in kernel/gdb/: no longer read.
rm -rf "$KDIR/gdb"
has_index "$REAL" && exit 0
exec 9>"$KDIR/.index.lock"
flock 9
has_index "$REAL" && exit 0
"$DUMPS_DIR/need-packages.sh" gdb binutils
need_space "$KDIR" 1000 "indexing the debug vmlinux of $KVER"
T0=$(date +%s)
TMP="$REAL.index-tmp"
rm -f "$TMP"
cp "$REAL" "$TMP"
if ! gdb-add-index "$TMP" >&2; then
    rm -f "$TMP" "$TMP.gdb-index"
    die "gdb-add-index failed on the debug vmlinux of $KVER"
fi
mv -f "$TMP" "$REAL"
log "$KVER: vmlinux indexed for gdb in $(( $(date +%s) - T0 ))s"
