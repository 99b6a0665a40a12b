#!/bin/busybox sh
# /init of the netdbg dump guest (busybox initramfs).  Generic part: mounts,
# loads the stock modules listed in /etc/netdbg/stock-modules, runs the
# scenario script /scenario.sh, which must print the manifest line, then
# prints the READY marker and idles until the host stops the guest.
/bin/busybox mkdir -p /proc /sys /dev /tmp /sbin /usr/bin /usr/sbin
/bin/busybox --install -s
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mount -t tmpfs tmpfs /tmp

fail() {
    echo "NETDBG-ERROR $*"
    # keep the guest up so the host can print the console and give up
    while :; do sleep 3600; done
}

for m in $(cat /etc/netdbg/stock-modules); do
    insmod "/lib/modules/$m" || fail "insmod $m failed"
done

# kdump variants (make-dump.sh, kdump.sh): load the crash kernel first.
if [ -f /etc/netdbg/kdump ]; then
    . /etc/netdbg/kdump
    grep -q "Crash kernel" /proc/iomem || fail "no crashkernel= memory reserved"
    /usr/sbin/kexec -p /kdump/vmlinuz --initrd=/kdump/initrd.gz --append="$KDUMP_APPEND" \
        || fail "kexec -p failed"
    [ "$(cat /sys/kernel/kexec_crash_loaded)" = 1 ] || fail "no crash kernel loaded"
    rm -f /kdump/vmlinuz /kdump/initrd.gz
    echo "netdbg-init: crash kernel loaded (kexec -p)"
fi

echo "netdbg-init: running scenario $(cat /etc/netdbg/scenario)"
. /scenario.sh || fail "scenario script failed"
echo "NETDBG-READY"
if [ -f /etc/netdbg/kdump ]; then
    case "$KDUMP_TRIGGER" in
    hung)
        # The hung-task detector panics on the tasks the scenario left in D.
        echo 1 > /proc/sys/kernel/hung_task_panic
        echo 5 > /proc/sys/kernel/hung_task_timeout_secs ;;
    sysrq)
        # The panic's printk overtakes what user space queued on the tty:
        # let the console print the manifest and READY first.
        sleep 5
        echo 1 > /proc/sys/kernel/sysrq
        echo c > /proc/sysrq-trigger ;;
    esac
fi
while :; do sleep 3600; done
