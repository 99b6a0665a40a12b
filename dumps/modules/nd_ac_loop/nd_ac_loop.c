// SPDX-License-Identifier: GPL-2.0
/*
 * nd_ac_loop - netdbg test scenario "anycast-loop".
 *
 * The shape of a real incident: a kworker holds rtnl_mutex and never lets it
 * go because it loops forever in __ipv6_dev_ac_inc(), walking an
 * inet6_dev->ac_list that loops back on itself.  Here the work item
 * nd_ac_loop_work_fn (per-CPU workqueue "nd_ac_loop", CPU 1):
 *
 *  1. takes rtnl_lock(), finds the device (module parameter ifname,
 *     default dummy2) and its inet6_dev (__in6_dev_get);
 *  2. under write_lock_bh(&idev->lock) records the ac_list entries in order
 *     and makes the last entry's aca_next point back to entry `target`
 *     (default 1, the second entry; 0 when the list has only two entries);
 *  3. drops idev->lock and spins forever holding rtnl
 *     (cpu_relax(); cond_resched();).
 *
 * Everything it did is printed with pr_info (%px) and readable as key=value
 * lines from /proc/nd_ac_loop.  Nothing may walk the device's ac_list
 * afterwards (reading /proc/net/anycast6 would never end).  The module
 * cannot be unloaded.
 */
#include <linux/module.h>
#include <linux/kernel.h>
#include <linux/netdevice.h>
#include <linux/rtnetlink.h>
#include <linux/workqueue.h>
#include <linux/proc_fs.h>
#include <linux/seq_file.h>
#include <linux/sched.h>
#include <linux/sched/clock.h>
#include <linux/completion.h>
#include <net/net_namespace.h>
#include <net/addrconf.h>
#include <net/if_inet6.h>

#define ND_MAX_ENTRIES 64

static char *ifname = "dummy2";
module_param(ifname, charp, 0444);
MODULE_PARM_DESC(ifname, "device whose ac_list is looped");
static int target = 1;
module_param(target, int, 0444);
MODULE_PARM_DESC(target, "index of the entry the last entry is re-pointed to");

static struct workqueue_struct *nd_wq;
static struct work_struct nd_work;
static DECLARE_COMPLETION(nd_done);

static const char *nd_result = "pending";
static pid_t nd_pid;
static int nd_cpu = -1;
static char nd_comm[TASK_COMM_LEN];
static u64 nd_rtnl_ns;
static int nd_ifindex;
static struct inet6_dev *nd_idev;
static struct ifacaddr6 *nd_entry[ND_MAX_ENTRIES];
static struct in6_addr nd_entry_addr[ND_MAX_ENTRIES];
static int nd_entry_users[ND_MAX_ENTRIES];
static int nd_nentries;
static int nd_from = -1, nd_to = -1;
static struct ifacaddr6 *nd_old_next;
static bool nd_spinning;
static unsigned long nd_spins;

