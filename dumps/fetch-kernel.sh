#!/bin/sh
# fetch-kernel.sh: make sure the cache holds the kernel of the build
# ($KVER, see common.sh and builds.conf), in $KDIR ($CACHE/kernel for the
# primary build, $CACHE/builds/$KVER/kernel for the others):
#   $KDIR/usr/lib/debug/boot/vmlinux-$KVER  (debug vmlinux from the -dbg deb)
#   $KDIR/img/                              (dpkg-deb -x of the image deb)
#   $KDIR/vmlinux  -> debug vmlinux         (stable paths)
#   $KDIR/vmlinuz  -> img/boot/vmlinuz-$KVER
#   $KDIR/modules  -> img/lib/modules/$KVER
# and that linux-headers-$KVER is installed (the scenario modules are built
# against it). The debs are downloaded (apt-get download) only when
# something has to be extracted, and deleted once extracted: the -dbg debs
# are 280-860 MB. Only the debug vmlinux and System.map are taken from the
# -dbg deb, and tar stops reading there (they come before the modules'
# debug files, most of the deb).
# Idempotent; quick (no work) when everything is cached.
set -eu
. "$(dirname "$0")/common.sh"

mkdir -p "$KDIR"
# One fetch per build at a time (make-dumps.sh --matrix runs dumps in parallel).
exec 8>"$BCACHE/.fetch.lock"
flock 8
DEBS="$BCACHE/.debs"

