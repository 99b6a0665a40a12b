# Guest side of scenario backptr (sourced by /init, busybox ash).
# nd_backptr.ko builds 32 instance tables with three faults (wrong
# back-pointer, 0xEC-poisoned entry, bad prev pointer), a clean list and a
# clean hlist hash, and stays idle.  Prints the manifest as one line:
#     NETDBG-MANIFEST {json}
. /lib/netdbg/lib.sh
ND_CTL=/proc/nd_backptr

insmod /lib/modules/nd_backptr.ko || fail "insmod nd_backptr.ko failed"
# pointers as 0x... without zero padding
sed 's/0x0*\([0-9a-f]\)/0x\1/g' $ND_CTL > /tmp/bp
[ "$(kv /tmp/bp nr_instances)" = 32 ] || fail "unexpected /proc/nd_backptr"
num() { kv /tmp/bp "$1"; }
str() { jstr "$(kv /tmp/bp "$1")"; }

LAYOUT="{\"nd_instances\":$(str nd_instances),\"nr_instances\":$(num nr_instances)"
for k in instance_size instance_id_offset instance_name_offset instance_table_offset \
         instance_nr_entries_offset entry_size entry_link_offset entry_inst_offset \
         entry_key_offset entry_payload_offset; do
    LAYOUT="$LAYOUT,\"$k\":$(num $k)"
done
LAYOUT="$LAYOUT,\"poison\":$(str poison)}"
INST=$(sed -n 's/^instance=//p' /tmp/bp | awk '{ if (NR > 1) printf ","
    printf "{\"index\":%d,\"addr\":\"%s\",\"table\":\"%s\",\"id\":%d,\"name\":\"%s\",\"entries\":%d,\"nr_entries\":%d}", $1, $2, $3, $4, $5, $6, $7 }')
set -- $(kv /tmp/bp fault_a)
FA="{\"instance\":$1,\"owner_instance\":$2,\"entry\":\"$3\",\"index\":$4,\"orig_index\":$5,\"expected_inst\":\"$6\",\"actual_inst\":\"$7\"}"
set -- $(kv /tmp/bp fault_b)
FB="{\"instance\":$1,\"entry\":\"$2\",\"index\":$3,\"offset\":$4,\"length\":$5,\"key_before\":\"$6\"}"
set -- $(kv /tmp/bp fault_c)
FC="{\"instance\":$1,\"entry\":\"$2\",\"index\":$3,\"expected_prev\":\"$4\",\"actual_prev\":\"$5\",\"actual_prev_index\":$6}"
set -- $(kv /tmp/bp clean_list)
CLEAN="{\"head\":\"$1\",\"entries\":$2}"
set -- $(kv /tmp/bp hash)
HASH="{\"head\":\"$1\",\"buckets\":$2,\"node_size\":$3,\"node_offset\":$4,\"key_offset\":$5,\"nodes\":$6,\"counts\":[$(kv /tmp/bp hash_counts | tr ' ' ',')]}"
echo "netdbg-init: nd_backptr loaded: faults a=[$FA] b=[$FB] c=[$FC]"

quiet_console
printf 'NETDBG-MANIFEST {%s,"layout":%s,"instances":[%s],"faults":{"wrong_backptr":%s,"poisoned":%s,"bad_prev":%s},"clean_list":%s,"hash":%s,"modules":%s}\n' \
    "$(manifest_header backptr)" "$LAYOUT" "$INST" "$FA" "$FB" "$FC" "$CLEAN" "$HASH" "$(modules_json)"
