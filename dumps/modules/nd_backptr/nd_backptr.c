// SPDX-License-Identifier: GPL-2.0
/*
 * nd_backptr - netdbg test scenario "backptr".
 *
 * The shape of a NAT-table bug: per-instance tables of entries, each entry
 * with a back-pointer to its instance; one entry ends up in the wrong
 * instance's table, and freed entries are found by their 0xEC poison.
 *
 *   static struct nd_instance nd_instances[32], each with a list `table` of
 *   8..40 kmalloc'ed struct nd_entry (entry->inst == its instance).
 *
 * Exactly three faults are injected, in this order:
 *  (a) wrong back-pointer: entry 3 of instance 5 is moved (list_del +
 *      list_add_tail) to the end of instance 9's table; inst is unchanged
 *      (still &nd_instances[5]);
 *  (b) poisoned: entry 5 of instance 17 is memset to 0xEC from
 *      offsetof(inst) to the end of the struct (inst, key, payload), its
 *      link is kept, so it stays linked ("freed and poisoned, still linked");
 *  (c) bad prev: in instance 26, entry 6's link.prev is set to entry 4
 *      (two before it), so entry5->next->prev != entry5.
 * The nr_entries counters are not updated by (a) (5 and 9 are stale by one).
 *
 * Clean structures, no faults: LIST_HEAD(nd_clean_list) with 1000 entries
 * (inst == NULL, key == index) and struct hlist_head nd_hash[64] with 48
 * struct nd_hnode (bucket hash_32(key, 6)).
 *
 * Everything is printed with pr_info (%px) and readable as key=value lines
 * from /proc/nd_backptr.  The module stays loaded and idle (no exit).
 */
#include <linux/module.h>
#include <linux/kernel.h>
#include <linux/list.h>
#include <linux/slab.h>
#include <linux/hash.h>
#include <linux/proc_fs.h>
#include <linux/seq_file.h>
#include <linux/stddef.h>

#define ND_NR_INSTANCES	32
#define ND_CLEAN_ENTRIES	1000
#define ND_HASH_BITS	6
#define ND_HASH_NODES	48
#define ND_POISON	0xEC

struct nd_instance {
	int id;
	char name[20];
	struct list_head table;
	unsigned int nr_entries;
	unsigned long lookups;
};

struct nd_entry {
	struct list_head link;
	struct nd_instance *inst;
	u32 key;
	u8 payload[40];
};

struct nd_hnode {
	struct hlist_node node;
	u32 key;
	u32 value;
};

/* fault instances and entry indexes */
#define ND_A_FROM	5
#define ND_A_TO		9
#define ND_A_INDEX	3
#define ND_B_INST	17
#define ND_B_INDEX	5
#define ND_C_INST	26
#define ND_C_INDEX	6

static struct nd_instance nd_instances[ND_NR_INSTANCES];
static LIST_HEAD(nd_clean_list);
static struct hlist_head nd_hash[1 << ND_HASH_BITS];

static unsigned int nd_count[ND_NR_INSTANCES];	/* list length after the faults */
static unsigned int nd_hash_count[1 << ND_HASH_BITS];
static unsigned int nd_clean_count;

static struct {
	struct nd_entry *entry;
	int index, orig_index;
	struct nd_instance *expected, *actual;
} nd_fa;
static struct {
	struct nd_entry *entry;
	int index;
	u32 key_before;
} nd_fb;
static struct {
	struct nd_entry *entry;
	int index;
	struct list_head *expected, *actual;
} nd_fc;

static unsigned int nd_instance_size(int i)
{
	return 8 + (i * 13 + 7) % 33;	/* 8..40 */
}

static struct nd_entry *nd_nth(struct nd_instance *inst, int n)
{
	struct nd_entry *e;
	int i = 0;

	list_for_each_entry(e, &inst->table, link)
		if (i++ == n)
			return e;
	return NULL;
}

