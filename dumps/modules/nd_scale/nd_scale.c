// SPDX-License-Identifier: GPL-2.0
/*
 * nd_scale - netdbg scenario "scale": a kernel of production size for the
 * benchmark (make bench).  At load it builds, and then leaves in place:
 *
 *  - nd_scale_big: a list of big_entries (1,000,000) kmalloc'ed
 *    struct nd_scale_entry, linked through ->link, index 0..N-1 in order;
 *  - nd_scale_loop: a list of loop_entries (100,000) entries whose last
 *    entry's next points back to entry loop_target (no way back to the head);
 *  - nr_sleepers kthreads "nd_sleep/N" asleep in S state;
 *  - kthread "nd_mutex_holder" owning nd_scale_mutex (asleep, S state) and
 *    nr_mutex_waiters kthreads "nd_mwait/N" in D state on nd_scale_mutex;
 *  - kthread "nd_rtnl_holder" owning rtnl_mutex (asleep, S state) and
 *    nr_rtnl_waiters kthreads "nd_rwait/N" in D state in rtnl_lock(),
 *    queued one after the other (wait-list order = N).
 *
 * The owners sleep (they are never on a CPU), so with
 * CONFIG_MUTEX_SPIN_ON_OWNER every waiter queues and sleeps at once.
 * Status: key=value lines in /proc/nd_scale.  The module cannot be unloaded.
 */
#include <linux/module.h>
#include <linux/kernel.h>
#include <linux/kthread.h>
#include <linux/mutex.h>
#include <linux/rtnetlink.h>
#include <linux/delay.h>
#include <linux/proc_fs.h>
#include <linux/seq_file.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>
#include <linux/wait.h>
#include <linux/completion.h>
#include <linux/list.h>

static unsigned int nr_sleepers = 8000;
module_param(nr_sleepers, uint, 0444);
MODULE_PARM_DESC(nr_sleepers, "kthreads asleep in S state");
static unsigned int nr_mutex_waiters = 2000;
module_param(nr_mutex_waiters, uint, 0444);
MODULE_PARM_DESC(nr_mutex_waiters, "kthreads in D state on nd_scale_mutex");
static unsigned int nr_rtnl_waiters = 32;
module_param(nr_rtnl_waiters, uint, 0444);
MODULE_PARM_DESC(nr_rtnl_waiters, "kthreads in D state on rtnl_mutex");
static unsigned long big_entries = 1000000;
module_param(big_entries, ulong, 0444);
MODULE_PARM_DESC(big_entries, "entries of nd_scale_big");
static unsigned long loop_entries = 100000;
module_param(loop_entries, ulong, 0444);
MODULE_PARM_DESC(loop_entries, "entries of nd_scale_loop");
static unsigned long loop_target = 50000;
module_param(loop_target, ulong, 0444);
MODULE_PARM_DESC(loop_target, "index the last entry of nd_scale_loop points back to");

#define ND_SCALE_COOKIE 0x6e647363616c6500UL	/* "ndscale\0" */

struct nd_scale_entry {
	struct list_head link;		/* offset 0 */
	unsigned long index;		/* offset 16: 0.. in list order */
	unsigned long cookie;		/* offset 24: ND_SCALE_COOKIE ^ index */
	char pad[32];			/* 64 bytes: kmalloc-64; no poison */
};

static LIST_HEAD(nd_scale_big);
static LIST_HEAD(nd_scale_loop);
static DEFINE_MUTEX(nd_scale_mutex);

static unsigned long nd_big_count, nd_loop_count;
static struct nd_scale_entry *nd_big_first, *nd_big_last;
static struct nd_scale_entry *nd_loop_first, *nd_loop_last, *nd_loop_to;
static struct list_head *nd_loop_old_next;

static DECLARE_WAIT_QUEUE_HEAD(nd_never);	/* nobody ever wakes it */
static DECLARE_COMPLETION(nd_mutex_held);
static DECLARE_COMPLETION(nd_rtnl_held);
static atomic_t nd_rtnl_calling = ATOMIC_INIT(0);
static const char *nd_result = "loading";

static pid_t nd_mutex_holder_pid, nd_rtnl_holder_pid;
static pid_t *nd_mwait_pid, *nd_rwait_pid;
static unsigned int nd_sleepers_started, nd_mwait_started, nd_rwait_started;
static unsigned int nd_mutex_wait_list_len;

static void nd_sleep_forever(void)
{
	wait_event_interruptible(nd_never, kthread_should_stop());
	while (!kthread_should_stop())
		msleep_interruptible(1000);
}

static int nd_sleeper_fn(void *arg)
{
	nd_sleep_forever();
	return 0;
}

static int nd_mutex_holder_fn(void *arg)
{
	mutex_lock(&nd_scale_mutex);
	complete(&nd_mutex_held);
	nd_sleep_forever();		/* never unlocks */
	return 0;
}

