#include "kernel/net/netdev_todo.h"

#include <algorithm>

#include <fmt/format.h>

#include "kernel/net/netdevice.h"
#include "kernel/sched/snapshot.h"
#include "kernel/waits/finder.h"
#include "kernel/waits/object_cache.h"

namespace netdbg {

NetdevRefLayout::NetdevRefLayout(Kernel& k) {
    StructLayout nd(k.target(), "net_device");
    pcpu_refcnt = nd.find("pcpu_refcnt");
    dev_refcnt = nd.find("dev_refcnt");
}

NetdevTodoLayout::NetdevTodoLayout(Kernel& k) {
    Target& t = k.target();
    StructLayout nd(t, "net_device");
    name = nd.require("name");
    ifindex = nd.require("ifindex");
    todo_list = nd.require("todo_list");
    reg_state = nd.require("reg_state");
    // An empty struct ref_tracker_dir without CONFIG_REF_TRACKER.
    if (auto rt = nd.find("refcnt_tracker"); rt && rt->size > 0) {
        auto list = t.member("ref_tracker_dir", "list");
        auto head = t.member("ref_tracker", "head");
        if (list && head) {
            tracker_list = rt->offset + list->offset;
            tracker_head = head->offset;
            if (auto alloc = t.member("ref_tracker", "alloc_stack_handle")) tracker_alloc = alloc->offset;
        }
    }
    auto value = [&](const char* n) {
        auto v = t.enum_value(n);
        if (!v) throw LayoutError(fmt::format("layout: no enumerator '{}' in the debug info", n));
        return *v;
    };
    unregistering = value("NETREG_UNREGISTERING");
    unregistered = value("NETREG_UNREGISTERED");
    for (const char* n : {"NETREG_UNINITIALIZED", "NETREG_REGISTERED", "NETREG_UNREGISTERING", "NETREG_UNREGISTERED",
                          "NETREG_RELEASED", "NETREG_DUMMY"})
        if (auto v = t.enum_value(n)) reg_states.emplace_back(*v, n);
    net_todo_list = k.try_symbol("net_todo_list");
    dev_unreg_count = k.try_symbol("dev_unreg_count");
    net_dev_unreg_count = t.member("net", "dev_unreg_count");
    pernet_ops_rwsem = k.try_symbol("pernet_ops_rwsem");
    rwsem_count = t.member("rw_semaphore", "count");
}

bool devices_may_be_unregistering(Kernel& k) {
    const NetdevTodoLayout& L = k.get<NetdevTodoLayout>();
    Memory& mem = k.mem();
    if (L.dev_unreg_count) {
        auto n = mem.read_u32(*L.dev_unreg_count);
        return !n || *n != 0;
    }
    if (!L.net_dev_unreg_count || !L.pernet_ops_rwsem || !L.rwsem_count) return true;
    auto sem = mem.read_u64(*L.pernet_ops_rwsem + L.rwsem_count->offset);
    if (!sem || *sem != 0) return true;
    std::vector<std::string> problems;
    std::vector<addr_t> nets;
    try {
        nets = for_each_net(k, true, &problems);
    } catch (const LayoutError&) {
        return true;
    }
    if (nets.empty() || !problems.empty()) return true;
    for (addr_t net : nets) {
        auto n = mem.read_u32(net + L.net_dev_unreg_count->offset);
        if (!n || *n != 0) return true;
    }
    return false;
}

std::string netdev_reg_state_name(Kernel& k, std::int64_t state) {
    for (const auto& [v, n] : k.get<NetdevTodoLayout>().reg_states)
        if (v == state) return n;
    return fmt::format("reg_state {}", state);
}

std::optional<std::int64_t> netdev_usage_count(Kernel& k, addr_t dev) {
    const NetdevRefLayout& L = k.get<NetdevRefLayout>();
    if (L.pcpu_refcnt) {
        auto p = k.mem().read_u64(dev + L.pcpu_refcnt->offset);
        if (!p) return std::nullopt;
        if (*p) {
            std::int64_t sum = 0;
            int cpus = k.target().cpu_count();
            for (int cpu = 0; cpu < cpus; ++cpu) {
                auto off = k.target().per_cpu_offset(cpu);
                if (!off) continue;
                auto v = k.mem().read_u32(*p + *off);
                if (!v) return std::nullopt;
                sum += static_cast<std::int32_t>(*v);
            }
            return sum;
        }
    }
    if (L.dev_refcnt) {
        auto v = k.mem().read_u32(dev + L.dev_refcnt->offset);
        if (!v) return std::nullopt;
        return static_cast<std::int32_t>(*v);
    }
    return std::nullopt;
}

namespace {

bool printable_name(const std::string& s) {
    return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c > 0x20 && c < 0x7f; });
}

