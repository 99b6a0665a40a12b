// SPDX-License-Identifier: GPL-2.0
/*
 * nd_rtnl_stuck - netdbg test scenario "rtnl-stuck".
 *
 * Builds, inside a throw-away QEMU guest, the shape of a real incident:
 *
 *  - a kworker (work item nd_rtnl_hog_work_fn on the dedicated per-CPU
 *    workqueue "nd_rtnl_hog") takes rtnl_mutex and never releases it;
 *  - user processes (busybox ip) queue up on rtnl_mutex (started by /init);
 *  - chain: kthread nd_chain_holder holds nd_chain_mutex and waits for
 *    rtnl_mutex; kthread nd_chain_waiter waits for nd_chain_mutex;
 *  - ABBA deadlock: nd_abba_a holds nd_abba_mutex_a and waits for
 *    nd_abba_mutex_b, nd_abba_b holds nd_abba_mutex_b and waits for
 *    nd_abba_mutex_a.
 *
 * The hog works in two phases.  Phase 1 (from load until "spin" is written
 * to /proc/nd_rtnl_stuck): it holds rtnl and sleeps in short naps, so that
 * every rtnl_lock() caller goes to sleep on the mutex wait list (with
 * CONFIG_MUTEX_SPIN_ON_OWNER a waiter whose owner is on a CPU would spin
 * instead of sleeping).  Phase 2: it spins forever (cpu_relax() plus
 * cond_resched()) while holding rtnl - the state it is in when dumped.
 *
 * Control: write "chain", "abba" or "spin" to /proc/nd_rtnl_stuck;
 * read it for key=value status lines.  The module cannot be unloaded.
 */
#include <linux/module.h>
#include <linux/kernel.h>
#include <linux/kthread.h>
#include <linux/mutex.h>
#include <linux/rtnetlink.h>
#include <linux/workqueue.h>
#include <linux/delay.h>
#include <linux/proc_fs.h>
#include <linux/seq_file.h>
#include <linux/sched.h>
#include <linux/sched/clock.h>
#include <linux/completion.h>
#include <linux/uaccess.h>
#include <linux/string.h>
#include <linux/cpumask.h>

static DEFINE_MUTEX(nd_chain_mutex);
static DEFINE_MUTEX(nd_abba_mutex_a);
static DEFINE_MUTEX(nd_abba_mutex_b);

static struct workqueue_struct *nd_hog_wq;
static struct work_struct nd_hog_work;
static DECLARE_COMPLETION(nd_hog_has_rtnl);
static DECLARE_COMPLETION(nd_chain_holder_locked);

static bool nd_hog_spin;			/* phase 2 requested */
static bool nd_hog_spinning;			/* phase 2 entered */
static unsigned long nd_hog_spins;		/* phase 2 loop counter */
static pid_t nd_hog_pid;
static int nd_hog_cpu = -1;
static char nd_hog_comm[TASK_COMM_LEN];
static u64 nd_hog_rtnl_ns, nd_hog_spin_ns;

struct nd_thread {
	const char *name;
	struct task_struct *task;
	pid_t pid;
	const char *stage;
	u64 stage_ns;
};

static struct nd_thread nd_chain_holder = { .name = "nd_chain_holder", .stage = "none" };
static struct nd_thread nd_chain_waiter = { .name = "nd_chain_waiter", .stage = "none" };
static struct nd_thread nd_abba_a = { .name = "nd_abba_a", .stage = "none" };
static struct nd_thread nd_abba_b = { .name = "nd_abba_b", .stage = "none" };
static atomic_t nd_abba_first_taken = ATOMIC_INIT(0);

static DEFINE_MUTEX(nd_ctl_mutex);		/* serialises /proc writes */

static void nd_stage(struct nd_thread *t, const char *stage)
{
	t->stage_ns = local_clock();
	smp_wmb();
	WRITE_ONCE(t->stage, stage);
	pr_info("nd_rtnl_stuck: %s pid=%d stage=%s\n", t->name, current->pid, stage);
}

