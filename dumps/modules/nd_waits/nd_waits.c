// SPDX-License-Identifier: GPL-2.0
/*
 * nd_waits - netdbg test scenario "waits": a D-state task on every kind of
 * kernel wait at once, each with a known truth.
 *
 * Every lock is a module static (it has a symbol); every task is a kthread
 * whose comm names its role.  The guest script (scenarios/waits/guest.sh)
 * starts the threads one at a time with "start KEY" and waits until each one
 * holds its lock (stage "holding", state S) or is asleep on it (state D)
 * before it starts the next, so that every wait queue's order is known:
 *
 *  1. nd_rwsem_w, held for write by nd_rww_holder (asleep in S, holding it);
 *     nd_rww_reader waits in down_read(), then nd_rww_writer in down_write().
 *  2. nd_rwsem_r, held for read by nd_rwr_reader1 and nd_rwr_reader2;
 *     nd_rwr_writer waits in down_write() (after its optimistic spin).
 *  3. nd_sem (semaphore, count 1): nd_sem_holder down()s it and sleeps;
 *     nd_sem_waiter waits in down().
 *  4. nd_never_done (completion nobody completes): nd_cmp_waiter waits in
 *     wait_for_completion().
 *  5. nd_flush_mutex held by nd_flush_holder; "queue_flush" queues
 *     nd_flush_work (nd_flush_work_fn, which takes nd_flush_mutex) on the
 *     per-CPU workqueue nd_flush_wq on CPU ND_FLUSH_CPU, so its kworker
 *     waits on the mutex; then nd_flusher waits in flush_work().
 *  6. a kernel UDP socket (nd_sock) bound to 127.0.0.1:7777, created at
 *     load: nd_sk_owner lock_sock()s it and sleeps; nd_sk_waiter waits in
 *     lock_sock() (__lock_sock, on sk_lock.wq).
 *  7. "leak IFNAME": dev_get_by_name() and never dev_put(); the guest then
 *     deletes the device, and its "ip link delete" waits for the reference
 *     in netdev_run_todo().
 *  8. "rcu": a grace period that never ends.  nd_rcu_reader (CPU 2) enters
 *     an RCU read-side critical section and nd_rcu_spinner (CPU 3) disables
 *     preemption and spins.  While both are there, rcu_state.gp_seq is read:
 *     if a grace period is in progress, both back out and it is tried again
 *     (so that every grace period from then on started after both: CPU 3's
 *     bit stays set in its qsmask, and the reader blocks it).  Then the
 *     reader is preempted inside the critical section (queued on the
 *     rcu_node's blkd_tasks) and sleeps in S forever, still inside it; the
 *     spinner spins forever.  A callback (nd_rcu_head) is queued with
 *     call_rcu() so that every rcu_barrier() from then on blocks.  The gated
 *     threads nd_sync_rcu (synchronize_rcu()) and nd_rcu_barrier
 *     (rcu_barrier()) are released by "go KEY".
 *
 * Control (write to /proc/nd_waits): "start KEY", "go KEY", "queue_flush",
 * "leak IFNAME", "rcu".  Read it for key=value status lines: pointers as
 * 0x%px (zero-padded), every object's lock words and its wait list as the
 * module walks it.  The module cannot be unloaded.
 *
 * PREEMPT_RT: a mutex is an rt_mutex_base and an rw_semaphore an rwbase_rt
 * (readers count + rt_mutex_base); their waiters sit in the rtmutex's
 * rbtree (priority order, FIFO among equals: here all are equal).  The
 * status then shows the rtmutex's owner word, rwbase_rt.readers as the
 * count, and the rbtree's waiters in order; a writer that has taken the
 * rwsem's rtmutex and waits for the readers to leave (nd_rwr_writer) holds
 * no lock yet and is on no wait list: it is shown as the first waiter, and
 * it is the owner word's task.  "preempt_rt=1" says which.
 */