// dev->refcnt_tracker.list: the references taken with a tracker and not
// yet released, with their allocation stack depot handles.
void read_trackers(Kernel& k, const NetdevTodoLayout& L, UnregisteringDevice& d) {
    if (!L.tracker_list) return;
    std::vector<addr_t> nodes;
    ListWalk w = walk_list(k, d.dev + *L.tracker_list, 10000, [&](addr_t node) {
        nodes.push_back(node);
        return nodes.size() <= 10000;
    });
    d.tracked = w.count;
    nodes.resize(std::min<std::size_t>({nodes.size(), w.count, 8}));
    if (L.tracker_alloc)
        for (addr_t node : nodes)
            if (auto h = k.mem().read_u32(node - *L.tracker_head + *L.tracker_alloc)) d.tracker_stacks.push_back(*h);
}

}  // namespace

std::optional<UnregisteringDevice> read_unregistering_device(Kernel& k, addr_t dev) {
    const NetdevTodoLayout& L = k.get<NetdevTodoLayout>();
    Span span;
    for (const MemberInfo& m : {L.name, L.ifindex, L.todo_list}) span.add(m);
    span.add(L.reg_state.offset, 1);
    auto o = Object::read(k.mem(), dev, span.end, span.begin);
    if (!o) return std::nullopt;
    UnregisteringDevice d;
    d.dev = dev;
    // u8 since 5.x; before, an enum bit-field of 8 bits: its low byte.
    d.reg_state = o->uint(L.reg_state.offset, 1);
    if (d.reg_state != L.unregistering && d.reg_state != L.unregistered) return std::nullopt;
    d.name = o->cstring(L.name.offset, L.name.size);
    if (!printable_name(d.name) || d.name.size() >= L.name.size) return std::nullopt;
    d.ifindex = static_cast<int>(static_cast<std::int32_t>(o->uint(L.ifindex.offset, L.ifindex.size)));
    d.usage = netdev_usage_count(k, dev);
    read_trackers(k, L, d);
    return d;
}

std::optional<TodoList> read_todo_list(Kernel& k, addr_t head, std::size_t max) {
    const NetdevTodoLayout& L = k.get<NetdevTodoLayout>();
    TodoList l;
    l.head = head;
    std::vector<addr_t> nodes;
    l.walk = walk_list(k, head, max, [&](addr_t node) {
        nodes.push_back(node);
        return true;
    });
    nodes.resize(std::min(nodes.size(), l.walk.count));
    for (std::size_t i = 0; i < nodes.size(); ++i) {
        k.check_interrupt();
        addr_t dev = nodes[i] - L.todo_list.offset;
        if (auto d = read_unregistering_device(k, dev)) {
            l.devices.push_back(std::move(*d));
        } else if (i == 0) {
            return std::nullopt;
        } else {
            l.findings.push_back(
                fmt::format("todo list entry {} at {:016x} is not a net_device being unregistered", i, dev));
        }
    }
    if (l.devices.empty()) return std::nullopt;
    for (const auto& f : l.walk.findings) l.findings.push_back("todo list " + f.describe());
    return l;
}

