// The sleeping primitives' waiter records, as the kernel leaves them on the
// sleeper's stack, on top of FakeKernel: rwsems (rwsem_down_*_slowpath()'s
// rwsem_waiter), semaphores (__down_common()'s semaphore_waiter),
// completions (do_wait_for_common()'s swait_queue) and flush_work()'s
// wq_barrier on a running worker's scheduled list. Linux 6.1 layouts.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "core/json.h"
#include "fake_kernel.h"

namespace netdbg::test {

void add_waits_layout(FakeTarget& t);

struct FakeWaits {
    explicit FakeWaits(FakeKernel& fk);
    FakeKernel& fk;
    ImageBuilder& img;

    // ---- rw_semaphore
    addr_t new_rwsem(const std::string& symbol);
    void rwsem_write_locked(addr_t sem, addr_t writer);
    // count += readers << 8; the owner word names the last reader, with
    // the reader-owned bit.
    void rwsem_read_locked(addr_t sem, int readers, addr_t last_reader);
    // rwsem_down_{read,write}_slowpath(): a waiter on the task's stack,
    // queued on wait_list, RWSEM_FLAG_WAITERS set, D state.
    addr_t block_on_rwsem(addr_t task, addr_t sem, bool read, const std::string& caller = "rww_func");

    // ---- semaphore
    addr_t new_semaphore(const std::string& symbol, unsigned count = 0);
    addr_t block_on_semaphore(addr_t task, addr_t sem, const std::string& caller = "sem_func");

    // ---- completion
    addr_t new_completion(const std::string& symbol);
    // wait_for_completion(): the swait_queue in its frame; `outer` are the
    // return addresses above it (callers, outermost last).
    addr_t block_on_completion(addr_t task, addr_t completion, const std::vector<std::string>& outer = {"cmp_func"});

    // ---- flush_work
    struct Flush {
        addr_t barrier = 0, work = 0, worker = 0;
    };
    // kworker_task runs `fn` (made a kworker here); flusher waits in
    // __flush_work() on a wq_barrier linked into the worker's scheduled list.
    Flush flush_running_work(addr_t flusher, addr_t kworker_task, const std::string& fn, const std::string& wq);
};

// PREEMPT_RT's sleeping locks: struct mutex and rwbase_rt built on an
// rt_mutex_base whose waiters are an rbtree of rt_mutex_waiter (6.1.y's
// `tree.entry` layout). Replaces the mutex and rw_semaphore layouts.
struct FakeRtLocks {
    explicit FakeRtLocks(FakeKernel& fk);
    FakeKernel& fk;
    ImageBuilder& img;

    addr_t new_mutex(const std::string& symbol);
    addr_t new_rwsem(const std::string& symbol);
    // The rt_mutex_base inside a mutex or an rwsem.
    static constexpr std::size_t kMutexBase = 0, kRwsemBase = 8;
    void set_owner(addr_t base, addr_t task);
    void set_readers(addr_t rwsem, std::uint32_t readers);
    // rt_mutex_slowlock(): an rt_mutex_waiter on the task's stack, inserted
    // in the base's tree after the waiters already there (equal priority),
    // HAS_WAITERS set, D state; `via` are the functions above the slow path
    // (mutex_lock, or down_write + rwbase_write_lock...).
    addr_t block_on(addr_t task, addr_t base, const std::vector<std::string>& via);

private:
    std::map<addr_t, std::vector<addr_t>> waiters_;  // base -> waiter records, in order
    void relink(addr_t base);
};

// In `uninterruptible --json`: the task with that pid; the pids of a list
// of tasks or waiters (-1 for a null pid).
const nlohmann::ordered_json& task_by_pid(const nlohmann::ordered_json& j, int pid);
std::vector<int> pids_of(const nlohmann::ordered_json& a);

}  // namespace netdbg::test