get_deb() { # $1 = package name; prints the path of the downloaded deb
    mkdir -p "$DEBS"
    for f in "$DEBS/$1"_*.deb "$CACHE/debs/$1"_*.deb; do
        [ -f "$f" ] && { echo "$f"; return 0; }
    done
    log "downloading $1"
    tmp=$(mktemp -d "$DEBS/.dl.XXXXXX")
    chmod 777 "$tmp"   # apt's _apt sandbox user must be able to write
    # As root, apt's _apt sandbox user cannot enter a cache under /root.
    sandbox=""
    [ "$(id -u)" -eq 0 ] && sandbox="-o APT::Sandbox::User=root"
    # shellcheck disable=SC2086
    if ! (cd "$tmp" && apt-get download $sandbox -q "$1" >&2); then
        log "apt-get download failed, running apt-get update and retrying"
        apt-get update -qq >&2
        # shellcheck disable=SC2086
        (cd "$tmp" && apt-get download $sandbox -q "$1" >&2) || { rm -rf "$tmp"; need_space "$DEBS" 1000 "downloading $1"; die "cannot download $1"; }
    fi
    mv "$tmp"/*.deb "$DEBS/"
    rm -rf "$tmp"
    for f in "$DEBS/$1"_*.deb; do
        [ -f "$f" ] && { echo "$f"; return 0; }
    done
    die "apt-get download $1 left no deb"
}

drop_deb() { # $1 = deb: extracted, no longer needed
    rm -f "$1"
    rmdir "$(dirname "$1")" 2>/dev/null || true
}

# Debug vmlinux (only ./usr/lib/debug/boot/*, the rest of the -dbg deb is big).
DBG_VMLINUX="$KDIR/usr/lib/debug/boot/vmlinux-$KVER"
if [ ! -f "$KDIR/.dbg-extracted" ] || [ ! -f "$DBG_VMLINUX" ]; then
    need_space "$KDIR" 2500 "the debug kernel of $KVER"
    DBG_DEB=$(get_deb "linux-image-$KVER-dbg")
    log "extracting debug vmlinux from $(basename "$DBG_DEB")"
    rm -f "$KDIR/.dbg-extracted"
    # --occurrence: tar stops after the two members instead of reading the
    # modules' debug files; dpkg-deb then dies of SIGPIPE, which is expected.
    { dpkg-deb --fsys-tarfile "$DBG_DEB" 2>/dev/null || true; } |
        tar -x -C "$KDIR" --occurrence "./usr/lib/debug/boot/vmlinux-$KVER" "./usr/lib/debug/boot/System.map-$KVER" \
        || { need_space "$KDIR" 1000 "the debug vmlinux of $KVER"; die "cannot extract the debug vmlinux from $DBG_DEB"; }
    [ -f "$DBG_VMLINUX" ] || die "no $DBG_VMLINUX in $DBG_DEB"
    touch "$KDIR/.dbg-extracted"
    drop_deb "$DBG_DEB"
fi

# Image: vmlinuz and modules.
if [ ! -f "$KDIR/.img-extracted" ] || [ ! -f "$KDIR/img/boot/vmlinuz-$KVER" ]; then
    need_space "$KDIR" 800 "the kernel image of $KVER"
    IMG_DEB=$(get_deb "linux-image-$KVER")
    log "extracting $(basename "$IMG_DEB")"
    rm -rf "$KDIR/img" "$KDIR/.img-extracted"
    mkdir -p "$KDIR/img"
    dpkg-deb -x "$IMG_DEB" "$KDIR/img" || { need_space "$KDIR" 500 "the kernel image of $KVER"; die "cannot extract $IMG_DEB"; }
    [ -f "$KDIR/img/boot/vmlinuz-$KVER" ] || die "no vmlinuz in $IMG_DEB"
    touch "$KDIR/.img-extracted"
    drop_deb "$IMG_DEB"
fi

# Headers for the scenario modules. The primary build's are installed
# (linux-headers-$KVER); every other build's are extracted into
# $KDIR/headers, with their -common and linux-kbuild packages: installing
# them would also install their kernel (6.12's headers depend on the image)
# and an initramfs generator.
if [ "$KBUILD_DIR" = "/usr/src/linux-headers-$KVER" ]; then
    "$DUMPS_DIR/need-packages.sh" "linux-headers-$KVER"
elif [ ! -f "$KDIR/.headers-extracted" ] || [ ! -f "$KBUILD_DIR/Makefile" ]; then
    need_space "$KDIR" 500 "the kernel headers of $KVER"
    pkgs="linux-headers-$KVER $(apt-cache depends "linux-headers-$KVER" | awk '$1 == "Depends:" && $2 ~ /^linux-(headers|kbuild)-/ { print $2 }')"
    log "extracting the headers of $KVER:$(echo " $pkgs" | tr '\n' ' ')"
    rm -rf "$KDIR/headers" "$KDIR/.headers-extracted"
    mkdir -p "$KDIR/headers"
    others=""
    for p in $pkgs; do
        deb=$(get_deb "$p")
        dpkg-deb -x "$deb" "$KDIR/headers" || { need_space "$KDIR" 300 "the headers of $KVER"; die "cannot extract $deb"; }
        drop_deb "$deb"
        others="$others $(apt-cache depends "$p" | awk '$1 == "Depends:" && $2 !~ /^(linux-|<)/ { print $2 }')"
    done
    [ -f "$KBUILD_DIR/Makefile" ] || die "no $KBUILD_DIR/Makefile in the headers of $KVER"
    # Its Makefile includes the -common tree's by absolute path.
    sed -i "s|^include /usr/src/|include $KDIR/headers/usr/src/|" "$KBUILD_DIR/Makefile"
    echo "$others" > "$KDIR/headers/.depends"
    touch "$KDIR/.headers-extracted"
fi
if [ -f "$KDIR/headers/.depends" ]; then
    # shellcheck disable=SC2046
    "$DUMPS_DIR/need-packages.sh" gcc-12 make $(cat "$KDIR/headers/.depends")
fi

ln -sfn "usr/lib/debug/boot/vmlinux-$KVER" "$KDIR/vmlinux"
ln -sfn "img/boot/vmlinuz-$KVER" "$KDIR/vmlinuz"
ln -sfn "img/lib/modules/$KVER" "$KDIR/modules"
