// A synthetic kernel for the unit tests: FakeTarget implements
// netdbg::Target over a sparse page map plus symbol, type and enum tables;
// ImageBuilder allocates objects in that image and writes their fields by
// member name.
#pragma once

#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/target.h"

namespace netdbg::test {

class FakeTarget : public Target {
public:
    static constexpr addr_t kPage = 4096;

    // ---- memory: whole pages, zero-filled when mapped; unmapped = unreadable
    void map(addr_t addr, std::size_t len);
    void unmap(addr_t addr, std::size_t len);
    bool mapped(addr_t addr) const;
    // Writes into mapped pages; throws std::logic_error on unmapped ones
    // (a test bug, not a target condition).
    void poke(addr_t addr, const void* data, std::size_t len);
    bool peek(addr_t addr, void* data, std::size_t len) const;
    template <class T>
    void poke_as(addr_t addr, T value) { poke(addr, &value, sizeof value); }
    template <class T>
    T peek_as(addr_t addr) const {
        T v{};
        if (!peek(addr, &v, sizeof v)) throw std::logic_error("peek of unmapped memory");
        return v;
    }

    // ---- symbols
    struct Symbol {
        std::string name;
        addr_t addr = 0;
        std::optional<std::string> type;
        std::optional<std::size_t> array_length;
        std::string module;
    };
    void add_symbol(const std::string& name, addr_t addr, std::optional<std::string> type = std::nullopt,
                    std::optional<std::size_t> array_length = std::nullopt, const std::string& module = "");
    void remove_symbol(const std::string& name);

    // ---- types
    void add_type(const std::string& type, std::size_t size);
    void add_member(const std::string& type, const std::string& member, std::size_t offset, std::size_t size);
    // {member, offset, size} rows, for a whole layout at once.
    struct MemberRow {
        const char* name;
        std::size_t offset, size;
    };
    void add_members(const std::string& type, std::initializer_list<MemberRow> rows);
    void add_struct(const std::string& type, std::size_t size, std::initializer_list<MemberRow> rows);
    void remove_member(const std::string& type, const std::string& member);
    void remove_type(const std::string& type);
    void add_enum(const std::string& name, std::int64_t value) { enums_[name] = value; }

    // ---- CPUs, stacks, Ctrl-C
    void set_cpus(std::vector<addr_t> per_cpu_offsets) { cpus_ = std::move(per_cpu_offsets); }
    void set_thread_size(std::size_t n) { thread_size_ = n; }
    void set_read_block_size(std::size_t n) { read_block_size_ = n; }
    // interrupted() answers false n times, then true; interrupt_after(0):
    // already interrupted. Never interrupted by default.
    void interrupt_after(std::uint64_t n) { interrupt_after_ = n; interrupted_calls_ = 0; }
    void set_call_chain(addr_t task, std::vector<addr_t> pcs) { chains_[task] = std::move(pcs); }
    void set_cpu_registers(int cpu, const CpuRegisters& regs) { regs_[cpu] = regs; }

    // ---- counters
    std::uint64_t read_calls() const { return read_calls_; }
    std::uint64_t interrupted_calls() const { return interrupted_calls_; }

    // ---- Target
    bool read(addr_t addr, void* buf, std::size_t len) override;
    std::optional<addr_t> symbol_address(const std::string& name) override;
    std::optional<std::string> symbol_type(const std::string& name) override;
    std::optional<std::size_t> array_length(const std::string& name) override;
    std::optional<SymbolInfo> symbolize(addr_t addr) override;
    std::optional<std::size_t> type_size(const std::string& type) override;
    std::optional<MemberInfo> member(const std::string& type, const std::string& member) override;
    std::optional<std::int64_t> enum_value(const std::string& name) override;
    int cpu_count() override { return static_cast<int>(cpus_.size()); }
    std::optional<addr_t> per_cpu_offset(int cpu) override;
    std::size_t thread_size() override { return thread_size_; }
    std::size_t read_block_size() const override { return read_block_size_; }
    bool interrupted() override;
    std::optional<std::vector<addr_t>> call_chain(addr_t task) override;
    std::optional<CpuRegisters> cpu_registers(int cpu) override {
        auto it = regs_.find(cpu);
        if (it == regs_.end()) return std::nullopt;
        return it->second;
    }

private:
    using PageBytes = std::vector<std::uint8_t>;
    std::map<addr_t, PageBytes> pages_;
    std::unordered_map<std::string, Symbol> symbols_;
    std::multimap<addr_t, std::string> by_addr_;
    std::unordered_map<std::string, std::size_t> types_;
    std::map<std::pair<std::string, std::string>, MemberInfo> members_;
    std::unordered_map<std::string, std::int64_t> enums_;
    std::vector<addr_t> cpus_;
    std::size_t thread_size_ = 16384;
    std::size_t read_block_size_ = 4096;
    std::optional<std::uint64_t> interrupt_after_;
    std::uint64_t interrupted_calls_ = 0;
    std::uint64_t read_calls_ = 0;
    std::unordered_map<addr_t, std::vector<addr_t>> chains_;
    std::map<int, CpuRegisters> regs_;
};

// Allocation and field writes by member name on a FakeTarget.
class ImageBuilder {
public:
    explicit ImageBuilder(FakeTarget& t, addr_t heap = 0xffff888004000000ULL) : t_(t), heap_(heap), next_(heap) {}

    FakeTarget& target() { return t_; }

    // Mapped, zeroed memory from a bump allocator.
    addr_t alloc(std::size_t size, std::size_t align = 64);
    addr_t alloc(const std::string& type, std::size_t align = 64);
    // What alloc() has handed out so far: [heap_start(), heap_end()).
    addr_t heap_start() const { return heap_; }
    addr_t heap_end() const { return next_; }

    MemberInfo member(const std::string& type, const std::string& member) const;  // throws if absent
    bool has(const std::string& type, const std::string& member) const;
    std::size_t offset(const std::string& type, const std::string& m) const { return member(type, m).offset; }
    std::size_t size(const std::string& type) const;

    // A 1, 2, 4 or 8 byte field, written with the member's size.
    void write(addr_t obj, const std::string& type, const std::string& member, std::uint64_t value);
    void write_str(addr_t obj, const std::string& type, const std::string& member, const std::string& s);
    std::uint64_t read(addr_t obj, const std::string& type, const std::string& member) const;

    void u64(addr_t addr, std::uint64_t v) { t_.poke_as<std::uint64_t>(addr, v); }
    std::uint64_t u64(addr_t addr) const { return t_.peek_as<std::uint64_t>(addr); }
    void str(addr_t addr, const std::string& s) { t_.poke(addr, s.c_str(), s.size() + 1); }

    // struct list_head {next, prev} at node.
    void link(addr_t node, addr_t next, addr_t prev) {
        u64(node, next);
        u64(node + 8, prev);
    }
    void list_init(addr_t head) { link(head, head, head); }
    void list_add_tail(addr_t node, addr_t head);
    // A head plus n freshly allocated nodes, linked in order; returns the nodes.
    std::vector<addr_t> make_list(addr_t head, std::size_t n);

    // Makes pc a return address: the 5 bytes before it are `call rel32`.
    addr_t call_site(addr_t pc);

private:
    FakeTarget& t_;
    addr_t heap_;
    addr_t next_;
};

}  // namespace netdbg::test
