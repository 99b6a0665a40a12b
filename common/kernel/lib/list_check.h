// check_list(): one walker for the kernel's list shapes, checking every link
// on the way the way CONFIG_DEBUG_LIST and slab debugging would:
//   struct list_head    circular; next->prev == cur           (list_head)
//   struct hlist_head   NULL-terminated; node->pprev == &prev->next (hlist)
//   BSD queue(3) LIST   NULL-terminated; le_next points at the element,
//                       le_prev at the previous le_next       (bsd)
//   singly linked       NULL-terminated `next` pointer to the element
//                       (ifacaddr6.aca_next, ifmcaddr6.next)   (single)
// Each entry is read whole, once, through the page cache; loops are found
// with Brent's algorithm (O(1) memory, no per-entry hash set); poison bytes
// are found by comparing aligned words with precomputed patterns.
#pragma once

#include <array>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/json.h"
#include "kernel/lib/list.h"

namespace netdbg {

enum class ListKind { ListHead, HList, Bsd, Single };

const char* list_kind_name(ListKind k);  // "list_head", "hlist", "bsd", "single"
// Bytes of the link node: {next, prev} (16) or a lone next pointer (8).
std::size_t list_node_size(ListKind k);
// Bytes of the head: list_head 16, the others one pointer.
std::size_t list_head_size(ListKind k);

// mm/slab.h and include/linux/poison.h: POISON_INUSE, POISON_FREE, POISON_END.
constexpr std::array<std::uint8_t, 3> kSlabPoisonBytes = {0x5a, 0x6b, 0xa5};

struct ListShape {
    ListKind kind = ListKind::ListHead;
    std::size_t node_offset = 0;  // the link node inside the entry
    std::size_t entry_size = 0;   // bytes read per entry (at least the node)
    std::size_t max = 1000000;    // entries per list
    // An entry is poisoned when a naturally aligned 64-bit word of it is
    // one of these bytes repeated (the run around it is reported).
    std::vector<std::uint8_t> poison_bytes;
    // The member every entry must hold the list's owner in (--backptr).
    std::optional<MemberInfo> backptr;
    std::string backptr_name;
    // Findings about single entries kept in ListWalk::findings; the rest
    // are only counted in ListWalk::dropped (a list of a million poisoned
    // entries stays small).
    std::size_t max_findings = SIZE_MAX;
};

// One entry as the walker read it: bytes covers [entry, entry + size).
struct ListEntryView {
    std::size_t index = 0;
    addr_t entry = 0;
    addr_t node = 0;
    const std::uint8_t* bytes = nullptr;
    std::size_t size = 0;
    bool poisoned = false;
};

// Walks the list at head (a list_head, hlist_head, BSD LIST_HEAD or a
// pointer to the first element), calling visit for each entry in order
// (visit returns false to stop). owner is the value --backptr expects.
// Findings on a loop: entries past the first repeat are dropped, so each
// fault is reported once; count is the number of distinct entries.
ListWalk check_list(Kernel& k, const ListShape& shape, addr_t head, addr_t owner,
                    const std::function<bool(const ListEntryView&)>& visit);

// Findings in JSON, the same keys for listcheck and aclist.
json list_finding_json(const ListFinding& f);

// Parses --poison: "auto" (the slab bytes), "none", or bytes "0xEC[,0x6b...]"
// (checked together with the slab bytes).
std::vector<std::uint8_t> parse_poison_bytes(const std::string& text);

}  // namespace netdbg
