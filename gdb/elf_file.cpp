#include "elf_file.h"

#include <elf.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

namespace netdbg::gdbglue {

namespace {
constexpr std::uint64_t kMaxTable = 64ull << 20;  // sanity bound for tables we load whole
}

std::optional<ElfFile> ElfFile::open(const std::string& path, std::string* why) {
    ElfFile f;
    f.path_ = path;
    f.fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (f.fd_ < 0) {
        if (why) *why = path + ": " + std::strerror(errno);
        return std::nullopt;
    }
    struct stat st;
    if (fstat(f.fd_, &st) != 0) {
        if (why) *why = path + ": " + std::strerror(errno);
        return std::nullopt;
    }
    f.size_ = static_cast<std::uint64_t>(st.st_size);
    Elf64_Ehdr eh;
    if (!f.pread_all(&eh, sizeof eh, 0) || std::memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 ||
        eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_ident[EI_DATA] != ELFDATA2LSB) {
        if (why) *why = path + ": not a 64-bit little-endian ELF file";
        return std::nullopt;
    }
    f.type_ = eh.e_type;
    std::uint64_t phnum = eh.e_phnum;
    if (phnum == PN_XNUM && eh.e_shoff && eh.e_shentsize == sizeof(Elf64_Shdr)) {
        // More than 65534 program headers (a QEMU paging dump of a kernel
        // whose direct map is in 4K pages): the count is section 0's sh_info.
        Elf64_Shdr sh0;
        if (f.pread_all(&sh0, sizeof sh0, eh.e_shoff)) phnum = sh0.sh_info;
    }
    if (eh.e_phoff && eh.e_phentsize == sizeof(Elf64_Phdr) && phnum > 0 &&
        phnum * sizeof(Elf64_Phdr) <= f.size_) {
        std::vector<Elf64_Phdr> ph(phnum);
        if (f.pread_all(ph.data(), ph.size() * sizeof(Elf64_Phdr), eh.e_phoff)) {
            for (const auto& p : ph) f.segments_.push_back({p.p_type, p.p_offset, p.p_vaddr, p.p_filesz});
        }
    }
    if (eh.e_shoff && eh.e_shentsize == sizeof(Elf64_Shdr) && eh.e_shnum > 0) {
        std::vector<Elf64_Shdr> sh(eh.e_shnum);
        if (f.pread_all(sh.data(), sh.size() * sizeof(Elf64_Shdr), eh.e_shoff)) {
            std::vector<char> names;
            if (eh.e_shstrndx < sh.size() && sh[eh.e_shstrndx].sh_size < kMaxTable) {
                names.resize(sh[eh.e_shstrndx].sh_size + 1, '\0');
                if (!f.pread_all(names.data(), names.size() - 1, sh[eh.e_shstrndx].sh_offset)) names.clear();
            }
            for (const auto& s : sh) {
                Section sec;
                if (s.sh_name < names.size()) sec.name = names.data() + s.sh_name;
                sec.type = s.sh_type;
                sec.flags = s.sh_flags;
                sec.addr = s.sh_addr;
                sec.offset = s.sh_offset;
                sec.size = s.sh_size;
                sec.link = s.sh_link;
                sec.info = s.sh_info;
                f.sections_.push_back(std::move(sec));
            }
        }
    }
    return f;
}

ElfFile::ElfFile(ElfFile&& o) noexcept
    : fd_(std::exchange(o.fd_, -1)),
      path_(std::move(o.path_)),
      type_(o.type_),
      size_(o.size_),
      sections_(std::move(o.sections_)),
      segments_(std::move(o.segments_)) {}

ElfFile& ElfFile::operator=(ElfFile&& o) noexcept {
    if (this != &o) {
        if (fd_ >= 0) ::close(fd_);
        fd_ = std::exchange(o.fd_, -1);
        path_ = std::move(o.path_);
        type_ = o.type_;
        size_ = o.size_;
        sections_ = std::move(o.sections_);
        segments_ = std::move(o.segments_);
    }
    return *this;
}

ElfFile::~ElfFile() {
    if (fd_ >= 0) ::close(fd_);
}

bool ElfFile::pread_all(void* buf, std::size_t len, std::uint64_t off) const {
    if (off > size_ || len > size_ - off) return false;
    auto* p = static_cast<char*>(buf);
    while (len > 0) {
        ssize_t n = ::pread(fd_, p, len, static_cast<off_t>(off));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        p += n;
        off += static_cast<std::uint64_t>(n);
        len -= static_cast<std::size_t>(n);
    }
    return true;
}

std::vector<ElfFile::Symbol> ElfFile::all_symbols() const {
    std::vector<Symbol> out;
    for (const auto& s : sections_) {
        if (s.type != SHT_SYMTAB || s.link >= sections_.size()) continue;
        const Section& str = sections_[s.link];
        if (s.size > kMaxTable || str.size > kMaxTable) continue;
        std::vector<Elf64_Sym> syms(s.size / sizeof(Elf64_Sym));
        std::vector<char> strtab(str.size + 1, '\0');
        if (!pread_all(syms.data(), syms.size() * sizeof(Elf64_Sym), s.offset)) continue;
        if (!pread_all(strtab.data(), str.size, str.offset)) continue;
        out.reserve(out.size() + syms.size());
        for (const auto& sym : syms) {
            if (sym.st_name == 0 || sym.st_name >= str.size) continue;
            out.push_back({strtab.data() + sym.st_name, sym.st_shndx, sym.st_value,
                           static_cast<std::uint8_t>(ELF64_ST_TYPE(sym.st_info))});
        }
    }
    return out;
}

std::map<std::string, addr_t> ElfFile::symbols(const std::set<std::string>& names) const {
    std::map<std::string, addr_t> out;
    for (const auto& sym : all_symbols())
        if (names.count(sym.name) && !out.count(sym.name)) out.emplace(sym.name, sym.value);
    return out;
}

std::optional<std::vector<std::uint8_t>> ElfFile::read_vaddr(addr_t addr, std::size_t len) const {
    for (const auto& s : sections_) {
        if (!(s.flags & SHF_ALLOC) || s.type == SHT_NOBITS || s.addr == 0) continue;
        if (addr < s.addr || addr - s.addr > s.size || len > s.size - (addr - s.addr)) continue;
        std::vector<std::uint8_t> bytes(len);
        if (!pread_all(bytes.data(), len, s.offset + (addr - s.addr))) return std::nullopt;
        return bytes;
    }
    return std::nullopt;
}

// Are section `index`'s bytes the same wherever the image runs? Its
// SHT_RELA section (sh_info == index) may hold only relocations that
// need no change when everything moves together: PC-relative ones
// (R_X86_64_PC32, PLT32, PC64) to symbols of allocated sections linked at
// a real address. Absolute ones (R_X86_64_64, 32, 32S) are what KASLR
// relocates; PC-relative ones to per-CPU symbols (section at address 0)
// it relocates inversely.
bool ElfFile::position_independent(std::size_t index, std::vector<std::uint8_t>& symtab_bytes) const {
    constexpr std::uint32_t kNone = 0, kPc32 = 2, kPlt32 = 4, kPc64 = 24;
    bool any_rela = false;
    for (const auto& rs : sections_) {
        if (rs.type != SHT_RELA) continue;
        any_rela = true;
        if (rs.info != index || rs.link >= sections_.size()) continue;
        const Section& symtab = sections_[rs.link];
        if (rs.size > (256ull << 20) || symtab.size > kMaxTable) return false;
        std::size_t nsyms = symtab.size / sizeof(Elf64_Sym);
        if (symtab_bytes.size() != nsyms * sizeof(Elf64_Sym)) {
            symtab_bytes.resize(nsyms * sizeof(Elf64_Sym));
            if (!pread_all(symtab_bytes.data(), symtab_bytes.size(), symtab.offset)) {
                symtab_bytes.clear();
                return false;
            }
        }
        auto shndx_of = [&](std::uint64_t sym) {
            Elf64_Sym e;
            std::memcpy(&e, symtab_bytes.data() + sym * sizeof e, sizeof e);
            return e.st_shndx;
        };
        constexpr std::size_t kChunk = 4096;
        std::vector<Elf64_Rela> rela(kChunk);
        std::uint64_t n = rs.size / sizeof(Elf64_Rela);
        for (std::uint64_t i = 0; i < n; i += kChunk) {
            std::size_t m = static_cast<std::size_t>(std::min<std::uint64_t>(kChunk, n - i));
            if (!pread_all(rela.data(), m * sizeof(Elf64_Rela), rs.offset + i * sizeof(Elf64_Rela))) return false;
            for (std::size_t j = 0; j < m; ++j) {
                auto type = static_cast<std::uint32_t>(ELF64_R_TYPE(rela[j].r_info));
                if (type == kNone) continue;
                if (type != kPc32 && type != kPlt32 && type != kPc64) return false;
                auto sym = ELF64_R_SYM(rela[j].r_info);
                if (sym == 0 || sym >= nsyms) return false;
                std::uint16_t shndx = shndx_of(sym);
                if (shndx == SHN_UNDEF || shndx >= SHN_LORESERVE || shndx >= sections_.size()) return false;
                const Section& target = sections_[shndx];
                if (!(target.flags & SHF_ALLOC) || target.addr == 0) return false;
            }
        }
        return true;
    }
    return any_rela;  // no relocations for it among those kept: nothing to change
}

std::vector<ElfFile::FileRange> ElfFile::readonly_sections(addr_t begin, addr_t end, bool relocated) const {
    std::vector<FileRange> out;
    std::vector<std::uint8_t> symtab;
    for (std::size_t i = 0; i < sections_.size(); ++i) {
        const Section& s = sections_[i];
        if (!(s.flags & SHF_ALLOC) || (s.flags & SHF_WRITE) || s.type == SHT_NOBITS || s.addr == 0 || s.size == 0)
            continue;
        if (s.addr < begin || s.addr > end || s.size > end - s.addr) continue;
        if (s.offset > size_ || s.size > size_ - s.offset) continue;
        if (relocated && !position_independent(i, symtab)) continue;
        out.push_back({s.name, s.addr, s.size, s.offset});
    }
    std::sort(out.begin(), out.end(), [](const FileRange& a, const FileRange& b) { return a.addr < b.addr; });
    return out;
}

std::vector<std::pair<addr_t, addr_t>> ElfFile::loads() const {
    std::vector<std::pair<addr_t, addr_t>> out;
    for (const auto& p : segments_)
        if (p.type == PT_LOAD && p.filesz && p.vaddr + p.filesz > p.vaddr) out.emplace_back(p.vaddr, p.vaddr + p.filesz);
    return out;
}

bool ElfFile::loaded(addr_t addr, std::size_t len) const {
    for (const auto& p : segments_) {
        if (p.type != PT_LOAD) continue;
        if (addr >= p.vaddr && addr - p.vaddr <= p.filesz && len <= p.filesz - (addr - p.vaddr)) return true;
    }
    return false;
}

std::optional<std::string> ElfFile::note(const std::string& owner) const {
    for (const auto& p : segments_) {
        if (p.type != PT_NOTE || p.filesz > kMaxTable) continue;
        std::vector<std::uint8_t> buf(p.filesz);
        if (!pread_all(buf.data(), buf.size(), p.offset)) continue;
        std::size_t pos = 0;
        auto align4 = [](std::size_t v) { return (v + 3) & ~std::size_t{3}; };
        while (pos + sizeof(Elf64_Nhdr) <= buf.size()) {
            Elf64_Nhdr nh;
            std::memcpy(&nh, buf.data() + pos, sizeof nh);
            std::size_t name_at = pos + sizeof nh;
            std::size_t desc_at = name_at + align4(nh.n_namesz);
            if (desc_at > buf.size() || nh.n_descsz > buf.size() - desc_at) break;
            std::string name(reinterpret_cast<const char*>(buf.data() + name_at),
                             strnlen(reinterpret_cast<const char*>(buf.data() + name_at), nh.n_namesz));
            if (name == owner) return std::string(reinterpret_cast<const char*>(buf.data() + desc_at), nh.n_descsz);
            pos = desc_at + align4(nh.n_descsz);
        }
    }
    return std::nullopt;
}

std::optional<std::string> vmcoreinfo_value(const std::string& text, const std::string& key) {
    std::size_t pos = 0;
    while (pos < text.size()) {
        std::size_t end = text.find('\n', pos);
        if (end == std::string::npos) end = text.size();
        if (text.compare(pos, key.size(), key) == 0 && pos + key.size() < end && text[pos + key.size()] == '=')
            return text.substr(pos + key.size() + 1, end - pos - key.size() - 1);
        pos = end + 1;
    }
    return std::nullopt;
}

}  // namespace netdbg::gdbglue