/* Runs in a kworker/N:M thread and never returns. */
static noinline void nd_rtnl_hog_work_fn(struct work_struct *work)
{
	rtnl_lock();
	nd_hog_rtnl_ns = local_clock();
	nd_hog_pid = current->pid;
	nd_hog_cpu = raw_smp_processor_id();
	get_task_comm(nd_hog_comm, current);
	pr_info("nd_rtnl_stuck: hog took rtnl_mutex pid=%d comm=%s fn=%ps cpu=%d\n",
		current->pid, nd_hog_comm, nd_rtnl_hog_work_fn, nd_hog_cpu);
	complete(&nd_hog_has_rtnl);

	/* Phase 1: hold rtnl, off-CPU most of the time. */
	while (!READ_ONCE(nd_hog_spin))
		msleep_interruptible(20);

	nd_hog_spin_ns = local_clock();
	WRITE_ONCE(nd_hog_spinning, true);
	pr_info("nd_rtnl_stuck: hog pid=%d spinning with rtnl_mutex held\n",
		current->pid);

	/* Phase 2: spin forever holding rtnl. */
	for (;;) {
		WRITE_ONCE(nd_hog_spins, nd_hog_spins + 1);
		cpu_relax();
		cond_resched();
	}
	rtnl_unlock();	/* never reached */
}

static void nd_idle_forever(void)
{
	while (!kthread_should_stop())
		msleep_interruptible(1000);
}

static int nd_chain_holder_fn(void *arg)
{
	struct nd_thread *t = arg;

	mutex_lock(&nd_chain_mutex);
	nd_stage(t, "holds_nd_chain_mutex");
	complete(&nd_chain_holder_locked);
	nd_stage(t, "waiting_rtnl_mutex");
	rtnl_lock();			/* blocks: the hog owns rtnl */
	nd_stage(t, "got_rtnl_mutex");	/* never reached */
	rtnl_unlock();
	mutex_unlock(&nd_chain_mutex);
	nd_idle_forever();
	return 0;
}

static int nd_chain_waiter_fn(void *arg)
{
	struct nd_thread *t = arg;

	nd_stage(t, "waiting_nd_chain_mutex");
	mutex_lock(&nd_chain_mutex);	/* blocks: nd_chain_holder owns it */
	nd_stage(t, "got_nd_chain_mutex");
	mutex_unlock(&nd_chain_mutex);
	nd_idle_forever();
	return 0;
}

static int nd_abba_fn(void *arg)
{
	struct nd_thread *t = arg;
	bool is_a = (t == &nd_abba_a);
	struct mutex *first = is_a ? &nd_abba_mutex_a : &nd_abba_mutex_b;
	struct mutex *second = is_a ? &nd_abba_mutex_b : &nd_abba_mutex_a;

	mutex_lock(first);
	nd_stage(t, is_a ? "holds_nd_abba_mutex_a" : "holds_nd_abba_mutex_b");
	atomic_inc(&nd_abba_first_taken);
	while (atomic_read(&nd_abba_first_taken) < 2)
		msleep(10);
	msleep(1000);
	nd_stage(t, is_a ? "waiting_nd_abba_mutex_b" : "waiting_nd_abba_mutex_a");
	mutex_lock(second);		/* blocks forever: ABBA */
	nd_stage(t, "got_both");
	mutex_unlock(second);
	mutex_unlock(first);
	nd_idle_forever();
	return 0;
}

static int nd_start(struct nd_thread *t, int (*fn)(void *))
{
	struct task_struct *task;

	if (t->task)
		return 0;
	task = kthread_run(fn, t, "%s", t->name);
	if (IS_ERR(task))
		return PTR_ERR(task);
	t->task = task;
	t->pid = task->pid;
	pr_info("nd_rtnl_stuck: started %s pid=%d\n", t->name, t->pid);
	return 0;
}

static void nd_show_ts(struct seq_file *m, const char *key, u64 ns)
{
	seq_printf(m, "%s=%llu.%06lu\n", key, ns / NSEC_PER_SEC,
		   (unsigned long)(ns % NSEC_PER_SEC) / 1000);
}

static void nd_show_thread(struct seq_file *m, const char *key,
			   struct nd_thread *t)
{
	const char *stage = READ_ONCE(t->stage);
	char tskey[40];

	smp_rmb();
	seq_printf(m, "%s_pid=%d\n%s_stage=%s\n", key, t->pid, key, stage);
	snprintf(tskey, sizeof(tskey), "%s_stage_ts", key);
	nd_show_ts(m, tskey, t->stage_ns);
}

