#!/bin/sh
# make-dump.sh SCENARIO : make the kernel dumps of one scenario.
#
# Output: $CACHE/dumps/SCENARIO/{vmcore,vmcore.elf,manifest.json,console.log,
#         modules/*.ko,stamp}   (CACHE = ${NETDBG_CACHE:-$HOME/.cache/netdbg})
# Rebuilt only when the scenario's sources or these scripts change (stamp).
# Set NETDBG_FORCE=1 to rebuild anyway.
set -eu
. "$(dirname "$0")/common.sh"

[ $# -eq 1 ] || die "usage: $0 SCENARIO"
SCEN=$1
SDIR="$DUMPS_DIR/scenarios/$SCEN"
[ -f "$SDIR/scenario.conf" ] && [ -f "$SDIR/guest.sh" ] || die "unknown scenario '$SCEN' (no $SDIR/scenario.conf, guest.sh)"
STOCK_MODULES=""; SCENARIO_MODULES=""; QEMU_EXTRA_ARGS=""; QEMU_WRAPPER=""; READY_TIMEOUT=240
. "$SDIR/scenario.conf"

# NETDBG_KASLR=1: boot with KASLR (default: nokaslr); dump into SCENARIO-kaslr.
KASLR_ARG=nokaslr; VARIANT=$SCEN
[ "${NETDBG_KASLR:-0}" = 1 ] && KASLR_ARG=kaslr && VARIANT=$SCEN-kaslr
OUT="$CACHE/dumps/$VARIANT"

# ---- stamp: hash of everything the dump depends on ----------------------
stamp_inputs() {
    echo "kver=$KVER $KASLR_ARG"
    for f in common.sh make-dump.sh guest-init.sh guest-lib.sh qmp-dump.py fetch-kernel.sh; do
        echo "$f $(sha256sum < "$DUMPS_DIR/$f")"
    done
    (cd "$DUMPS_DIR" && find "scenarios/$SCEN" -type f | LC_ALL=C sort | while read -r f; do
        echo "$f $(sha256sum < "$f")"; done)
    for m in $SCENARIO_MODULES; do
        (cd "$DUMPS_DIR" && find "modules/$m" -type f | LC_ALL=C sort | while read -r f; do
            echo "$f $(sha256sum < "$f")"; done)
    done
}
STAMP=$(stamp_inputs | sha256sum | cut -d' ' -f1)
if [ "${NETDBG_FORCE:-0}" != 1 ] && [ -f "$OUT/stamp" ] && [ "$(cat "$OUT/stamp")" = "$STAMP" ] \
   && [ -s "$OUT/vmcore" ] && [ -s "$OUT/vmcore.elf" ] && [ -s "$OUT/manifest.json" ]; then
    log "$SCEN: up to date: $OUT"
    exit 0
fi

T0=$(date +%s)
"$DUMPS_DIR/need-packages.sh" busybox-static qemu-system-x86 cpio kmod gzip make gcc python3
"$DUMPS_DIR/fetch-kernel.sh"

# ---- build the scenario modules out of tree, in the cache ---------------
BUILD="$CACHE/build/$VARIANT"
rm -rf "$BUILD"
mkdir -p "$BUILD/modsrc" "$BUILD/root/lib/modules" "$BUILD/root/lib/netdbg" "$BUILD/root/bin" "$BUILD/root/etc/netdbg"
[ -d "$KBUILD_DIR" ] || KBUILD_DIR="/lib/modules/$KVER/build"
[ -d "$KBUILD_DIR" ] || die "no kernel headers for $KVER (linux-headers-$KVER)"
for m in $SCENARIO_MODULES; do
    [ -d "$DUMPS_DIR/modules/$m" ] || die "no module sources dumps/modules/$m"
    cp -r "$DUMPS_DIR/modules/$m" "$BUILD/modsrc/$m"
    log "$SCEN: building module $m"
    make -s -C "$KBUILD_DIR" M="$BUILD/modsrc/$m" modules >"$BUILD/modsrc/$m.build.log" 2>&1 \
        || { cat "$BUILD/modsrc/$m.build.log" >&2; die "building module $m failed"; }
    [ -f "$BUILD/modsrc/$m/$m.ko" ] || die "module build produced no $m.ko"
    cp "$BUILD/modsrc/$m/$m.ko" "$BUILD/root/lib/modules/"
done

# ---- initramfs ----------------------------------------------------------
: > "$BUILD/root/etc/netdbg/stock-modules"
for km in $STOCK_MODULES; do
    src="$KMODDIR/kernel/$km"
    [ -f "$src" ] || die "stock module $km not found in $KMODDIR/kernel"
    cp "$src" "$BUILD/root/lib/modules/"
    basename "$km" >> "$BUILD/root/etc/netdbg/stock-modules"
done
cp /bin/busybox "$BUILD/root/bin/busybox"
file_is_static=$(od -An -c -N 4 /bin/busybox | tr -d ' ')
[ "$file_is_static" = '177ELF' ] || die "/bin/busybox is not an ELF binary"
cp "$DUMPS_DIR/guest-init.sh" "$BUILD/root/init"
cp "$DUMPS_DIR/guest-lib.sh" "$BUILD/root/lib/netdbg/lib.sh"
cp "$SDIR/guest.sh" "$BUILD/root/scenario.sh"
echo "$SCEN" > "$BUILD/root/etc/netdbg/scenario"
chmod 755 "$BUILD/root/init" "$BUILD/root/bin/busybox"
(cd "$BUILD/root" && find . | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0) | gzip -1 > "$BUILD/initrd.gz"

# ---- boot, wait for READY, dump -----------------------------------------
TMPOUT="$CACHE/dumps/.$VARIANT.tmp"
rm -rf "$TMPOUT"
mkdir -p "$TMPOUT/modules"
RUN=$(mktemp -d /tmp/netdbg-qemu.XXXXXX)   # short path for the QMP socket
CONSOLE="$TMPOUT/console.log"
QPID=""
cleanup() {
    [ -n "$QPID" ] && kill "$QPID" 2>/dev/null || true
    rm -rf "$RUN"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log "$SCEN: booting guest (TCG, console: $CONSOLE)"
# shellcheck disable=SC2086
$QEMU_WRAPPER qemu-system-x86_64 -accel tcg -smp 4 -m 512M -nodefaults -no-reboot \
    -kernel "$KDIR/vmlinuz" -initrd "$BUILD/initrd.gz" \
    -append "console=ttyS0 panic=-1 $KASLR_ARG rdinit=/init loglevel=7" \
    -device vmcoreinfo -display none -monitor none \
    -serial "file:$CONSOLE" -qmp "unix:$RUN/qmp.sock,server=on,wait=off" \
    $QEMU_EXTRA_ARGS </dev/null >"$RUN/qemu.out" 2>&1 &
QPID=$!

console_tail() {
    echo "---- last lines of $CONSOLE ----" >&2
    tail -n 40 "$CONSOLE" >&2 2>/dev/null || true
    echo "---- qemu output ----" >&2
    cat "$RUN/qemu.out" >&2 2>/dev/null || true
}
waited=0
while ! grep -q '^NETDBG-READY' "$CONSOLE" 2>/dev/null; do
    if grep -q '^NETDBG-ERROR' "$CONSOLE" 2>/dev/null; then
        console_tail; die "$SCEN: guest reported an error: $(grep '^NETDBG-ERROR' "$CONSOLE" | head -n 1)"
    fi
    if ! kill -0 "$QPID" 2>/dev/null; then
        console_tail; die "$SCEN: qemu exited before NETDBG-READY"
    fi
    if [ "$waited" -ge "$((READY_TIMEOUT * 2))" ]; then
        console_tail; die "$SCEN: no NETDBG-READY after ${READY_TIMEOUT}s"
    fi
    sleep 0.5
    waited=$((waited + 1))
done
T1=$(date +%s)
log "$SCEN: guest ready after $((T1 - T0))s, dumping"
"$PY3" "$DUMPS_DIR/qmp-dump.py" "$RUN/qmp.sock" "$TMPOUT/vmcore" "$TMPOUT/vmcore.elf"
n=0
while kill -0 "$QPID" 2>/dev/null && [ $n -lt 50 ]; do sleep 0.2; n=$((n + 1)); done
kill "$QPID" 2>/dev/null || true
wait "$QPID" 2>/dev/null || true
QPID=""
[ -s "$TMPOUT/vmcore" ] && [ -s "$TMPOUT/vmcore.elf" ] || die "$SCEN: dump files missing"
chmod 0644 "$TMPOUT/vmcore" "$TMPOUT/vmcore.elf"

# ---- manifest -----------------------------------------------------------
for m in $SCENARIO_MODULES; do cp "$BUILD/root/lib/modules/$m.ko" "$TMPOUT/modules/"; done
for km in $STOCK_MODULES; do cp "$KMODDIR/kernel/$km" "$TMPOUT/modules/"; done
"$PY3" - "$CONSOLE" "$TMPOUT/manifest.json" "$SCEN" "$KVER" <<'PYEOF'
import json, os, sys
console, out, scen, kver = sys.argv[1:]
text = open(console, "rb").read().decode("utf-8", "replace")
lines = [l for l in text.splitlines() if l.startswith("NETDBG-MANIFEST ")]
if len(lines) != 1:
    sys.exit("make-dump: expected one NETDBG-MANIFEST line in %s, found %d" % (console, len(lines)))
m = json.loads(lines[0][len("NETDBG-MANIFEST "):].strip())
if m.get("scenario") != scen:
    sys.exit("make-dump: manifest is for scenario %r, not %r" % (m.get("scenario"), scen))
d = os.path.dirname(out)
m["files"] = {
    "vmcore": "vmcore",
    "vmcore_elf": "vmcore.elf",
    "console": "console.log",
    "modules": {f[:-3]: "modules/" + f for f in sorted(os.listdir(os.path.join(d, "modules")))},
}
m["kernel"] = {"version": kver, "kaslr": os.environ.get("NETDBG_KASLR") == "1"}
with open(out, "w") as f:
    json.dump(m, f, indent=2)
    f.write("\n")
PYEOF
echo "$STAMP" > "$TMPOUT/stamp"
rm -rf "$OUT"
mv "$TMPOUT" "$OUT"
T2=$(date +%s)
log "$SCEN: done in $((T2 - T0))s: $OUT"
ls -la "$OUT" >&2
