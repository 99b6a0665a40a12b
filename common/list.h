// Fault-tolerant walk of a circular `struct list_head` list: Brent's cycle
// detection (O(1) memory), the next->prev check of the kernel's
// __list_del_entry_valid(), unreadable links and LIST_POISON values, all
// bounded by a maximum entry count.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include "kernel.h"

namespace netdbg {

enum class ListFault {
    Loop,        // the walk re-enters itself without coming back to the head
    BadPrev,     // next->prev != cur
    Unreadable,  // a node cannot be read
    Poison,      // next or prev holds LIST_POISON1/2 (entry was list_del()ed)
    Null,        // next is NULL
    Truncated,   // --max reached before the head came back
};

const char* list_fault_name(ListFault f);

struct ListFinding {
    ListFault fault;
    std::size_t index = 0;  // entry number (0 = first entry after the head)
    addr_t node = 0;        // the list_head where it was seen
    addr_t expected = 0;    // what the link should hold
    addr_t actual = 0;      // what it holds
    std::size_t cycle_length = 0;  // Loop: entries in the cycle
    addr_t cycle_entry = 0;        // Loop: first node the walk re-enters
    std::size_t cycle_entry_index = 0;
    std::string describe() const;
};

struct ListWalk {
    std::size_t count = 0;  // entries visited (the head not counted)
    bool complete = false;  // came back to the head with no fault
    std::vector<ListFinding> findings;
};

// Visits each entry node (the head excluded) in order; visit returns false
// to stop early (then complete stays false and no finding is added). On a
// loop, visit has seen up to count entries twice before Brent closed the
// cycle: count is then the number of distinct entries, in walk order.
ListWalk walk_list(Kernel& k, addr_t head, std::size_t max,
                   const std::function<bool(addr_t node)>& visit);

// Kernel constants derived from the dump: LIST_POISON1/2 are
// 0x100/0x122 + POISON_POINTER_DELTA (include/linux/poison.h).
bool is_list_poison(addr_t value);

}  // namespace netdbg
