#!/bin/sh
# need-packages.sh PKG... : install the Debian packages that are not installed yet.
# Prints nothing and does nothing when every package is already installed.
# Runs `apt-get update` once, only when something has to be installed.
set -eu
missing=""
for p in "$@"; do
    st=$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null || true)
    case "$st" in
        ii*) ;;
        *) missing="$missing $p" ;;
    esac
done
[ -z "$missing" ] && exit 0
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
echo "need-packages: installing:$missing" >&2
export DEBIAN_FRONTEND=noninteractive
# Wait for another apt or dpkg (parallel dump jobs, other users) instead of failing.
$SUDO apt-get -o DPkg::Lock::Timeout=900 update -qq >&2
# shellcheck disable=SC2086
$SUDO apt-get -o DPkg::Lock::Timeout=900 install -y -qq --no-install-recommends $missing >&2
