#include "fake_waits.h"

#include <stdexcept>

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

FakeRtLocks::FakeRtLocks(FakeKernel& k) : fk(k), img(k.img) {
    FakeTarget& t = k.target;
    t.remove_type("mutex");
    t.remove_type("rw_semaphore");
    t.add_struct("mutex", 32, {{"rtmutex", 0, 32}});
    t.add_struct("rt_mutex_base", 32, {{"wait_lock", 0, 4}, {"waiters", 8, 16}, {"owner", 24, 8}});
    t.add_struct("rt_waiter_node", 40, {{"entry", 0, 24}, {"prio", 24, 4}, {"deadline", 32, 8}});
    t.add_struct("rt_mutex_waiter", 112, {{"tree", 0, 40}, {"pi_tree", 40, 40}, {"task", 80, 8}, {"lock", 88, 8}});
    t.add_struct("rwbase_rt", 40, {{"readers", 0, 4}, {"rtmutex", 8, 32}});
    t.add_struct("rw_semaphore", 40, {{"rwbase", 0, 40}});
}

addr_t FakeRtLocks::new_mutex(const std::string& symbol) { return typed_object(fk, symbol, "mutex"); }

addr_t FakeRtLocks::new_rwsem(const std::string& symbol) {
    addr_t s = typed_object(fk, symbol, "rw_semaphore");
    set_readers(s, 1u << 31);  // READER_BIAS: free
    return s;
}

void FakeRtLocks::set_owner(addr_t base, addr_t task) {
    std::uint64_t flags = img.read(base, "rt_mutex_base", "owner") & 1;
    img.write(base, "rt_mutex_base", "owner", task | flags);
}

void FakeRtLocks::set_readers(addr_t rwsem, std::uint32_t readers) {
    fk.target.poke_as<std::uint32_t>(rwsem, readers);
}

// The waiters as a right-leaning chain: each node's right child is the next
// one, so the in-order walk gives them in queue order.
void FakeRtLocks::relink(addr_t base) {
    const auto& ws = waiters_[base];
    for (std::size_t i = 0; i < ws.size(); ++i) {
        addr_t node = ws[i];  // tree.entry at offset 0
        img.u64(node, i ? ws[i - 1] : 0);     // __rb_parent_color (black)
        img.u64(node + 8, i + 1 < ws.size() ? ws[i + 1] : 0);  // rb_right
        img.u64(node + 16, 0);                // rb_left
    }
    img.u64(base + 8, ws.empty() ? 0 : ws.front());   // rb_root
    img.u64(base + 16, ws.empty() ? 0 : ws.front());  // rb_leftmost
    img.write(base, "rt_mutex_base", "owner", img.read(base, "rt_mutex_base", "owner") | (ws.empty() ? 0 : 1));
}

addr_t FakeRtLocks::block_on(addr_t task, addr_t base, const std::vector<std::string>& via) {
    addr_t sp = fk.sp_of(task);
    fk.put_frames(task, 0, {"__schedule", "schedule", "rt_mutex_slowlock_block.constprop.0", "rt_mutex_slowlock"});
    addr_t w = sp + 0x40;
    img.write(w, "rt_mutex_waiter", "task", task);
    img.write(w, "rt_mutex_waiter", "lock", base);
    img.write(w, "rt_waiter_node", "prio", 120);
    waiters_[base].push_back(w);
    relink(base);
    std::vector<std::string> above = via;
    above.push_back("kthread");
    fk.put_frames(task, 0xc0, above);
    fk.set_state(task, TASK_UNINTERRUPTIBLE);
    return w;
}

const nlohmann::ordered_json& task_by_pid(const nlohmann::ordered_json& j, int pid) {
    for (const auto& t : j["tasks"])
        if (t["pid"] == pid) return t;
    throw std::logic_error("no task " + std::to_string(pid));
}

std::vector<int> pids_of(const nlohmann::ordered_json& a) {
    std::vector<int> out;
    for (const auto& x : a) out.push_back(x["pid"].is_null() ? -1 : x["pid"].get<int>());
    return out;
}

}  // namespace netdbg::test