static unsigned int nd_list_len(struct list_head *head)
{
	struct list_head *p;
	unsigned int n = 0;

	for (p = head->next; p != head && n < 100000; p = p->next)
		n++;
	return n;
}

static struct nd_entry *nd_new_entry(struct nd_instance *inst, u32 key)
{
	struct nd_entry *e = kmalloc(sizeof(*e), GFP_KERNEL);
	int k;

	if (!e)
		return NULL;
	e->inst = inst;
	e->key = key;
	for (k = 0; k < sizeof(e->payload); k++)
		e->payload[k] = 0x10 + k;
	return e;
}

static int nd_build(void)
{
	int i, j;

	for (i = 0; i < ND_NR_INSTANCES; i++) {
		struct nd_instance *inst = &nd_instances[i];

		inst->id = 100 + i;
		snprintf(inst->name, sizeof(inst->name), "nat%02d", i);
		INIT_LIST_HEAD(&inst->table);
		for (j = 0; j < nd_instance_size(i); j++) {
			struct nd_entry *e = nd_new_entry(inst, (i << 16) | j);

			if (!e)
				return -ENOMEM;
			list_add_tail(&e->link, &inst->table);
			inst->nr_entries++;
		}
		inst->lookups = 1000 * i + 7;
	}
	for (j = 0; j < ND_CLEAN_ENTRIES; j++) {
		struct nd_entry *e = nd_new_entry(NULL, j);

		if (!e)
			return -ENOMEM;
		list_add_tail(&e->link, &nd_clean_list);
	}
	for (i = 0; i < ARRAY_SIZE(nd_hash); i++)
		INIT_HLIST_HEAD(&nd_hash[i]);
	for (j = 0; j < ND_HASH_NODES; j++) {
		struct nd_hnode *h = kmalloc(sizeof(*h), GFP_KERNEL);

		if (!h)
			return -ENOMEM;
		h->key = 0x1000 + 17 * j;
		h->value = j;
		hlist_add_head(&h->node, &nd_hash[hash_32(h->key, ND_HASH_BITS)]);
	}
	return 0;
}

static void nd_inject(void)
{
	struct nd_entry *e, *prev2;

	/* (a) entry in the wrong instance's table, back-pointer unchanged */
	e = nd_nth(&nd_instances[ND_A_FROM], ND_A_INDEX);
	nd_fa.entry = e;
	nd_fa.orig_index = ND_A_INDEX;
	nd_fa.index = nd_list_len(&nd_instances[ND_A_TO].table);
	list_del(&e->link);
	list_add_tail(&e->link, &nd_instances[ND_A_TO].table);
	nd_fa.expected = &nd_instances[ND_A_TO];
	nd_fa.actual = e->inst;

	/* (b) freed-and-poisoned entry, still linked */
	e = nd_nth(&nd_instances[ND_B_INST], ND_B_INDEX);
	nd_fb.entry = e;
	nd_fb.index = ND_B_INDEX;
	nd_fb.key_before = e->key;
	memset((char *)e + offsetof(struct nd_entry, inst), ND_POISON,
	       sizeof(*e) - offsetof(struct nd_entry, inst));

	/* (c) next->prev != cur: entry 6's prev points to entry 4 */
	e = nd_nth(&nd_instances[ND_C_INST], ND_C_INDEX);
	prev2 = nd_nth(&nd_instances[ND_C_INST], ND_C_INDEX - 2);
	nd_fc.entry = e;
	nd_fc.index = ND_C_INDEX;
	nd_fc.expected = e->link.prev;
	WRITE_ONCE(e->link.prev, &prev2->link);
	nd_fc.actual = e->link.prev;
}

