// SPDX-License-Identifier: GPL-2.0
/*
 * nd_napi_stuck - netdbg test scenario "napi".
 *
 * Registers two fake Ethernet devices whose NAPI instances are left in the
 * states that `napiq` must tell apart:
 *
 *  ndnapi0: 8 NAPIs (netif_napi_add_weight(), weights below).  The guest
 *    attaches netconsole to it, so dev->npinfo is set.
 *      0, 7   enabled, idle
 *      1      "stuck": NAPI_STATE_SCHED set by napi_schedule_prep() and
 *             never put on a poll list (the shape of a driver that lost a
 *             completion): nothing will ever poll it again
 *      2      stuck the same way, and the kthread nd_napi_reset is blocked
 *             in napi_disable() on it: DISABLE stays set on an UP device
 *             (the shape of a reset path waiting for a NAPI that never
 *             completes)
 *      3, 4   napi_schedule()d by the kthread nd_napi_softirq, bound to a
 *             CPU, which then spins with BH disabled: they stay on that
 *             CPU's softnet_data.poll_list, in that order
 *      5, 6   poll_owner taken with netpoll_poll_lock() by the kthread
 *             nd_napi_netpoll, bound to a CPU, which then sleeps: one CPU
 *             holding several NAPIs of a NIC through netpoll; 6 also has
 *             NAPI_STATE_NPSVC, as poll_one_napi() sets it
 *  ndnapi1: 2 NAPIs, priv_flags IFF_DISABLE_NETPOLL (as hsr/prp devices and
 *    nfp representors set it), so netpoll_setup() refuses it.  The guest
 *    makes it threaded through /sys/class/net/ndnapi1/threaded.
 *
 * Control: write "stuck N", "disable N", "softirq CPU N..." or
 * "netpoll CPU N..." (N: NAPI index on ndnapi0) to /proc/nd_napi_stuck.
 * Read it for key=value lines, including one napi= line per NAPI of every
 * device of init_net, read here in the guest for the manifest.
 * The module cannot be unloaded.
 */
#include <linux/module.h>
#include <linux/kernel.h>
#include <linux/netdevice.h>
#include <linux/etherdevice.h>
#include <linux/netpoll.h>
#include <linux/kthread.h>
#include <linux/delay.h>
#include <linux/proc_fs.h>
#include <linux/seq_file.h>
#include <linux/sched.h>
#include <linux/completion.h>
#include <linux/uaccess.h>
#include <linux/string.h>
#include <linux/cpumask.h>
#include <linux/rtnetlink.h>

#define ND_NAPIS0 8
#define ND_NAPIS1 2
#define ND_MAX_PICK 4

struct nd_priv {
	struct net_device *dev;
	int nr_napi;
	struct napi_struct napi[ND_NAPIS0];
};

static const int nd_weights0[ND_NAPIS0] = { 64, 64, 64, 32, 32, 16, 16, 8 };
static const int nd_weights1[ND_NAPIS1] = { 64, 64 };

static struct net_device *nd_dev[2];
static DEFINE_MUTEX(nd_ctl_mutex);

struct nd_thread {
	const char *name;
	struct task_struct *task;
	pid_t pid;
	int cpu;
	int nr;
	int idx[ND_MAX_PICK];
	const char *stage;
	struct completion ready;
};

static struct nd_thread nd_reset = { .name = "nd_napi_reset", .cpu = -1, .stage = "none" };
static struct nd_thread nd_softirq = { .name = "nd_napi_softirq", .cpu = -1, .stage = "none" };
static struct nd_thread nd_netpoll = { .name = "nd_napi_netpoll", .cpu = -1, .stage = "none" };
static int nd_stuck[ND_NAPIS0];
static int nd_nr_stuck;

static struct nd_priv *nd_p(int i)
{
	return netdev_priv(nd_dev[i]);
}

static int nd_poll(struct napi_struct *napi, int budget)
{
	napi_complete_done(napi, 0);
	return 0;
}

static int nd_open(struct net_device *dev)
{
	struct nd_priv *p = netdev_priv(dev);
	int i;

	for (i = 0; i < p->nr_napi; i++)
		napi_enable(&p->napi[i]);
	netif_carrier_on(dev);
	netif_tx_start_all_queues(dev);
	return 0;
}

