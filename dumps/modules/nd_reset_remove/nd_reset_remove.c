// SPDX-License-Identifier: GPL-2.0
/*
 * nd_reset_remove - netdbg test scenario "reset-after-remove" (seed 002).
 *
 * A NIC driver's reset work ran after cancel_work_sync() during module
 * removal and dereferenced freed NAPI pointers.  This module is a fake
 * device with that bug:
 *
 *  - its "interrupt" is a pinned timer on CPU ND_IRQ_CPU (every 20 ms) that
 *    queues the reset work and the stats work on system_wq, and the link
 *    work on the module's per-CPU workqueue "nd_rr_wq", all on that CPU;
 *  - the reset work reads the device's NAPI context (napi->state) and, while
 *    it is not idle (non-zero), waits for it to become idle by polling;
 *  - removal (rmmod, module state GOING) calls cancel_work_sync() on the
 *    reset work but leaves the timer armed, then frees the NAPI context
 *    (kmem_cache "nd_rr_napi", SLAB_POISON: 0x6b on free), frees a request
 *    whose timeout delayed work is still armed (kmem_cache "nd_rr_req"), and
 *    waits for the reset path to quiesce before it would delete the timer;
 *  - the timer fires again and re-queues the reset work; the work reads the
 *    freed NAPI (0x6b6b6b6b6b6b6b6b, never idle) and spins forever
 *    (cpu_relax + cond_resched), so the module stays GOING, rmmod stays in
 *    D state in the exit function, and the timer keeps re-queueing the reset
 *    work: it is running and pending at the same time, with the stats and
 *    link works pending behind it on CPU ND_IRQ_CPU's normal worker pool.
 *
 * Also, at load: a watchdog delayed work (system_wq, 300 s, CPU ND_WD_CPU),
 * a deferrable link-poll delayed work (system_wq, 200 s, CPU ND_POLL_CPU),
 * a request's timeout delayed work (system_wq, 400 s, CPU ND_REQ_CPU; the
 * request is freed at removal with the timer still armed), and on the
 * ordered workqueue "nd_rr_fw" a firmware work that frees its own request
 * and blocks forever, with two retry works queued behind it (inactive).
 *
 * Everything is printed with pr_info (%px) and readable as key=value lines
 * from /proc/nd_reset_remove (the file stays while the module is GOING).
 */
#include <linux/module.h>
#include <linux/kernel.h>
#include <linux/slab.h>
#include <linux/workqueue.h>
#include <linux/timer.h>
#include <linux/jiffies.h>
#include <linux/completion.h>
#include <linux/proc_fs.h>
#include <linux/seq_file.h>
#include <linux/sched.h>
#include <linux/smp.h>

#define ND_IRQ_CPU	1
#define ND_WD_CPU	0
#define ND_REQ_CPU	2
#define ND_POLL_CPU	3
#define ND_IRQ_MS	20
#define ND_WD_SECS	300
#define ND_POLL_SECS	200
#define ND_REQ_SECS	400

struct nd_napi {			/* the NAPI context the reset path polls */
	unsigned long state;		/* 0: idle */
	int weight;
	void *poll;
	struct list_head poll_list;
	u8 ring[64];
};

struct nd_req {				/* a firmware request / command */
	struct delayed_work timeout_work;
	struct work_struct fw_work;
	u32 cookie;
	u8 payload[40];
};

struct nd_task_rec {
	pid_t pid;
	int cpu;
	char comm[TASK_COMM_LEN];
	unsigned long jiffies;
};

struct nd_priv {
	char name[16];
	struct nd_napi *napi;
	struct timer_list irq_timer;
	struct work_struct reset_work;	/* system_wq, CPU ND_IRQ_CPU */
	struct work_struct stats_work;	/* system_wq, CPU ND_IRQ_CPU */
	struct work_struct link_work;	/* nd_rr_wq, CPU ND_IRQ_CPU */
	struct delayed_work watchdog;	/* system_wq, CPU ND_WD_CPU */
	struct delayed_work link_poll;	/* deferrable, system_wq, CPU ND_POLL_CPU */
	struct work_struct fw_retry[2];	/* nd_rr_fw, inactive behind the fw work */
	struct completion fw_loaded;	/* never completed */
	struct completion reset_quiesced;	/* never completed */
	struct nd_req *req_timeout;	/* freed at removal, timeout still armed */
	struct nd_req *req_fw;		/* freed by its own fw work */