#include <linux/module.h>
#include <linux/kernel.h>
#include <linux/kthread.h>
#include <linux/mutex.h>
#include <linux/rwsem.h>
#include <linux/semaphore.h>
#include <linux/completion.h>
#include <linux/swait.h>
#include <linux/wait.h>
#include <linux/workqueue.h>
#include <linux/delay.h>
#include <linux/proc_fs.h>
#include <linux/seq_file.h>
#include <linux/sched.h>
#include <linux/uaccess.h>
#include <linux/string.h>
#include <linux/rcupdate.h>
#include <linux/netdevice.h>
#include <linux/net.h>
#include <linux/in.h>
#include <linux/inet.h>
#include <net/sock.h>
#include <net/inet_sock.h>
#include <net/net_namespace.h>
#include "nd_locks.h"

/* kernel/rcu/tree.c, exported (GPL) but declared only in kernel/rcu/rcu.h */
extern unsigned long rcu_get_gp_seq(void);

#define ND_FLUSH_CPU	1
#define ND_READER_CPU	2
#define ND_SPINNER_CPU	3
#define ND_SK_PORT	7777

/* ---- the objects ---------------------------------------------------------- */
static DECLARE_RWSEM(nd_rwsem_w);
static DECLARE_RWSEM(nd_rwsem_r);
static struct semaphore nd_sem;
static DECLARE_COMPLETION(nd_never_done);
static DEFINE_MUTEX(nd_flush_mutex);
static struct workqueue_struct *nd_flush_wq;
static struct work_struct nd_flush_work;
static struct socket *nd_sock;
static struct net_device *nd_leak_dev;
static struct rcu_head nd_rcu_head;

/* what the work function saw */
static pid_t nd_flush_kworker_pid;
static int nd_flush_kworker_cpu = -1;
static struct task_struct *nd_flush_kworker;
static bool nd_flush_queued;

/* the leaked device */
static int nd_leak_ifindex;
static int nd_leak_refcnt_at_leak;
static char nd_leak_name[IFNAMSIZ];

/* rcu */
enum { ND_RCU_IDLE, ND_RCU_ENTER, ND_RCU_BACKOUT, ND_RCU_BLOCK };
static int nd_rcu_cmd;
static bool nd_rcu_reader_in_cs;
static bool nd_rcu_spinning;
static bool nd_rcu_reader_blocked;	/* rcu_read_unlock_special.b.blocked */
static void *nd_rcu_reader_node;	/* its rcu_blocked_node */
static int nd_rcu_reader_cpu = -1, nd_rcu_spinner_cpu = -1;
static unsigned long nd_rcu_spins;
static int nd_rcu_attempts;
static unsigned long nd_rcu_seq_idle;	/* gp_seq seen idle with both in place */
static unsigned long nd_rcu_seq_block;	/* gp_seq after the reader blocked */
static bool nd_rcu_done;
static bool nd_rcu_cb_invoked;

/*
 * Private wait-list entries of kernel/locking (6.1 layouts), only to list
 * the waiters in the status file: each starts with a list_head and the task.
 */
struct nd_rwsem_waiter {		/* kernel/locking/rwsem.c */
	struct list_head list;
	struct task_struct *task;
	int type;			/* 0 write, 1 read */
	unsigned long timeout;
	bool handoff_set;
};

/* ---- threads ---------------------------------------------------------------- */
struct nd_thread {
	const char *key;		/* status key; comm is "nd_" KEY */
	int (*fn)(void *);
	int cpu;			/* bound CPU, -1: unbound */
	bool gated;			/* waits for "go KEY" */
	struct task_struct *task;
	pid_t pid;
	const char *stage;
	bool go;
};

static void nd_stage(struct nd_thread *t, const char *stage)
{
	smp_wmb();
	WRITE_ONCE(t->stage, stage);
	pr_info("nd_waits: nd_%s pid=%d stage=%s\n", t->key, current->pid, stage);
}

