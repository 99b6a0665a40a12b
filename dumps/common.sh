# Sourced by the dumps/ scripts: shared settings.
# The kernel build the dumps are made with: NETDBG_KVER, one of the builds
# of builds.conf; by default the primary build, its first line (the Debian
# bookworm cloud kernel 6.1.0-56-cloud-amd64).
DUMPS_DIR="$(cd "$(dirname "$0")" && pwd)"
BUILDS_CONF="$DUMPS_DIR/builds.conf"
PRIMARY_KVER=$(awk '!/^#/ && NF { print $1; exit }' "$BUILDS_CONF")
KVER="${NETDBG_KVER:-$PRIMARY_KVER}"
CACHE="${NETDBG_CACHE:-$HOME/.cache/netdbg}"
PY3=/usr/bin/python3
# The primary build keeps the cache layout it always had ($CACHE/kernel,
# $CACHE/build, $CACHE/dumps); every other build has the same three under
# $CACHE/builds/KVER/.
if [ "$KVER" = "$PRIMARY_KVER" ]; then BCACHE="$CACHE"; else BCACHE="$CACHE/builds/$KVER"; fi
KDIR="$BCACHE/kernel"
DUMPS_OUT="$BCACHE/dumps"
SCRATCH="$BCACHE/build"
KMODDIR="$KDIR/img/lib/modules/$KVER"
# Kernel headers used for out-of-tree scenario modules: the installed
# linux-headers-$KVER for the primary build, the ones fetch-kernel.sh
# extracted into the cache for the others.
if [ "$KVER" = "$PRIMARY_KVER" ]; then
    KBUILD_DIR="${NETDBG_KBUILD_DIR:-/usr/src/linux-headers-$KVER}"
else
    KBUILD_DIR="${NETDBG_KBUILD_DIR:-$KDIR/headers/usr/src/linux-headers-$KVER}"
fi

log() { echo "netdbg-dumps: $*" >&2; }
die() { echo "netdbg-dumps: ERROR: $*" >&2; exit 1; }

# need_space DIR MB WHAT: stop with a clear message when the file system of
# DIR has less than MB megabytes free (downloads, extractions and dumps are big).
need_space() {
    _avail=$(df -Pm "$1" 2>/dev/null | awk 'NR == 2 { print $4 }')
    [ -z "$_avail" ] || [ "$_avail" -ge "$2" ] || \
        die "not enough disk space for $3: $_avail MB free in $1 ($(df -P "$1" | awk 'NR == 2 { print $6 }')), $2 MB needed; free some space or point NETDBG_CACHE elsewhere"
}

# build_crash_version [KVER]: the crash version builds.conf gives the build
# (8.0.2 when the build is not listed).
build_crash_version() {
    awk -v k="${1:-$KVER}" '!/^#/ && $1 == k { print $2; f = 1; exit } END { if (!f) print "8.0.2" }' "$BUILDS_CONF"
}

# crash_binary VERSION: the crash executable of that version: the crash on
# PATH when it is that version, else the one build-crash.sh put in the cache.
crash_binary() {
    if command -v crash >/dev/null 2>&1 && crash --version 2>/dev/null | grep -q "^crash $1\$"; then
        command -v crash
    else
        echo "$CACHE/crash-$1/crash"
    fi
}