	unsigned long irq_ticks, reset_runs, stats_runs, link_runs, fw_retry_runs;
	unsigned long requeued_after_cancel, reset_spins;
	unsigned long seen_state, napi_after_free;
	struct nd_task_rec reset, fw, exit;
	int reset_spinning, fw_blocked, exit_entered, cancel_done, napi_freed, req_freed;
	unsigned long cancel_jiffies, req_expires;
};

static struct nd_priv *nd_priv;
static struct kmem_cache *nd_napi_cache, *nd_req_cache;
static struct workqueue_struct *nd_rr_wq, *nd_fw_wq;

static void nd_record(struct nd_task_rec *r)
{
	r->pid = current->pid;
	r->cpu = raw_smp_processor_id();
	get_task_comm(r->comm, current);
	r->jiffies = jiffies;
}

static void nd_irq_timer_fn(struct timer_list *t)
{
	struct nd_priv *p = from_timer(p, t, irq_timer);

	p->irq_ticks++;
	/* the interrupt path schedules the reset: also after cancel_work_sync() */
	if (queue_work_on(ND_IRQ_CPU, system_wq, &p->reset_work) && READ_ONCE(p->cancel_done))
		p->requeued_after_cancel++;
	queue_work_on(ND_IRQ_CPU, system_wq, &p->stats_work);
	queue_work_on(ND_IRQ_CPU, nd_rr_wq, &p->link_work);
	mod_timer(&p->irq_timer, jiffies + msecs_to_jiffies(ND_IRQ_MS));
}

static void nd_rr_reset_work_fn(struct work_struct *w)
{
	struct nd_priv *p = container_of(w, struct nd_priv, reset_work);
	struct nd_napi *napi = READ_ONCE(p->napi);
	unsigned long state = READ_ONCE(napi->state);

	p->reset_runs++;
	if (!state)
		return;		/* NAPI idle: the reset is done */
	/* wait for the NAPI context to go idle; freed memory never does */
	nd_record(&p->reset);
	p->seen_state = state;
	WRITE_ONCE(p->reset_spinning, 1);
	pr_info("nd_reset_remove: reset work %px pid %d on CPU %d reads freed napi %px: state %lx\n",
		w, p->reset.pid, p->reset.cpu, napi, state);
	while (READ_ONCE(napi->state)) {
		cpu_relax();
		cond_resched();
		p->reset_spins++;
	}
	complete(&p->reset_quiesced);
}

static void nd_rr_stats_work_fn(struct work_struct *w)
{
	container_of(w, struct nd_priv, stats_work)->stats_runs++;
}

static void nd_rr_link_work_fn(struct work_struct *w)
{
	container_of(w, struct nd_priv, link_work)->link_runs++;
}

static void nd_rr_watchdog_fn(struct work_struct *w)
{
	pr_info("nd_reset_remove: watchdog ran\n");
}

static void nd_rr_link_poll_fn(struct work_struct *w)
{
	pr_info("nd_reset_remove: link poll ran\n");
}

static void nd_rr_req_timeout_fn(struct work_struct *w)
{
	pr_info("nd_reset_remove: request timeout ran\n");
}

static void nd_rr_fw_work_fn(struct work_struct *w)
{
	struct nd_req *req = container_of(w, struct nd_req, fw_work);
	struct nd_priv *p = nd_priv;

	nd_record(&p->fw);
	/* the request is done with: freed while its work runs (legal) */
	kmem_cache_free(nd_req_cache, req);
	WRITE_ONCE(p->fw_blocked, 1);
	pr_info("nd_reset_remove: fw work %px pid %d freed its request, waits for the firmware\n",
		w, p->fw.pid);
	wait_for_completion(&p->fw_loaded);
	pr_info("nd_reset_remove: firmware loaded\n");	/* no tail call: keeps this frame */
}

static void nd_rr_fw_retry_fn(struct work_struct *w)
{
	nd_priv->fw_retry_runs++;
}