static int nd_proc_show(struct seq_file *m, void *v)
{
	seq_printf(m, "hog_pid=%d\n", nd_hog_pid);
	seq_printf(m, "hog_comm=%s\n", nd_hog_comm);
	seq_printf(m, "hog_cpu=%d\n", nd_hog_cpu);
	seq_printf(m, "hog_work_fn=%ps\n", nd_rtnl_hog_work_fn);
	seq_printf(m, "hog_workqueue=nd_rtnl_hog\n");
	nd_show_ts(m, "hog_rtnl_ts", nd_hog_rtnl_ns);
	seq_printf(m, "hog_spinning=%d\n", READ_ONCE(nd_hog_spinning));
	if (nd_hog_spin_ns)
		nd_show_ts(m, "hog_spin_ts", nd_hog_spin_ns);
	seq_printf(m, "hog_spins=%lu\n", READ_ONCE(nd_hog_spins));
	nd_show_thread(m, "chain_holder", &nd_chain_holder);
	nd_show_thread(m, "chain_waiter", &nd_chain_waiter);
	nd_show_thread(m, "abba_a", &nd_abba_a);
	nd_show_thread(m, "abba_b", &nd_abba_b);
	return 0;
}

static int nd_proc_open(struct inode *inode, struct file *file)
{
	return single_open(file, nd_proc_show, NULL);
}

static ssize_t nd_proc_write(struct file *file, const char __user *ubuf,
			     size_t len, loff_t *ppos)
{
	char buf[16];
	int ret = 0;

	if (len >= sizeof(buf))
		return -EINVAL;
	if (copy_from_user(buf, ubuf, len))
		return -EFAULT;
	buf[len] = '\0';
	strim(buf);

	mutex_lock(&nd_ctl_mutex);
	if (!strcmp(buf, "chain")) {
		ret = nd_start(&nd_chain_holder, nd_chain_holder_fn);
		if (!ret) {
			wait_for_completion(&nd_chain_holder_locked);
			ret = nd_start(&nd_chain_waiter, nd_chain_waiter_fn);
		}
	} else if (!strcmp(buf, "abba")) {
		ret = nd_start(&nd_abba_a, nd_abba_fn);
		if (!ret)
			ret = nd_start(&nd_abba_b, nd_abba_fn);
	} else if (!strcmp(buf, "spin")) {
		WRITE_ONCE(nd_hog_spin, true);
	} else {
		ret = -EINVAL;
	}
	mutex_unlock(&nd_ctl_mutex);
	return ret ? ret : len;
}

static const struct proc_ops nd_proc_ops = {
	.proc_open	= nd_proc_open,
	.proc_read	= seq_read,
	.proc_lseek	= seq_lseek,
	.proc_release	= single_release,
	.proc_write	= nd_proc_write,
};

static int __init nd_rtnl_stuck_init(void)
{
	int cpu;

	/*
	 * Per-CPU (bound) workqueue, so the work runs in a kworker/N:M thread;
	 * CPU_INTENSIVE so the spinning item does not starve the CPU's other
	 * work items of the shared worker pool.
	 */
	nd_hog_wq = alloc_workqueue("nd_rtnl_hog", WQ_CPU_INTENSIVE, 1);
	if (!nd_hog_wq)
		return -ENOMEM;
	if (!proc_create("nd_rtnl_stuck", 0600, NULL, &nd_proc_ops)) {
		destroy_workqueue(nd_hog_wq);
		return -ENOMEM;
	}
	INIT_WORK(&nd_hog_work, nd_rtnl_hog_work_fn);
	cpu = num_online_cpus() > 1 ? 1 : 0;
	queue_work_on(cpu, nd_hog_wq, &nd_hog_work);
	if (!wait_for_completion_timeout(&nd_hog_has_rtnl, 30 * HZ))
		pr_err("nd_rtnl_stuck: hog did not take rtnl within 30 s\n");
	return 0;
}
module_init(nd_rtnl_stuck_init);

/* No module_exit: the module holds locks forever and cannot be unloaded. */
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("netdbg scenario rtnl-stuck: kworker holds rtnl_mutex forever");
