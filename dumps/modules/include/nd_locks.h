/* SPDX-License-Identifier: GPL-2.0 */
/*
 * nd_locks.h - shared by the scenario modules (make-dump.sh copies it next
 * to each module's source): the kernel's private wait-list entries, only to
 * list a lock's waiters in a module's status file, and the mutex owner and
 * waiters on both kinds of kernel.
 *
 * PREEMPT_RT: a mutex is an rt_mutex_base (owner word, waiters in an
 * rbtree of rt_mutex_waiter in priority order, FIFO among equals); an
 * rw_semaphore is an rwbase_rt (readers count + rt_mutex_base).
 */
#ifndef ND_LOCKS_H
#define ND_LOCKS_H

#include <linux/mutex.h>
#include <linux/seq_file.h>
#ifdef CONFIG_PREEMPT_RT
#include <linux/rtmutex.h>
#include <linux/rbtree.h>
#endif

/* kernel/locking/mutex.h mutex_waiter, kernel/locking/semaphore.c
 * semaphore_waiter: each starts with a list_head and the task. */
struct nd_list_task_waiter {
	struct list_head list;
	struct task_struct *task;
};

#ifdef CONFIG_PREEMPT_RT
struct nd_rt_waiter_node {
	struct rb_node entry;
	int prio;
	u64 deadline;
};

/* As 6.6 has it, and 6.1.192 too (a stable backport of "locking/rtmutex:
 * Fix task->pi_waiters integrity"); older kernels had two bare rb_nodes. */
struct nd_rt_mutex_waiter {		/* kernel/locking/rtmutex_common.h */
	struct nd_rt_waiter_node tree;	/* in rt_mutex_base.waiters, first */
	struct nd_rt_waiter_node pi_tree;
	struct task_struct *task;
};
#define ND_RWBASE_READER_BIAS	(1U << 31)	/* kernel/locking/rwbase_rt.c */
#define ND_RWBASE_WRITER_BIAS	(1U << 30)
#endif

/* The mutex's owner word (task pointer | flag bits). */
static inline unsigned long nd_mutex_owner_word(struct mutex *lock)
{
#ifdef CONFIG_PREEMPT_RT
	return (unsigned long)READ_ONCE(lock->rtmutex.owner);
#else
	return atomic_long_read(&lock->owner);
#endif
}

/* "PID PID ..." of a list of nd_list_task_waiter, at most 64. */
static inline int nd_show_list_waiters(struct seq_file *m, struct list_head *head, int n)
{
	struct nd_list_task_waiter *w;

	list_for_each_entry(w, head, list) {
		seq_printf(m, "%s%d", n ? " " : "", w->task->pid);
		if (++n > 64)
			break;
	}
	return n;
}

/* The mutex's waiters in the order the kernel wakes them. */
static inline void nd_show_mutex_waiters(struct seq_file *m, struct mutex *lock)
{
	unsigned long flags;
#ifdef CONFIG_PREEMPT_RT
	struct rb_node *node;
	int n = 0;

	raw_spin_lock_irqsave(&lock->rtmutex.wait_lock, flags);
	for (node = rb_first_cached(&lock->rtmutex.waiters); node; node = rb_next(node)) {
		struct nd_rt_mutex_waiter *w = (struct nd_rt_mutex_waiter *)node;

		seq_printf(m, "%s%d", n ? " " : "", w->task->pid);
		if (++n > 64)
			break;
	}
	raw_spin_unlock_irqrestore(&lock->rtmutex.wait_lock, flags);
#else
	raw_spin_lock_irqsave(&lock->wait_lock, flags);
	nd_show_list_waiters(m, &lock->wait_list, 0);
	raw_spin_unlock_irqrestore(&lock->wait_lock, flags);
#endif
}

#endif /* ND_LOCKS_H */