static void nd_report(struct seq_file *m)
{
#define OUT(fmt, ...) do { if (m) seq_printf(m, fmt "\n", ##__VA_ARGS__); \
			   else pr_info("nd_reset_remove: " fmt "\n", ##__VA_ARGS__); } while (0)
#define TASK(key, r) OUT(key "=%d %d %s %lu", (r).pid, (r).cpu, (r).comm[0] ? (r).comm : "-", (r).jiffies)
#define WORK(key, w, wq, cpu) OUT(key "=0x%px %ps %s %d", (w), (w)->func, (wq), (cpu))
#define DWORK(key, d, wq, cpu) OUT(key "=0x%px 0x%px %ps %s %d %lu %u", (d), &(d)->timer, \
				   (d)->work.func, (wq), (cpu), (d)->timer.expires, (d)->timer.flags)
	struct nd_priv *p = nd_priv;

	OUT("module=0x%px %s", THIS_MODULE, THIS_MODULE->name);
	OUT("priv=0x%px %s", p, p->name);
	OUT("napi=0x%px %s", p->napi, "nd_rr_napi");
	OUT("irq_timer=0x%px %ps %d", &p->irq_timer, p->irq_timer.function, ND_IRQ_CPU);
	WORK("reset_work", &p->reset_work, "events", ND_IRQ_CPU);
	WORK("stats_work", &p->stats_work, "events", ND_IRQ_CPU);
	WORK("link_work", &p->link_work, "nd_rr_wq", ND_IRQ_CPU);
	WORK("fw_retry0", &p->fw_retry[0], "nd_rr_fw", -1);
	WORK("fw_retry1", &p->fw_retry[1], "nd_rr_fw", -1);
	OUT("fw_work=0x%px nd_rr_fw_work_fn nd_rr_fw -1 0x%px", &p->req_fw->fw_work, p->req_fw);
	DWORK("watchdog", &p->watchdog, "events", ND_WD_CPU);
	DWORK("link_poll", &p->link_poll, "events", ND_POLL_CPU);
	OUT("req_timeout=0x%px 0x%px 0x%px nd_rr_req_timeout_fn %s %d %lu %s", p->req_timeout,
	    &p->req_timeout->timeout_work, &p->req_timeout->timeout_work.timer, "events",
	    ND_REQ_CPU, p->req_expires, "nd_rr_req");
	OUT("counters=%lu %lu %lu %lu %lu", p->irq_ticks, p->reset_runs, p->stats_runs, p->link_runs,
	    p->fw_retry_runs);
	OUT("exit_entered=%d", READ_ONCE(p->exit_entered));
	TASK("exit_task", p->exit);
	OUT("cancel_done=%d %lu", READ_ONCE(p->cancel_done), p->cancel_jiffies);
	OUT("napi_freed=%d 0x%lx", READ_ONCE(p->napi_freed), p->napi_after_free);
	OUT("req_freed=%d", READ_ONCE(p->req_freed));
	OUT("requeued_after_cancel=%lu", p->requeued_after_cancel);
	OUT("reset_spinning=%d 0x%lx %lu", READ_ONCE(p->reset_spinning), p->seen_state, p->reset_spins);
	TASK("reset_task", p->reset);
	OUT("fw_blocked=%d", READ_ONCE(p->fw_blocked));
	TASK("fw_task", p->fw);
	OUT("pending=%d %d %d %d %d %d %d", work_pending(&p->reset_work), work_pending(&p->stats_work),
	    work_pending(&p->link_work), work_pending(&p->fw_retry[0]), work_pending(&p->fw_retry[1]),
	    delayed_work_pending(&p->watchdog), delayed_work_pending(&p->link_poll));
	OUT("jiffies=%lu %d", jiffies, HZ);
#undef DWORK
#undef WORK
#undef TASK
#undef OUT
}

static int nd_proc_show(struct seq_file *m, void *v)
{
	nd_report(m);
	return 0;
}

