// SPDX-License-Identifier: GPL-2.0
/*
 * nd_ftrace - netdbg test scenario "ftrace": a work item that never ends on
 * a guest booted with event tracing on.
 *
 * "stall CPU" queues nd_ftrace_stall_work on the per-CPU workqueue
 * nd_ftrace_wq on CPU CPU.  Its function, nd_ftrace_stall_fn, runs in a
 * kworker there: the workqueue_execute_start event of this work is the last
 * event that CPU's ring buffer ever records.  The function reads the trace
 * clocks 'local' (trace_clock_local(): raw sched_clock()) and 'global'
 * (trace_clock_global(), the default when sched_clock is unstable, as under
 * TCG) and local_clock() (the clock of rq->clock and printk), then
 * disables interrupts and spins forever: no tick, no softirq, no switch on
 * that CPU again, so no event either.
 *
 * Read /proc/nd_ftrace for key=value status lines: stage (idle, queued,
 * spinning), cpu, pid, comm, work (0x%px), function, workqueue, the two
 * clocks at the start of the function, and the spin count (which stops
 * moving when the CPU is stopped by the dump).  The module cannot be
 * unloaded.
 */
#include <linux/module.h>
#include <linux/kernel.h>
#include <linux/workqueue.h>
#include <linux/proc_fs.h>
#include <linux/seq_file.h>
#include <linux/sched.h>
#include <linux/sched/clock.h>
#include <linux/trace_clock.h>
#include <linux/uaccess.h>

static struct workqueue_struct *nd_ftrace_wq;
static struct work_struct nd_ftrace_stall_work;

static int nd_stage;  /* 0 idle, 1 queued, 2 spinning */
static int nd_cpu = -1;
static int nd_pid;
static char nd_comm[TASK_COMM_LEN];
static u64 nd_trace_local_ns;   /* trace_clock_local() at the function's start */
static u64 nd_trace_global_ns;  /* trace_clock_global() at the same point */
static u64 nd_local_clock_ns;   /* local_clock() at the same point */
static unsigned long nd_spins;

static void nd_ftrace_stall_fn(struct work_struct *work)
{
	nd_trace_local_ns = trace_clock_local();
	nd_trace_global_ns = trace_clock_global();
	nd_local_clock_ns = local_clock();
	nd_cpu = raw_smp_processor_id();
	nd_pid = current->pid;
	get_task_comm(nd_comm, current);
	smp_wmb();
	WRITE_ONCE(nd_stage, 2);
	local_irq_disable();
	for (;;) {
		WRITE_ONCE(nd_spins, nd_spins + 1);
		cpu_relax();
	}
}

static const char *const nd_stage_names[] = { "idle", "queued", "spinning" };

static int nd_proc_show(struct seq_file *m, void *v)
{
	int stage = READ_ONCE(nd_stage);

	smp_rmb();
	seq_printf(m, "stage=%s\n", nd_stage_names[stage]);
	seq_printf(m, "work=0x%px\n", &nd_ftrace_stall_work);
	seq_printf(m, "function=nd_ftrace_stall_fn\n");
	seq_printf(m, "function_address=0x%px\n", nd_ftrace_stall_fn);
	seq_printf(m, "workqueue=nd_ftrace_wq\n");
	seq_printf(m, "cpu=%d\n", nd_cpu);
	seq_printf(m, "pid=%d\n", nd_pid);
	seq_printf(m, "comm=%s\n", nd_comm);
	seq_printf(m, "trace_local_ns=%llu\n", nd_trace_local_ns);
	seq_printf(m, "trace_global_ns=%llu\n", nd_trace_global_ns);
	seq_printf(m, "local_clock_ns=%llu\n", nd_local_clock_ns);
	seq_printf(m, "spins=%lu\n", READ_ONCE(nd_spins));
	return 0;
}

static int nd_proc_open(struct inode *inode, struct file *file)
{
	return single_open(file, nd_proc_show, NULL);
}

static ssize_t nd_proc_write(struct file *file, const char __user *ubuf,
			     size_t len, loff_t *ppos)
{
	char buf[32];
	int cpu;

	if (len >= sizeof(buf))
		return -EINVAL;
	if (copy_from_user(buf, ubuf, len))
		return -EFAULT;
	buf[len] = 0;
	if (sscanf(buf, "stall %d", &cpu) != 1)
		return -EINVAL;
	if (cpu < 0 || cpu >= nr_cpu_ids || !cpu_online(cpu) || nd_stage)
		return -EINVAL;
	nd_stage = 1;
	queue_work_on(cpu, nd_ftrace_wq, &nd_ftrace_stall_work);
	return len;
}

static const struct proc_ops nd_proc_ops = {
	.proc_open = nd_proc_open,
	.proc_read = seq_read,
	.proc_lseek = seq_lseek,
	.proc_release = single_release,
	.proc_write = nd_proc_write,
};

static int __init nd_ftrace_init(void)
{
	nd_ftrace_wq = alloc_workqueue("nd_ftrace_wq", 0, 0);
	if (!nd_ftrace_wq)
		return -ENOMEM;
	INIT_WORK(&nd_ftrace_stall_work, nd_ftrace_stall_fn);
	if (!proc_create("nd_ftrace", 0600, NULL, &nd_proc_ops)) {
		destroy_workqueue(nd_ftrace_wq);
		return -ENOMEM;
	}
	return 0;
}
module_init(nd_ftrace_init);
/* no module_exit: the spinning work can never be flushed */

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("netdbg scenario ftrace: a work item that never ends, on a traced guest");