static int nd_stop(struct net_device *dev)
{
	/* Never called in the scenario: a stuck NAPI would block napi_disable(). */
	netif_tx_stop_all_queues(dev);
	netif_carrier_off(dev);
	return 0;
}

static netdev_tx_t nd_xmit(struct sk_buff *skb, struct net_device *dev)
{
	dev->stats.tx_packets++;
	dev->stats.tx_bytes += skb->len;
	dev_kfree_skb_any(skb);
	return NETDEV_TX_OK;
}

static const struct net_device_ops nd_napi_netdev_ops = {
	.ndo_open = nd_open,
	.ndo_stop = nd_stop,
	.ndo_start_xmit = nd_xmit,
	.ndo_set_mac_address = eth_mac_addr,
	.ndo_validate_addr = eth_validate_addr,
};

static void nd_setup(struct net_device *dev)
{
	ether_setup(dev);
	dev->netdev_ops = &nd_napi_netdev_ops;
	eth_hw_addr_random(dev);
}

static int nd_create(int i, const char *name, int nr_napi, const int *weights, bool no_netpoll)
{
	struct net_device *dev;
	struct nd_priv *p;
	int err, n;

	dev = alloc_netdev(sizeof(struct nd_priv), name, NET_NAME_USER, nd_setup);
	if (!dev)
		return -ENOMEM;
	p = netdev_priv(dev);
	p->dev = dev;
	p->nr_napi = nr_napi;
	if (no_netpoll)
		dev->priv_flags |= IFF_DISABLE_NETPOLL;
	for (n = 0; n < nr_napi; n++)
		netif_napi_add_weight(dev, &p->napi[n], nd_poll, weights[n]);
	err = register_netdev(dev);
	if (err) {
		free_netdev(dev);
		return err;
	}
	nd_dev[i] = dev;
	pr_info("nd_napi_stuck: %s dev=%px napis=%d\n", name, dev, nr_napi);
	return 0;
}

/* ---- the kthreads ---------------------------------------------------- */

static int nd_reset_fn(void *arg)
{
	struct nd_thread *t = arg;
	struct napi_struct *n = &nd_p(0)->napi[t->idx[0]];

	WRITE_ONCE(t->stage, "napi_disable");
	complete(&t->ready);
	pr_info("nd_napi_stuck: %s pid=%d napi_disable(%px)\n", t->name, current->pid, n);
	napi_disable(n);	/* waits for SCHED to clear: forever */
	WRITE_ONCE(t->stage, "returned");
	while (!kthread_should_stop())
		msleep_interruptible(1000);
	return 0;
}

static int nd_softirq_fn(void *arg)
{
	struct nd_thread *t = arg;
	int i;

	local_bh_disable();
	for (i = 0; i < t->nr; i++)
		napi_schedule(&nd_p(0)->napi[t->idx[i]]);
	/* NET_RX_SOFTIRQ is pending here, and never runs: BH stays disabled. */
	WRITE_ONCE(t->stage, "spinning");
	complete(&t->ready);
	for (;;)
		cpu_relax();
	return 0;
}

static int nd_netpoll_fn(void *arg)
{
	struct nd_thread *t = arg;
	struct napi_struct *n;
	int i;

	for (i = 0; i < t->nr; i++) {
		n = &nd_p(0)->napi[t->idx[i]];
		preempt_disable();
		if (!netpoll_poll_lock(n)) {
			preempt_enable();
			WRITE_ONCE(t->stage, "no-npinfo");
			complete(&t->ready);
			goto sleep;
		}
		preempt_enable();
	}
	/* the last one is "inside poll_one_napi()" */
	set_bit(NAPI_STATE_NPSVC, &nd_p(0)->napi[t->idx[t->nr - 1]].state);
	WRITE_ONCE(t->stage, "holding");
	complete(&t->ready);
sleep:
	while (!kthread_should_stop())
		msleep_interruptible(1000);
	return 0;
}

