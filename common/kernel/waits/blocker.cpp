#include "kernel/waits/blocker.h"

#include <fmt/format.h>

#include "kernel/sched/snapshot.h"

namespace netdbg {

const char* wait_kind_key(WaitKind kind) {
    switch (kind) {
        case WaitKind::Mutex: return "mutex";
        case WaitKind::RwSem: return "rwsem";
        case WaitKind::Semaphore: return "semaphore";
        case WaitKind::Completion: return "completion";
        case WaitKind::FlushWork: return "flush_work";
        case WaitKind::RcuGracePeriod: return "rcu_gp";
        case WaitKind::RcuBarrier: return "rcu_barrier";
        case WaitKind::SocketLock: return "socket";
        case WaitKind::NetdevUnregister: return "netdev_unregister";
    }
    return "?";
}

const char* wait_kind_name(WaitKind kind) {
    switch (kind) {
        case WaitKind::Mutex: return "mutex";
        case WaitKind::RwSem: return "rwsem";
        case WaitKind::Semaphore: return "semaphore";
        case WaitKind::Completion: return "completion";
        case WaitKind::FlushWork: return "flush_work";
        case WaitKind::RcuGracePeriod: return "RCU grace period";
        case WaitKind::RcuBarrier: return "rcu_barrier";
        case WaitKind::SocketLock: return "socket lock";
        case WaitKind::NetdevUnregister: return "device unregister";
    }
    return "?";
}

std::string Blocker::label() const {
    return fmt::format("{} {}", wait_kind_name(kind), name.empty() ? fmt::format("{:016x}", object) : name);
}

std::string object_name(Kernel& k, addr_t addr) {
    auto s = k.target().symbolize(addr);
    // A data symbol names the object only when the address lies inside it:
    // within its struct type when the debug info has it, else near it.
    if (!s) return "";
    std::size_t limit = 0x10000;
    if (s->offset) {
        auto type = k.target().symbol_type(s->name);
        if (type && type->starts_with("struct "))
            if (auto size = k.target().type_size(type->substr(7))) limit = *size;
    }
    if (s->offset >= limit) return "";
    std::string out = s->name;
    if (s->offset) out += fmt::format("+{:#x}", s->offset);
    if (!s->module.empty()) out += fmt::format(" [{}]", s->module);
    return out;
}

bool symbol_type_allows(Kernel& k, addr_t addr, std::string_view type) {
    auto sym = k.target().symbolize(addr);
    if (!sym || sym->offset != 0) return true;
    auto t = k.target().symbol_type(sym->name);
    return !t || *t == type;
}

std::string blocker_task_label(const Snapshot& s, addr_t task) {
    if (const Task* t = s.task(task)) return task_label(*t);
    return fmt::format("{:016x} (not in task list)", task);
}

std::string blocker_holder_text(const Snapshot& s, const Blocker& b) {
    std::string out;
    for (const BlockerTask& h : b.holders) {
        out += out.empty() ? "held by " : ", ";
        std::string who = blocker_task_label(s, h.task);
        out += h.role.empty() || h.role == "owner" ? who : fmt::format("{} [{}]", who, h.role);
    }
    if (!b.holder_note.empty()) out += (out.empty() ? "" : "; ") + b.holder_note;
    for (const BlockerTask& c : b.candidates)
        out += fmt::format("; candidate {}: {}", blocker_task_label(s, c.task), c.role);
    return out.empty() ? "holder unknown" : out;
}

namespace {

json blocker_task_json(const Snapshot& s, const BlockerTask& h) {
    const Task* t = s.task(h.task);
    json j = {{"task", hex(h.task)},
              {"pid", t ? json(t->pid) : json(nullptr)},
              {"comm", t ? json(t->comm) : json(nullptr)},
              {"role", h.role}};
    if (h.cpu >= 0) j["cpu"] = h.cpu;
    return j;
}

}  // namespace

json blocker_json(const Snapshot& s, const Blocker& b) {
    json j;
    j["kind"] = wait_kind_key(b.kind);
    j["object"] = hex(b.object);
    j["name"] = b.name;
    j["mode"] = b.mode.empty() ? json(nullptr) : json(b.mode);
    j["holder"] = blocker_holder_text(s, b);
    j["holders"] = json::array();
    for (const BlockerTask& h : b.holders) j["holders"].push_back(blocker_task_json(s, h));
    j["candidates"] = json::array();
    for (const BlockerTask& c : b.candidates) j["candidates"].push_back(blocker_task_json(s, c));
    addr_t owner = b.first_holder();
    const Task* ot = s.task(owner);
    j["owner"] = hex(owner);
    j["owner_pid"] = ot ? json(ot->pid) : json(nullptr);
    j["owner_comm"] = ot ? json(ot->comm) : json(nullptr);
    j["details"] = b.details;
    j["findings"] = b.findings;
    j[wait_kind_key(b.kind)] = b.fields;
    return j;
}

std::string_view base_function_name(std::string_view name) {
    auto dot = name.find('.');
    return dot == std::string_view::npos ? name : name.substr(0, dot);
}

}  // namespace netdbg
