#include "list.h"

#include <fmt/format.h>

namespace netdbg {

const char* list_fault_name(ListFault f) {
    switch (f) {
        case ListFault::Loop: return "loop";
        case ListFault::BadPrev: return "bad prev";
        case ListFault::Unreadable: return "unreadable";
        case ListFault::Poison: return "list poison";
        case ListFault::Null: return "null next";
        case ListFault::Truncated: return "truncated";
    }
    return "?";
}

std::string ListFinding::describe() const {
    switch (fault) {
        case ListFault::Loop:
            return fmt::format("loop: entry {} ({:016x}) re-enters at {:016x} (entry {}), cycle of {} entries",
                               index, node, cycle_entry, cycle_entry_index, cycle_length);
        case ListFault::BadPrev:
            return fmt::format("bad prev: entry {} at {:016x}: prev is {:016x}, expected {:016x}", index, node,
                               actual, expected);
        case ListFault::Unreadable:
            return fmt::format("unreadable: entry {} at {:016x}", index, node);
        case ListFault::Poison:
            return fmt::format("list poison: entry {} at {:016x} holds {:016x} (deleted entry still linked)",
                               index, node, actual);
        case ListFault::Null:
            return fmt::format("null next: entry {} at {:016x}", index, node);
        case ListFault::Truncated:
            return fmt::format("truncated: stopped after {} entries (--max)", index);
    }
    return "?";
}

bool is_list_poison(addr_t value) {
    // POISON_POINTER_DELTA is CONFIG_ILLEGAL_POINTER_VALUE on 64-bit
    // (0xdead000000000000 on x86_64), 0 elsewhere.
    addr_t low = value & 0xffffffffULL;
    addr_t high = value >> 32;
    return (low == 0x100 || low == 0x122) && (high == 0 || high == 0xdead0000ULL);
}

namespace {

struct Links {
    addr_t next = 0, prev = 0;
};

bool read_links(Memory& mem, addr_t node, Links& l) {
    addr_t buf[2];
    if (!mem.read(node, buf, sizeof buf)) return false;
    l.next = buf[0];
    l.prev = buf[1];
    return true;
}

// After Brent found a cycle of length lambda not containing the head,
// locate the first node of the cycle (mu steps from the head).
void locate_cycle(Memory& mem, addr_t head, std::size_t lambda, ListFinding& f) {
    addr_t a = head, b = head;
    Links l;
    for (std::size_t i = 0; i < lambda; ++i) {
        if (!read_links(mem, b, l)) return;
        b = l.next;
    }
    std::size_t mu = 0;
    while (a != b) {
        if (!read_links(mem, a, l)) return;
        a = l.next;
        if (!read_links(mem, b, l)) return;
        b = l.next;
        ++mu;
    }
    // Entry indexes count from 0 at the first node after the head.
    f.cycle_entry = a;
    f.cycle_entry_index = mu - 1;
    f.index = mu - 1 + lambda;
    // The node whose next points back into the cycle is the last one of it.
    addr_t last = a;
    for (std::size_t i = 0; i + 1 < lambda; ++i) {
        if (!read_links(mem, last, l)) return;
        last = l.next;
    }
    f.node = last;
    f.actual = a;
}

}  // namespace

ListWalk walk_list(Kernel& k, addr_t head, std::size_t max, const std::function<bool(addr_t)>& visit) {
    Memory& mem = k.mem();
    ListWalk w;
    Links cur_links;
    if (!read_links(mem, head, cur_links)) {
        w.findings.push_back({ListFault::Unreadable, 0, head, 0, 0});
        return w;
    }
    // Brent: `tortoise` jumps to the hare at every power of two.
    addr_t tortoise = head;
    std::size_t power = 1, lambda = 0;
    addr_t cur = head;
    std::size_t index = 0;
    while (true) {
        addr_t next = cur_links.next;
        if (next == head) {
            w.complete = true;
            // The head's prev must point back at the last entry.
            Links hl;
            if (read_links(mem, head, hl) && hl.prev != cur)
                w.findings.push_back({ListFault::BadPrev, index, head, cur, hl.prev});
            w.complete = w.findings.empty();
            return w;
        }
        // The finding names the entry holding the bad next: cur.
        std::size_t cur_index = index ? index - 1 : 0;
        if (next == 0) {
            w.findings.push_back({ListFault::Null, cur_index, cur, 0, 0});
            return w;
        }
        if (is_list_poison(next)) {
            w.findings.push_back({ListFault::Poison, cur_index, cur, 0, next});
            return w;
        }
        if (index >= max) {
            w.findings.push_back({ListFault::Truncated, index, cur, 0, 0});
            return w;
        }
        Links next_links;
        if (!read_links(mem, next, next_links)) {
            w.findings.push_back({ListFault::Unreadable, index, next, 0, 0});
            return w;
        }
        if (next_links.prev != cur) {
            ListFinding f{ListFault::BadPrev, index, next, cur, next_links.prev};
            if (is_list_poison(next_links.prev)) f.fault = ListFault::Poison;
            w.findings.push_back(f);
        }
        ++w.count;
        if (!visit(next)) return w;
        cur = next;
        cur_links = next_links;
        ++index;
        if ((index & 0xfff) == 0) k.check_interrupt();

        ++lambda;
        if (cur == tortoise) {
            ListFinding f{ListFault::Loop, index, cur, head, cur};
            f.cycle_length = lambda;
            locate_cycle(mem, head, lambda, f);
            // Entries past the first repeat were seen twice: keep one copy.
            std::erase_if(w.findings, [&](const ListFinding& g) { return g.index >= f.index; });
            w.count = f.index;
            w.findings.push_back(f);
            return w;
        }
        if (lambda == power) {
            tortoise = cur;
            power *= 2;
            lambda = 0;
        }
    }
}

}  // namespace netdbg
