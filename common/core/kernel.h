// One analysed kernel: the target, its read cache, and every layout and
// per-boot fact resolved once per session (types are looked up once and
// cached, as drgn's helpers and the kernel's gdb scripts do).
#pragma once

#include <any>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <typeindex>
#include <unordered_map>

#include "core/error.h"
#include "core/memory.h"
#include "core/target.h"

namespace netdbg {

class Kernel {
public:
    explicit Kernel(Target& target) : target_(target), mem_(target) {}

    Target& target() { return target_; }
    Memory& mem() { return mem_; }

    // The cached instance of T, built as T(kernel) on first use. Layout
    // structs resolve their offsets in that constructor.
    template <class T>
    const T& get() {
        auto key = std::type_index(typeid(T));
        auto it = cache_.find(key);
        if (it == cache_.end()) {
            auto value = std::make_shared<T>(*this);
            it = cache_.emplace(key, std::shared_ptr<const void>(value, value.get())).first;
        }
        return *static_cast<const T*>(it->second.get());
    }

    // Throws Interrupted when the user pressed Ctrl-C.
    void check_interrupt() {
        if (target_.interrupted()) throw Interrupted();
    }

    addr_t symbol(const std::string& name);  // throws Error when missing
    std::optional<addr_t> try_symbol(const std::string& name) { return target_.symbol_address(name); }

    // "func+0x1c [module]", or the hex address when no symbol covers it.
    std::string symbolize(addr_t addr);
    // Bare "func" (no offset) or "" when unknown.
    std::string function_name(addr_t addr);

    // Forget cached memory (a live target ran); layouts stay valid.
    void drop_memory() { mem_.drop(); }

private:
    Target& target_;
    Memory mem_;
    std::unordered_map<std::type_index, std::shared_ptr<const void>> cache_;
};

// Resolves the members of one struct, failing with a line that names the
// missing member.
class StructLayout {
public:
    StructLayout(Target& target, std::string type);

    const std::string& type() const { return type_; }
    std::size_t size() const { return size_; }
    std::size_t offset(const std::string& member) const { return require(member).offset; }
    MemberInfo require(const std::string& member) const;
    std::optional<MemberInfo> find(const std::string& member) const;
    // The first of several names a member has had across kernel versions.
    MemberInfo require_any(std::initializer_list<const char*> names) const;

private:
    Target& target_;
    std::string type_;
    std::size_t size_ = 0;
};

// Tracks the byte range of an object the analyzers use so it is read in
// one request: [begin, end).
struct Span {
    std::size_t begin = SIZE_MAX, end = 0;
    void add(std::size_t offset, std::size_t size) {
        begin = std::min(begin, offset);
        end = std::max(end, offset + size);
    }
    void add(const MemberInfo& m) { add(m.offset, m.size); }
};

}  // namespace netdbg
