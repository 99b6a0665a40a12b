// Page-granular read cache in front of a Target: a live gdbstub session pays
// one remote request per page touched, and crash's per-call translation cost
// is paid once per page instead of once per field.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/target.h"

namespace netdbg {

class Memory {
public:
    static constexpr std::size_t kPageSize = 4096;

    // At most max_pages pages (4 KiB each) are cached: 32 MiB, so a walk of a
    // list of millions of entries grows the debugger's RSS by that at most.
    // A page holds one block of the target's read_block_size().
    explicit Memory(Target& target, std::size_t max_pages = 8192);

    // All-or-nothing read through the cache.
    bool read(addr_t addr, void* buf, std::size_t len);
    // After a failed read: " (page excluded from the dump)", or "".
    std::string unreadable_note(addr_t addr) {
        std::string why = target_.unreadable_reason(addr);
        return why.empty() ? "" : " (" + why + ")";
    }

    template <class T>
    std::optional<T> read_as(addr_t addr) {
        T value;
        if (!read(addr, &value, sizeof value)) return std::nullopt;
        return value;
    }
    std::optional<std::uint64_t> read_u64(addr_t addr) { return read_as<std::uint64_t>(addr); }
    std::optional<std::uint32_t> read_u32(addr_t addr) { return read_as<std::uint32_t>(addr); }

    // NUL-terminated string of at most max bytes; nullopt if unreadable.
    std::optional<std::string> read_cstring(addr_t addr, std::size_t max = 256);

    // Forget every cached page (call when a live target resumes).
    void drop();

    std::uint64_t target_reads() const { return target_reads_; }
    Target& target() { return target_; }

private:
    struct Page {
        bool readable = false;
        std::array<std::uint8_t, kPageSize> bytes;
    };
    const Page* page(addr_t page_addr);

    Target& target_;
    std::size_t block_;  // bytes per page read, a power of two <= kPageSize
    std::size_t max_pages_;
    std::unordered_map<addr_t, std::unique_ptr<Page>> pages_;
    // Pages of the last reset, reused: a long walk recycles the same
    // max_pages buffers instead of freeing and faulting in new memory.
    std::vector<std::unique_ptr<Page>> spare_;
    void evict_all();
    addr_t last_addr_ = 1;  // not page aligned: matches nothing
    const Page* last_page_ = nullptr;
    std::uint64_t target_reads_ = 0;
};

// A kernel object read in one go; fields are picked out by offset.
class Object {
public:
    Object() = default;
    Object(addr_t addr, std::vector<std::uint8_t> bytes, std::size_t base = 0)
        : addr_(addr), bytes_(std::move(bytes)), base_(base) {}

    // Reads [addr + begin, addr + end) and lets get() take offsets from addr.
    static std::optional<Object> read(Memory& mem, addr_t addr, std::size_t end, std::size_t begin = 0);

    addr_t addr() const { return addr_; }

    template <class T>
    T get(std::size_t offset) const {
        T value{};
        check(offset, sizeof value);
        std::memcpy(&value, bytes_.data() + (offset - base_), sizeof value);
        return value;
    }
    // Unsigned value of a 1, 2, 4 or 8 byte field.
    std::uint64_t uint(std::size_t offset, std::size_t size) const;
    std::uint64_t u64(std::size_t offset) const { return get<std::uint64_t>(offset); }
    std::string cstring(std::size_t offset, std::size_t size) const;
    const std::uint8_t* data(std::size_t offset, std::size_t size) const {
        check(offset, size);
        return bytes_.data() + (offset - base_);
    }

private:
    void check(std::size_t offset, std::size_t size) const;
    addr_t addr_ = 0;
    std::vector<std::uint8_t> bytes_;
    std::size_t base_ = 0;
};

}  // namespace netdbg