/* Sleep in S forever (kthreads get no signals), holding whatever is held. */
static void nd_sleep_forever(void)
{
	for (;;)
		msleep_interruptible(1000);
}

static int nd_rww_holder_fn(void *arg)
{
	down_write(&nd_rwsem_w);
	nd_stage(arg, "holding");
	nd_sleep_forever();
	return 0;
}

static int nd_rww_reader_fn(void *arg)
{
	nd_stage(arg, "waiting");
	down_read(&nd_rwsem_w);
	nd_stage(arg, "got");			/* never */
	nd_sleep_forever();
	return 0;
}

static int nd_rww_writer_fn(void *arg)
{
	nd_stage(arg, "waiting");
	down_write(&nd_rwsem_w);
	nd_stage(arg, "got");			/* never */
	nd_sleep_forever();
	return 0;
}

static int nd_rwr_reader_fn(void *arg)
{
	down_read(&nd_rwsem_r);
	nd_stage(arg, "holding");
	nd_sleep_forever();
	return 0;
}

static int nd_rwr_writer_fn(void *arg)
{
	nd_stage(arg, "waiting");
	down_write(&nd_rwsem_r);
	nd_stage(arg, "got");			/* never */
	nd_sleep_forever();
	return 0;
}

static int nd_sem_holder_fn(void *arg)
{
	down(&nd_sem);
	nd_stage(arg, "holding");
	nd_sleep_forever();
	return 0;
}

static int nd_sem_waiter_fn(void *arg)
{
	nd_stage(arg, "waiting");
	down(&nd_sem);
	nd_stage(arg, "got");			/* never */
	nd_sleep_forever();
	return 0;
}

static int nd_cmp_waiter_fn(void *arg)
{
	nd_stage(arg, "waiting");
	wait_for_completion(&nd_never_done);
	nd_stage(arg, "got");			/* never */
	nd_sleep_forever();
	return 0;
}

static int nd_flush_holder_fn(void *arg)
{
	mutex_lock(&nd_flush_mutex);
	nd_stage(arg, "holding");
	nd_sleep_forever();
	return 0;
}

static noinline void nd_flush_work_fn(struct work_struct *work)
{
	WRITE_ONCE(nd_flush_kworker, current);
	WRITE_ONCE(nd_flush_kworker_cpu, raw_smp_processor_id());
	WRITE_ONCE(nd_flush_kworker_pid, current->pid);
	pr_info("nd_waits: nd_flush_work_fn in pid=%d cpu=%d, taking nd_flush_mutex\n",
		current->pid, raw_smp_processor_id());
	mutex_lock(&nd_flush_mutex);		/* blocks: nd_flush_holder has it */
	mutex_unlock(&nd_flush_mutex);
}

static int nd_flusher_fn(void *arg)
{
	nd_stage(arg, "waiting");
	flush_work(&nd_flush_work);
	nd_stage(arg, "got");			/* never */
	nd_sleep_forever();
	return 0;
}

static int nd_sk_owner_fn(void *arg)
{
	lock_sock(nd_sock->sk);
	nd_stage(arg, "holding");
	nd_sleep_forever();
	return 0;
}

static int nd_sk_waiter_fn(void *arg)
{
	nd_stage(arg, "waiting");
	lock_sock(nd_sock->sk);
	nd_stage(arg, "got");			/* never */
	nd_sleep_forever();
	return 0;
}

static void nd_wait_rcu_cmd(int cmd)
{
	while (READ_ONCE(nd_rcu_cmd) != cmd)
		msleep_interruptible(1);
}