static int nd_mutex_waiter_fn(void *arg)
{
	mutex_lock(&nd_scale_mutex);	/* blocks: the holder never unlocks */
	mutex_unlock(&nd_scale_mutex);
	nd_sleep_forever();
	return 0;
}

static int nd_rtnl_holder_fn(void *arg)
{
	rtnl_lock();
	complete(&nd_rtnl_held);
	nd_sleep_forever();		/* never unlocks */
	return 0;
}

static int nd_rtnl_waiter_fn(void *arg)
{
	atomic_set(&nd_rtnl_calling, (int)(long)arg);
	rtnl_lock();			/* blocks: the holder never unlocks */
	rtnl_unlock();
	nd_sleep_forever();
	return 0;
}

static struct nd_scale_entry *nd_new_entry(unsigned long index)
{
	struct nd_scale_entry *e = kmalloc(sizeof(*e), GFP_KERNEL);

	if (!e)
		return NULL;
	e->index = index;
	e->cookie = ND_SCALE_COOKIE ^ index;
	/* Not a poison byte (0x5a/0x6b/0xa5, 0xec): a checker that looks for
	 * poison must find none here. */
	memset(e->pad, 0x11 + (index & 0x3f), sizeof(e->pad));
	return e;
}

static int nd_build_lists(void)
{
	struct nd_scale_entry *e;
	unsigned long i;

	for (i = 0; i < big_entries; i++) {
		e = nd_new_entry(i);
		if (!e)
			return -ENOMEM;
		list_add_tail(&e->link, &nd_scale_big);
		if (i == 0)
			nd_big_first = e;
		nd_big_last = e;
		nd_big_count++;
		if ((i & 1023) == 0)
			cond_resched();
	}
	if (loop_entries < 2 || loop_target >= loop_entries - 1)
		return -EINVAL;
	for (i = 0; i < loop_entries; i++) {
		e = nd_new_entry(i);
		if (!e)
			return -ENOMEM;
		list_add_tail(&e->link, &nd_scale_loop);
		if (i == 0)
			nd_loop_first = e;
		if (i == loop_target)
			nd_loop_to = e;
		nd_loop_last = e;
		nd_loop_count++;
		if ((i & 1023) == 0)
			cond_resched();
	}
	/* The loop: the last entry's next goes back to entry loop_target. */
	nd_loop_old_next = nd_loop_last->link.next;
	WRITE_ONCE(nd_loop_last->link.next, &nd_loop_to->link);
	return 0;
}

static struct task_struct *nd_start(int (*fn)(void *), void *arg, const char *fmt, unsigned int n)
{
	struct task_struct *t = kthread_run(fn, arg, fmt, n);

	if (IS_ERR(t)) {
		pr_err("nd_scale: kthread_run(%s, %u) failed: %ld\n", fmt, n, PTR_ERR(t));
		return NULL;
	}
	return t;
}

static unsigned int nd_mutex_waiters_queued(void)
{
	struct list_head *p;
	unsigned int n = 0;

	raw_spin_lock(&nd_scale_mutex.wait_lock);
	list_for_each(p, &nd_scale_mutex.wait_list)
		n++;
	raw_spin_unlock(&nd_scale_mutex.wait_lock);
	return n;
}

static int nd_start_threads(void)
{
	struct task_struct *t;
	unsigned int i;
	int tries;

	for (i = 0; i < nr_sleepers; i++) {
		if (!nd_start(nd_sleeper_fn, NULL, "nd_sleep/%u", i))
			return -ENOMEM;
		nd_sleepers_started++;
	}
	pr_info("nd_scale: %u sleepers started\n", nd_sleepers_started);

	t = nd_start(nd_mutex_holder_fn, NULL, "nd_mutex_holder", 0);
	if (!t)
		return -ENOMEM;
	nd_mutex_holder_pid = task_pid_nr(t);
	wait_for_completion(&nd_mutex_held);
	for (i = 0; i < nr_mutex_waiters; i++) {
		t = nd_start(nd_mutex_waiter_fn, NULL, "nd_mwait/%u", i);
		if (!t)
			return -ENOMEM;
		nd_mwait_pid[i] = task_pid_nr(t);
		nd_mwait_started++;
	}
	for (tries = 0; tries < 600; tries++) {
		nd_mutex_wait_list_len = nd_mutex_waiters_queued();
		if (nd_mutex_wait_list_len >= nr_mutex_waiters)
			break;
		msleep(100);
	}
	if (nd_mutex_wait_list_len != nr_mutex_waiters) {
		pr_err("nd_scale: %u of %u waiters queued on nd_scale_mutex\n",
		       nd_mutex_wait_list_len, nr_mutex_waiters);
		return -ETIMEDOUT;
	}
	pr_info("nd_scale: %u waiters queued on nd_scale_mutex\n", nd_mutex_wait_list_len);

	t = nd_start(nd_rtnl_holder_fn, NULL, "nd_rtnl_holder", 0);
	if (!t)
		return -ENOMEM;
	nd_rtnl_holder_pid = task_pid_nr(t);
	wait_for_completion(&nd_rtnl_held);
	/* One after the other: each waiter is asleep on the wait list (D state
	 * is set after __mutex_add_waiter()) before the next one starts. */
	for (i = 0; i < nr_rtnl_waiters; i++) {
		t = nd_start(nd_rtnl_waiter_fn, (void *)(long)(i + 1), "nd_rwait/%u", i);
		if (!t)
			return -ENOMEM;
		nd_rwait_pid[i] = task_pid_nr(t);
		for (tries = 0; tries < 10000; tries++) {
			if (atomic_read(&nd_rtnl_calling) == (int)(i + 1) &&
			    READ_ONCE(t->__state) == TASK_UNINTERRUPTIBLE)
				break;
			usleep_range(500, 1000);
		}
		if (tries == 10000) {
			pr_err("nd_scale: rtnl waiter %u never slept\n", i);
			return -ETIMEDOUT;
		}
		nd_rwait_started++;
	}
	pr_info("nd_scale: %u waiters queued on rtnl_mutex\n", nd_rwait_started);
	return 0;
}

