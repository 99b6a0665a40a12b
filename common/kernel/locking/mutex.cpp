#include "kernel/locking/mutex.h"

#include <fmt/format.h>

namespace netdbg {

MutexLayout::MutexLayout(Kernel& k) : s(k.target(), "mutex") {
    owner = s.require("owner");
    wait_list = s.find("wait_list");
    owner_has_flags = !s.find("count");
    StructLayout w(k.target(), "mutex_waiter");
    waiter_list = w.offset("list");
    waiter_task = w.offset("task");
}

std::string mutex_flag_names(std::uint64_t flags) {
    std::string out;
    auto add = [&](std::uint64_t bit, const char* name) {
        if (flags & bit) out += out.empty() ? name : std::string("|") + name;
    };
    add(MUTEX_FLAG_WAITERS, "WAITERS");
    add(MUTEX_FLAG_HANDOFF, "HANDOFF");
    add(MUTEX_FLAG_PICKUP, "PICKUP");
    return out.empty() ? "-" : out;
}

std::string lock_name(Kernel& k, addr_t addr) {
    auto s = k.target().symbolize(addr);
    // Data symbols only make sense when the lock lies inside the object.
    if (!s || s->offset > 0x10000) return "";
    std::string out = s->name;
    if (s->offset) out += fmt::format("+{:#x}", s->offset);
    if (!s->module.empty()) out += fmt::format(" [{}]", s->module);
    return out;
}

MutexState read_mutex(Kernel& k, addr_t addr, std::size_t max) {
    const MutexLayout& L = k.get<MutexLayout>();
    MutexState m;
    m.addr = addr;
    m.name = lock_name(k, addr);
    auto owner = k.mem().read_u64(addr + L.owner.offset);
    if (!owner) throw Error(fmt::format("cannot read struct mutex at {:016x}", addr));
    m.owner = L.owner_has_flags ? (*owner & ~MUTEX_FLAGS) : *owner;
    m.flags = L.owner_has_flags ? (*owner & MUTEX_FLAGS) : 0;
    if (!L.wait_list) return m;
    addr_t head = addr + L.wait_list->offset;
    std::vector<addr_t> nodes;
    m.walk = walk_list(k, head, max, [&](addr_t node) {
        nodes.push_back(node);
        return true;
    });
    nodes.resize(std::min(nodes.size(), m.walk.count));
    for (addr_t node : nodes) {
        auto task = k.mem().read_u64(node - L.waiter_list + L.waiter_task);
        m.waiters.push_back(task ? *task : 0);
    }
    return m;
}

addr_t resolve_mutex_argument(Kernel& k, const std::string& arg) {
    Target& t = k.target();
    const MutexLayout& L = k.get<MutexLayout>();
    addr_t addr;
    bool typed = false;  // the debug info says it is a struct mutex
    if (auto a = t.symbol_address(arg)) {
        auto type = t.symbol_type(arg);
        if (type && *type != "struct mutex")
            throw Error(fmt::format("{} is not a struct mutex (it is {})", arg, *type));
        typed = type.has_value();
        addr = *a;
    } else {
        char* end = nullptr;
        std::string digits = arg.rfind("0x", 0) == 0 ? arg.substr(2) : arg;
        unsigned long long v = std::strtoull(digits.c_str(), &end, 16);
        if (digits.empty() || *end != '\0')
            throw Error(fmt::format("{}: no such symbol, and not a hex address (for a module's lock, load its "
                                    "symbols first: mod -s MODULE file.ko)",
                                    arg));
        addr = v;
    }
    // A mutex's wait_list is an initialised list: next and prev readable and
    // pointing into a consistent ring.
    std::vector<std::uint8_t> bytes(L.s.size());
    if (!k.mem().read(addr, bytes.data(), bytes.size()))
        throw Error(fmt::format("{}: cannot read a struct mutex at {:016x}", arg, addr));
    // A typed symbol is a mutex even with a corrupted wait_list: the walk
    // reports the damage as findings.
    if (L.wait_list && !typed) {
        addr_t head = addr + L.wait_list->offset;
        auto next = k.mem().read_u64(head);
        auto prev = k.mem().read_u64(head + 8);
        auto next_prev = next ? k.mem().read_u64(*next + 8) : std::nullopt;
        auto prev_next = prev ? k.mem().read_u64(*prev) : std::nullopt;
        if (!next_prev || !prev_next || *next_prev != head || *prev_next != head)
            throw Error(fmt::format("{}: {:016x} does not look like a struct mutex (wait_list is not a valid list)",
                                    arg, addr));
    }
    return addr;
}

}  // namespace netdbg