/* CPU 2: rcu_read_lock(), preempted inside, then asleep (S) inside forever. */
static int nd_rcu_reader_fn(void *arg)
{
	struct nd_thread *t = arg;
	int cmd;

	nd_rcu_reader_cpu = raw_smp_processor_id();
	nd_stage(t, "ready");
	for (;;) {
		nd_wait_rcu_cmd(ND_RCU_ENTER);
		rcu_read_lock();
		WRITE_ONCE(nd_rcu_reader_in_cs, true);
		while ((cmd = READ_ONCE(nd_rcu_cmd)) == ND_RCU_ENTER)
			cpu_relax();
		if (cmd == ND_RCU_BLOCK)
			break;
		rcu_read_unlock();		/* back out, try again */
		WRITE_ONCE(nd_rcu_reader_in_cs, false);
	}
	/* A preemption inside the critical section queues us on blkd_tasks. */
	set_tsk_need_resched(current);
	set_preempt_need_resched();
	cond_resched();
	if (!READ_ONCE(current->rcu_read_unlock_special.b.blocked))
		preempt_schedule();
	nd_rcu_reader_node = current->rcu_blocked_node;
	nd_rcu_reader_cpu = raw_smp_processor_id();
	smp_wmb();
	WRITE_ONCE(nd_rcu_reader_blocked,
		   READ_ONCE(current->rcu_read_unlock_special.b.blocked));
	nd_stage(t, "blocked");
	/* "Voluntary context switch within RCU read-side critical section!" */
	nd_sleep_forever();
	rcu_read_unlock();			/* never */
	return 0;
}

/* CPU 3: preemption off, spinning: the CPU never reports a quiescent state. */
static int nd_rcu_spinner_fn(void *arg)
{
	struct nd_thread *t = arg;
	int cmd;

	nd_rcu_spinner_cpu = raw_smp_processor_id();
	nd_stage(t, "ready");
	for (;;) {
		nd_wait_rcu_cmd(ND_RCU_ENTER);
		preempt_disable();
		nd_rcu_spinner_cpu = raw_smp_processor_id();
		WRITE_ONCE(nd_rcu_spinning, true);
		while ((cmd = READ_ONCE(nd_rcu_cmd)) == ND_RCU_ENTER || cmd == ND_RCU_BLOCK) {
			WRITE_ONCE(nd_rcu_spins, nd_rcu_spins + 1);
			cpu_relax();
		}
		WRITE_ONCE(nd_rcu_spinning, false);
		preempt_enable();		/* back out, try again */
	}
	return 0;
}

static void nd_rcu_cb(struct rcu_head *head)
{
	WRITE_ONCE(nd_rcu_cb_invoked, true);	/* never */
}

static int nd_sync_rcu_fn(void *arg)
{
	nd_stage(arg, "waiting");
	synchronize_rcu();
	nd_stage(arg, "got");			/* never */
	nd_sleep_forever();
	return 0;
}

static int nd_rcu_barrier_fn(void *arg)
{
	nd_stage(arg, "waiting");
	rcu_barrier();
	nd_stage(arg, "got");			/* never */
	nd_sleep_forever();
	return 0;
}

static struct nd_thread nd_threads[] = {
	{ "rww_holder",  nd_rww_holder_fn,  -1 },
	{ "rww_reader",  nd_rww_reader_fn,  -1 },
	{ "rww_writer",  nd_rww_writer_fn,  -1 },
	{ "rwr_reader1", nd_rwr_reader_fn,  -1 },
	{ "rwr_reader2", nd_rwr_reader_fn,  -1 },
	{ "rwr_writer",  nd_rwr_writer_fn,  -1 },
	{ "sem_holder",  nd_sem_holder_fn,  -1 },
	{ "sem_waiter",  nd_sem_waiter_fn,  -1 },
	{ "cmp_waiter",  nd_cmp_waiter_fn,  -1 },
	{ "flush_holder", nd_flush_holder_fn, -1 },
	{ "flusher",     nd_flusher_fn,     -1 },
	{ "sk_owner",    nd_sk_owner_fn,    -1 },
	{ "sk_waiter",   nd_sk_waiter_fn,   -1 },
	{ "rcu_reader",  nd_rcu_reader_fn,  ND_READER_CPU },
	{ "rcu_spinner", nd_rcu_spinner_fn, ND_SPINNER_CPU },
	{ "sync_rcu",    nd_sync_rcu_fn,    -1, true },
	{ "rcu_barrier", nd_rcu_barrier_fn, -1, true },
};