namespace {

std::string device_line(Kernel& k, const UnregisteringDevice& d) {
    std::string line = fmt::format("{}: ifindex {}, {}, ", d.name, d.ifindex, netdev_reg_state_name(k, d.reg_state));
    if (!d.usage) return line + "usage count unreadable";
    line += fmt::format("usage count {}", *d.usage);
    // netdev_wait_allrefs_any() waits for a count of 1: its own reference.
    if (*d.usage > 1) line += fmt::format(": {} reference(s) leaked (expected 1)", *d.usage - 1);
    else if (*d.usage == 1) line += ": every other reference released";
    else line += ": below 1 (a reference put twice?)";
    return line;
}

json device_json(Kernel& k, const UnregisteringDevice& d) {
    json tracked = d.tracked ? json(*d.tracked) : json(nullptr);
    return {{"dev", hex(d.dev)},
            {"name", d.name},
            {"ifindex", d.ifindex},
            {"reg_state", netdev_reg_state_name(k, d.reg_state)},
            {"usage_count", d.usage ? json(*d.usage) : json(nullptr)},
            {"leaked", d.usage ? json(std::max<std::int64_t>(*d.usage - 1, 0)) : json(nullptr)},
            {"tracked", tracked}};
}

Blocker netdev_blocker(const Snapshot& s, const NetdevTodoLayout& L, const TodoList& list,
                       const std::optional<TodoList>& pending) {
    Kernel& k = s.k;
    Blocker b;
    b.kind = WaitKind::NetdevUnregister;
    b.object = list.devices.front().dev;
    json devices = json::array();
    std::size_t tracked = 0;
    for (const UnregisteringDevice& d : list.devices) {
        b.name += (b.name.empty() ? "" : ", ") + d.name;
        b.details.push_back(device_line(k, d));
        if (d.tracked) {
            tracked += *d.tracked;
            std::string stacks;
            for (std::uint32_t h : d.tracker_stacks) stacks += fmt::format("{}{:#x}", stacks.empty() ? "" : " ", h);
            b.details.push_back(fmt::format("{}: {} reference(s) tracked in refcnt_tracker{}", d.name, *d.tracked,
                                            stacks.empty() ? "" : " (allocation stack handles " + stacks + ")"));
        }
        devices.push_back(device_json(k, d));
    }
    if (L.tracker_list)
        b.holder_note = fmt::format(
            "dev->refcnt_tracker records {} holder(s); their stacks are in the stack depot, not decoded here", tracked);
    else
        b.holder_note = "the kernel does not record who holds the references (no ref_tracker)";
    json queued = json::array();
    if (pending)
        for (const UnregisteringDevice& d : pending->devices) {
            b.details.push_back("queued on net_todo_list for the next netdev_run_todo(): " + device_line(k, d));
            queued.push_back(device_json(k, d));
        }
    b.findings = list.findings;
    if (pending)
        for (const auto& f : pending->findings) b.findings.push_back("net_todo_list: " + f);
    b.fields = {{"list", list.head ? json(hex(list.head)) : json(nullptr)},
                {"devices", devices},
                {"net_todo_list", queued},
                {"ref_tracker", L.tracker_list.has_value()}};
    return b;
}

bool is_netdev_wait_function(std::string_view fn) {
    return fn == "netdev_run_todo" || fn == "netdev_wait_allrefs_any" || fn == "netdev_wait_allrefs";
}

class NetdevUnregisterWaits : public WaitReader {
public:
    explicit NetdevUnregisterWaits(const Snapshot& s) : s_(s) {
        try {
            L_ = &s.k.get<NetdevTodoLayout>();
        } catch (const LayoutError&) {
        }
    }
    bool waits_in(std::string_view fn) const override { return L_ && is_netdev_wait_function(fn); }

    // The todo list the site's wait is for.
    std::optional<TodoList> find_list(const WaitSite& site) {
        for (std::size_t j : frames_to_search(site)) {
            auto [lo, hi] = frame_range(site.stack, site.chain, j);
            WaitSite frame{site.task, site.stack, site.chain, j, site.function, lo, hi};
            auto list = find_todo_list(frame);
            if (!list && site.function == "netdev_wait_allrefs") list = find_waited_device(frame);
            if (list) return list;
        }
        return std::nullopt;
    }

    std::optional<Blocker> find(const WaitSite& site) override {
        Kernel& k = s_.k;
        std::optional<TodoList> list = find_list(site);
        if (!list) return std::nullopt;
        std::optional<TodoList> pending;
        if (L_->net_todo_list) {
            try {
                pending = read_todo_list(k, *L_->net_todo_list);
            } catch (const Interrupted&) {
                throw;
            } catch (const Error&) {
            }
        }
        return netdev_blocker(s_, *L_, *list, pending);
    }

private:
    // The site's frame, and when the site is netdev_wait_allrefs_any() the
    // frames out to netdev_run_todo()'s, whose local the list head is.
    std::vector<std::size_t> frames_to_search(const WaitSite& site) {
        std::vector<std::size_t> out{site.frame};
        if (site.function == "netdev_run_todo" || site.chain.scanned()) return out;
        for (std::size_t j = site.frame + 1; j < site.chain.frames.size() && j <= site.frame + 8; ++j) {
            const StackFrame& f = site.chain.frames[j];
            if (!f.slot) break;
            out.push_back(j);
            if (base_function_name(s_.k.function_name(f.pc)) == "netdev_run_todo") return out;
        }
        return {site.frame};
    }

    // A list_head on the stack whose neighbours point back at it and whose
    // entries are devices being unregistered.
    std::optional<TodoList> find_todo_list(const WaitSite& frame) {
        Kernel& k = s_.k;
        std::optional<TodoList> found;
        frame.for_each_word([&](addr_t at, addr_t next) {
            if (found || !next || next == at) return;
            auto prev = k.mem().read_u64(at + 8);
            if (!prev || *prev == at) return;
            auto next_prev = k.mem().read_u64(next + 8);
            auto prev_next = k.mem().read_u64(*prev);
            if (!next_prev || !prev_next || *next_prev != at || *prev_next != at) return;
            if (const TodoList* l = cache_.get(at, [&](addr_t a) { return read_todo_list(k, a); })) found = *l;
        });
        return found;
    }

