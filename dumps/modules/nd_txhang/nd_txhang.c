// SPDX-License-Identifier: GPL-2.0
/*
 * nd_txhang - netdbg test scenario "txhang".
 *
 * Two fake Ethernet devices whose transmit completions never come (the
 * shape of a lost TX-completion interrupt): ndo_start_xmit() keeps each
 * packet in a small software ring and never frees it, so once the ring is
 * full the queue stays stopped, the qdisc fills and dev_watchdog() calls
 * ndo_tx_timeout(), which only counts.
 *
 *  tx0: 2 TX queues (root qdisc mq, a pfifo_fast child per queue: the guest
 *    sets net.core.default_qdisc first), ndo_select_queue() always picks
 *    queue 0.  Its ring holds ND_RING0 packets without stopping the queue;
 *    the next packet stops it and is refused with NETDEV_TX_BUSY, so the
 *    stack requeues it in the qdisc's gso_skb (dev_requeue_skb()).
 *    watchdog_timeo 1 s.  One NAPI (idle).
 *  tx1: 1 TX queue (root qdisc fq_codel, the kernel's default here): the
 *    ring holds ND_RING1 packets and the queue is stopped when it is full,
 *    as drivers should.  watchdog_timeo 2 s.
 *
 * The driver counts the packets it takes into its ring in dev->stats
 * (tx_packets, tx_bytes), and the packets it refuses in tx_fifo_errors.
 *
 * "leak IFNAME" takes a reference to a device with dev_get_by_name() and
 * never puts it (the guest then deletes the device: ip link delete waits in
 * netdev_run_todo() forever).
 *
 * Control: write "add" (creates tx0 and tx1; the guest brings them up),
 * "leak IFNAME" to /proc/nd_txhang.  Read it for key=value lines, every
 * value read here in the guest for the manifest (pointers as 0x%px).
 * The module cannot be unloaded: its skbs are never freed.
 */
#include <linux/module.h>
#include <linux/kernel.h>
#include <linux/netdevice.h>
#include <linux/etherdevice.h>
#include <linux/proc_fs.h>
#include <linux/seq_file.h>
#include <linux/uaccess.h>
#include <linux/string.h>
#include <linux/jiffies.h>
#include <linux/skbuff.h>
#include <net/sch_generic.h>

#define ND_RING0 8
#define ND_RING1 4
#define ND_RING_MAX 8

struct nd_priv {
	struct net_device *dev;
	int ring_size;
	bool busy_when_full;		/* refuse the packet that does not fit (tx0) */
	int ring_len;			/* packets held, never completed */
	struct sk_buff *ring[ND_RING_MAX];
	unsigned long stopped_at;	/* jiffies when the queue was stopped */
	int stopped_queue;		/* -1: not stopped */
	unsigned long refused;		/* NETDEV_TX_BUSY returns */
	unsigned long timeouts;		/* ndo_tx_timeout() calls */
	unsigned long last_timeout;	/* jiffies */
	unsigned int last_timeout_queue;
	struct napi_struct napi;
};

static struct net_device *nd_dev[2];
static DEFINE_MUTEX(nd_ctl_mutex);
static struct net_device *nd_leak_dev;
static char nd_leak_name[IFNAMSIZ];
static int nd_leak_ifindex;
static int nd_leak_refcnt_at_leak;

static int nd_poll(struct napi_struct *napi, int budget)
{
	napi_complete_done(napi, 0);
	return 0;
}

static int nd_open(struct net_device *dev)
{
	struct nd_priv *p = netdev_priv(dev);

	if (dev == nd_dev[0])
		napi_enable(&p->napi);
	netif_carrier_on(dev);
	netif_tx_start_all_queues(dev);
	return 0;
}

static int nd_stop(struct net_device *dev)
{
	netif_tx_stop_all_queues(dev);
	netif_carrier_off(dev);
	return 0;
}

static netdev_tx_t nd_xmit(struct sk_buff *skb, struct net_device *dev)
{
	struct nd_priv *p = netdev_priv(dev);
	u16 q = skb_get_queue_mapping(skb);
	struct netdev_queue *txq = netdev_get_tx_queue(dev, q);

	if (p->ring_len >= p->ring_size) {
		/* tx0: the ring is full and the queue was not stopped */
		netif_tx_stop_queue(txq);
		if (p->stopped_queue < 0) {
			p->stopped_at = jiffies;
			p->stopped_queue = q;
		}
		p->refused++;
		dev->stats.tx_fifo_errors++;
		return NETDEV_TX_BUSY;
	}
	p->ring[p->ring_len++] = skb;	/* never completed */
	dev->stats.tx_packets++;
	dev->stats.tx_bytes += skb->len;
	if (!p->busy_when_full && p->ring_len >= p->ring_size) {
		netif_tx_stop_queue(txq);
		p->stopped_at = jiffies;
		p->stopped_queue = q;
	}
	return NETDEV_TX_OK;
}

