#include "readonly_image.h"

#include <algorithm>
#include <iterator>

namespace netdbg::gdbglue {

std::optional<ReadonlyImage> ReadonlyImage::open(const std::string& vmlinux, addr_t shift, std::string* why) {
    auto file = ElfFile::open(vmlinux, why);
    if (!file) return std::nullopt;
    auto syms = file->symbols({"_text", "__init_begin"});
    auto text = syms.find("_text"), init = syms.find("__init_begin");
    if (text == syms.end() || init == syms.end() || init->second <= text->second) {
        if (why) *why = vmlinux + ": no _text/__init_begin symbols";
        return std::nullopt;
    }
    auto ranges = file->readonly_sections(text->second, init->second, shift != 0);
    if (ranges.empty()) {
        if (why) *why = vmlinux + ": no read-only section the running kernel shares with the file";
        return std::nullopt;
    }
    return ReadonlyImage(std::move(*file), std::move(ranges), shift);
}

bool ReadonlyImage::read(addr_t addr, void* buf, std::size_t len) const {
    addr_t link = addr - shift_;
    // The last section starting at or below link holds the start; a read
    // running past its end continues only into a section that starts
    // right there (.orc_unwind_ip is followed by .orc_unwind).
    auto it = std::upper_bound(ranges_.begin(), ranges_.end(), link,
                               [](addr_t a, const ElfFile::FileRange& r) { return a < r.addr; });
    if (it == ranges_.begin()) return false;
    --it;
    if (link - it->addr >= it->size) return false;
    std::size_t need = len;
    for (auto r = it; need > 0; ++r) {
        if (r == ranges_.end() || (r != it && r->addr != std::prev(r)->addr + std::prev(r)->size)) return false;
        need -= std::min<std::uint64_t>(need, r->size - (r == it ? link - it->addr : 0));
    }
    auto* out = static_cast<std::uint8_t*>(buf);
    for (auto r = it; len > 0; ++r) {
        std::uint64_t at = r == it ? link - it->addr : 0;
        std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(len, r->size - at));
        if (!file_.read_at(r->offset + at, out, n)) return false;
        out += n;
        len -= n;
    }
    return true;
}

}  // namespace netdbg::gdbglue
