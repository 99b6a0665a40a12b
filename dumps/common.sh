# Sourced by the dumps/ scripts: shared settings.
# Kernel that every dump is made with (Debian bookworm cloud kernel).
KVER="${NETDBG_KVER:-6.1.0-56-cloud-amd64}"
CACHE="${NETDBG_CACHE:-$HOME/.cache/netdbg}"
DUMPS_DIR="$(cd "$(dirname "$0")" && pwd)"
PY3=/usr/bin/python3
KDIR="$CACHE/kernel"
KMODDIR="$KDIR/img/lib/modules/$KVER"
# Kernel headers used for out-of-tree scenario modules.
KBUILD_DIR="${NETDBG_KBUILD_DIR:-/usr/src/linux-headers-$KVER}"

log() { echo "netdbg-dumps: $*" >&2; }
die() { echo "netdbg-dumps: ERROR: $*" >&2; exit 1; }
