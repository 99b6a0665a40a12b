#include "fake_target.h"

#include <algorithm>

namespace netdbg::test {

namespace {
addr_t page_of(addr_t a) { return a & ~(FakeTarget::kPage - 1); }
}  // namespace

void FakeTarget::map(addr_t addr, std::size_t len) {
    if (len == 0) return;
    for (addr_t p = page_of(addr); p <= page_of(addr + len - 1); p += kPage) {
        pages_.try_emplace(p, kPage, std::uint8_t{0});  // a new page only
        if (p + kPage == 0) break;
    }
}

void FakeTarget::unmap(addr_t addr, std::size_t len) {
    if (len == 0) return;
    for (addr_t p = page_of(addr); p <= page_of(addr + len - 1); p += kPage) {
        pages_.erase(p);
        if (p + kPage == 0) break;
    }
}

bool FakeTarget::mapped(addr_t addr) const { return pages_.count(page_of(addr)) > 0; }

void FakeTarget::poke(addr_t addr, const void* data, std::size_t len) {
    const auto* in = static_cast<const std::uint8_t*>(data);
    while (len > 0) {
        auto it = pages_.find(page_of(addr));
        if (it == pages_.end()) throw std::logic_error("poke of unmapped memory");
        std::size_t in_page = addr & (kPage - 1), n = std::min(len, kPage - in_page);
        std::copy_n(in, n, it->second.begin() + in_page);
        in += n;
        addr += n;
        len -= n;
    }
}

bool FakeTarget::peek(addr_t addr, void* data, std::size_t len) const {
    auto* out = static_cast<std::uint8_t*>(data);
    if (len > 0 && addr + (len - 1) < addr) return false;  // wraps around the address space
    while (len > 0) {
        auto it = pages_.find(page_of(addr));
        if (it == pages_.end()) return false;
        std::size_t in_page = addr & (kPage - 1), n = std::min(len, kPage - in_page);
        std::copy_n(it->second.begin() + in_page, n, out);
        out += n;
        addr += n;
        len -= n;
    }
    return true;
}

bool FakeTarget::read(addr_t addr, void* buf, std::size_t len) {
    ++read_calls_;
    return peek(addr, buf, len);
}

void FakeTarget::add_symbol(const std::string& name, addr_t addr, std::optional<std::string> type,
                            std::optional<std::size_t> array_length, const std::string& module) {
    remove_symbol(name);
    symbols_[name] = Symbol{name, addr, std::move(type), array_length, module};
    by_addr_.emplace(addr, name);
}

void FakeTarget::remove_symbol(const std::string& name) {
    auto it = symbols_.find(name);
    if (it == symbols_.end()) return;
    auto range = by_addr_.equal_range(it->second.addr);
    for (auto r = range.first; r != range.second; ++r)
        if (r->second == name) {
            by_addr_.erase(r);
            break;
        }
    symbols_.erase(it);
}

std::optional<addr_t> FakeTarget::symbol_address(const std::string& name) {
    auto it = symbols_.find(name);
    if (it == symbols_.end()) return std::nullopt;
    return it->second.addr;
}

std::optional<std::string> FakeTarget::symbol_type(const std::string& name) {
    auto it = symbols_.find(name);
    if (it == symbols_.end()) return std::nullopt;
    return it->second.type;
}

std::optional<std::size_t> FakeTarget::array_length(const std::string& name) {
    auto it = symbols_.find(name);
    if (it == symbols_.end()) return std::nullopt;
    return it->second.array_length;
}

std::optional<SymbolInfo> FakeTarget::symbolize(addr_t addr) {
    auto it = by_addr_.upper_bound(addr);
    if (it == by_addr_.begin()) return std::nullopt;
    --it;  // the last symbol added at the highest address <= addr
    const Symbol& s = symbols_.at(it->second);
    return SymbolInfo{s.name, addr - s.addr, s.module};
}

void FakeTarget::add_type(const std::string& type, std::size_t size) { types_[type] = size; }

void FakeTarget::add_members(const std::string& type, std::initializer_list<MemberRow> rows) {
    for (const MemberRow& r : rows) add_member(type, r.name, r.offset, r.size);
}

void FakeTarget::add_struct(const std::string& type, std::size_t size, std::initializer_list<MemberRow> rows) {
    add_type(type, size);
    add_members(type, rows);
}

void FakeTarget::add_member(const std::string& type, const std::string& member, std::size_t offset,
                            std::size_t size) {
    auto t = types_.find(type);
    if (t == types_.end()) throw std::logic_error("add_member: unknown type " + type);
    if (offset + size > t->second) throw std::logic_error("add_member: " + type + "." + member + " overflows");
    members_[{type, member}] = MemberInfo{offset, size};
}

void FakeTarget::remove_member(const std::string& type, const std::string& member) {
    members_.erase({type, member});
}

void FakeTarget::remove_type(const std::string& type) {
    types_.erase(type);
    for (auto it = members_.begin(); it != members_.end();)
        it = it->first.first == type ? members_.erase(it) : std::next(it);
}

std::optional<std::size_t> FakeTarget::type_size(const std::string& type) {
    auto it = types_.find(type);
    if (it == types_.end()) return std::nullopt;
    return it->second;
}

std::optional<MemberInfo> FakeTarget::member(const std::string& type, const std::string& member) {
    auto it = members_.find({type, member});
    if (it == members_.end()) return std::nullopt;
    return it->second;
}

std::optional<std::int64_t> FakeTarget::enum_value(const std::string& name) {
    auto it = enums_.find(name);
    if (it == enums_.end()) return std::nullopt;
    return it->second;
}

std::optional<addr_t> FakeTarget::per_cpu_offset(int cpu) {
    if (cpu < 0 || cpu >= static_cast<int>(cpus_.size())) return std::nullopt;
    return cpus_[cpu];
}

bool FakeTarget::interrupted() {
    ++interrupted_calls_;
    return interrupt_after_ && interrupted_calls_ > *interrupt_after_;
}

std::optional<std::vector<addr_t>> FakeTarget::call_chain(addr_t task) {
    auto it = chains_.find(task);
    if (it == chains_.end()) return std::nullopt;
    return it->second;
}

// ---------------------------------------------------------------- builder

addr_t ImageBuilder::alloc(std::size_t size, std::size_t align) {
    if (size == 0) size = 1;
    next_ = (next_ + align - 1) & ~static_cast<addr_t>(align - 1);
    addr_t a = next_;
    next_ += size;
    t_.map(a, size);
    return a;
}

addr_t ImageBuilder::alloc(const std::string& type, std::size_t align) { return alloc(size(type), align); }

MemberInfo ImageBuilder::member(const std::string& type, const std::string& m) const {
    auto info = t_.member(type, m);
    if (!info) throw std::logic_error("test layout has no " + type + "." + m);
    return *info;
}

bool ImageBuilder::has(const std::string& type, const std::string& m) const { return t_.member(type, m).has_value(); }

std::size_t ImageBuilder::size(const std::string& type) const {
    auto s = t_.type_size(type);
    if (!s) throw std::logic_error("test layout has no type " + type);
    return *s;
}

void ImageBuilder::write(addr_t obj, const std::string& type, const std::string& m, std::uint64_t value) {
    MemberInfo mi = member(type, m);
    switch (mi.size) {
        case 1: t_.poke_as<std::uint8_t>(obj + mi.offset, static_cast<std::uint8_t>(value)); break;
        case 2: t_.poke_as<std::uint16_t>(obj + mi.offset, static_cast<std::uint16_t>(value)); break;
        case 4: t_.poke_as<std::uint32_t>(obj + mi.offset, static_cast<std::uint32_t>(value)); break;
        case 8: t_.poke_as<std::uint64_t>(obj + mi.offset, value); break;
        default: throw std::logic_error("write: " + type + "." + m + " is not a scalar");
    }
}

void ImageBuilder::write_str(addr_t obj, const std::string& type, const std::string& m, const std::string& s) {
    MemberInfo mi = member(type, m);
    std::vector<char> buf(mi.size, 0);
    std::memcpy(buf.data(), s.data(), std::min(s.size(), mi.size));
    t_.poke(obj + mi.offset, buf.data(), buf.size());
}

std::uint64_t ImageBuilder::read(addr_t obj, const std::string& type, const std::string& m) const {
    MemberInfo mi = member(type, m);
    std::uint64_t v = 0;
    if (!t_.peek(obj + mi.offset, &v, mi.size)) throw std::logic_error("read of unmapped memory");
    return v;
}

void ImageBuilder::list_add_tail(addr_t node, addr_t head) {
    addr_t prev = u64(head + 8);
    link(node, head, prev);
    u64(prev, node);      // prev->next
    u64(head + 8, node);  // head->prev
}

std::vector<addr_t> ImageBuilder::make_list(addr_t head, std::size_t n) {
    list_init(head);
    std::vector<addr_t> nodes;
    for (std::size_t i = 0; i < n; ++i) {
        addr_t node = alloc(16, 16);
        list_add_tail(node, head);
        nodes.push_back(node);
    }
    return nodes;
}

addr_t ImageBuilder::call_site(addr_t pc) {
    t_.map(pc - 8, 8);
    const std::uint8_t call[5] = {0xe8, 0x11, 0x22, 0x33, 0x44};
    t_.poke(pc - 5, call, sizeof call);
    return pc;
}

}  // namespace netdbg::test
