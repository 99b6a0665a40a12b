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

echo "netdbg-init: running scenario $(cat /etc/netdbg/scenario)"
. /scenario.sh || fail "scenario script failed"
echo "NETDBG-READY"
while :; do sleep 3600; done