static struct nd_thread *nd_find(const char *key)
{
	int i;

	for (i = 0; i < ARRAY_SIZE(nd_threads); i++)
		if (!strcmp(nd_threads[i].key, key))
			return &nd_threads[i];
	return NULL;
}

static int nd_thread_main(void *arg)
{
	struct nd_thread *t = arg;

	if (t->gated) {
		nd_stage(t, "gated");
		while (!READ_ONCE(t->go))
			msleep_interruptible(10);
	}
	return t->fn(t);
}

static int nd_start(struct nd_thread *t)
{
	struct task_struct *task;

	if (t->task)
		return -EBUSY;
	task = kthread_create(nd_thread_main, t, "nd_%s", t->key);
	if (IS_ERR(task))
		return PTR_ERR(task);
	if (t->cpu >= 0) {
		kthread_bind(task, t->cpu);
	} else if (IS_ENABLED(CONFIG_PREEMPT_RT)) {
		/*
		 * PREEMPT_RT runs timers in per-CPU threads: none runs on the
		 * spinner's CPU once it spins with preemption off, so a thread
		 * that sleeps there never wakes.  Keep the others off it.
		 */
		static struct cpumask mask;

		cpumask_copy(&mask, cpu_online_mask);
		cpumask_clear_cpu(ND_SPINNER_CPU, &mask);
		set_cpus_allowed_ptr(task, &mask);
	}
	t->task = task;
	t->pid = task->pid;
	t->stage = "started";
	wake_up_process(task);
	pr_info("nd_waits: started nd_%s pid=%d cpu=%d\n", t->key, t->pid, t->cpu);
	return 0;
}

/* ---- "leak IFNAME" ------------------------------------------------------------ */
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
	pr_info("nd_waits: leaked a reference to %s dev=%px ifindex=%d refcnt=%d\n",
		nd_leak_name, dev, nd_leak_ifindex, nd_leak_refcnt_at_leak);
	return 0;
}

/* ---- "rcu" --------------------------------------------------------------------- */
static int nd_rcu_block(void)
{
	struct nd_thread *rd = nd_find("rcu_reader"), *sp = nd_find("rcu_spinner");
	unsigned long seq = 1;
	int i, n;

	if (!rd->task || !sp->task || nd_rcu_done)
		return -EINVAL;
	for (i = 1; i <= 500; i++) {
		nd_rcu_attempts = i;
		WRITE_ONCE(nd_rcu_cmd, ND_RCU_ENTER);
		for (n = 0; !(READ_ONCE(nd_rcu_reader_in_cs) && READ_ONCE(nd_rcu_spinning)); n++) {
			if (n > 10000)
				return -ETIMEDOUT;
			usleep_range(500, 1000);
		}
		/* both in place: every grace period starting from now is stuck */
		seq = rcu_get_gp_seq();
		if (!(seq & 3))
			break;
		WRITE_ONCE(nd_rcu_cmd, ND_RCU_BACKOUT);
		while (READ_ONCE(nd_rcu_reader_in_cs) || READ_ONCE(nd_rcu_spinning))
			usleep_range(500, 1000);
		WRITE_ONCE(nd_rcu_cmd, ND_RCU_IDLE);
		msleep(i % 7 + 1);
	}
	if (seq & 3)
		return -EAGAIN;
	nd_rcu_seq_idle = seq;
	WRITE_ONCE(nd_rcu_cmd, ND_RCU_BLOCK);
	for (n = 0; !READ_ONCE(nd_rcu_reader_blocked); n++) {
		if (n > 10000)
			return -ETIMEDOUT;
		usleep_range(500, 1000);
	}
	call_rcu(&nd_rcu_head, nd_rcu_cb);
	nd_rcu_seq_block = rcu_get_gp_seq();
	nd_rcu_done = true;
	pr_info("nd_waits: rcu stuck after %d attempt(s): gp_seq idle %lu, now %lu, reader node %px\n",
		nd_rcu_attempts, nd_rcu_seq_idle, nd_rcu_seq_block, nd_rcu_reader_node);
	return 0;
}

