// Fault-tolerant walk of a circular `struct list_head` list: Brent's cycle
// detection (O(1) memory), the next->prev check of the kernel's
// __list_del_entry_valid(), unreadable links and LIST_POISON values, all
// bounded by a maximum entry count. The walker itself is check_list()
// (list_check.h), which also knows hlist, BSD LIST and singly linked lists.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/kernel.h"

namespace netdbg {

enum class ListFault {
    Loop,          // the walk re-enters itself without coming back to the head
    BadPrev,       // next->prev != cur (hlist: pprev, BSD: le_prev)
    Unreadable,    // a node cannot be read
    Poison,        // next or prev holds LIST_POISON1/2 (entry was list_del()ed)
    Null,          // next is NULL
    Truncated,     // --max reached before the head came back
    Poisoned,      // the entry holds a run of a poison byte (slab 0x6b/0x5a/0xa5, --poison)
    WrongBackptr,  // the entry's back-pointer is not the owner of the head it hangs on
};

// Text name ("bad prev") and stable JSON key ("bad_prev").
const char* list_fault_name(ListFault f);
const char* list_fault_key(ListFault f);

// cycle_entry_index of a loop that re-enters at the head itself.
constexpr std::size_t kHeadIndex = SIZE_MAX;

struct ListFinding {
    ListFault fault;
    std::size_t index = 0;  // entry number (0 = first entry after the head)
    addr_t node = 0;        // the list_head where it was seen
    addr_t expected = 0;    // what the link should hold
    addr_t actual = 0;      // what it holds
    std::size_t cycle_length = 0;  // Loop: entries in the cycle
    addr_t cycle_entry = 0;        // Loop: first node the walk re-enters
    std::size_t cycle_entry_index = 0;
    addr_t entry = 0;        // the entry containing node (node - node offset)
    std::size_t offset = 0;  // Poisoned: start of the run in the entry; WrongBackptr: member offset
    std::size_t length = 0;  // Poisoned: bytes in the run
    std::uint8_t byte = 0;   // Poisoned: the poison byte
    std::string what{};      // WrongBackptr: the member ("inst", "idev"); Unreadable: why, " (page excluded ...)"
    std::string describe() const;
};

struct ListWalk {
    std::size_t count = 0;  // entries visited (the head not counted)
    bool complete = false;  // came back to the head with no fault
    std::vector<ListFinding> findings;
    // (index, fault) of findings past ListShape::max_findings, not kept.
    std::vector<std::pair<std::size_t, ListFault>> dropped;
};

// Visits each entry node (the head excluded) in order; visit returns false
// to stop early (then complete stays false and no finding is added). On a
// loop, visit has seen up to count entries twice before Brent closed the
// cycle: count is then the number of distinct entries, in walk order.
ListWalk walk_list(Kernel& k, addr_t head, std::size_t max,
                   const std::function<bool(addr_t node)>& visit);

// LIST_POISON1/2 of the analysed kernel: 0x100/0x122 + POISON_POINTER_DELTA
// (include/linux/poison.h). The delta is CONFIG_ILLEGAL_POINTER_VALUE
// (0xdead000000000000 on x86_64, 0 elsewhere); it is read from the kernel's
// own code: __list_del_entry_valid() compares with both values.
struct ListPoison {
    explicit ListPoison(Kernel& k);
    addr_t delta = 0;
    addr_t poison1 = 0x100, poison2 = 0x122;
    std::string source;    // the function the values were read from, or why not
    bool derived = false;  // false: not found in the kernel text, delta assumed 0
    bool is(addr_t v) const { return v == poison1 || v == poison2; }
};

bool is_list_poison(Kernel& k, addr_t value);

// The immediate pair LIST_POISON1/LIST_POISON2 in x86-64 code (two movabs
// whose values differ by 0x22, the first ending in 0x100); returns the
// delta. Exposed for the unit tests.
std::optional<addr_t> poison_delta_in_code(const std::uint8_t* code, std::size_t len);

}  // namespace netdbg
