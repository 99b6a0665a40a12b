#include "kernel/lib/list_check.h"

#include <algorithm>
#include <cstring>

#include <fmt/format.h>

#include "core/error.h"

namespace netdbg {

const char* list_kind_name(ListKind k) {
    switch (k) {
        case ListKind::ListHead: return "list_head";
        case ListKind::HList: return "hlist";
        case ListKind::Bsd: return "bsd";
        case ListKind::Single: return "single";
    }
    return "?";
}

std::size_t list_node_size(ListKind k) { return k == ListKind::Single ? 8 : 16; }
std::size_t list_head_size(ListKind k) { return k == ListKind::ListHead ? 16 : 8; }

namespace {

// include/linux/types.h: list_head {next, prev}, hlist_node {next, pprev};
// BSD LIST_ENTRY {le_next, le_prev}: the link word first, the back-link after.
constexpr std::size_t kNextOff = 0;
constexpr std::size_t kPrevOff = 8;

std::uint64_t load64(const std::uint8_t* p) {
    std::uint64_t v;
    std::memcpy(&v, p, sizeof v);
    return v;
}

std::uint64_t load_uint(const std::uint8_t* p, std::size_t size) {
    switch (size) {
        case 1: return p[0];
        case 2: { std::uint16_t v; std::memcpy(&v, p, 2); return v; }
        case 4: { std::uint32_t v; std::memcpy(&v, p, 4); return v; }
        default: return load64(p);
    }
}

std::uint64_t repeated(std::uint8_t b) { return 0x0101010101010101ULL * b; }

struct PoisonScan {
    std::vector<std::uint64_t> words;  // one per poison byte
    std::vector<std::uint8_t> bytes;

