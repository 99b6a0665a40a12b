#!/bin/sh
# fetch-kernel.sh: make sure $CACHE holds the kernel the dumps are made with:
#   $CACHE/debs/linux-image-$KVER{,-dbg}_*.deb      (apt-get download)
#   $CACHE/kernel/usr/lib/debug/boot/vmlinux-$KVER  (debug vmlinux from -dbg deb)
#   $CACHE/kernel/img/                              (dpkg-deb -x of the image deb)
#   $CACHE/kernel/vmlinux  -> debug vmlinux          (stable paths)
#   $CACHE/kernel/vmlinuz  -> img/boot/vmlinuz-$KVER
#   $CACHE/kernel/modules  -> img/lib/modules/$KVER
# Idempotent; quick (no work) when everything is cached.
set -eu
. "$(dirname "$0")/common.sh"

"$DUMPS_DIR/need-packages.sh" "linux-headers-$KVER"

mkdir -p "$CACHE/debs" "$KDIR"

find_deb() { # $1 = package name; prints path of the cached deb or nothing
    for f in "$CACHE/debs/$1"_*_amd64.deb; do
        [ -f "$f" ] && { echo "$f"; return 0; }
    done
    return 0
}

get_deb() { # $1 = package name
    d=$(find_deb "$1")
    [ -n "$d" ] && return 0
    log "downloading $1"
    tmp=$(mktemp -d "$CACHE/debs/.dl.XXXXXX")
    chmod 777 "$tmp"   # apt's _apt sandbox user must be able to write
    if ! (cd "$tmp" && apt-get download -q "$1" >&2); then
        log "apt-get download failed, running apt-get update and retrying"
        apt-get update -qq >&2
        (cd "$tmp" && apt-get download -q "$1" >&2) || { rm -rf "$tmp"; die "cannot download $1"; }
    fi
    mv "$tmp"/*.deb "$CACHE/debs/"
    rm -rf "$tmp"
}

get_deb "linux-image-$KVER"
get_deb "linux-image-$KVER-dbg"
IMG_DEB=$(find_deb "linux-image-$KVER")
DBG_DEB=$(find_deb "linux-image-$KVER-dbg")

# Debug vmlinux (only ./usr/lib/debug/boot/*, the rest of the -dbg deb is big).
DBG_VMLINUX="$KDIR/usr/lib/debug/boot/vmlinux-$KVER"
if [ ! -f "$KDIR/.dbg-extracted" ] || [ ! -f "$DBG_VMLINUX" ]; then
    log "extracting debug vmlinux from $(basename "$DBG_DEB")"
    rm -f "$KDIR/.dbg-extracted"
    dpkg-deb --fsys-tarfile "$DBG_DEB" | tar -x -C "$KDIR" --wildcards './usr/lib/debug/boot/*'
    [ -f "$DBG_VMLINUX" ] || die "no $DBG_VMLINUX in $DBG_DEB"
    touch "$KDIR/.dbg-extracted"
fi

# Image: vmlinuz and modules.
if [ ! -f "$KDIR/.img-extracted" ] || [ ! -f "$KDIR/img/boot/vmlinuz-$KVER" ]; then
    log "extracting $(basename "$IMG_DEB")"
    rm -rf "$KDIR/img" "$KDIR/.img-extracted"
    mkdir -p "$KDIR/img"
    dpkg-deb -x "$IMG_DEB" "$KDIR/img"
    [ -f "$KDIR/img/boot/vmlinuz-$KVER" ] || die "no vmlinuz in $IMG_DEB"
    touch "$KDIR/.img-extracted"
fi

ln -sfn "usr/lib/debug/boot/vmlinux-$KVER" "$KDIR/vmlinux"
ln -sfn "img/boot/vmlinuz-$KVER" "$KDIR/vmlinuz"
ln -sfn "img/lib/modules/$KVER" "$KDIR/modules"
