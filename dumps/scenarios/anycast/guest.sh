# Guest side of scenario anycast (sourced by /init, busybox ash).
# IPv6 forwarding on and six dummy devices with global prefixes, so that
# every inet6_dev.ac_list holds real subnet-router anycast entries.  Waits
# until addrconf has settled, then prints the manifest as one line:
#     NETDBG-MANIFEST {json}
. /lib/netdbg/lib.sh

setup_anycast_devices
sleep 2                       # addrconf work, MLD joins
settle_ipv6 /tmp/ipv6         # two equal reads 1 s apart
nac=$(wc -l < /tmp/ipv6/anycast6)
echo "netdbg-init: $nac anycast entries, $(wc -l < /tmp/ipv6/igmp6) multicast entries"
[ "$nac" -ge 13 ] || fail "expected at least 13 anycast entries, got $nac"
cat /tmp/ipv6/anycast6

quiet_console
printf 'NETDBG-MANIFEST {%s,"ipv6_forwarding":%s,"devices":%s,"modules":%s}\n' \
    "$(manifest_header anycast)" "$(cat /proc/sys/net/ipv6/conf/all/forwarding)" \
    "$(ipv6_devices_json /tmp/ipv6/anycast6 /tmp/ipv6/igmp6)" "$(modules_json)"