static int __init nd_rr_init(void)
{
	struct nd_priv *p;

	nd_napi_cache = kmem_cache_create("nd_rr_napi", sizeof(struct nd_napi), 0, SLAB_POISON, NULL);
	nd_req_cache = kmem_cache_create("nd_rr_req", sizeof(struct nd_req), 0, SLAB_POISON, NULL);
	nd_rr_wq = alloc_workqueue("nd_rr_wq", 0, 0);
	nd_fw_wq = alloc_ordered_workqueue("nd_rr_fw", 0);
	p = kzalloc(sizeof(*p), GFP_KERNEL);
	if (!nd_napi_cache || !nd_req_cache || !nd_rr_wq || !nd_fw_wq || !p)
		return -ENOMEM;	/* leaks: a throw-away guest */
	nd_priv = p;
	strscpy(p->name, "ndrr0", sizeof(p->name));
	p->napi = kmem_cache_zalloc(nd_napi_cache, GFP_KERNEL);
	p->req_timeout = kmem_cache_zalloc(nd_req_cache, GFP_KERNEL);
	p->req_fw = kmem_cache_zalloc(nd_req_cache, GFP_KERNEL);
	if (!p->napi || !p->req_timeout || !p->req_fw)
		return -ENOMEM;
	p->napi->weight = 64;
	INIT_LIST_HEAD(&p->napi->poll_list);
	init_completion(&p->fw_loaded);
	init_completion(&p->reset_quiesced);
	INIT_WORK(&p->reset_work, nd_rr_reset_work_fn);
	INIT_WORK(&p->stats_work, nd_rr_stats_work_fn);
	INIT_WORK(&p->link_work, nd_rr_link_work_fn);
	INIT_WORK(&p->fw_retry[0], nd_rr_fw_retry_fn);
	INIT_WORK(&p->fw_retry[1], nd_rr_fw_retry_fn);
	INIT_DELAYED_WORK(&p->watchdog, nd_rr_watchdog_fn);
	INIT_DEFERRABLE_WORK(&p->link_poll, nd_rr_link_poll_fn);
	INIT_DELAYED_WORK(&p->req_timeout->timeout_work, nd_rr_req_timeout_fn);
	INIT_WORK(&p->req_fw->fw_work, nd_rr_fw_work_fn);
	p->req_timeout->cookie = 0x5eed0002;
	p->req_fw->cookie = 0x5eed0003;

	queue_delayed_work_on(ND_WD_CPU, system_wq, &p->watchdog, ND_WD_SECS * HZ);
	queue_delayed_work_on(ND_POLL_CPU, system_wq, &p->link_poll, ND_POLL_SECS * HZ);
	queue_delayed_work_on(ND_REQ_CPU, system_wq, &p->req_timeout->timeout_work, ND_REQ_SECS * HZ);
	p->req_expires = p->req_timeout->timeout_work.timer.expires;
	queue_work(nd_fw_wq, &p->req_fw->fw_work);
	queue_work(nd_fw_wq, &p->fw_retry[0]);
	queue_work(nd_fw_wq, &p->fw_retry[1]);

	timer_setup(&p->irq_timer, nd_irq_timer_fn, TIMER_PINNED);
	p->irq_timer.expires = jiffies + msecs_to_jiffies(ND_IRQ_MS);
	add_timer_on(&p->irq_timer, ND_IRQ_CPU);

	if (!proc_create_single("nd_reset_remove", 0444, NULL, nd_proc_show))
		return -ENOMEM;
	nd_report(NULL);
	return 0;
}
module_init(nd_rr_init);

static void __exit nd_rr_exit(void)
{
	struct nd_priv *p = nd_priv;
	struct nd_napi *napi = p->napi;

	nd_record(&p->exit);
	WRITE_ONCE(p->exit_entered, 1);
	/* BUG: the interrupt timer is still armed and re-queues the reset */
	cancel_work_sync(&p->reset_work);
	p->cancel_jiffies = jiffies;
	WRITE_ONCE(p->cancel_done, 1);
	/* the NAPI contexts go; p->napi dangles */
	kmem_cache_free(nd_napi_cache, napi);
	p->napi_after_free = READ_ONCE(napi->state);
	WRITE_ONCE(p->napi_freed, 1);
	/* BUG: the request's timeout work is still armed */
	kmem_cache_free(nd_req_cache, p->req_timeout);
	WRITE_ONCE(p->req_freed, 1);
	pr_info("nd_reset_remove: exit: reset cancelled, napi %px freed (%lx), waiting for the reset to quiesce\n",
		napi, p->napi_after_free);
	/* never: the reset work polls the freed NAPI */
	wait_for_completion(&p->reset_quiesced);
	del_timer_sync(&p->irq_timer);
	remove_proc_entry("nd_reset_remove", NULL);
}
module_exit(nd_rr_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("netdbg scenario reset-after-remove: reset work re-queued after cancel_work_sync() during removal");