    // netdev_wait_allrefs(dev) (before 5.19): the device was list_del()ed
    // from the todo list before the wait; its pointer is in the frame and
    // its todo_list holds LIST_POISON.
    std::optional<TodoList> find_waited_device(const WaitSite& frame) {
        Kernel& k = s_.k;
        std::optional<TodoList> found;
        frame.for_each_word([&](addr_t, addr_t dev) {
            if (found || dev < 0xffff800000000000ULL) return;
            auto next = k.mem().read_u64(dev + L_->todo_list.offset);
            if (!next || !is_list_poison(k, *next)) return;
            auto d = read_unregistering_device(k, dev);
            if (!d || d->reg_state != L_->unregistered) return;
            TodoList l;
            l.devices.push_back(std::move(*d));
            found = std::move(l);
        });
        return found;
    }

    const Snapshot& s_;
    const NetdevTodoLayout* L_ = nullptr;
    ObjectCache<TodoList> cache_;
};

}  // namespace

std::unique_ptr<WaitReader> netdev_unregister_wait_reader(const Snapshot& s) {
    return std::make_unique<NetdevUnregisterWaits>(s);
}

namespace {

// The netdev_run_todo() family's entry points, for the pre-filter.
struct TodoFunctions {
    explicit TodoFunctions(Kernel& k) {
        for (const char* n : {"netdev_run_todo", "netdev_wait_allrefs_any", "netdev_wait_allrefs"})
            if (auto a = k.try_symbol(n)) starts.push_back(*a);
        start_time = k.target().member("task_struct", "start_time");
    }
    std::vector<addr_t> starts;
    std::optional<MemberInfo> start_time;
};

// Whether the words just above the saved stack pointer hold a return
// address into a function of TodoFunctions: no task that waits there has
// more than a few frames (msleep, schedule_timeout, rcu_barrier's
// wait_for_completion) below it.
bool near_todo_function(Kernel& k, const Task& t, const TodoFunctions& f) {
    constexpr std::size_t kWords = 256;  // 2 KiB
    if (f.starts.empty() || !t.sp) return false;
    std::uint64_t words[kWords];
    std::size_t n = kWords;
    addr_t top = t.stack + k.target().thread_size();
    if (t.stack && t.sp >= t.stack && t.sp < top) n = std::min<std::size_t>(n, (top - t.sp) / 8);
    if (!n || !k.mem().read(t.sp, words, n * 8)) return false;
    for (std::size_t i = 0; i < n; ++i)
        for (addr_t start : f.starts)
            if (words[i] > start && words[i] < start + 0x2000 &&
                is_netdev_wait_function(base_function_name(k.function_name(words[i]))))
                return true;
    return false;
}

}  // namespace

std::optional<TodoList> task_todo_list(const Snapshot& s, const Task& t, const StackWords& stack,
                                       const CallChain& chain) {
    NetdevUnregisterWaits reader(s);
    if (!stack.readable) return std::nullopt;
    for (std::size_t i = 0; i < chain.frames.size(); ++i) {
        if (!chain.frames[i].slot) continue;
        std::string name = s.k.function_name(chain.frames[i].pc);
        std::string_view fn = base_function_name(name);
        if (!reader.waits_in(fn)) continue;
        auto [lo, hi] = frame_range(stack, chain, i);
        WaitSite site{t, stack, chain, i, std::string(fn), lo, hi};
        if (auto l = reader.find_list(site)) return l;
    }
    return std::nullopt;
}

std::vector<UnregisterWaiter> find_unregister_waiters(const Snapshot& s, std::size_t max) {
    Kernel& k = s.k;
    const TodoFunctions& f = k.get<TodoFunctions>();
    std::vector<UnregisterWaiter> out;
    for (const Task& t : s.walk.tasks) {
        k.check_interrupt();
        if (out.size() >= max) break;
        if (!s.states.uninterruptible(t, true) || s.running_cpu(t.addr) >= 0) continue;
        if (!near_todo_function(k, t, f)) continue;
        StackWords stack = read_stack(k, t);
        CallChain chain = call_chain(k, t, stack);
        auto l = task_todo_list(s, t, stack, chain);
        if (!l) continue;
        std::optional<std::uint64_t> start;
        if (f.start_time) start = k.mem().read_u64(t.addr + f.start_time->offset);
        out.push_back({t.addr, start, std::move(*l)});
    }
    return out;
}

}  // namespace netdbg
