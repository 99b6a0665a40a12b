#include "kernel/lib/list.h"

#include <fmt/format.h>

#include "kernel/lib/list_check.h"

namespace netdbg {

const char* list_fault_name(ListFault f) {
    switch (f) {
        case ListFault::Loop: return "loop";
        case ListFault::BadPrev: return "bad prev";
        case ListFault::Unreadable: return "unreadable";
        case ListFault::Poison: return "list poison";
        case ListFault::Null: return "null next";
        case ListFault::Truncated: return "truncated";
        case ListFault::Poisoned: return "poisoned";
        case ListFault::WrongBackptr: return "wrong back-pointer";
    }
    return "?";
}

const char* list_fault_key(ListFault f) {
    switch (f) {
        case ListFault::Loop: return "loop";
        case ListFault::BadPrev: return "bad_prev";
        case ListFault::Unreadable: return "unreadable";
        case ListFault::Poison: return "list_poison";
        case ListFault::Null: return "null";
        case ListFault::Truncated: return "truncated";
        case ListFault::Poisoned: return "poisoned";
        case ListFault::WrongBackptr: return "wrong_backptr";
    }
    return "?";
}

namespace {
std::string at(std::size_t index, addr_t node, addr_t entry) {
    std::string s = fmt::format("entry {} at {:016x}", index, entry ? entry : node);
    if (entry && entry != node) s += fmt::format(" (node {:016x})", node);
    return s;
}
}  // namespace

std::string ListFinding::describe() const {
    switch (fault) {
        case ListFault::Loop: {
            std::string where = cycle_entry_index == kHeadIndex
                                    ? fmt::format("the head {:016x}", cycle_entry)
                                    : fmt::format("{:016x} (entry {})", cycle_entry, cycle_entry_index);
            return fmt::format("loop: entry {} ({:016x}) re-enters at {} after {} entries, cycle of {} entries", index,
                               entry ? entry : node, where, index + 1, cycle_length);
        }
        case ListFault::BadPrev:
            return fmt::format("bad prev: {}: prev is {:016x}, expected {:016x}", at(index, node, entry), actual,
                               expected);
        case ListFault::Unreadable:
            return fmt::format("unreadable: entry {} at {:016x}{}", index, node, what);
        case ListFault::Poison:
            return fmt::format("list poison: {} holds {:016x} (deleted entry still linked)", at(index, node, entry),
                               actual);
        case ListFault::Null:
            return fmt::format("null next: {}", at(index, node, entry));
        case ListFault::Truncated:
            return fmt::format("truncated: stopped after {} entries (--max)", index);
        case ListFault::Poisoned:
            return fmt::format("poisoned: {}: {} bytes of {:#04x} at +{:#x}", at(index, node, entry), length, byte,
                               offset);
        case ListFault::WrongBackptr:
            return fmt::format("wrong back-pointer: {}: {} is {:016x}, expected {:016x}", at(index, node, entry),
                               what.empty() ? fmt::format("+{:#x}", offset) : what, actual, expected);
    }
    return "?";
}

ListWalk walk_list(Kernel& k, addr_t head, std::size_t max, const std::function<bool(addr_t)>& visit) {
    ListShape shape;
    shape.kind = ListKind::ListHead;
    shape.max = max;
    return check_list(k, shape, head, head, [&](const ListEntryView& e) { return visit(e.node); });
}

// ---------------------------------------------------------------- poison

std::optional<addr_t> poison_delta_in_code(const std::uint8_t* code, std::size_t len) {
    // movabs $imm64, %reg: REX.W (0x48) or REX.WB (0x49), then 0xb8 + reg.
    std::vector<std::uint64_t> imms;
    for (std::size_t i = 0; i + 10 <= len; ++i) {
        if ((code[i] == 0x48 || code[i] == 0x49) && (code[i + 1] & 0xf8) == 0xb8) {
            std::uint64_t v;
            std::memcpy(&v, code + i + 2, sizeof v);
            imms.push_back(v);
        }
    }
    for (std::uint64_t a : imms) {
        if ((a & 0xfff) != 0x100) continue;
        for (std::uint64_t b : imms)
            if (b == a + 0x22) return a - 0x100;
    }
    return std::nullopt;
}

ListPoison::ListPoison(Kernel& k) {
    // CONFIG_DEBUG_LIST's checker compares with LIST_POISON1 then LIST_POISON2
    // (renamed in 6.6); klist_release() and unregister_netdevice_many*()
    // list_del() with the values inlined on kernels without it.
    static const char* const candidates[] = {"__list_del_entry_valid_or_report", "__list_del_entry_valid",
                                             "klist_release", "unregister_netdevice_many_notify",
                                             "unregister_netdevice_many"};
    std::vector<std::uint8_t> code(1024);
    for (const char* fn : candidates) {
        auto a = k.try_symbol(fn);
        if (!a) continue;
        // Read as much of the function as is readable, page by page.
        std::size_t got = 0;
        while (got < code.size()) {
            std::size_t n = std::min<std::size_t>(code.size() - got, Memory::kPageSize - ((*a + got) & 0xfff));
            if (!k.mem().read(*a + got, code.data() + got, n)) break;
            got += n;
        }
        if (auto d = poison_delta_in_code(code.data(), got)) {
            delta = *d;
            poison1 = 0x100 + delta;
            poison2 = 0x122 + delta;
            source = fn;
            derived = true;
            return;
        }
    }
    source = "not found in the kernel text (no __list_del_entry_valid): POISON_POINTER_DELTA assumed 0";
}

bool is_list_poison(Kernel& k, addr_t value) { return k.get<ListPoison>().is(value); }

}  // namespace netdbg