static u16 nd_select_queue(struct net_device *dev, struct sk_buff *skb,
			   struct net_device *sb_dev)
{
	return 0;
}

static void nd_tx_timeout(struct net_device *dev, unsigned int txqueue)
{
	struct nd_priv *p = netdev_priv(dev);

	/* a driver would reset its ring here; this one lost its interrupt */
	p->timeouts++;
	p->last_timeout = jiffies;
	p->last_timeout_queue = txqueue;
}

static const struct net_device_ops nd_txhang_ops = {
	.ndo_open = nd_open,
	.ndo_stop = nd_stop,
	.ndo_start_xmit = nd_xmit,
	.ndo_select_queue = nd_select_queue,
	.ndo_tx_timeout = nd_tx_timeout,
	.ndo_set_mac_address = eth_mac_addr,
	.ndo_validate_addr = eth_validate_addr,
};

static void nd_setup(struct net_device *dev)
{
	ether_setup(dev);
	dev->netdev_ops = &nd_txhang_ops;
	eth_hw_addr_random(dev);
}

static int nd_create(int i, const char *name, int txqs, int ring, bool busy, int timeo)
{
	struct net_device *dev;
	struct nd_priv *p;
	int err;

	dev = alloc_netdev_mqs(sizeof(struct nd_priv), name, NET_NAME_USER, nd_setup, txqs, txqs);
	if (!dev)
		return -ENOMEM;
	p = netdev_priv(dev);
	p->dev = dev;
	p->ring_size = ring;
	p->busy_when_full = busy;
	p->stopped_queue = -1;
	dev->watchdog_timeo = timeo;
	if (i == 0)
		netif_napi_add(dev, &p->napi, nd_poll);
	err = register_netdev(dev);
	if (err) {
		free_netdev(dev);
		return err;
	}
	nd_dev[i] = dev;
	pr_info("nd_txhang: %s dev=0x%px txqs=%d ring=%d\n", name, dev, txqs, ring);
	return 0;
}

static int nd_leak(const char *name)
{
	struct net_device *dev;

	if (nd_leak_dev)
		return -EBUSY;
	dev = dev_get_by_name(&init_net, name);	/* dev_hold(), never put */
	if (!dev)
		return -ENODEV;
	nd_leak_ifindex = dev->ifindex;
	strscpy(nd_leak_name, dev->name, sizeof(nd_leak_name));
	nd_leak_refcnt_at_leak = netdev_refcnt_read(dev);
	nd_leak_dev = dev;
	pr_info("nd_txhang: leaked a reference to %s dev=0x%px refcnt=%d\n", name, dev,
		nd_leak_refcnt_at_leak);
	return 0;
}

/* ---- status --------------------------------------------------------------- */

/* The queue counters as qdisc_qstats_qlen_backlog() and tc -s sum them. */
static void nd_show_qdisc(struct seq_file *m, const char *dev, const char *where, struct Qdisc *q)
{
	struct gnet_stats_queue qs = { 0 };
	u64 bytes = 0, packets = 0;
	int cpu;

	if (!q) {
		seq_printf(m, "qdisc=%s %s 0x0\n", dev, where);
		return;
	}
	qs = q->qstats;
	if (q->flags & TCQ_F_CPUSTATS) {
		for_each_possible_cpu(cpu) {
			const struct gnet_stats_queue *c = per_cpu_ptr(q->cpu_qstats, cpu);
			const struct gnet_stats_basic_sync *b = per_cpu_ptr(q->cpu_bstats, cpu);

			qs.qlen += c->qlen;
			qs.backlog += c->backlog;
			qs.drops += c->drops;
			qs.requeues += c->requeues;
			qs.overlimits += c->overlimits;
			bytes += u64_stats_read(&b->bytes);
			packets += u64_stats_read(&b->packets);
		}
	} else {
		qs.qlen += q->q.qlen;
		bytes = u64_stats_read(&q->bstats.bytes);
		packets = u64_stats_read(&q->bstats.packets);
	}
	/* qdisc parent handle: where ... kind handle parent flags qlen backlog drops requeues overlimits gso_skb bytes packets */
	seq_printf(m, "qdisc=%s %s 0x%px %s %x %x %x %u %u %u %u %u %u %llu %llu\n", dev, where, q, q->ops->id,
		   q->handle, q->parent, q->flags, qs.qlen, qs.backlog, qs.drops, qs.requeues,
		   qs.overlimits, skb_queue_len(&q->gso_skb), bytes, packets);
}

