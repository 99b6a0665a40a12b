#include "fake_waits.h"

namespace netdbg::test {

namespace {
constexpr std::size_t kWaiter = 0x40;  // the waiter record, from sp
}  // namespace

void add_waits_layout(FakeTarget& t) {
    t.add_struct("rw_semaphore", 40, {{"count", 0, 8}, {"owner", 8, 8}, {"wait_lock", 20, 4}, {"wait_list", 24, 16}});
    t.add_struct("rwsem_waiter", 48, {{"list", 0, 16}, {"task", 16, 8}, {"type", 24, 4}, {"timeout", 32, 8}});
    t.add_enum("RWSEM_WAITING_FOR_WRITE", 0);
    t.add_enum("RWSEM_WAITING_FOR_READ", 1);
    t.add_struct("semaphore", 24, {{"lock", 0, 4}, {"count", 4, 4}, {"wait_list", 8, 16}});
    t.add_struct("semaphore_waiter", 32, {{"list", 0, 16}, {"task", 16, 8}, {"up", 24, 1}});
    t.add_struct("completion", 32, {{"done", 0, 4}, {"wait", 8, 24}});
    t.add_struct("swait_queue_head", 24, {{"lock", 0, 4}, {"task_list", 8, 16}});
    t.add_struct("swait_queue", 24, {{"task", 0, 8}, {"task_list", 8, 16}});
    t.add_struct("wq_barrier", 72, {{"work", 0, 32}, {"done", 32, 32}, {"task", 64, 8}});
    t.add_members("work_struct", {{"data", 0, 8}, {"entry", 8, 16}, {"func", 24, 8}});
    t.add_members("worker", {{"scheduled", 0x30, 16}, {"task", 0x40, 8}});
}

FakeWaits::FakeWaits(FakeKernel& k) : fk(k), img(k.img) { add_waits_layout(k.target); }

namespace {
addr_t typed_object(FakeKernel& fk, const std::string& symbol, const std::string& type) {
    addr_t a = fk.img.alloc(type);
    fk.target.add_symbol(symbol, a, "struct " + type);
    return a;
}
}  // namespace

addr_t FakeWaits::new_rwsem(const std::string& symbol) {
    addr_t s = typed_object(fk, symbol, "rw_semaphore");
    img.list_init(s + img.offset("rw_semaphore", "wait_list"));
    return s;
}

void FakeWaits::rwsem_write_locked(addr_t sem, addr_t writer) {
    img.write(sem, "rw_semaphore", "count", img.read(sem, "rw_semaphore", "count") | 1);
    img.write(sem, "rw_semaphore", "owner", writer);
}

void FakeWaits::rwsem_read_locked(addr_t sem, int readers, addr_t last_reader) {
    img.write(sem, "rw_semaphore", "count",
              img.read(sem, "rw_semaphore", "count") + (static_cast<std::uint64_t>(readers) << 8));
    img.write(sem, "rw_semaphore", "owner", last_reader | 1);
}

addr_t FakeWaits::block_on_rwsem(addr_t task, addr_t sem, bool read, const std::string& caller) {
    addr_t sp = fk.sp_of(task);
    fk.put_frames(task, 0, {"__schedule", "schedule", "schedule_preempt_disabled",
                            read ? "rwsem_down_read_slowpath" : "rwsem_down_write_slowpath"});
    addr_t w = sp + kWaiter;
    img.write(w, "rwsem_waiter", "task", task);
    img.write(w, "rwsem_waiter", "type", read ? 1 : 0);
    img.list_add_tail(w + img.offset("rwsem_waiter", "list"), sem + img.offset("rw_semaphore", "wait_list"));
    fk.put_frames(task, 0x80, {read ? "down_read" : "down_write", caller, "kthread"});
    img.write(sem, "rw_semaphore", "count", img.read(sem, "rw_semaphore", "count") | 2);  // RWSEM_FLAG_WAITERS
    fk.set_state(task, TASK_UNINTERRUPTIBLE);
    return w;
}

addr_t FakeWaits::new_semaphore(const std::string& symbol, unsigned count) {
    addr_t s = typed_object(fk, symbol, "semaphore");
    img.write(s, "semaphore", "count", count);
    img.list_init(s + img.offset("semaphore", "wait_list"));
    return s;
}

addr_t FakeWaits::block_on_semaphore(addr_t task, addr_t sem, const std::string& caller) {
    addr_t sp = fk.sp_of(task);
    fk.put_frames(task, 0, {"__schedule", "schedule", "schedule_timeout", "__down_common"});
    addr_t w = sp + kWaiter;
    img.write(w, "semaphore_waiter", "task", task);
    img.list_add_tail(w + img.offset("semaphore_waiter", "list"), sem + img.offset("semaphore", "wait_list"));
    fk.put_frames(task, 0x80, {"down", caller, "kthread"});
    fk.set_state(task, TASK_UNINTERRUPTIBLE);
    return w;
}

addr_t FakeWaits::new_completion(const std::string& symbol) {
    addr_t c = typed_object(fk, symbol, "completion");
    img.list_init(c + 16);  // wait.task_list
    return c;
}

addr_t FakeWaits::block_on_completion(addr_t task, addr_t completion, const std::vector<std::string>& outer) {
    addr_t sp = fk.sp_of(task);
    fk.put_frames(task, 0, {"__schedule", "schedule", "schedule_timeout", "wait_for_completion"});
    addr_t q = sp + kWaiter;
    img.write(q, "swait_queue", "task", task);
    img.list_add_tail(q + img.offset("swait_queue", "task_list"), completion + 16);
    fk.put_frames(task, 0x80, outer);
    fk.set_state(task, TASK_UNINTERRUPTIBLE);
    return q;
}

FakeWaits::Flush FakeWaits::flush_running_work(addr_t flusher, addr_t kworker_task, const std::string& fn,
                                               const std::string& wq) {
    Flush f;
    f.worker = fk.make_kworker(kworker_task, fn, wq);
    f.work = img.read(f.worker, "worker", "current_work");
    img.write(f.worker, "worker", "task", kworker_task);
    addr_t scheduled = f.worker + img.offset("worker", "scheduled");
    img.list_init(scheduled);
    // The barrier in __flush_work()'s frame (above wait_for_completion's
    // return slot at sp+0x80), its work first on the worker's scheduled list.
    addr_t sp = fk.sp_of(flusher);
    f.barrier = sp + 0x90;
    addr_t done = f.barrier + img.offset("wq_barrier", "done");
    img.list_init(done + 16);
    img.write(f.barrier, "wq_barrier", "task", flusher);
    img.write(f.barrier, "work_struct", "func", fk.func("wq_barrier_func"));
    img.list_add_tail(f.barrier + img.offset("work_struct", "entry"), scheduled);
    block_on_completion(flusher, done, {"__flush_work"});
    fk.put_frames(flusher, 0xe0, {"flush_work", "flusher_func", "kthread"});
    return f;
}

}  // namespace netdbg::test