/* ---- status ---------------------------------------------------------------- */
#ifdef CONFIG_PREEMPT_RT
/* R for the scenario's reader threads, W for the others. */
static char nd_mode_of(struct task_struct *task)
{
	int i;

	for (i = 0; i < ARRAY_SIZE(nd_threads); i++)
		if (nd_threads[i].task == task)
			return strstr(nd_threads[i].key, "reader") ? 'R' : 'W';
	return 'W';
}

/* The rtmutex's waiters in rbtree order: "pid" or "pid:M" each; n so far. */
static int nd_show_rt_waiters(struct seq_file *m, struct rt_mutex_base *rtm, bool modes, int n)
{
	struct rb_node *node;
	unsigned long flags;

	raw_spin_lock_irqsave(&rtm->wait_lock, flags);
	for (node = rb_first_cached(&rtm->waiters); node; node = rb_next(node)) {
		struct nd_rt_mutex_waiter *w = (struct nd_rt_mutex_waiter *)node;

		if (modes)
			seq_printf(m, "%s%d:%c", n ? " " : "", w->task->pid, nd_mode_of(w->task));
		else
			seq_printf(m, "%s%d", n ? " " : "", w->task->pid);
		if (++n > 64)
			break;
	}
	raw_spin_unlock_irqrestore(&rtm->wait_lock, flags);
	return n;
}

static void nd_show_rwsem(struct seq_file *m, const char *key, struct rw_semaphore *sem)
{
	unsigned int readers = atomic_read(&sem->rwbase.readers);
	unsigned long owner = (unsigned long)READ_ONCE(sem->rwbase.rtmutex.owner);
	struct task_struct *task = (struct task_struct *)(owner & ~7UL);
	int n = 0;

	/* ADDR count(readers) owner-word owner-task owner-flags */
	seq_printf(m, "%s=0x%px 0x%x 0x%lx 0x%px %lu\n", key, sem, readers, owner, task, owner & 7);
	seq_printf(m, "%s_waiters=", key);
	/* a writer waiting for the readers to leave: owns the rtmutex, no bias */
	if (task && readers && !(readers & (ND_RWBASE_READER_BIAS | ND_RWBASE_WRITER_BIAS)))
		seq_printf(m, "%d:W", task->pid), n++;
	nd_show_rt_waiters(m, &sem->rwbase.rtmutex, true, n);
	seq_putc(m, '\n');
}
#else
static void nd_show_rwsem(struct seq_file *m, const char *key, struct rw_semaphore *sem)
{
	struct nd_rwsem_waiter *w;
	int n = 0;

	unsigned long owner = atomic_long_read(&sem->owner);

	/* ADDR count owner-word owner-task owner-flags */
	seq_printf(m, "%s=0x%px 0x%lx 0x%lx 0x%px %lu\n", key, sem, atomic_long_read(&sem->count),
		   owner, (void *)(owner & ~7UL), owner & 7);
	seq_printf(m, "%s_waiters=", key);
	raw_spin_lock_irq(&sem->wait_lock);
	list_for_each_entry(w, &sem->wait_list, list) {
		seq_printf(m, "%s%d:%c", n ? " " : "", w->task->pid, w->type ? 'R' : 'W');
		if (++n > 64)
			break;
	}
	raw_spin_unlock_irq(&sem->wait_lock);
	seq_putc(m, '\n');
}
#endif

