#!/bin/sh
# build-crash.sh [VERSION] : build crash VERSION (default 8.0.6) once, into the cache:
#   $CACHE/crash-VERSION/crash    the binary (gdb 10.2 inside)
#   $CACHE/crash-VERSION/defs.h   its extension header: netdbg.so for this crash
#                                 is built against it (cmake -DNETDBG_CRASH_DEFS_H=...)
# Debian 12's crash 8.0.2 (/usr/bin/crash) cannot read 6.12 dumps. Debian 13
# (trixie) carries 8.0.6 as a source package: its upstream tarball, which
# bundles gdb-10.2.tar.gz, is fetched with `apt-get source --tar-only` through
# a private apt configuration (one deb-src line for trixie, its own lists and
# cache under $CACHE/apt-trixie-src/), so the system's apt sources stay as they
# are. `make` then builds it with no other download.
# The tarball and the build tree are deleted afterwards (the cache keeps ~40 MB).
# Does no work when $CACHE/crash-VERSION/crash is there and runs.
set -eu
. "$(dirname "$0")/common.sh"

VER=${1:-8.0.6}
OUT="$CACHE/crash-$VER"
# One build at a time: `make check` may have started one in the background
# (nice'd, beside the compiles); a second caller waits for it, then finds
# it done.
mkdir -p "$CACHE"
exec 9>"$CACHE/.crash-$VER.lock"
flock 9
if [ -x "$OUT/crash" ] && [ -f "$OUT/defs.h" ] && "$OUT/crash" --version 2>/dev/null | grep -q "^crash $VER\$"; then
    log "crash $VER: up to date: $OUT/crash"
    exit 0
fi
T0=$(date +%s)
"$DUMPS_DIR/need-packages.sh" gcc g++ make patch libncurses-dev zlib1g-dev bison flex texinfo xz-utils
mkdir -p "$CACHE"
need_space "$CACHE" 1500 "building crash $VER"

APTDIR="$CACHE/apt-trixie-src"
mkdir -p "$APTDIR/lists/partial" "$APTDIR/cache/archives/partial"
cat > "$APTDIR/sources.list" <<'EOF'
deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian trixie main
EOF
set -- -o "Dir::Etc::SourceList=$APTDIR/sources.list" -o "Dir::Etc::SourceParts=$APTDIR/none" \
       -o "Dir::State::Lists=$APTDIR/lists" -o "Dir::Cache=$APTDIR/cache" -o "APT::Sandbox::User=root"
mkdir -p "$APTDIR/none"
SRCVER=$(apt-cache "$@" showsrc crash 2>/dev/null | awk '/^Version:/ { print $2 }' | grep "^$VER" | head -n 1 || true)
if [ -z "$SRCVER" ]; then
    log "crash $VER: reading trixie's source index (private apt lists in $APTDIR)"
    apt-get "$@" update -qq >&2 || die "apt-get update of trixie's deb-src failed"
    SRCVER=$(apt-cache "$@" showsrc crash | awk '/^Version:/ { print $2 }' | grep "^$VER" | head -n 1 || true)
fi
[ -n "$SRCVER" ] || die "trixie has no crash source package $VER (apt-cache showsrc crash)"

WORK="$CACHE/.crash-$VER.build"
rm -rf "$WORK"
mkdir -p "$WORK"
chmod 777 "$WORK"
log "crash $VER: fetching the upstream tarball of crash $SRCVER"
(cd "$WORK" && apt-get "$@" source -q --tar-only "crash=$SRCVER" >&2) || { rm -rf "$WORK"; die "apt-get source --tar-only crash=$SRCVER failed"; }
TARBALL=$(ls "$WORK"/crash_"$VER"*.orig.tar.* 2>/dev/null | head -n 1)
[ -n "$TARBALL" ] || { rm -rf "$WORK"; die "no crash_$VER*.orig.tar.* from apt-get source"; }
tar -x -C "$WORK" -f "$TARBALL"
rm -f "$TARBALL"
SRC=$(find "$WORK" -mindepth 1 -maxdepth 1 -type d -name 'crash*' | head -n 1)
[ -n "$SRC" ] && [ -f "$SRC/defs.h" ] || die "unexpected layout of the crash $VER tarball in $WORK"
ls "$SRC"/gdb-10.2.tar.gz >/dev/null 2>&1 || die "the crash $VER tarball has no gdb-10.2.tar.gz (make would download it)"

# crash's Makefile starts its sub-makes (gdb's configure and build: most of
# the time) as a literal `make`, not $(MAKE): GNU make 4.3 gives those no
# jobserver and they ran one job at a time. A `make` first on PATH that
# drops the inherited jobserver flags lets each such make run its own -j.
JOBS=${NETDBG_JOBS:-2}
mkdir -p "$WORK/bin"
cat > "$WORK/bin/make" <<EOF
#!/bin/sh
MAKEFLAGS=\$(printf '%s' "\${MAKEFLAGS:-}" | sed 's/--jobserver-[a-z]*=[^ ]*//g')
export MAKEFLAGS
exec /usr/bin/make -j$JOBS "\$@"
EOF
chmod +x "$WORK/bin/make"
# crash's Makefile configures its gdb with GDB_CONF_FLAGS (empty for an
# x86_64 host and target, see crash's configure.c), which the command line
# overrides: gdbserver and libctf, which crash never links, are left out,
# and so is -g, since the binary is stripped below (a third of the compile).
GDB_CONF="--disable-gdbserver --disable-libctf --disable-nls CFLAGS=-O2 CXXFLAGS=-O2"
log "crash $VER: building (make -j$JOBS; log: $WORK/build.log)"
if ! (cd "$SRC" && PATH="$WORK/bin:$PATH" make "GDB_CONF_FLAGS=$GDB_CONF" >"$WORK/build.log" 2>&1); then
    tail -n 40 "$WORK/build.log" >&2
    df -h "$CACHE" >&2
    die "building crash $VER failed (see $WORK/build.log; is the disk full?)"
fi
[ -x "$SRC/crash" ] || die "crash $VER: make produced no crash binary"
rm -rf "$OUT.tmp"
mkdir -p "$OUT.tmp"
cp "$SRC/crash" "$SRC/defs.h" "$OUT.tmp/"
strip "$OUT.tmp/crash" 2>/dev/null || true
"$OUT.tmp/crash" --version | grep -q "^crash $VER\$" || die "crash $VER: the built binary does not say it is $VER"
rm -rf "$OUT"
mv "$OUT.tmp" "$OUT"
rm -rf "$WORK"
log "crash $VER: built in $(( $(date +%s) - T0 ))s: $OUT/crash"