static int nd_start(struct nd_thread *t, int (*fn)(void *))
{
	struct task_struct *task;

	init_completion(&t->ready);
	task = kthread_create(fn, t, "%s", t->name);
	if (IS_ERR(task))
		return PTR_ERR(task);
	if (t->cpu >= 0)
		kthread_bind(task, t->cpu);
	t->task = task;
	t->pid = task->pid;
	wake_up_process(task);
	if (!wait_for_completion_timeout(&t->ready, 10 * HZ))
		return -ETIMEDOUT;
	return 0;
}

/* ---- /proc/nd_napi_stuck --------------------------------------------- */

static int nd_parse(char *s, struct nd_thread *t, bool with_cpu)
{
	char *tok;
	int v;

	t->nr = 0;
	while ((tok = strsep(&s, " \t\n")) != NULL) {
		if (!*tok)
			continue;
		if (kstrtoint(tok, 10, &v))
			return -EINVAL;
		if (with_cpu && t->cpu < 0) {
			if (v < 0 || v >= nr_cpu_ids || !cpu_online(v))
				return -EINVAL;
			t->cpu = v;
			continue;
		}
		if (v < 0 || v >= ND_NAPIS0 || t->nr >= ND_MAX_PICK)
			return -EINVAL;
		t->idx[t->nr++] = v;
	}
	return t->nr ? 0 : -EINVAL;
}

static ssize_t nd_ctl_write(struct file *file, const char __user *ubuf, size_t len, loff_t *off)
{
	char buf[64], *arg;
	int err = 0, n;

	if (len == 0 || len >= sizeof(buf))
		return -EINVAL;
	if (copy_from_user(buf, ubuf, len))
		return -EFAULT;
	buf[len] = '\0';
	arg = strchr(buf, ' ');
	if (!arg)
		return -EINVAL;
	*arg++ = '\0';
	mutex_lock(&nd_ctl_mutex);
	if (!strcmp(buf, "stuck")) {
		if (kstrtoint(strim(arg), 10, &n) || n < 0 || n >= ND_NAPIS0 || nd_nr_stuck >= ND_NAPIS0)
			err = -EINVAL;
		else if (!napi_schedule_prep(&nd_p(0)->napi[n]))
			err = -EBUSY;
		else
			nd_stuck[nd_nr_stuck++] = n;
	} else if (!strcmp(buf, "disable") && !nd_reset.task) {
		err = nd_parse(arg, &nd_reset, false);
		if (!err)
			err = nd_start(&nd_reset, nd_reset_fn);
	} else if (!strcmp(buf, "softirq") && !nd_softirq.task) {
		err = nd_parse(arg, &nd_softirq, true);
		if (!err)
			err = nd_start(&nd_softirq, nd_softirq_fn);
	} else if (!strcmp(buf, "netpoll") && !nd_netpoll.task) {
		err = nd_parse(arg, &nd_netpoll, true);
		if (!err)
			err = nd_start(&nd_netpoll, nd_netpoll_fn);
	} else {
		err = -EINVAL;
	}
	mutex_unlock(&nd_ctl_mutex);
	return err ? err : len;
}

static void nd_show_thread(struct seq_file *m, struct nd_thread *t)
{
	int i;

	seq_printf(m, "%s=%d %d %s", t->name, t->pid, t->cpu, READ_ONCE(t->stage));
	for (i = 0; i < t->nr; i++)
		seq_printf(m, " %d", t->idx[i]);
	seq_putc(m, '\n');
}

/* The index of n in its device's array if it is one of ours, else -1. */
static int nd_index(struct napi_struct *n)
{
	int d, i;

	for (d = 0; d < 2; d++) {
		if (!nd_dev[d] || n->dev != nd_dev[d])
			continue;
		for (i = 0; i < nd_p(d)->nr_napi; i++)
			if (&nd_p(d)->napi[i] == n)
				return i;
	}
	return -1;
}