static void nd_show_list_tasks(struct seq_file *m, const char *key, struct list_head *head)
{
	seq_printf(m, "%s=", key);
	nd_show_list_waiters(m, head, 0);
	seq_putc(m, '\n');
}

static int nd_proc_show(struct seq_file *m, void *v)
{
	struct sock *sk = nd_sock->sk;
	struct inet_sock *inet = inet_sk(sk);
	struct swait_queue *sw;
	wait_queue_entry_t *we;
	unsigned long flags, owner, seq;
	int i, n;

	seq_printf(m, "hz=%d\njiffies=%lu\npreempt_rt=%d\n", HZ, jiffies, IS_ENABLED(CONFIG_PREEMPT_RT));
	for (i = 0; i < ARRAY_SIZE(nd_threads); i++) {
		struct nd_thread *t = &nd_threads[i];
		const char *stage = READ_ONCE(t->stage);

		smp_rmb();
		/* KEY=pid stage cpu task */
		seq_printf(m, "%s=%d %s %d 0x%px\n", t->key, t->pid, stage ? stage : "none",
			   t->cpu, t->task);
	}

	nd_show_rwsem(m, "rwsem_w", &nd_rwsem_w);
	nd_show_rwsem(m, "rwsem_r", &nd_rwsem_r);

	seq_printf(m, "sem=0x%px %u\n", &nd_sem, READ_ONCE(nd_sem.count));
	raw_spin_lock_irqsave(&nd_sem.lock, flags);
	nd_show_list_tasks(m, "sem_waiters", &nd_sem.wait_list);
	raw_spin_unlock_irqrestore(&nd_sem.lock, flags);

	seq_printf(m, "never_done=0x%px %u\n", &nd_never_done, READ_ONCE(nd_never_done.done));
	seq_puts(m, "never_done_waiters=");
	n = 0;
	raw_spin_lock_irq(&nd_never_done.wait.lock);
	list_for_each_entry(sw, &nd_never_done.wait.task_list, task_list) {
		seq_printf(m, "%s%d", n ? " " : "", sw->task->pid);
		if (++n > 64)
			break;
	}
	raw_spin_unlock_irq(&nd_never_done.wait.lock);
	seq_putc(m, '\n');

	owner = nd_mutex_owner_word(&nd_flush_mutex);
	seq_printf(m, "flush_mutex=0x%px 0x%lx 0x%px %lu\n", &nd_flush_mutex, owner,
		   (void *)(owner & ~7UL), owner & 7);
	seq_puts(m, "flush_mutex_waiters=");
	nd_show_mutex_waiters(m, &nd_flush_mutex);
	seq_putc(m, '\n');
	seq_printf(m, "flush_work=0x%px nd_flush_work_fn nd_flush_wq %d %d %d\n", &nd_flush_work,
		   ND_FLUSH_CPU, nd_flush_queued, work_pending(&nd_flush_work));
	seq_printf(m, "flush_wq=0x%px\n", nd_flush_wq);
	seq_printf(m, "flush_kworker=%d %d 0x%px\n", READ_ONCE(nd_flush_kworker_pid),
		   READ_ONCE(nd_flush_kworker_cpu), READ_ONCE(nd_flush_kworker));

	seq_printf(m, "sock=0x%px 0x%px %lu %u %u %u %pI4 %u %d\n", nd_sock, sk,
		   SOCK_INODE(nd_sock)->i_ino, sk->sk_family, sk->sk_type, sk->sk_protocol,
		   &inet->inet_rcv_saddr, inet->inet_num, READ_ONCE(sk->sk_lock.owned));
	seq_puts(m, "sk_waiters=");
	n = 0;
	spin_lock_irqsave(&sk->sk_lock.wq.lock, flags);
	list_for_each_entry(we, &sk->sk_lock.wq.head, entry) {
		struct task_struct *tsk = we->private;

		seq_printf(m, "%s%d", n ? " " : "", tsk ? tsk->pid : 0);
		if (++n > 64)
			break;
	}
	spin_unlock_irqrestore(&sk->sk_lock.wq.lock, flags);
	seq_putc(m, '\n');

	if (nd_leak_dev)
		seq_printf(m, "leak=0x%px %s %d %d %d %d\n", nd_leak_dev, nd_leak_name,
			   nd_leak_ifindex, nd_leak_refcnt_at_leak, netdev_refcnt_read(nd_leak_dev),
			   (int)READ_ONCE(nd_leak_dev->reg_state));
	else
		seq_puts(m, "leak=0x0000000000000000 - 0 0 0 0\n");

	/* gp_seq gp_state attempts gp_seq_idle gp_seq_after_block done */
	seq = rcu_get_gp_seq();
	seq_printf(m, "rcu=%lu %lu %d %lu %lu %d\n", seq, seq & 3, nd_rcu_attempts,
		   nd_rcu_seq_idle, nd_rcu_seq_block, nd_rcu_done);
	seq_printf(m, "rcu_reader_state=%d %d 0x%px\n", READ_ONCE(nd_rcu_reader_blocked),
		   nd_rcu_reader_cpu, nd_rcu_reader_node);
	seq_printf(m, "rcu_spinner_state=%d %d %lu\n", READ_ONCE(nd_rcu_spinning),
		   nd_rcu_spinner_cpu, READ_ONCE(nd_rcu_spins));
	seq_printf(m, "rcu_cb=0x%px nd_rcu_cb %d\n", &nd_rcu_head, READ_ONCE(nd_rcu_cb_invoked));
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
	} else if (!strcmp(cmd, "go") && arg) {
		t = nd_find(arg);
		if (t && t->gated && t->task)
			WRITE_ONCE(t->go, true);
		else
			ret = -ENOENT;
	} else if (!strcmp(cmd, "queue_flush")) {
		if (nd_flush_queued)
			ret = -EBUSY;
		else
			nd_flush_queued = queue_work_on(ND_FLUSH_CPU, nd_flush_wq, &nd_flush_work);
	} else if (!strcmp(cmd, "leak") && arg) {
		ret = nd_leak(arg);
	} else if (!strcmp(cmd, "rcu")) {
		ret = nd_rcu_block();
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

static int __init nd_waits_init(void)
{
	struct sockaddr_in sin = {
		.sin_family = AF_INET,
		.sin_port = htons(ND_SK_PORT),
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK),
	};
	int ret;

	sema_init(&nd_sem, 1);
	INIT_WORK(&nd_flush_work, nd_flush_work_fn);
	nd_flush_wq = alloc_workqueue("nd_flush_wq", 0, 0);
	if (!nd_flush_wq)
		return -ENOMEM;
	ret = sock_create_kern(&init_net, AF_INET, SOCK_DGRAM, IPPROTO_UDP, &nd_sock);
	if (ret)
		goto err_wq;
	ret = kernel_bind(nd_sock, (struct sockaddr *)&sin, sizeof(sin));
	if (ret)
		goto err_sock;
	if (!proc_create("nd_waits", 0600, NULL, &nd_proc_ops)) {
		ret = -ENOMEM;
		goto err_sock;
	}
	pr_info("nd_waits: loaded: rwsem_w=%px rwsem_r=%px sem=%px never_done=%px flush_mutex=%px flush_work=%px sock=%px sk=%px\n",
		&nd_rwsem_w, &nd_rwsem_r, &nd_sem, &nd_never_done, &nd_flush_mutex,
		&nd_flush_work, nd_sock, nd_sock->sk);
	return 0;
err_sock:
	sock_release(nd_sock);
err_wq:
	destroy_workqueue(nd_flush_wq);
	return ret;
}
module_init(nd_waits_init);

/* No module_exit: the module holds locks forever and cannot be unloaded. */
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("netdbg scenario waits: a D-state task on every kind of kernel wait");