static int nd_show(struct seq_file *m, void *v)
{
	int i;
	unsigned int t;

	seq_printf(m, "jiffies=%lu\nhz=%d\n", jiffies, HZ);
	for (i = 0; i < 2; i++) {
		struct net_device *dev = nd_dev[i];
		struct nd_priv *p;

		if (!dev)
			continue;
		p = netdev_priv(dev);
		rcu_read_lock();
		/* name addr ifindex txqs watchdog_timeo refcnt flags state mtu ring ring_len stopped_queue stopped_at refused timeouts last_timeout last_timeout_queue */
		seq_printf(m, "dev=%s 0x%px %d %u %d %d %x %lx %u %d %d %d %lu %lu %lu %lu %u\n", dev->name, dev,
			   dev->ifindex, dev->real_num_tx_queues, dev->watchdog_timeo,
			   netdev_refcnt_read(dev), dev->flags, dev->state, dev->mtu, p->ring_size,
			   p->ring_len, p->stopped_queue, p->stopped_at, p->refused, p->timeouts,
			   p->last_timeout, p->last_timeout_queue);
		seq_printf(m, "stats=%s %lu %lu %lu %lu %lu %lu %lu\n", dev->name, dev->stats.rx_packets,
			   dev->stats.tx_packets, dev->stats.rx_bytes, dev->stats.tx_bytes,
			   dev->stats.tx_errors, dev->stats.tx_dropped, dev->stats.tx_fifo_errors);
		nd_show_qdisc(m, dev->name, "root", rcu_dereference(dev->qdisc));
		for (t = 0; t < dev->num_tx_queues; t++) {
			struct netdev_queue *txq = netdev_get_tx_queue(dev, t);
			char where[16];

			/* name index addr state trans_start trans_timeout qdisc qdisc_sleeping dql_limit dql_inflight */
			seq_printf(m, "txq=%s %u 0x%px %lx %lu %ld 0x%px 0x%px %u %u\n", dev->name, t, txq, txq->state,
				   READ_ONCE(txq->trans_start), atomic_long_read(&txq->trans_timeout),
				   rcu_dereference(txq->qdisc), rcu_dereference(txq->qdisc_sleeping),
#ifdef CONFIG_BQL
				   txq->dql.limit, txq->dql.num_queued - txq->dql.num_completed
#else
				   0, 0
#endif
				   );
			snprintf(where, sizeof(where), "txq%u", t);
			nd_show_qdisc(m, dev->name, where, rcu_dereference(txq->qdisc_sleeping));
		}
		rcu_read_unlock();
		if (i == 0)
			seq_printf(m, "napi=%s 0x%px\n", dev->name, &p->napi);
	}
	if (nd_leak_dev)
		seq_printf(m, "leak=0x%px %s %d %d %d %d\n", nd_leak_dev, nd_leak_name, nd_leak_ifindex,
			   nd_leak_refcnt_at_leak, netdev_refcnt_read(nd_leak_dev),
			   (int)READ_ONCE(nd_leak_dev->reg_state));
	return 0;
}

static int nd_open_proc(struct inode *inode, struct file *file)
{
	return single_open(file, nd_show, NULL);
}

static ssize_t nd_write(struct file *file, const char __user *ubuf, size_t len, loff_t *ppos)
{
	char buf[48], *cmd, *arg;
	int ret = 0;

	if (len >= sizeof(buf))
		return -EINVAL;
	if (copy_from_user(buf, ubuf, len))
		return -EFAULT;
	buf[len] = '\0';
	cmd = strim(buf);
	arg = strchr(cmd, ' ');
	if (arg)
		*arg++ = '\0';
	mutex_lock(&nd_ctl_mutex);
	if (!strcmp(cmd, "add0") && !nd_dev[0])
		ret = nd_create(0, "tx0", 2, ND_RING0, true, HZ);
	else if (!strcmp(cmd, "add1") && !nd_dev[1])
		ret = nd_create(1, "tx1", 1, ND_RING1, false, 2 * HZ);
	else if (!strcmp(cmd, "leak") && arg)
		ret = nd_leak(arg);
	else
		ret = -EINVAL;
	mutex_unlock(&nd_ctl_mutex);
	return ret ? ret : len;
}

static const struct proc_ops nd_proc_ops = {
	.proc_open = nd_open_proc,
	.proc_read = seq_read,
	.proc_lseek = seq_lseek,
	.proc_release = single_release,
	.proc_write = nd_write,
};

static int __init nd_txhang_init(void)
{
	if (!proc_create("nd_txhang", 0600, NULL, &nd_proc_ops))
		return -ENOMEM;
	return 0;
}
module_init(nd_txhang_init);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("netdbg scenario txhang: TX queues stopped forever, a leaked device reference");
