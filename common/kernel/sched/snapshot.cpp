#include "kernel/sched/snapshot.h"

#include <fmt/format.h>

namespace netdbg {

Snapshot::Snapshot(Kernel& kernel, TaskScope sc)
    : k(kernel),
      scope(sc),
      walk(sc == TaskScope::All ? for_each_task(kernel) : TaskWalk{}),
      index(walk.tasks),
      states(kernel.get<TaskStates>()) {
    for (const RunQueue& rq : runqueues(k)) {
        now = std::max(now, rq.clock);
        running.emplace(rq.curr, rq.cpu);
        if (rq.idle) idle_tasks.push_back(rq.idle);
    }
}

const Task* Snapshot::task(addr_t addr) const {
    if (scope == TaskScope::All) return index.find(addr);
    auto it = read_.find(addr);
    if (it == read_.end()) {
        std::unique_ptr<Task> t;
        if (auto r = read_task(k, addr); r && task_is_listed(k, *r, idle_tasks)) t = std::make_unique<Task>(*r);
        it = read_.emplace(addr, std::move(t)).first;
    }
    return it->second.get();
}

int Snapshot::running_cpu(addr_t task) const {
    auto it = running.find(task);
    return it == running.end() ? -1 : it->second;
}

std::string task_label(const Task& t) { return fmt::format("{} (pid {})", t.comm, t.pid); }

std::string work_function(Kernel& k, const std::optional<WorkerInfo>& w) {
    if (!w || !w->current_func) return "";
    auto s = k.target().symbolize(w->current_func);
    if (!s) return fmt::format("{:016x}", w->current_func);
    return s->module.empty() ? s->name : fmt::format("{} [{}]", s->name, s->module);
}

namespace {

// Wait functions (get_wchan()) whose sleep ends when a timer expires.
bool sleeps_on_timer(const std::string& wait_func) {
    static constexpr std::string_view names[] = {"msleep", "msleep_interruptible", "usleep_range_state",
                                                 "do_nanosleep", "hrtimer_nanosleep", "schedule_hrtimeout_range"};
    for (std::string_view n : names)
        if (wait_func == n) return true;
    return false;
}

}  // namespace

std::string task_activity(const Snapshot& s, const Task& t, const std::string& wait_func) {
    std::string work = work_function(s.k, task_worker(s.k, t));
    if (!work.empty()) return "running " + work;
    int cpu = s.running_cpu(t.addr);
    if (cpu >= 0) return fmt::format("running on CPU {} for {}", cpu, format_duration(s.since_last_arrival(t)));
    std::string st = s.state(t);
    if (wait_func.empty()) return st;
    return st + " in " + wait_func + (sleeps_on_timer(wait_func) ? ", until a timer expires" : "");
}

json task_json(const Snapshot& s, const Task& t) {
    json j;
    j["task"] = hex(t.addr);
    j["pid"] = t.pid;
    j["tgid"] = t.tgid;
    j["comm"] = t.comm;
    j["cpu"] = t.cpu;
    j["state"] = s.state(t);
    int rc = s.running_cpu(t.addr);
    j["running_on_cpu"] = rc >= 0 ? json(rc) : json(nullptr);
    j["last_arrival_ns"] = t.last_arrival;
    j["last_arrival"] = format_timestamp(t.last_arrival);
    j["since_last_arrival_ns"] = s.since_last_arrival(t);
    j["last_switch_time_jiffies"] = t.last_switch_time ? json(*t.last_switch_time) : json(nullptr);
    return j;
}

}  // namespace netdbg
