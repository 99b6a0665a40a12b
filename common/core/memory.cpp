#include "core/memory.h"

#include <algorithm>

#include "core/error.h"

namespace netdbg {

namespace {
std::size_t valid_block(std::size_t b) {
    bool pow2 = b && (b & (b - 1)) == 0;
    return pow2 && b >= 256 && b <= Memory::kPageSize ? b : Memory::kPageSize;
}
}  // namespace

Memory::Memory(Target& target, std::size_t max_pages)
    : target_(target), block_(valid_block(target.read_block_size())), max_pages_(max_pages) {}

const Memory::Page* Memory::page(addr_t page_addr) {
    if (page_addr == last_addr_) return last_page_;
    auto it = pages_.find(page_addr);
    if (it == pages_.end()) {
        if (pages_.size() >= max_pages_) evict_all();  // bounded memory; a reset keeps lookups O(1)
        std::unique_ptr<Page> p;
        if (!spare_.empty()) {
            p = std::move(spare_.back());
            spare_.pop_back();
        } else {
            p.reset(new Page);  // default-initialised: the read fills the bytes
        }
        ++target_reads_;
        p->readable = target_.read(page_addr, p->bytes.data(), block_);
        it = pages_.emplace(page_addr, std::move(p)).first;
    }
    last_addr_ = page_addr;
    last_page_ = it->second.get();
    return last_page_;
}

bool Memory::read(addr_t addr, void* buf, std::size_t len) {
    auto* out = static_cast<std::uint8_t*>(buf);
    if (len == 0) return true;
    if (addr + len < addr) return false;  // wraps around the address space
    while (len > 0) {
        addr_t base = addr & ~static_cast<addr_t>(block_ - 1);
        std::size_t in_page = addr - base;
        std::size_t n = std::min(len, block_ - in_page);
        const Page* p = page(base);
        if (!p->readable) return false;
        std::memcpy(out, p->bytes.data() + in_page, n);
        out += n;
        addr += n;
        len -= n;
    }
    return true;
}

std::optional<std::string> Memory::read_cstring(addr_t addr, std::size_t max) {
    std::string s;
    for (std::size_t i = 0; i < max; ++i) {
        char c;
        if (!read(addr + i, &c, 1)) return std::nullopt;
        if (c == '\0') break;
        s.push_back(c);
    }
    return s;
}

void Memory::evict_all() {
    spare_.reserve(spare_.size() + pages_.size());
    for (auto& entry : pages_) spare_.push_back(std::move(entry.second));
    pages_.clear();
    last_addr_ = 1;
    last_page_ = nullptr;
}

void Memory::drop() { evict_all(); }

std::optional<Object> Object::read(Memory& mem, addr_t addr, std::size_t end, std::size_t begin) {
    std::vector<std::uint8_t> bytes(end - begin);
    if (!mem.read(addr + begin, bytes.data(), bytes.size())) return std::nullopt;
    return Object(addr, std::move(bytes), begin);
}

void Object::check(std::size_t offset, std::size_t size) const {
    if (offset < base_ || offset - base_ + size > bytes_.size())
        throw Error("internal: field at offset " + std::to_string(offset) + " outside the object read");
}

std::uint64_t Object::uint(std::size_t offset, std::size_t size) const {
    switch (size) {
        case 1: return get<std::uint8_t>(offset);
        case 2: return get<std::uint16_t>(offset);
        case 4: return get<std::uint32_t>(offset);
        case 8: return get<std::uint64_t>(offset);
        default: throw Error("internal: unsupported field size " + std::to_string(size));
    }
}

std::string Object::cstring(std::size_t offset, std::size_t size) const {
    const auto* p = reinterpret_cast<const char*>(data(offset, size));
    return std::string(p, strnlen(p, size));
}

}  // namespace netdbg
