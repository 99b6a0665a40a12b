# kdump.sh: sourced by make-dump.sh for a kdump variant (SCENARIO-kdump,
# NETDBG_KDUMP=1). The dump is a real kdump, as a production machine takes
# it, instead of QEMU's dump of the stopped guest:
#
#  1. The guest boots with crashkernel=$KDUMP_RESERVE reserved (and
#     $KDUMP_MEM of RAM). Before the scenario runs, /init loads the crash
#     kernel (the same vmlinuz, with kdump-init.sh as the /init of its own
#     initramfs) with Debian's `kexec -p`, copied into the initramfs with its
#     libraries (busybox-static has no kexec).
#  2. After NETDBG-READY, /init provokes a real panic: KDUMP_TRIGGER=hung
#     sets hung_task_panic=1 and lowers hung_task_timeout_secs, so the
#     hung-task detector panics on the tasks stuck in D; KDUMP_TRIGGER=sysrq
#     writes c to /proc/sysrq-trigger. (scenario.conf sets KDUMP_TRIGGER.)
#  3. The panic boots the crash kernel, whose /init saves /proc/vmcore with
#     Debian's makedumpfile twice, in the flattened format (-F), onto two
#     virtio disks: `-d 31 -c` (kdump-compressed, for crash) and `-d 31 -E`
#     (ELF, for drgn). -d 31 leaves out zero, cache, user and free pages.
#     It prints NETDBG-KDUMP-DONE and reboots: QEMU (-no-reboot) exits.
#  4. The host rearranges both (makedumpfile -R) into vmcore and
#     vmcore-kdump.elf. There is no vmcore.elf with virtual addresses: gdb
#     does not open these dumps; crash and drgn do.
KDUMP_MEM=${KDUMP_MEM:-768M}
KDUMP_RESERVE=${KDUMP_RESERVE:-192M}
KDUMP_TIMEOUT=${KDUMP_TIMEOUT:-900}

# copy_binary ROOT BIN: BIN and every library ldd lists, at their own paths.
copy_binary() {
    mkdir -p "$1/usr/sbin"
    cp -L "$2" "$1/usr/sbin/"
    ldd "$2" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' | while read -r lib; do
        mkdir -p "$1$(dirname "$lib")"
        cp -L "$lib" "$1$lib"
    done
}

# module_file NAME: the module's file under $KMODDIR/kernel (.ko or .ko.xz;
# "-" and "_" alike), nothing when the kernel has it built in.
module_file() {
    find "$KMODDIR/kernel" \( -name "$1.ko" -o -name "$1.ko.xz" -o -name "$(echo "$1" | tr _ -).ko" \
        -o -name "$(echo "$1" | tr _ -).ko.xz" \) | head -n 1
}

# kmod_load_order NAME...: the modules among NAME... and their dependencies
# (modinfo's depends), dependencies first, each once.
kmod_load_order() {
    for _m in "$@"; do
        _f=$(module_file "$_m")
        [ -n "$_f" ] || continue
        # shellcheck disable=SC2046
        kmod_load_order $(modinfo -F depends "$_f" | tr , ' ')
        echo "$_m"
    done | awk '!seen[$0]++'
}

kdump_prepare_root() {
    KROOT="$BUILD/kdump-root"
    rm -rf "$KROOT"
    mkdir -p "$KROOT/bin" "$KROOT/lib/modules" "$BUILD/root/kdump"
    cp /bin/busybox "$KROOT/bin/busybox"
    cp "$DUMPS_DIR/kdump-init.sh" "$KROOT/init"
    chmod 755 "$KROOT/init" "$KROOT/bin/busybox"
    copy_binary "$KROOT" "$(command -v makedumpfile)"
    # The virtio disk: virtio_pci and virtio_blk with what they depend on,
    # those of them that are modules of this kernel, in load order.
    : > "$KROOT/lib/modules/order"
    for m in $(kmod_load_order virtio_pci virtio_blk); do
        f=$(module_file "$m")
        stock_module "${f#"$KMODDIR/kernel/"}" "$KROOT/lib/modules/"
        echo "$(basename "${f%.xz}")" >> "$KROOT/lib/modules/order"
    done
    (cd "$KROOT" && find . | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0) | gzip -1 > "$BUILD/root/kdump/initrd.gz"
    cp "$KDIR/vmlinuz" "$BUILD/root/kdump/vmlinuz"
    copy_binary "$BUILD/root" /sbin/kexec
    cat > "$BUILD/root/etc/netdbg/kdump" <<EOC
KDUMP_TRIGGER=$KDUMP_TRIGGER
KDUMP_APPEND="console=ttyS0 nr_cpus=1 irqpoll reset_devices nokaslr rdinit=/init panic=-1 loglevel=7 no_timer_check"
EOC
    case "$KDUMP_TRIGGER" in hung|sysrq) ;; *) die "$SCEN: KDUMP_TRIGGER must be hung or sysrq, not '$KDUMP_TRIGGER'" ;; esac
}

# kdump_qemu_args: the disks the crash kernel writes to, and the memory.
kdump_qemu_args() {
    truncate -s 4G "$RUN/kdump.img" "$RUN/kdump-elf.img"
    echo "-drive file=$RUN/kdump.img,format=raw,if=virtio -drive file=$RUN/kdump-elf.img,format=raw,if=virtio -m $KDUMP_MEM"
}

# kdump_collect: wait for the crash kernel to save the dump and QEMU to
# exit, then rearrange both flattened dumps into $TMPOUT.
kdump_collect() {
    log "$VARIANT: guest ready, provoking the panic ($KDUMP_TRIGGER); waiting for the crash kernel"
    waited=0
    while kill -0 "$QPID" 2>/dev/null; do
        if [ "$waited" -ge "$((KDUMP_TIMEOUT * 2))" ]; then
            console_tail; die "$VARIANT: the crash kernel did not finish within ${KDUMP_TIMEOUT}s"
        fi
        sleep 0.5
        waited=$((waited + 1))
    done
    wait "$QPID" 2>/dev/null || true
    QPID=""
    done_line=$(tr -d '\r' < "$CONSOLE" | grep -ao 'NETDBG-KDUMP-DONE [0-9]* [0-9]*' | tail -n 1 || true)
    [ "$done_line" = "NETDBG-KDUMP-DONE 0 0" ] || { console_tail; die "$VARIANT: the crash kernel did not save the dump (${done_line:-no NETDBG-KDUMP-DONE line})"; }
    grep -aq 'Kernel panic - not syncing' "$CONSOLE" || { console_tail; die "$VARIANT: no panic on the console"; }
    makedumpfile -R "$TMPOUT/vmcore" < "$RUN/kdump.img" >"$RUN/rearrange.log" 2>&1 \
        || { cat "$RUN/rearrange.log" >&2; die "$VARIANT: makedumpfile -R vmcore failed"; }
    makedumpfile -R "$TMPOUT/vmcore-kdump.elf" < "$RUN/kdump-elf.img" >"$RUN/rearrange.log" 2>&1 \
        || { cat "$RUN/rearrange.log" >&2; die "$VARIANT: makedumpfile -R vmcore-kdump.elf failed"; }
    rm -f "$RUN/kdump.img" "$RUN/kdump-elf.img"
    [ -s "$TMPOUT/vmcore" ] && [ -s "$TMPOUT/vmcore-kdump.elf" ] || die "$VARIANT: dump files missing"
    chmod 0644 "$TMPOUT/vmcore" "$TMPOUT/vmcore-kdump.elf"
}
