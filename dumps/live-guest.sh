#!/bin/sh
# live-guest.sh start SCENARIO STATE_DIR : boot a scenario's guest with a
#     gdbstub, wait for NETDBG-READY, stop its vCPUs and leave QEMU running
#     in the background, for gdb: `target remote 127.0.0.1:$GDB_PORT`.
#     Writes STATE_DIR/env (GDB_PORT, QEMU_PID, QMP, CONSOLE, MANIFEST,
#     KASLR), console.log and manifest.json (the guest's own manifest).
# live-guest.sh stop STATE_DIR : quit that QEMU.
#
# The initramfs is the one make-dump.sh built for the scenario (made first
# when missing). NETDBG_KASLR=1 boots without nokaslr. NETDBG_KVER boots
# another kernel build of builds.conf (default: the primary build). QEMU runs
# under flock $CACHE/qemu.lock, held for its whole life: one live QEMU at a time.
set -eu
. "$(dirname "$0")/common.sh"

usage() { die "usage: $0 start SCENARIO STATE_DIR | stop STATE_DIR"; }
[ $# -ge 1 ] || usage

qmp() {  # qmp SOCKET COMMAND: one QMP command, with qmp-dump.py's client
    "$PY3" - "$DUMPS_DIR/qmp-dump.py" "$1" "$2" <<'PYEOF'
import importlib.util, sys
spec = importlib.util.spec_from_file_location("qmp_dump", sys.argv[1])
mod = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mod)
q = mod.QMP(sys.argv[2], timeout=60)
try:
    q.cmd(sys.argv[3])
except (RuntimeError, OSError):
    if sys.argv[3] != "quit":  # QEMU may close the socket before answering
        raise
PYEOF
}

case "$1" in
stop)
    [ $# -eq 2 ] || usage
    STATE=$2
    [ -f "$STATE/env" ] || exit 0
    . "$STATE/env"
    qmp "$QMP" quit 2>/dev/null || true
    n=0
    while kill -0 "$QEMU_PID" 2>/dev/null && [ $n -lt 50 ]; do sleep 0.2; n=$((n + 1)); done
    kill "$QEMU_PID" 2>/dev/null || true
    rm -rf "$RUN_DIR"
    rm -f "$STATE/env"
    exit 0
    ;;
start) [ $# -eq 3 ] || usage ;;
*) usage ;;
esac

SCEN=$2
STATE=$3
SDIR="$DUMPS_DIR/scenarios/$SCEN"
[ -f "$SDIR/scenario.conf" ] || die "unknown scenario '$SCEN'"
QEMU_EXTRA_ARGS=""; QEMU_WRAPPER=""; READY_TIMEOUT=240
. "$SDIR/scenario.conf"
KASLR_ARG=nokaslr; VARIANT=$SCEN
[ "${NETDBG_KASLR:-0}" = 1 ] && KASLR_ARG=kaslr && VARIANT=$SCEN-kaslr

mkdir -p "$STATE"
STATE=$(cd "$STATE" && pwd)
LOCK="$CACHE/qemu.lock"
mkdir -p "$CACHE"
exec 9>"$LOCK"
log "$SCEN: waiting for $LOCK"
flock -w 3600 9 || die "$SCEN: $LOCK is busy"

INITRD="$SCRATCH/$VARIANT/initrd.gz"
if [ ! -s "$INITRD" ]; then
    log "$SCEN: no $INITRD yet: making the $VARIANT dump first"
    NETDBG_FORCE=1 "$DUMPS_DIR/make-dump.sh" "$SCEN" 9>&-
fi
[ -s "$INITRD" ] || die "$SCEN: no initramfs at $INITRD"

PORT=$("$PY3" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
RUN=$(mktemp -d /tmp/netdbg-live.XXXXXX)  # short path for the QMP socket
CONSOLE="$STATE/console.log"
rm -f "$CONSOLE" "$STATE/manifest.json" "$STATE/env"
log "$SCEN: booting a live guest ($KASLR_ARG, gdbstub 127.0.0.1:$PORT, console: $CONSOLE)"
# QEMU inherits fd 9 and so holds the lock until it exits.
# shellcheck disable=SC2086
$QEMU_WRAPPER qemu-system-x86_64 -accel tcg -smp 4 -m 512M -nodefaults -no-reboot \
    -kernel "$KDIR/vmlinuz" -initrd "$INITRD" \
    -append "console=ttyS0 panic=-1 $KASLR_ARG rdinit=/init loglevel=7 no_timer_check" \
    -device vmcoreinfo -display none -monitor none \
    -serial "file:$CONSOLE" -qmp "unix:$RUN/qmp.sock,server=on,wait=off" \
    -gdb "tcp:127.0.0.1:$PORT" \
    $QEMU_EXTRA_ARGS </dev/null >"$RUN/qemu.out" 2>&1 &
QPID=$!
exec 9>&-

waited=0
while ! grep -aq 'NETDBG-READY' "$CONSOLE" 2>/dev/null; do
    if grep -aq 'NETDBG-ERROR' "$CONSOLE" 2>/dev/null || ! kill -0 "$QPID" 2>/dev/null \
       || [ "$waited" -ge "$((READY_TIMEOUT * 2))" ]; then
        tail -n 30 "$CONSOLE" >&2 2>/dev/null || true
        cat "$RUN/qemu.out" >&2 2>/dev/null || true
        kill "$QPID" 2>/dev/null || true
        rm -rf "$RUN"
        die "$SCEN: the live guest did not get to NETDBG-READY"
    fi
    sleep 0.5
    waited=$((waited + 1))
done
qmp "$RUN/qmp.sock" stop
"$PY3" - "$CONSOLE" "$STATE/manifest.json" <<'PYEOF'
import json, sys
text = open(sys.argv[1], "rb").read().decode("utf-8", "replace")
lines = [l for l in text.splitlines() if l.startswith("NETDBG-MANIFEST ")]
if len(lines) != 1:
    sys.exit("live-guest: expected one NETDBG-MANIFEST line, found %d" % len(lines))
with open(sys.argv[2], "w") as f:
    json.dump(json.loads(lines[0][len("NETDBG-MANIFEST "):]), f, indent=2)
PYEOF
cat > "$STATE/env" <<EOF
GDB_PORT=$PORT
QEMU_PID=$QPID
QMP=$RUN/qmp.sock
RUN_DIR=$RUN
CONSOLE=$CONSOLE
MANIFEST=$STATE/manifest.json
KASLR=$KASLR_ARG
EOF
log "$SCEN: live guest ready and stopped: gdb -ex 'target remote 127.0.0.1:$PORT' $KDIR/vmlinux"
cat "$STATE/env"
