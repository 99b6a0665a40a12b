// listcheck: walk one list (or a table of them) and check every link,
// loop, poison and back-pointer on the way.
#include <algorithm>
#include <cerrno>
#include <map>

#include <fmt/format.h>

#include "commands/commands.h"
#include "core/kernel.h"
#include "kernel/lib/list_check.h"
#include "core/options.h"
#include "core/table.h"

namespace netdbg {

namespace {

constexpr std::size_t kDefaultMax = 10000000;
constexpr std::size_t kMaxLists = 10000000;
constexpr std::size_t kDefaultMaxFindings = 1000;

std::optional<std::uint64_t> parse_number(const std::string& text, int base = 0) {
    if (text.empty()) return std::nullopt;
    char* end = nullptr;
    errno = 0;
    unsigned long long v = std::strtoull(text.c_str(), &end, base);
    if (*end != '\0' || errno == ERANGE || text[0] == '-') return std::nullopt;
    return v;
}

std::uint64_t require_number(const std::string& text, const char* option) {
    auto v = parse_number(text);
    if (!v) throw Error(fmt::format("{} '{}' is not a number", option, text));
    return *v;
}

// "struct nd_instance [32]" -> ("struct nd_instance", 32)
std::pair<std::string, std::optional<std::size_t>> split_array_type(std::string t) {
    std::optional<std::size_t> n;
    if (!t.empty() && t.back() == ']') {
        auto open = t.rfind('[');
        if (open != std::string::npos) {
            n = parse_number(t.substr(open + 1, t.size() - open - 2), 10);
            t.erase(open);
            while (!t.empty() && t.back() == ' ') t.pop_back();
        }
    }
    return {t, n};
}

std::optional<std::string> struct_name(const std::string& c_type) {
    if (c_type.rfind("struct ", 0) != 0 || c_type.find_first_of("*[(") != std::string::npos) return std::nullopt;
    return c_type.substr(7);
}

// Where the heads are: <head> resolved, plus what the debug info says of it.
struct Heads {
    addr_t first = 0;              // head 0
    std::size_t owner_offset = 0;  // head - its owner (symbol.member)
    std::string symbol, member;    // for labels; symbol empty for an address
    std::optional<std::string> head_type;       // "struct list_head" (bare symbols)
    std::optional<std::size_t> stride, length;  // from the symbol's array type
    std::string label(std::size_t i, bool array) const {
        if (symbol.empty()) return array ? fmt::format("#{}", i) : fmt::format("{:016x}", first);
        return array ? fmt::format("{}[{}]{}", symbol, i, member) : symbol + member;
    }
};

Heads resolve_heads(Kernel& k, const std::string& arg) {
    Target& t = k.target();
    Heads h;
    std::string sym = arg, member;
    auto addr = t.symbol_address(arg);
    if (!addr) {
        auto dot = arg.find('.');
        if (dot != std::string::npos && dot > 0) {
            sym = arg.substr(0, dot);
            member = arg.substr(dot + 1);
            addr = t.symbol_address(sym);
        }
    }
    if (!addr) {
        std::string digits = arg.rfind("0x", 0) == 0 ? arg.substr(2) : arg;
        auto v = parse_number(digits, 16);
        if (!v || digits.empty())
            throw Error(fmt::format("{}: no such symbol, and not a hex address (for a module's "
                                    "symbols: mod -s MODULE file.ko)",
                                    arg));
        h.first = *v;
        return h;
    }
    h.symbol = sym;
    h.first = *addr;
    auto type = t.symbol_type(sym);
    auto [elem, length] = type ? split_array_type(*type) : std::pair<std::string, std::optional<std::size_t>>{};
    h.length = length ? length : t.array_length(sym);
    if (member.empty()) {
        if (type) {
            h.head_type = elem;
            if (auto s = struct_name(elem)) h.stride = t.type_size(*s);
        }
        return h;
    }
    if (member.find('.') != std::string::npos)
        throw Error(fmt::format("{}: one member level only (symbol.member)", arg));
    if (!type) {
        // A symbol without debuginfo (kallsyms only, or a module whose
        // `mod -s` file is another build): nothing says what it is.
        auto where = t.symbolize(*addr);
        std::string module = where && !where->module.empty() ? where->module : "";
        throw Error(fmt::format("{}: the debug info has no type for {}{}", arg, sym,
                                module.empty() ? ""
                                               : fmt::format(" (module {}: load its own debuginfo, mod -s {} FILE.ko)",
                                                             module, module)));
    }
    auto st = struct_name(elem);
    if (!st) throw Error(fmt::format("{}: {} is {}, not a struct", arg, sym, *type));
    StructLayout L(t, *st);
    h.first += L.require(member).offset;
    h.owner_offset = L.offset(member);
    h.member = "." + member;
    h.stride = L.size();
    return h;
}

// A bare head symbol of a list type must match the walk asked for.
void check_head_type(const Heads& h, ListKind kind) {
    if (!h.head_type) return;
    const std::string& t = *h.head_type;
    const char* want = kind == ListKind::ListHead ? "struct list_head" : kind == ListKind::HList ? "struct hlist_head" : nullptr;
    if (want && t == want) return;
    if (t == "struct hlist_head")
        throw Error(fmt::format("{} is struct hlist_head: use --hlist", h.symbol));
    if (t == "struct list_head")
        throw Error(fmt::format("{} is struct list_head: drop --{}", h.symbol, list_kind_name(kind)));
    if (want)
        throw Error(fmt::format("{} is {}, not {} (give symbol.member for a head inside a struct)", h.symbol,
                                t, want));
}

struct EntrySpec {
    ListShape shape;
    std::string type;  // entry struct, or ""
    std::optional<addr_t> backptr_value;
};

EntrySpec entry_spec(Kernel& k, const Options& o, ListKind kind) {
    Target& t = k.target();
    EntrySpec e;
    e.shape.kind = kind;
    const std::size_t node = list_node_size(kind);
    std::optional<StructLayout> L;
    if (o.has("struct")) {
        e.type = o.str("struct");
        L.emplace(t, e.type);
    }
    if (o.has("offset")) {
        std::string off = o.str("offset");
        if (auto n = parse_number(off)) {
            e.shape.node_offset = *n;
        } else {
            auto dot = off.find('.');
            if (dot != std::string::npos) {
                std::string st = off.substr(0, dot);
                if (L && st != e.type) throw Error(fmt::format("-o {} does not match -s {}", off, e.type));
                e.type = st;
                L.emplace(t, st);
                off = off.substr(dot + 1);
            }
            if (!L) throw Error(fmt::format("-o {}: give struct.member, or -s STRUCT", off));
            MemberInfo m = L->require(off);
            if (m.size != node)
                throw Error(fmt::format("{}.{} is {} bytes, not a {} node ({} bytes)", e.type, off, m.size,
                                        list_kind_name(kind), node));
            e.shape.node_offset = m.offset;
        }
    }
    e.shape.entry_size = L ? L->size() : e.shape.node_offset + node;
    if (e.shape.node_offset + node > e.shape.entry_size)
        throw Error(fmt::format("the node at +{:#x} does not fit in struct {} ({} bytes)",
                                e.shape.node_offset, e.type, e.shape.entry_size));
    if (o.has("backptr")) {
        std::string spec = o.str("backptr");
        auto eq = spec.find('=');
        std::string name = spec.substr(0, eq);
        if (eq != std::string::npos) {
            std::string v = spec.substr(eq + 1);
            auto a = t.symbol_address(v);
            if (!a) a = parse_number(v.rfind("0x", 0) == 0 ? v.substr(2) : v, 16);
            if (!a) throw Error(fmt::format("--backptr {}: '{}' is not an address or symbol", spec, v));
            e.backptr_value = *a;
        }
        MemberInfo m;
        if (auto n = parse_number(name)) {
            m = {static_cast<std::size_t>(*n), 8};
        } else {
            if (!L) throw Error(fmt::format("--backptr {}: needs the entry struct (-o struct.member or -s)", name));
            m = L->require(name);
        }
        if (m.size != 1 && m.size != 2 && m.size != 4 && m.size != 8)
            throw Error(fmt::format("--backptr {}: a {}-byte member cannot hold a pointer", name, m.size));
        if (m.offset + m.size > e.shape.entry_size)
            throw Error(fmt::format("--backptr {}: +{:#x} lies outside the entry", name, m.offset));
        e.shape.backptr = m;
        e.shape.backptr_name = name;
    }
    e.shape.poison_bytes = parse_poison_bytes(o.has("poison") ? o.str("poison") : "auto");
    e.shape.max = o.has("max") ? require_number(o.str("max"), "--max") : kDefaultMax;
    if (e.shape.max == 0) throw Error("--max must be at least 1");
    return e;
}

struct ListResult {
    std::size_t index = 0;
    addr_t head = 0, owner = 0;
    std::size_t count = 0;
    bool complete = false;
    std::size_t findings = 0;
    std::vector<addr_t> entries;  // not with --count
};

struct Found {
    std::size_t list;
    addr_t head;
    ListFinding f;
};

// Summary order and names: singular, plural.
struct KindName {
    ListFault fault;
    const char* one;
    const char* many;
};
constexpr KindName kKindNames[] = {
    {ListFault::WrongBackptr, "wrong back-pointer", "wrong back-pointers"},
    {ListFault::Poisoned, "poisoned entry", "poisoned entries"},
    {ListFault::Loop, "loop", "loops"},
    {ListFault::BadPrev, "bad prev pointer", "bad prev pointers"},
    {ListFault::Poison, "LIST_POISON pointer", "LIST_POISON pointers"},
    {ListFault::Null, "NULL next pointer", "NULL next pointers"},
    {ListFault::Unreadable, "unreadable pointer", "unreadable pointers"},
    {ListFault::Truncated, "truncated list", "truncated lists"},
};

std::string plural(std::size_t n, const char* one, const char* many) {
    return fmt::format("{} {}", n, n == 1 ? one : many);
}

// Findings per kind, the ones not kept (--max-findings) included.
using Counts = std::map<ListFault, std::size_t>;

std::string summary(std::size_t entries, std::size_t lists, const Counts& counts) {
    std::string s = plural(entries, "entry", "entries") + " in " + plural(lists, "list", "lists") + ", ";
    std::size_t total = 0;
    for (const auto& [fault, n] : counts) total += n;
    if (!total) return s + "no findings";
    s += plural(total, "finding", "findings") + ":";
    const char* sep = " ";
    for (const KindName& kn : kKindNames) {
        auto it = counts.find(kn.fault);
        if (it == counts.end() || !it->second) continue;
        s += sep + plural(it->second, kn.one, kn.many);
        sep = ", ";
    }
    return s;
}

std::string detail(const Found& x, ListKind kind) {
    const ListFinding& f = x.f;
    const char* prev = kind == ListKind::HList ? "pprev" : kind == ListKind::Bsd ? "le_prev" : "prev";
    switch (f.fault) {
        case ListFault::Loop:
            return f.cycle_entry_index == kHeadIndex
                       ? fmt::format("points back to the head after {} entries", f.index + 1)
                       : fmt::format("re-enters entry {} after {} entries, cycle of {}", f.cycle_entry_index,
                                     f.index + 1, f.cycle_length);
        case ListFault::BadPrev: return f.node == x.head ? "the head's prev" : prev;
        case ListFault::Poison: return "LIST_POISON: deleted entry still linked";
        case ListFault::Null: return "next is NULL";
        case ListFault::Unreadable: return "cannot read the entry" + f.what;
        case ListFault::Truncated: return "--max reached";
        case ListFault::Poisoned: return fmt::format("{} bytes of {:#04x} at +{:#x}", f.length, f.byte, f.offset);
        case ListFault::WrongBackptr: return f.what;
    }
    return "";
}

std::string opt_hex(bool has, addr_t v) { return has ? fmt::format("{:016x}", v) : "-"; }

int run(Kernel& k, const std::vector<std::string>& args, Output& out) {
    Options o("listcheck");
    o.add()("o,offset", "struct.member of the link node", cxxopts::value<std::string>())(
        "s,struct", "entry struct", cxxopts::value<std::string>())("hlist", "hlist_head/hlist_node")(
        "bsd", "BSD LIST_HEAD/LIST_ENTRY")("single", "NULL-terminated next pointer")(
        "array", "N consecutive heads", cxxopts::value<std::string>())("stride", "bytes between heads",
                                                                        cxxopts::value<std::string>())(
        "backptr", "MEMBER[=ADDR]", cxxopts::value<std::string>())("poison", "auto|none|0xEC,...",
                                                                   cxxopts::value<std::string>())(
        "max", "entries per list", cxxopts::value<std::string>())("max-findings", "findings shown per list",
                                                                  cxxopts::value<std::string>())(
        "count", "totals and findings only")("json", "JSON output");
    o.parse(args);
    if (o.positional().size() != 1)
        throw Error("usage: listcheck <head> [-o struct.member | -s struct] [--hlist | --bsd] "
                    "[--array N] [--backptr MEMBER[=ADDR]] [--poison auto|0xEC..] [--max N] [--count] [--json]");
    int kinds = o.has("hlist") + o.has("bsd") + o.has("single");
    if (kinds > 1) throw Error("--hlist, --bsd and --single exclude each other");
    ListKind kind = o.has("hlist") ? ListKind::HList
                    : o.has("bsd") ? ListKind::Bsd
                    : o.has("single") ? ListKind::Single
                                      : ListKind::ListHead;
    const std::string& arg = o.positional()[0];
    Heads heads = resolve_heads(k, arg);
    check_head_type(heads, kind);
    EntrySpec spec = entry_spec(k, o, kind);
    bool array = o.has("array");
    std::size_t n = array ? require_number(o.str("array"), "--array") : 1;
    if (n == 0 || n > kMaxLists) throw Error(fmt::format("--array takes 1..{}", kMaxLists));
    if (array && heads.length && n > *heads.length)
        throw Error(fmt::format("{} has {} elements, not {}", heads.symbol, *heads.length, n));
    std::size_t stride = o.has("stride") ? require_number(o.str("stride"), "--stride")
                                         : heads.stride.value_or(list_head_size(kind));
    bool count_only = o.has("count"), as_json = o.has("json");

    spec.shape.max_findings =
        o.has("max-findings") ? require_number(o.str("max-findings"), "--max-findings") : kDefaultMaxFindings;
    std::vector<ListResult> results;
    std::vector<Found> found;
    Counts counts;
    std::size_t total = 0, not_shown = 0;
    for (std::size_t i = 0; i < n; ++i) {
        k.check_interrupt();
        ListResult r;
        r.index = i;
        r.head = heads.first + i * stride;
        r.owner = spec.backptr_value ? *spec.backptr_value : r.head - heads.owner_offset;
        ListWalk w = check_list(k, spec.shape, r.head, r.owner, [&](const ListEntryView& e) {
            if (!count_only) r.entries.push_back(e.entry);
            return true;
        });
        if (r.entries.size() > w.count) r.entries.resize(w.count);
        r.count = w.count;
        r.complete = w.complete;
        r.findings = w.findings.size() + w.dropped.size();
        total += w.count;
        not_shown += w.dropped.size();
        for (const auto& d : w.dropped) ++counts[d.second];
        for (ListFinding& f : w.findings) {
            ++counts[f.fault];
            found.push_back({i, r.head, std::move(f)});
        }
        if (!count_only) results.push_back(std::move(r));
    }
    std::string line = summary(total, n, counts);
    const int rc = counts.empty() ? 0 : 1;

    if (as_json) {
        const ListPoison& lp = k.get<ListPoison>();
        json j;
        j["command"] = "listcheck";
        j["summary"] = line;
        j["head"] = arg;
        j["kind"] = list_kind_name(kind);
        j["struct"] = spec.type.empty() ? json(nullptr) : json(spec.type);
        j["node_offset"] = spec.shape.node_offset;
        j["entry_size"] = spec.shape.entry_size;
        j["stride"] = stride;
        if (spec.shape.backptr)
            j["backptr"] = {{"member", spec.shape.backptr_name},
                            {"offset", spec.shape.backptr->offset},
                            {"size", spec.shape.backptr->size},
                            {"expected", spec.backptr_value ? json(hex(*spec.backptr_value)) : json("owner")}};
        else
            j["backptr"] = nullptr;
        json pb = json::array();
        for (std::uint8_t b : spec.shape.poison_bytes) pb.push_back(fmt::format("{:#04x}", b));
        j["poison"] = {{"bytes", pb},
                       {"list_poison1", hex(lp.poison1)},
                       {"list_poison2", hex(lp.poison2)},
                       {"delta", hex(lp.delta)},
                       {"delta_source", lp.source}};
        j["max"] = spec.shape.max;
        j["entry_count"] = total;
        j["list_count"] = n;
        j["finding_count"] = found.size() + not_shown;
        json cj = json::object();
        for (const KindName& kn : kKindNames)
            if (counts.count(kn.fault)) cj[list_fault_key(kn.fault)] = counts[kn.fault];
        j["counts"] = cj;
        j["findings_not_shown"] = not_shown;
        if (!count_only) {
            j["lists"] = json::array();
            for (const ListResult& r : results) {
                json l = {{"index", r.index},      {"label", heads.label(r.index, array)},
                          {"head", hex(r.head)},   {"owner", hex(r.owner)},
                          {"entries", r.count},    {"complete", r.complete},
                          {"findings", r.findings}};
                json e = json::array();
                for (addr_t a : r.entries) e.push_back(hex(a));
                l["entry_addresses"] = std::move(e);
                j["lists"].push_back(std::move(l));
            }
        }
        j["findings"] = json::array();
        for (const Found& x : found) {
            json f = {{"list", x.list}, {"label", heads.label(x.list, array)}, {"head", hex(x.head)}};
            f.update(list_finding_json(x.f));
            j["findings"].push_back(std::move(f));
        }
        write_json(out, j);
        return rc;
    }

    out.write(line + "\n");
    if (!found.empty()) {
        out.write("\n");
        Table t({"LIST", ">INDEX", "ENTRY", "KIND", "EXPECTED", "ACTUAL", "DETAIL"}, "  ");
        for (const Found& x : found) {
            const ListFinding& f = x.f;
            bool has_expected = f.fault == ListFault::BadPrev || f.fault == ListFault::WrongBackptr ||
                                f.fault == ListFault::Loop || f.fault == ListFault::Null;
            t.row({heads.label(x.list, array), std::to_string(f.index), fmt::format("{:016x}", f.entry ? f.entry : f.node),
                   list_fault_name(f.fault), opt_hex(has_expected, f.expected),
                   opt_hex(f.fault != ListFault::Truncated, f.actual),
                   detail(x, kind)});
        }
        t.render(out);
    }
    if (not_shown)
        out.write(fmt::format("  ... {} more not shown (--max-findings {} per list)\n", not_shown,
                              spec.shape.max_findings));
    if (count_only) return rc;
    if (array) {
        out.write("\n");
        Table t({"LIST", "HEAD", ">ENTRIES", ">FINDINGS"}, "  ");
        for (const ListResult& r : results)
            t.row({heads.label(r.index, true), fmt::format("{:016x}", r.head), std::to_string(r.count),
                   std::to_string(r.findings)});
        t.render(out);
    }
    // The entries, crash `list` style, findings marked.
    std::multimap<std::pair<std::size_t, std::size_t>, const ListFinding*> marks;
    for (const Found& x : found) marks.emplace(std::make_pair(x.list, x.f.index), &x.f);
    for (const ListResult& r : results) {
        if (r.entries.empty()) continue;
        out.write(fmt::format("\n  {} (head {:016x}): {}\n", heads.label(r.index, array), r.head,
                              plural(r.count, "entry", "entries")));
        for (std::size_t i = 0; i < r.entries.size(); ++i) {
            std::string line = fmt::format("  {:>7}  {:016x}", i, r.entries[i]);
            auto range = marks.equal_range({r.index, i});
            for (auto it = range.first; it != range.second; ++it) line += std::string("  <- ") + list_fault_name(it->second->fault);
            out.write(line + "\n");
        }
    }
    return rc;
}

}  // namespace

Command listcheck_command() {
    return make_command("listcheck", run);
}

}  // namespace netdbg