static int nd_ctl_show(struct seq_file *m, void *v)
{
	struct net_device *dev, *master;
	struct napi_struct *n;
	struct softnet_data *sd;
	struct list_head *pos;
	int i, pos_in_list;

	seq_printf(m, "bits=SCHED:%d MISSED:%d DISABLE:%d NPSVC:%d LISTED:%d NO_BUSY_POLL:%d "
		   "IN_BUSY_POLL:%d PREFER_BUSY_POLL:%d THREADED:%d SCHED_THREADED:%d\n",
		   NAPI_STATE_SCHED, NAPI_STATE_MISSED, NAPI_STATE_DISABLE, NAPI_STATE_NPSVC,
		   NAPI_STATE_LISTED, NAPI_STATE_NO_BUSY_POLL, NAPI_STATE_IN_BUSY_POLL,
		   NAPI_STATE_PREFER_BUSY_POLL, NAPI_STATE_THREADED, NAPI_STATE_SCHED_THREADED);
	seq_printf(m, "iff_disable_netpoll=%#x\n", (unsigned int)IFF_DISABLE_NETPOLL);
	seq_printf(m, "stuck=");
	for (i = 0; i < nd_nr_stuck; i++)
		seq_printf(m, "%s%d", i ? " " : "", nd_stuck[i]);
	seq_putc(m, '\n');
	nd_show_thread(m, &nd_reset);
	nd_show_thread(m, &nd_softirq);
	nd_show_thread(m, &nd_netpoll);

	rcu_read_lock();
	/* dev=NAME IFINDEX ADDR FLAGS PRIV_FLAGS NPINFO MASTER OPS */
	for_each_netdev_rcu(&init_net, dev) {
		master = netdev_master_upper_dev_get_rcu(dev);
		seq_printf(m, "dev=%s %d %px %#x %#llx %px %s %pS\n", dev->name, dev->ifindex, dev,
			   dev->flags, (unsigned long long)dev->priv_flags,
			   rcu_dereference(dev->npinfo), master ? master->name : "-", dev->netdev_ops);
		/* napi=DEV POS INDEX ADDR ID STATE WEIGHT OWNER THREAD_PID POLL */
		pos_in_list = 0;
		list_for_each_entry_rcu(n, &dev->napi_list, dev_list) {
			seq_printf(m, "napi=%s %d %d %px %u %#lx %d %d %d %ps\n", dev->name, pos_in_list++,
				   nd_index(n), n, n->napi_id, READ_ONCE(n->state), n->weight,
				   READ_ONCE(n->poll_owner), n->thread ? n->thread->pid : 0, n->poll);
		}
	}
	rcu_read_unlock();

	/*
	 * The poll list of the CPU that spins with BH disabled: only that CPU
	 * changes it (from its own softirq, or hard irqs there), and it runs
	 * neither.  poll=CPU NAPI...
	 */
	if (READ_ONCE(nd_softirq.stage)[0] == 's') {
		sd = &per_cpu(softnet_data, nd_softirq.cpu);
		seq_printf(m, "poll_list=%d", nd_softirq.cpu);
		i = 0;
		list_for_each(pos, &sd->poll_list) {
			if (++i > 64)
				break;
			seq_printf(m, " %px", list_entry(pos, struct napi_struct, poll_list));
		}
		seq_putc(m, '\n');
	}
	return 0;
}

static int nd_ctl_open(struct inode *inode, struct file *file)
{
	return single_open(file, nd_ctl_show, NULL);
}

static const struct proc_ops nd_ctl_ops = {
	.proc_open = nd_ctl_open,
	.proc_read = seq_read,
	.proc_lseek = seq_lseek,
	.proc_release = single_release,
	.proc_write = nd_ctl_write,
};

static int __init nd_napi_init(void)
{
	int err;

	err = nd_create(0, "ndnapi0", ND_NAPIS0, nd_weights0, false);
	if (!err)
		err = nd_create(1, "ndnapi1", ND_NAPIS1, nd_weights1, true);
	if (err)
		return err;	/* ndnapi0 stays: the module is permanent anyway */
	if (!proc_create("nd_napi_stuck", 0600, NULL, &nd_ctl_ops))
		return -ENOMEM;
	return 0;
}
module_init(nd_napi_init);
/* no module_exit: stuck NAPIs cannot be torn down */

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("netdbg scenario napi: NAPI instances left stuck, disabled, listed and held by netpoll");
