#!/bin/busybox sh
# /init of the crash kernel's initramfs (kdump variants, see kdump.sh): saves
# /proc/vmcore with makedumpfile -d 31, in the flattened format, onto the
# first virtio disk (-c, kdump-compressed) and the second (-E, ELF), then
# reboots (QEMU runs with -no-reboot, so it exits).
/bin/busybox mkdir -p /proc /sys /dev /tmp /sbin /usr/bin /usr/sbin
/bin/busybox --install -s
export PATH=/usr/sbin:/bin:/sbin:/usr/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
echo "netdbg-kdump: crash kernel up, /proc/vmcore: $(stat -c %s /proc/vmcore 2>/dev/null || echo none) bytes"
for m in $(cat /lib/modules/order); do insmod "/lib/modules/$m"; done
n=0
while { [ ! -b /dev/vda ] || [ ! -b /dev/vdb ]; } && [ $n -lt 100 ]; do sleep 0.1; n=$((n + 1)); done
rc1=nodisk; rc2=nodisk
if [ -b /dev/vda ] && [ -b /dev/vdb ]; then
    makedumpfile --message-level 6 -F -c -d 31 /proc/vmcore > /dev/vda; rc1=$?
    makedumpfile --message-level 6 -F -E -d 31 /proc/vmcore > /dev/vdb; rc2=$?
    sync
fi
echo "NETDBG-KDUMP-DONE $rc1 $rc2"
reboot -f
