#!/bin/sh
# make-dump.sh SCENARIO : make the kernel dumps of one scenario.
#
# Output: $DUMPS_OUT/SCENARIO/{vmcore,vmcore.elf,manifest.json,console.log,
#         modules/*.ko,stamp}
# DUMPS_OUT is $CACHE/dumps for the primary build, $CACHE/builds/KVER/dumps
# for the build NETDBG_KVER=KVER (see common.sh, builds.conf); CACHE is
# ${NETDBG_CACHE:-$HOME/.cache/netdbg}.
# Rebuilt only when the scenario's sources or these scripts change (stamp).
# Set NETDBG_FORCE=1 to rebuild anyway.
#
# Variants: SCENARIO-kaslr (or NETDBG_KASLR=1) boots with KASLR;
# SCENARIO-kdump (or NETDBG_KDUMP=1) makes a real kdump instead of dumping
# the stopped guest over QMP: see kdump.sh.
set -eu
. "$(dirname "$0")/common.sh"

[ $# -eq 1 ] || die "usage: $0 SCENARIO"
SCEN=$1
case "$SCEN" in
    *-kaslr) [ -d "$DUMPS_DIR/scenarios/$SCEN" ] || { SCEN=${SCEN%-kaslr}; NETDBG_KASLR=1; } ;;
    *-kdump) [ -d "$DUMPS_DIR/scenarios/$SCEN" ] || { SCEN=${SCEN%-kdump}; NETDBG_KDUMP=1; } ;;
esac
SDIR="$DUMPS_DIR/scenarios/$SCEN"
[ -f "$SDIR/scenario.conf" ] && [ -f "$SDIR/guest.sh" ] || die "unknown scenario '$SCEN' (no $SDIR/scenario.conf, guest.sh)"
STOCK_MODULES=""; SCENARIO_MODULES=""; QEMU_EXTRA_ARGS=""; QEMU_WRAPPER=""; READY_TIMEOUT=240
# KERNEL_ARGS: words the scenario adds to the guest kernel command line.
KERNEL_ARGS=""
# KDUMP_TRIGGER: how the SCENARIO-kdump guest panics (kdump.sh): sysrq or hung.
KDUMP_TRIGGER=sysrq
. "$SDIR/scenario.conf"
# READY_TIMEOUT is wall-clock time: a loaded host slows the TCG guest down.
READY_TIMEOUT=$((READY_TIMEOUT * ${NETDBG_TIMEOUT_FACTOR:-2}))

# NETDBG_KASLR=1: boot with KASLR (default: nokaslr); dump into SCENARIO-kaslr.
# NETDBG_KDUMP=1: a real kdump (kdump.sh); dump into SCENARIO-kdump.
KASLR_ARG=nokaslr; VARIANT=$SCEN; KDUMP=0
[ "${NETDBG_KASLR:-0}" = 1 ] && KASLR_ARG=kaslr && VARIANT=$SCEN-kaslr
if [ "${NETDBG_KDUMP:-0}" = 1 ]; then
    KDUMP=1
    VARIANT=$VARIANT-kdump
fi
OUT="$DUMPS_OUT/$VARIANT"

# ---- stamp: hash of everything the dump depends on ----------------------
stamp_inputs() {
    echo "kver=$KVER $KASLR_ARG"
    for f in common.sh make-dump.sh guest-init.sh guest-lib.sh qmp-dump.py fetch-kernel.sh; do
        echo "$f $(sha256sum < "$DUMPS_DIR/$f")"
    done
    if [ "$KDUMP" = 1 ]; then
        echo "kdump $KDUMP_TRIGGER"
        for f in kdump.sh kdump-init.sh; do echo "$f $(sha256sum < "$DUMPS_DIR/$f")"; done
    fi
    # A scenario's README.md documents the dump; editing it changes nothing in it.
    (cd "$DUMPS_DIR" && find "scenarios/$SCEN" -type f ! -name '*.md' | LC_ALL=C sort | while read -r f; do
        echo "$f $(sha256sum < "$f")"; done)
    for m in include $SCENARIO_MODULES; do
        (cd "$DUMPS_DIR" && find "modules/$m" -type f ! -name '*.md' | LC_ALL=C sort | while read -r f; do
            echo "$f $(sha256sum < "$f")"; done)
    done
}
STAMP=$(stamp_inputs | sha256sum | cut -d' ' -f1)
ELF_NAME=vmcore.elf
[ "$KDUMP" = 1 ] && ELF_NAME=vmcore-kdump.elf
if [ "${NETDBG_FORCE:-0}" != 1 ] && [ -f "$OUT/stamp" ] && [ "$(cat "$OUT/stamp")" = "$STAMP" ] \
   && [ -s "$OUT/vmcore" ] && [ -s "$OUT/$ELF_NAME" ] && [ -s "$OUT/manifest.json" ]; then
    log "$VARIANT: up to date: $OUT"
    exit 0