static int nd_proc_show(struct seq_file *m, void *v)
{
	unsigned int i;

	seq_printf(m, "result=%s\n", nd_result);
	seq_printf(m, "entry_size=%zu\nentry_link_offset=%zu\nentry_index_offset=%zu\nentry_cookie_offset=%zu\n",
		   sizeof(struct nd_scale_entry), offsetof(struct nd_scale_entry, link),
		   offsetof(struct nd_scale_entry, index), offsetof(struct nd_scale_entry, cookie));
	seq_printf(m, "cookie=0x%lx\n", ND_SCALE_COOKIE);
	seq_printf(m, "big_head=0x%px\nbig_entries=%lu\nbig_first=0x%px\nbig_last=0x%px\n",
		   &nd_scale_big, nd_big_count, nd_big_first, nd_big_last);
	seq_printf(m, "loop_head=0x%px\nloop_entries=%lu\nloop_first=0x%px\nloop_last=0x%px\n",
		   &nd_scale_loop, nd_loop_count, nd_loop_first, nd_loop_last);
	seq_printf(m, "loop_last_index=%lu\nloop_old_next=0x%px\nloop_target_index=%lu\nloop_target=0x%px\n",
		   nd_loop_count ? nd_loop_count - 1 : 0, nd_loop_old_next, loop_target, nd_loop_to);
	seq_printf(m, "mutex=0x%px\nmutex_holder_pid=%d\nmutex_waiters=%u\nmutex_wait_list_len=%u\n",
		   &nd_scale_mutex, nd_mutex_holder_pid, nd_mwait_started, nd_mutex_wait_list_len);
	seq_printf(m, "rtnl_holder_pid=%d\nrtnl_waiters=%u\nsleepers=%u\n",
		   nd_rtnl_holder_pid, nd_rwait_started, nd_sleepers_started);
	for (i = 0; i < nd_rwait_started; i++)
		seq_printf(m, "rtnl_waiter=%u %d\n", i, nd_rwait_pid[i]);
	for (i = 0; i < nd_mwait_started; i++)
		seq_printf(m, "mutex_waiter=%u %d\n", i, nd_mwait_pid[i]);
	return 0;
}

static int __init nd_scale_init(void)
{
	int err;

	nd_mwait_pid = vzalloc(sizeof(pid_t) * (nr_mutex_waiters + 1));
	nd_rwait_pid = vzalloc(sizeof(pid_t) * (nr_rtnl_waiters + 1));
	if (!nd_mwait_pid || !nd_rwait_pid)
		return -ENOMEM;
	if (!proc_create_single("nd_scale", 0400, NULL, nd_proc_show))
		return -ENOMEM;
	err = nd_build_lists();
	if (err) {
		nd_result = "lists_failed";
		pr_err("nd_scale: building the lists failed: %d\n", err);
		return 0;	/* stay loaded: /proc/nd_scale tells the guest */
	}
	pr_info("nd_scale: nd_scale_big %lu entries, nd_scale_loop %lu entries (last -> %lu)\n",
		nd_big_count, nd_loop_count, loop_target);
	err = nd_start_threads();
	nd_result = err ? "threads_failed" : "ready";
	return 0;
}
module_init(nd_scale_init);

/* No module_exit: its threads hold rtnl_mutex and nd_scale_mutex forever. */
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("netdbg scenario scale: 10k tasks, long wait lists, 1M-entry list");
