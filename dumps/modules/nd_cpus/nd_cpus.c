// SPDX-License-Identifier: GPL-2.0
/*
 * nd_cpus - netdbg test scenario "cpus": what every CPU is doing.
 *
 *  - nd_spinner (bound to CPU ND_SPIN_CPU) takes nd_cpus_mutex and naps
 *    (msleep) while the waiters queue up: with CONFIG_MUTEX_SPIN_ON_OWNER a
 *    waiter whose owner is on a CPU spins instead of sleeping.  On "spin"
 *    it disables preemption and spins forever in nd_spin_loop(), holding
 *    the mutex: the soft-lockup watchdog's stopper work never runs on that
 *    CPU again, and the CPU never reports an RCU quiescent state.  When it
 *    starts spinning it records local_clock() (the printk clock) and its
 *    own sched_info.last_arrival, which no longer changes: no switch can
 *    happen with preemption off.
 *  - nd_waiter1, nd_waiter2 wait for nd_cpus_mutex in mutex_lock() (D).
 *  - nd_deep sleeps in wait_for_completion() at the end of a known call
 *    path of ND_DEEP_PATH frames in this module: nd_deep_fn -> nd_deep_1 ->
 *    ... -> nd_deep_8 -> wait_for_completion(); nd_deep_4 calls nd_deep_5
 *    through the always-inlined nd_deep_inline(), so the return address in
 *    nd_deep_4 lies in an inlined call.
 *
 * Control (write to /proc/nd_cpus): "start KEY" (spinner, waiter1,
 * waiter2, deep), "spin".  Read it for key=value status lines.  The module
 * cannot be unloaded.
 */
#include <linux/module.h>
#include <linux/kernel.h>
#include <linux/kthread.h>
#include <linux/mutex.h>
#include <linux/completion.h>
#include <linux/delay.h>
#include <linux/proc_fs.h>
#include <linux/seq_file.h>
#include <linux/sched.h>
#include <linux/sched/clock.h>
#include <linux/uaccess.h>
#include <linux/string.h>
#include "nd_locks.h"

#define ND_SPIN_CPU	1

static DEFINE_MUTEX(nd_cpus_mutex);
static DECLARE_COMPLETION(nd_deep_never);

static bool nd_spin;			/* "spin" requested */
static bool nd_spinning;		/* preemption off, spinning */
static unsigned long nd_spins;
static int nd_spin_cpu = -1;
static u64 nd_spin_start_ns;		/* local_clock() when the spin began */
static u64 nd_spin_last_arrival;	/* current->sched_info.last_arrival then */
static u64 nd_mutex_taken_ns;
static int nd_deep_depth;		/* frames of nd_deep_* entered */

struct nd_thread {
	const char *key;		/* comm is "nd_" KEY */
	int (*fn)(void *);
	int cpu;			/* bound CPU, -1: unbound */
	struct task_struct *task;
	pid_t pid;
	const char *stage;
};

/* ---- the spinner ---------------------------------------------------------------- */
static noinline __attribute__((noipa)) void nd_spin_loop(void)
{
	while (READ_ONCE(nd_spinning)) {	/* forever: nothing clears it */
		WRITE_ONCE(nd_spins, nd_spins + 1);
		cpu_relax();
	}
}

static noinline __attribute__((noipa)) void nd_spin_hold(struct nd_thread *t)
{
	mutex_lock(&nd_cpus_mutex);
	nd_mutex_taken_ns = local_clock();
	WRITE_ONCE(t->stage, "holding");
	while (!READ_ONCE(nd_spin))
		msleep(20);
	preempt_disable();
	nd_spin_start_ns = local_clock();
	nd_spin_last_arrival = current->sched_info.last_arrival;
	nd_spin_cpu = raw_smp_processor_id();
	smp_wmb();
	WRITE_ONCE(nd_spinning, true);
	WRITE_ONCE(t->stage, "spinning");
	nd_spin_loop();
	preempt_enable();		/* never */
	mutex_unlock(&nd_cpus_mutex);
}

static int nd_spinner_fn(void *arg)
{
	nd_spin_hold(arg);
	return 0;
}

/* ---- the waiters ----------------------------------------------------------------- */
static int nd_waiter_fn(void *arg)
{
	struct nd_thread *t = arg;

	WRITE_ONCE(t->stage, "waiting");
	mutex_lock(&nd_cpus_mutex);
	WRITE_ONCE(t->stage, "got");	/* never */
	mutex_unlock(&nd_cpus_mutex);
	return 0;
}

/* ---- the deep sleeper -------------------------------------------------------------- */
#define ND_DEEP(n, next)						\
static noinline __attribute__((noipa)) int nd_deep_##n(int x)		\
{									\
	WRITE_ONCE(nd_deep_depth, n);					\
	return next(x + 1) + 1;						\
}

static noinline __attribute__((noipa)) int nd_deep_8(int x)
{
	WRITE_ONCE(nd_deep_depth, 8);
	wait_for_completion(&nd_deep_never);
	return x + 1;			/* never */
}