static void nd_report(struct seq_file *m)
{
#define OUT(fmt, ...) do { if (m) seq_printf(m, fmt "\n", ##__VA_ARGS__); \
			   else pr_info("nd_backptr: " fmt "\n", ##__VA_ARGS__); } while (0)
	char buf[(1 << ND_HASH_BITS) * 4 + 1];
	int i, n = 0;

	OUT("nd_instances=0x%px", nd_instances);
	OUT("nr_instances=%d", ND_NR_INSTANCES);
	OUT("instance_size=%zu", sizeof(struct nd_instance));
	OUT("instance_id_offset=%zu", offsetof(struct nd_instance, id));
	OUT("instance_name_offset=%zu", offsetof(struct nd_instance, name));
	OUT("instance_table_offset=%zu", offsetof(struct nd_instance, table));
	OUT("instance_nr_entries_offset=%zu", offsetof(struct nd_instance, nr_entries));
	OUT("entry_size=%zu", sizeof(struct nd_entry));
	OUT("entry_link_offset=%zu", offsetof(struct nd_entry, link));
	OUT("entry_inst_offset=%zu", offsetof(struct nd_entry, inst));
	OUT("entry_key_offset=%zu", offsetof(struct nd_entry, key));
	OUT("entry_payload_offset=%zu", offsetof(struct nd_entry, payload));
	OUT("poison=0x%02x", ND_POISON);
	for (i = 0; i < ND_NR_INSTANCES; i++)
		OUT("instance=%d 0x%px 0x%px %d %s %u %u", i, &nd_instances[i],
		    &nd_instances[i].table, nd_instances[i].id, nd_instances[i].name,
		    nd_count[i], nd_instances[i].nr_entries);
	OUT("fault_a=%d %d 0x%px %d %d 0x%px 0x%px", ND_A_TO, ND_A_FROM, nd_fa.entry,
	    nd_fa.index, nd_fa.orig_index, nd_fa.expected, nd_fa.actual);
	OUT("fault_b=%d 0x%px %d %zu %zu 0x%x", ND_B_INST, nd_fb.entry, nd_fb.index,
	    offsetof(struct nd_entry, inst),
	    sizeof(struct nd_entry) - offsetof(struct nd_entry, inst), nd_fb.key_before);
	OUT("fault_c=%d 0x%px %d 0x%px 0x%px %d", ND_C_INST, nd_fc.entry, nd_fc.index,
	    nd_fc.expected, nd_fc.actual, ND_C_INDEX - 2);
	OUT("clean_list=0x%px %u", &nd_clean_list, nd_clean_count);
	OUT("hash=0x%px %zu %zu %zu %zu %u", nd_hash, ARRAY_SIZE(nd_hash),
	    sizeof(struct nd_hnode), offsetof(struct nd_hnode, node),
	    offsetof(struct nd_hnode, key), ND_HASH_NODES);
	for (i = 0; i < ARRAY_SIZE(nd_hash); i++)
		n += scnprintf(buf + n, sizeof(buf) - n, "%s%u", i ? " " : "", nd_hash_count[i]);
	OUT("hash_counts=%s", buf);
#undef OUT
}

static int nd_proc_show(struct seq_file *m, void *v)
{
	nd_report(m);
	return 0;
}

static int __init nd_backptr_init(void)
{
	struct nd_hnode *h;
	int i, ret;

	ret = nd_build();
	if (ret)
		return ret;	/* leaks on ENOMEM: a throw-away guest */
	nd_inject();
	for (i = 0; i < ND_NR_INSTANCES; i++)
		nd_count[i] = nd_list_len(&nd_instances[i].table);
	nd_clean_count = nd_list_len(&nd_clean_list);
	for (i = 0; i < ARRAY_SIZE(nd_hash); i++)
		hlist_for_each_entry(h, &nd_hash[i], node)
			nd_hash_count[i]++;
	if (!proc_create_single("nd_backptr", 0400, NULL, nd_proc_show))
		return -ENOMEM;
	nd_report(NULL);
	return 0;
}
module_init(nd_backptr_init);

/* No module_exit: the corrupted lists must stay in memory. */
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("netdbg scenario backptr: instance tables with a wrong back-pointer, a poisoned and a mislinked entry");