/* Runs in a kworker/1:M thread and never returns. */
static noinline void nd_ac_loop_work_fn(struct work_struct *work)
{
	struct net_device *dev;
	struct inet6_dev *idev;
	struct ifacaddr6 *aca;
	int i, n = 0;

	rtnl_lock();
	nd_rtnl_ns = local_clock();
	nd_pid = current->pid;
	nd_cpu = raw_smp_processor_id();
	get_task_comm(nd_comm, current);
	pr_info("nd_ac_loop: took rtnl_mutex pid=%d comm=%s fn=%ps cpu=%d\n",
		nd_pid, nd_comm, nd_ac_loop_work_fn, nd_cpu);

	dev = __dev_get_by_name(&init_net, ifname);
	idev = dev ? __in6_dev_get(dev) : NULL;
	if (!idev) {
		nd_result = "error_no_device";
		goto out_unlock;
	}
	nd_ifindex = dev->ifindex;
	nd_idev = idev;

	write_lock_bh(&idev->lock);
	for (aca = idev->ac_list; aca && n < ND_MAX_ENTRIES; aca = aca->aca_next) {
		nd_entry[n] = aca;
		nd_entry_addr[n] = aca->aca_addr;
		nd_entry_users[n] = aca->aca_users;
		n++;
	}
	nd_nentries = n;
	if (n >= 2 && !aca) {
		nd_from = n - 1;
		nd_to = (n == 2) ? 0 : clamp(target, 0, n - 2);
		nd_old_next = nd_entry[nd_from]->aca_next;
		WRITE_ONCE(nd_entry[nd_from]->aca_next, nd_entry[nd_to]);
	}
	write_unlock_bh(&idev->lock);

	pr_info("nd_ac_loop: dev=%s ifindex=%d idev=%px ac_list=%px entries=%d\n",
		dev->name, nd_ifindex, idev, n ? nd_entry[0] : NULL, n);
	for (i = 0; i < n; i++)
		pr_info("nd_ac_loop: entry %d %px %pI6c users=%d\n",
			i, nd_entry[i], &nd_entry_addr[i], nd_entry_users[i]);
	if (nd_from < 0) {
		nd_result = "error_too_few_entries";
		goto out_unlock;
	}
	pr_info("nd_ac_loop: looped entry %d %px: aca_next %px -> %px (entry %d)\n",
		nd_from, nd_entry[nd_from], nd_old_next, nd_entry[nd_to], nd_to);
	nd_result = "looped";
	complete(&nd_done);

	WRITE_ONCE(nd_spinning, true);
	for (;;) {
		WRITE_ONCE(nd_spins, nd_spins + 1);
		cpu_relax();
		cond_resched();
	}

out_unlock:
	pr_err("nd_ac_loop: %s (ifname=%s)\n", nd_result, ifname);
	rtnl_unlock();
	complete(&nd_done);
}

static int nd_proc_show(struct seq_file *m, void *v)
{
	int i;

	seq_printf(m, "result=%s\n", nd_result);
	seq_printf(m, "owner_pid=%d\nowner_comm=%s\nowner_cpu=%d\n", nd_pid, nd_comm, nd_cpu);
	seq_printf(m, "work_fn=%ps\nworkqueue=nd_ac_loop\n", nd_ac_loop_work_fn);
	seq_printf(m, "rtnl_taken_ts=%llu.%06lu\n", nd_rtnl_ns / NSEC_PER_SEC,
		   (unsigned long)(nd_rtnl_ns % NSEC_PER_SEC) / 1000);
	seq_printf(m, "device=%s\nifindex=%d\nidev=0x%px\n", ifname, nd_ifindex, nd_idev);
	seq_printf(m, "entries=%d\n", nd_nentries);
	for (i = 0; i < nd_nentries; i++)
		seq_printf(m, "entry=%d 0x%px %pI6c %d\n", i, nd_entry[i],
			   &nd_entry_addr[i], nd_entry_users[i]);
	seq_printf(m, "loop_from_index=%d\n", nd_from);
	seq_printf(m, "loop_from=0x%px\n", nd_from >= 0 ? nd_entry[nd_from] : NULL);
	seq_printf(m, "loop_old_next=0x%px\n", nd_old_next);
	seq_printf(m, "loop_to_index=%d\n", nd_to);
	seq_printf(m, "loop_to=0x%px\n", nd_to >= 0 ? nd_entry[nd_to] : NULL);
	seq_printf(m, "spinning=%d\nspins=%lu\n", READ_ONCE(nd_spinning), READ_ONCE(nd_spins));
	return 0;
}

static int __init nd_ac_loop_init(void)
{
	nd_wq = alloc_workqueue("nd_ac_loop", WQ_CPU_INTENSIVE, 1);
	if (!nd_wq)
		return -ENOMEM;
	if (!proc_create_single("nd_ac_loop", 0400, NULL, nd_proc_show)) {
		destroy_workqueue(nd_wq);
		return -ENOMEM;
	}
	INIT_WORK(&nd_work, nd_ac_loop_work_fn);
	queue_work_on(num_online_cpus() > 1 ? 1 : 0, nd_wq, &nd_work);
	if (!wait_for_completion_timeout(&nd_done, 30 * HZ))
		pr_err("nd_ac_loop: work did not finish its setup within 30 s\n");
	return 0;
}
module_init(nd_ac_loop_init);

/* No module_exit: the work holds rtnl forever. */
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("netdbg scenario anycast-loop: kworker holds rtnl, ac_list loops");