    explicit PoisonScan(const std::vector<std::uint8_t>& b) : bytes(b) {
        for (std::uint8_t x : b) words.push_back(repeated(x));
    }
    bool is_word(std::uint64_t v) const {
        for (std::uint64_t w : words)
            if (v == w) return true;
        return false;
    }
    // The first run of a poison byte covering an aligned word of the entry.
    bool find(const std::uint8_t* p, std::size_t size, addr_t addr, ListFinding& f) const {
        if (words.empty()) return false;
        for (std::size_t o = (8 - (addr & 7)) & 7; o + 8 <= size; o += 8) {
            std::uint64_t v = load64(p + o);
            for (std::size_t i = 0; i < words.size(); ++i) {
                if (v != words[i]) continue;
                std::uint8_t b = bytes[i];
                std::size_t begin = o, end = o + 8;
                while (begin > 0 && p[begin - 1] == b) --begin;
                while (end < size && p[end] == b) ++end;
                f.fault = ListFault::Poisoned;
                f.offset = begin;
                f.length = end - begin;
                f.byte = b;
                f.actual = v;
                return true;
            }
        }
        return false;
    }
};

}  // namespace

ListWalk check_list(Kernel& k, const ListShape& s, addr_t head, addr_t owner,
                    const std::function<bool(const ListEntryView&)>& visit) {
    Memory& mem = k.mem();
    const ListPoison& lp = k.get<ListPoison>();
    const PoisonScan poison(s.poison_bytes);
    const bool circular = s.kind == ListKind::ListHead;
    // BSD le_next and singly linked next pointers point at the element, the
    // others at the next node.
    const bool to_entry = s.kind == ListKind::Bsd || s.kind == ListKind::Single;
    const bool has_prev = s.kind != ListKind::Single;
    const std::size_t size = std::max(s.entry_size, s.node_offset + list_node_size(s.kind));
    const std::size_t off = s.node_offset;
    std::vector<std::uint8_t> buf(size);
    auto node_of = [&](addr_t next) { return to_entry ? next + off : next; };

    ListWalk w;
    // Findings about one entry stop being kept after max_findings (only
    // counted); the one that ends the walk always is.
    auto note = [&](ListFinding&& f) {
        if (w.findings.size() < s.max_findings)
            w.findings.push_back(std::move(f));
        else
            w.dropped.emplace_back(f.index, f.fault);
    };
    auto add = [&](ListFault fault, std::size_t index, addr_t node, addr_t entry, addr_t expected, addr_t actual) {
        ListFinding f{fault, index, node, expected, actual};
        f.entry = entry;
        w.findings.push_back(std::move(f));
    };
    auto add_note = [&](ListFault fault, std::size_t index, addr_t node, addr_t entry, addr_t expected,
                        addr_t actual) {
        ListFinding f{fault, index, node, expected, actual};
        f.entry = entry;
        note(std::move(f));
    };

    std::uint64_t head_words[2] = {0, 0};
    if (!mem.read(head, head_words, list_head_size(s.kind))) {
        add(ListFault::Unreadable, 0, head, head, 0, 0);
        w.findings.back().what = mem.unreadable_note(head);
        return w;
    }

    addr_t next = head_words[0];
    addr_t cur_node = head;  // the node (or the head) holding `next`
    bool cur_poisoned = false, cur_deleted = false;
    std::size_t index = 0;
    // Brent: `tortoise` jumps to the hare at every power of two.
    addr_t tortoise = head;
    std::size_t power = 1, lambda = 0;
    // Ctrl-C is polled every 4096 entries, and after every entry that
    // missed the page cache: on a slow target (a live gdbstub, a remote
    // dump) 4096 misses can take many seconds, and a miss already costs
    // far more than the poll.
    std::uint64_t polled_reads = mem.target_reads();
    auto poll_interrupt = [&](std::size_t n) {
        if ((n & 0xfff) != 0 && mem.target_reads() == polled_reads) return;
        polled_reads = mem.target_reads();
        k.check_interrupt();
    };

    while (true) {
        // Findings about `next` name the entry that holds it: cur.
        std::size_t cur_index = index ? index - 1 : 0;
        addr_t cur_entry = index ? cur_node - off : head;
        if (circular && next == head) {
            // The head's prev must point back at the last entry.
            addr_t hp = head_words[1];
            if (hp != cur_node) add(lp.is(hp) ? ListFault::Poison : ListFault::BadPrev, index, head, head, cur_node, hp);
            w.complete = w.findings.empty() && w.dropped.empty();
            return w;
        }
        if (next == 0) {
            if (circular) add(ListFault::Null, cur_index, cur_node, cur_entry, head, 0);
            w.complete = !circular && w.findings.empty() && w.dropped.empty();
            return w;
        }
        if (lp.is(next)) {
            // list_del() poisons both links: one finding per deleted entry.
            if (!cur_deleted) add(ListFault::Poison, cur_index, cur_node, cur_entry, 0, next);
            return w;
        }
        // A poisoned entry's link is poison too: reported with the entry.
        if (cur_poisoned && poison.is_word(next)) return w;
        if (!circular && next == head) {
            // A NULL-terminated list whose last entry points back at its head.
            ListFinding f{ListFault::Loop, cur_index, cur_node, 0, next};
            f.entry = cur_entry;
            f.cycle_entry = head;
            f.cycle_entry_index = kHeadIndex;
            f.cycle_length = index;
            w.findings.push_back(f);
            return w;
        }
        if (index >= s.max) {
            add(ListFault::Truncated, index, cur_node, cur_entry, 0, 0);
            return w;
        }
        addr_t node = node_of(next);
        addr_t entry = node - off;
        if (!mem.read(entry, buf.data(), size)) {
            add(ListFault::Unreadable, index, node, entry, 0, next);
            w.findings.back().what = mem.unreadable_note(entry);
            return w;
        }
        ListEntryView view{index, entry, node, buf.data(), size, false};
        bool deleted = false;
        {
            ListFinding f{ListFault::Poisoned, index, node};
            f.entry = entry;
            if (poison.find(buf.data(), size, entry, f)) {
                view.poisoned = true;
                note(std::move(f));
            }
        }
        if (has_prev) {
            addr_t p = load64(buf.data() + off + kPrevOff);
            // list_head: prev is the previous node; hlist/BSD: pprev/le_prev
            // is the address of the previous link word (the head's first).
            addr_t want = cur_node + kNextOff;
            if (p != want) {
                if (lp.is(p)) {
                    add_note(ListFault::Poison, index, node, entry, want, p);
                    deleted = true;
                }
                else if (!(view.poisoned && poison.is_word(p)))
                    add_note(ListFault::BadPrev, index, node, entry, want, p);
            }
        }
        if (s.backptr && !view.poisoned) {
            const MemberInfo& m = *s.backptr;
            if (m.offset + m.size <= size) {
                std::uint64_t v = load_uint(buf.data() + m.offset, m.size);
                if (v != owner) {
                    ListFinding f{ListFault::WrongBackptr, index, node, owner, v};
                    f.entry = entry;
                    f.offset = m.offset;
                    f.what = s.backptr_name;
                    note(std::move(f));
                }
            }
        }
        ++w.count;
        if (!visit(view)) return w;
        cur_node = node;
        cur_poisoned = view.poisoned;
        cur_deleted = deleted;
        next = load64(buf.data() + off + kNextOff);
        ++index;
        poll_interrupt(index);

        ++lambda;
        if (node == tortoise) {
            // Brent closed a cycle of lambda nodes: find where it starts
            // (mu steps from the head) by walking two pointers lambda apart.
            auto step = [&](addr_t n, addr_t& out) {
                auto v = mem.read_u64(n + kNextOff);
                if (!v) return false;
                out = node_of(*v);
                return true;
            };
            ListFinding f{ListFault::Loop, 0, node, circular ? head : 0, 0};
            f.cycle_length = lambda;
            addr_t a = head, b = head;
            bool ok = true;
            for (std::size_t i = 0; ok && i < lambda; ++i) ok = step(b, b);
            std::size_t mu = 0;
            while (ok && a != b) {
                ok = step(a, a) && step(b, b);
                ++mu;
                poll_interrupt(mu);
            }
            addr_t last = a;
            for (std::size_t i = 0; ok && i + 1 < lambda; ++i) ok = step(last, last);
            std::size_t distinct = mu == 0 ? lambda - 1 : mu - 1 + lambda;  // mu 0: the head is in the cycle
            if (ok) {
                f.cycle_entry = mu == 0 ? head : a - off;
                f.cycle_entry_index = mu == 0 ? kHeadIndex : mu - 1;
                f.node = last;
                f.actual = to_entry ? a - off : a;
            } else {
                distinct = w.count;  // could not re-read the links: report where Brent stopped
            }
            f.entry = f.node - off;
            f.index = distinct ? distinct - 1 : 0;
            // Entries past the first repeat were seen twice: keep one copy.
            std::erase_if(w.findings, [&](const ListFinding& g) { return g.index >= distinct; });
            std::erase_if(w.dropped, [&](const auto& g) { return g.first >= distinct; });
            w.count = distinct;
            w.findings.push_back(std::move(f));
            return w;
        }
        if (lambda == power) {
            tortoise = node;
            power *= 2;
            lambda = 0;
        }
    }
}

json list_finding_json(const ListFinding& f) {
    json j;
    j["kind"] = list_fault_key(f.fault);
    j["index"] = f.index;
    j["entry"] = hex(f.entry ? f.entry : f.node);
    j["node"] = hex(f.node);
    bool has_expected = f.fault == ListFault::BadPrev || f.fault == ListFault::WrongBackptr ||
                        f.fault == ListFault::Loop || f.fault == ListFault::Null;
    j["expected"] = has_expected ? json(hex(f.expected)) : json(nullptr);
    j["actual"] = f.fault == ListFault::Truncated ? json(nullptr) : json(hex(f.actual));
    switch (f.fault) {
        case ListFault::Loop:
            j["cycle_entry"] = hex(f.cycle_entry);
            j["cycle_entry_index"] = f.cycle_entry_index == kHeadIndex ? json("head") : json(f.cycle_entry_index);
            j["cycle_length"] = f.cycle_length;
            j["distinct_entries"] = f.index + 1;
            break;
        case ListFault::Poisoned:
            j["offset"] = f.offset;
            j["length"] = f.length;
            j["byte"] = fmt::format("{:#04x}", f.byte);
            break;
        case ListFault::WrongBackptr:
            j["member"] = f.what;
            j["offset"] = f.offset;
            break;
        default:
            break;
    }
    j["text"] = f.describe();
    return j;
}

std::vector<std::uint8_t> parse_poison_bytes(const std::string& text) {
    std::vector<std::uint8_t> out;
    if (text == "none") return out;
    out.assign(kSlabPoisonBytes.begin(), kSlabPoisonBytes.end());
    if (text == "auto" || text.empty()) return out;
    std::size_t pos = 0;
    while (pos <= text.size()) {
        std::size_t comma = text.find(',', pos);
        std::string item = text.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
        if (item != "auto") {
            char* end = nullptr;
            unsigned long v = std::strtoul(item.c_str(), &end, 16);
            if (item.empty() || *end != '\0' || v > 0xff)
                throw Error(fmt::format("--poison: '{}' is not a byte (auto, none, or bytes like 0xEC,0x6b)", item));
            if (std::find(out.begin(), out.end(), v) == out.end()) out.push_back(static_cast<std::uint8_t>(v));
        }
        if (comma == std::string::npos) break;
        pos = comma + 1;
    }
    return out;
}

}  // namespace netdbg