fi

T0=$(date +%s)
"$DUMPS_DIR/need-packages.sh" busybox-static qemu-system-x86 cpio kmod gzip xz-utils make gcc python3
[ "$KDUMP" = 1 ] && "$DUMPS_DIR/need-packages.sh" kexec-tools makedumpfile
"$DUMPS_DIR/fetch-kernel.sh"
mkdir -p "$DUMPS_OUT"
need_space "$DUMPS_OUT" 2000 "the $VARIANT dump of $KVER"

# stock_module KM DEST: copy lib/modules/$KVER/kernel/KM (drivers/net/dummy.ko)
# to DEST, uncompressed (6.12's modules are .ko.xz; busybox insmod wants .ko).
stock_module() {
    if [ -f "$KMODDIR/kernel/$1" ]; then
        cp "$KMODDIR/kernel/$1" "$2"
    elif [ -f "$KMODDIR/kernel/$1.xz" ]; then
        xz -dc "$KMODDIR/kernel/$1.xz" > "$2/$(basename "$1")"
    else
        die "stock module $1 not found in $KMODDIR/kernel"
    fi
}

# ---- build the scenario modules out of tree, in the cache ---------------
BUILD="$SCRATCH/$VARIANT"
rm -rf "$BUILD"
mkdir -p "$BUILD/modsrc" "$BUILD/root/lib/modules" "$BUILD/root/lib/netdbg" "$BUILD/root/bin" "$BUILD/root/etc/netdbg"
[ -d "$KBUILD_DIR" ] || KBUILD_DIR="/lib/modules/$KVER/build"
[ -d "$KBUILD_DIR" ] || die "no kernel headers for $KVER (linux-headers-$KVER)"
for m in $SCENARIO_MODULES; do
    [ -d "$DUMPS_DIR/modules/$m" ] || die "no module sources dumps/modules/$m"
    cp -r "$DUMPS_DIR/modules/$m" "$BUILD/modsrc/$m"
    cp "$DUMPS_DIR"/modules/include/*.h "$BUILD/modsrc/$m/"
    log "$SCEN: building module $m"
    make -s -C "$KBUILD_DIR" M="$BUILD/modsrc/$m" modules >"$BUILD/modsrc/$m.build.log" 2>&1 \
        || { cat "$BUILD/modsrc/$m.build.log" >&2; die "building module $m failed"; }
    [ -f "$BUILD/modsrc/$m/$m.ko" ] || die "module build produced no $m.ko"
    cp "$BUILD/modsrc/$m/$m.ko" "$BUILD/root/lib/modules/"
done

# ---- initramfs ----------------------------------------------------------
: > "$BUILD/root/etc/netdbg/stock-modules"
for km in $STOCK_MODULES; do
    stock_module "$km" "$BUILD/root/lib/modules/"
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
# kdump: kexec, the crash kernel and its initramfs, and the trigger (kdump.sh).
[ "$KDUMP" = 1 ] && . "$DUMPS_DIR/kdump.sh" && kdump_prepare_root
(cd "$BUILD/root" && find . | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0) | gzip -1 > "$BUILD/initrd.gz"

# ---- boot, wait for READY, dump -----------------------------------------
TMPOUT="$DUMPS_OUT/.$VARIANT.tmp"
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

KDUMP_APPEND=""; KDUMP_QEMU_ARGS=""
if [ "$KDUMP" = 1 ]; then
    KDUMP_APPEND="crashkernel=$KDUMP_RESERVE"
    KDUMP_QEMU_ARGS=$(kdump_qemu_args)
fi
log "$VARIANT: booting guest ($KVER, TCG, console: $CONSOLE)"
# shellcheck disable=SC2086
$QEMU_WRAPPER qemu-system-x86_64 -accel tcg -smp 4 -m 512M -nodefaults -no-reboot \
    -kernel "$KDIR/vmlinuz" -initrd "$BUILD/initrd.gz" \
    -append "console=ttyS0 panic=-1 $KASLR_ARG rdinit=/init loglevel=7 no_timer_check $KDUMP_APPEND $KERNEL_ARGS" \
    -device vmcoreinfo -display none -monitor none \
    -serial "file:$CONSOLE" -qmp "unix:$RUN/qmp.sock,server=on,wait=off" \
    $QEMU_EXTRA_ARGS $KDUMP_QEMU_ARGS </dev/null >"$RUN/qemu.out" 2>&1 &
QPID=$!

console_tail() {
    echo "---- last lines of $CONSOLE ----" >&2
    tail -n 40 "$CONSOLE" >&2 2>/dev/null || true
    echo "---- qemu output ----" >&2
    cat "$RUN/qemu.out" >&2 2>/dev/null || true
}
waited=0
# Unanchored: on a loaded host the kernel's console messages can land on
# the same line, before the guest's words (grep -a: the console may hold NULs).
ready() { grep -aq 'NETDBG-READY' "$CONSOLE" 2>/dev/null; }
while ! ready; do
    if grep -aq 'NETDBG-ERROR' "$CONSOLE" 2>/dev/null; then
        console_tail; die "$SCEN: guest reported an error: $(grep -a 'NETDBG-ERROR' "$CONSOLE" | head -n 1)"
    fi
    if ! kill -0 "$QPID" 2>/dev/null; then
        # A kdump guest may have said READY, panicked and saved its dump
        # between two looks.
        ready && break
        console_tail; die "$VARIANT: qemu exited before NETDBG-READY"
    fi
    if [ "$waited" -ge "$((READY_TIMEOUT * 2))" ]; then
        console_tail; die "$SCEN: no NETDBG-READY after ${READY_TIMEOUT}s"
    fi
    sleep 0.5
    waited=$((waited + 1))
done
T1=$(date +%s)
if [ "$KDUMP" = 1 ]; then
    kdump_collect
else
    log "$VARIANT: guest ready after $((T1 - T0))s, dumping"
    "$PY3" "$DUMPS_DIR/qmp-dump.py" "$RUN/qmp.sock" "$TMPOUT/vmcore" "$TMPOUT/vmcore.elf"
    n=0
    while kill -0 "$QPID" 2>/dev/null && [ $n -lt 50 ]; do sleep 0.2; n=$((n + 1)); done
    kill "$QPID" 2>/dev/null || true
    wait "$QPID" 2>/dev/null || true
    QPID=""
    [ -s "$TMPOUT/vmcore" ] && [ -s "$TMPOUT/vmcore.elf" ] || die "$SCEN: dump files missing"
    chmod 0644 "$TMPOUT/vmcore" "$TMPOUT/vmcore.elf"
fi

# ---- manifest -----------------------------------------------------------
for m in $SCENARIO_MODULES; do cp "$BUILD/root/lib/modules/$m.ko" "$TMPOUT/modules/"; done
for km in $STOCK_MODULES; do stock_module "$km" "$TMPOUT/modules/"; done
KDUMP_TRIGGER=$KDUMP_TRIGGER "$PY3" - "$CONSOLE" "$TMPOUT/manifest.json" "$SCEN" "$KVER" "$KASLR_ARG" "$KDUMP" <<'PYEOF'
import json, os, sys
console, out, scen, kver, kaslr, kdump = sys.argv[1:]
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
m["kernel"] = {"version": kver, "kaslr": kaslr == "kaslr"}
if kdump == "1":
    # A real kdump (kdump.sh): no QEMU ELF with virtual addresses; the ELF
    # makedumpfile wrote (physical addresses, -d 31) is for drgn.
    del m["files"]["vmcore_elf"]
    m["files"]["vmcore_kdump_elf"] = "vmcore-kdump.elf"
    m["kdump"] = {"dump_level": 31, "trigger": os.environ["KDUMP_TRIGGER"],
                  "panic": [l.strip() for l in text.splitlines() if "Kernel panic - not syncing" in l][:1]}
with open(out, "w") as f:
    json.dump(m, f, indent=2)
    f.write("\n")
PYEOF
echo "$STAMP" > "$TMPOUT/stamp"
rm -rf "$OUT"
mv "$TMPOUT" "$OUT"
T2=$(date +%s)
log "$VARIANT: done in $((T2 - T0))s: $OUT"
ls -la "$OUT" >&2
