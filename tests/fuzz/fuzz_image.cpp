#include "fuzz_image.h"

#include <cstring>

#include "core/command.h"
#include "core/error.h"
#include "core/kernel.h"

namespace netdbg::fuzz {

namespace {
constexpr addr_t kPage = test::FakeTarget::kPage;
addr_t page_of(addr_t a) { return a & ~(kPage - 1); }
}  // namespace

HostileImage::HostileImage(test::FakeTarget& t, std::vector<Region> regions) : t_(t), regions_(std::move(regions)) {
    for (const Region& r : regions_) {
        total_ += r.len;
        for (addr_t p = page_of(r.addr); p < r.addr + r.len; p += kPage) {
            std::vector<std::uint8_t> bytes(kPage);
            // A hole the scenario left unmapped (a guard page) stays a hole.
            if (t_.peek(p, bytes.data(), kPage)) saved_.emplace(p, std::move(bytes));
        }
    }
}

addr_t HostileImage::at(std::size_t offset) const {
    offset %= total_;
    for (const Region& r : regions_) {
        if (offset < r.len) return r.addr + offset;
        offset -= r.len;
    }
    return regions_.front().addr;
}

void HostileImage::write(addr_t a, const void* p, std::size_t n) {
    const auto* b = static_cast<const std::uint8_t*>(p);
    for (std::size_t i = 0; i < n; ++i) {
        addr_t page = page_of(a + i);
        if (!saved_.count(page) || !t_.mapped(page)) continue;  // only fuzzed, still mapped pages
        dirty_.insert(page);
        t_.poke(a + i, b + i, 1);
    }
}

void HostileImage::restore() {
    for (addr_t page : dirty_) {
        t_.map(page, kPage);
        t_.poke(page, saved_.at(page).data(), kPage);
    }
    dirty_.clear();
    t_.interrupt_after(UINT64_MAX);
}

void HostileImage::run(const std::uint8_t* data, std::size_t size, const std::vector<Action>& actions) {
    if (actions.empty()) throw std::logic_error("no fuzz action");
    static const addr_t hostile[] = {0,
                                     0x100 + 0xdead000000000000ULL,
                                     0x122 + 0xdead000000000000ULL,
                                     ~0ULL,
                                     0x6b6b6b6b6b6b6b6bULL,
                                     0xffff888fff000000ULL,  // canonical, never mapped
                                     1,                      // replaced by the word's own address
                                     0x00dead0000000000ULL};
    const Action& action = actions[size > 0 ? data[0] % actions.size() : 0];
    std::size_t i = 1;
    auto byte = [&]() -> std::uint8_t { return i < size ? data[i++] : 0; };
    auto off16 = [&]() -> std::size_t {
        std::size_t v = byte();
        return v | (std::size_t(byte()) << 8);
    };
    while (i < size) {
        std::uint8_t op = byte();
        // Offsets are scaled so that 16 bits reach every byte of large images.
        std::size_t scale = total_ > 0x10000 ? total_ / 0x10000 + 1 : 1;
        addr_t a = at(off16() * scale + (op >> 4));
        switch (op % 5) {
            case 0: {
                std::size_t n = byte() % 16 + 1;
                std::uint8_t buf[16] = {};
                for (std::size_t j = 0; j < n; ++j) buf[j] = byte();
                write(a, buf, n);
                break;
            }
            case 1: {
                addr_t v = at(off16() * scale);
                write(a & ~7ULL, &v, 8);
                break;
            }
            case 2: {
                addr_t v = hostile[byte() % std::size(hostile)];
                if (v == 1) v = a & ~7ULL;
                write(a & ~7ULL, &v, 8);
                break;
            }
            case 3:
                if (saved_.count(page_of(a))) {
                    dirty_.insert(page_of(a));
                    t_.unmap(page_of(a), kPage);
                }
                break;
            case 4: t_.interrupt_after(byte()); break;
        }
    }
    try {
        action();
    } catch (const Error&) {
    }
    restore();
}

Region heap_of(const test::ImageBuilder& img) { return {img.heap_start(), img.heap_end() - img.heap_start()}; }

HostileImage::Action command(test::FakeTarget& t, std::string name, std::vector<std::string> args) {
    return [&t, name = std::move(name), args = std::move(args)] { run_command(t, name, args); };
}

std::string run_command(test::FakeTarget& t, const std::string& name, const std::vector<std::string>& args) {
    const Command* c = find_command(name);
    if (!c) throw std::logic_error("no command " + name);
    Kernel k(t);
    StringOutput out;
    try {
        c->run(k, args, out);
    } catch (const Error& e) {
        out.write(e.what());
    }
    return out.str;
}

}  // namespace netdbg::fuzz