ND_DEEP(7, nd_deep_8)
ND_DEEP(6, nd_deep_7)
ND_DEEP(5, nd_deep_6)

static __always_inline int nd_deep_inline(int x)
{
	return nd_deep_5(x * 2) + 1;
}

ND_DEEP(4, nd_deep_inline)
ND_DEEP(3, nd_deep_4)
ND_DEEP(2, nd_deep_3)
ND_DEEP(1, nd_deep_2)

static int nd_deep_fn(void *arg)
{
	struct nd_thread *t = arg;

	WRITE_ONCE(t->stage, "waiting");
	return nd_deep_1(0) == 0;
}

static struct nd_thread nd_threads[] = {
	{ "spinner", nd_spinner_fn, ND_SPIN_CPU },
	{ "waiter1", nd_waiter_fn, -1 },
	{ "waiter2", nd_waiter_fn, -1 },
	{ "deep", nd_deep_fn, -1 },
};

static struct nd_thread *nd_find(const char *key)
{
	int i;

	for (i = 0; i < ARRAY_SIZE(nd_threads); i++)
		if (!strcmp(nd_threads[i].key, key))
			return &nd_threads[i];
	return NULL;
}

static int nd_start(struct nd_thread *t)
{
	struct task_struct *task;

	if (t->task)
		return -EBUSY;
	task = kthread_create(t->fn, t, "nd_%s", t->key);
	if (IS_ERR(task))
		return PTR_ERR(task);
	if (t->cpu >= 0)
		kthread_bind(task, t->cpu);
	t->task = task;
	t->pid = task->pid;
	t->stage = "started";
	wake_up_process(task);
	pr_info("nd_cpus: started nd_%s pid=%d cpu=%d\n", t->key, t->pid, t->cpu);
	return 0;
}

/* ---- status ------------------------------------------------------------------------- */
static int nd_proc_show(struct seq_file *m, void *v)
{
	unsigned long owner = nd_mutex_owner_word(&nd_cpus_mutex);
	int i;

	for (i = 0; i < ARRAY_SIZE(nd_threads); i++) {
		struct nd_thread *t = &nd_threads[i];
		const char *stage = READ_ONCE(t->stage);

		/* KEY=pid stage cpu task */
		seq_printf(m, "%s=%d %s %d 0x%px\n", t->key, t->pid, stage ? stage : "none",
			   t->cpu, t->task);
	}
	/* ADDR owner-word owner-task */
	seq_printf(m, "mutex=0x%px 0x%lx 0x%px\n", &nd_cpus_mutex, owner, (void *)(owner & ~7UL));
	seq_puts(m, "mutex_waiters=");
	nd_show_mutex_waiters(m, &nd_cpus_mutex);
	seq_putc(m, '\n');
	/* spinning cpu spins start_ns last_arrival_ns mutex_taken_ns */
	seq_printf(m, "spin=%d %d %lu %llu %llu %llu\n", READ_ONCE(nd_spinning), nd_spin_cpu,
		   READ_ONCE(nd_spins), nd_spin_start_ns, nd_spin_last_arrival, nd_mutex_taken_ns);
	seq_printf(m, "deep_state=%d 0x%px\n", READ_ONCE(nd_deep_depth), &nd_deep_never);
	/* the module's call paths, innermost first */
	seq_puts(m, "deep_path=nd_deep_8 nd_deep_7 nd_deep_6 nd_deep_5 nd_deep_4 nd_deep_3 nd_deep_2 nd_deep_1 nd_deep_fn\n");
	seq_puts(m, "deep_inlined=nd_deep_4:nd_deep_inline\n");
	seq_puts(m, "spin_path=nd_spin_loop nd_spin_hold nd_spinner_fn\n");
	return 0;
}

static int nd_proc_open(struct inode *inode, struct file *file)
{
	return single_open(file, nd_proc_show, NULL);
}

static DEFINE_MUTEX(nd_ctl_mutex);		/* serialises /proc writes */

static ssize_t nd_proc_write(struct file *file, const char __user *ubuf,
			     size_t len, loff_t *ppos)
{
	struct nd_thread *t;
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
	if (!strcmp(cmd, "start") && arg) {
		t = nd_find(arg);
		ret = t ? nd_start(t) : -ENOENT;
	} else if (!strcmp(cmd, "spin")) {
		WRITE_ONCE(nd_spin, true);
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

static int __init nd_cpus_init(void)
{
	if (!proc_create("nd_cpus", 0600, NULL, &nd_proc_ops))
		return -ENOMEM;
	pr_info("nd_cpus: loaded: mutex=%px deep_never=%px\n", &nd_cpus_mutex, &nd_deep_never);
	return 0;
}
module_init(nd_cpus_init);

/* No module_exit: the spinner holds the mutex forever. */
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("netdbg scenario cpus: a CPU stuck with preemption off holding a mutex, a deep sleeper");
