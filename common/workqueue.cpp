#include "workqueue.h"

namespace netdbg {

WorkerLayout::WorkerLayout(Kernel& k) {
    Target& t = k.target();
    kthread_data = StructLayout(t, "kthread").offset("data");
    StructLayout w(t, "worker");
    current_work = w.require("current_work");
    current_func = w.require("current_func");
    current_pwq = w.find("current_pwq");
    desc = w.find("desc");
    if (current_pwq) {
        pwq_wq = StructLayout(t, "pool_workqueue").offset("wq");
        MemberInfo name = StructLayout(t, "workqueue_struct").require("name");
        wq_name = name.offset;
        wq_name_size = name.size;
    }
}

std::optional<WorkerInfo> task_worker(Kernel& k, const Task& t) {
    if (!(t.flags & PF_WQ_WORKER) || !t.kthread_ptr) return std::nullopt;
    const WorkerLayout& L = k.get<WorkerLayout>();
    Memory& mem = k.mem();
    auto worker = mem.read_u64(t.kthread_ptr + L.kthread_data);
    if (!worker || !*worker) return std::nullopt;
    WorkerInfo w;
    w.worker = *worker;
    w.current_work = mem.read_u64(*worker + L.current_work.offset).value_or(0);
    w.current_func = mem.read_u64(*worker + L.current_func.offset).value_or(0);
    if (L.desc) w.desc = mem.read_cstring(*worker + L.desc->offset, L.desc->size).value_or("");
    if (L.current_pwq && w.current_work) {
        auto pwq = mem.read_u64(*worker + L.current_pwq->offset);
        auto wq = pwq && *pwq ? mem.read_u64(*pwq + L.pwq_wq) : std::nullopt;
        if (wq && *wq) w.workqueue = mem.read_cstring(*wq + L.wq_name, L.wq_name_size).value_or("");
    }
    return w;
}

}  // namespace netdbg
