#include "kernel/sched/orc.h"

#include <algorithm>

#include "kernel/lib/list.h"

namespace netdbg {

namespace {

// arch/x86/include/asm/orc_types.h
enum OrcReg : unsigned {
    ORC_REG_UNDEFINED = 0,
    ORC_REG_PREV_SP = 1,
    ORC_REG_BP = 4,
    ORC_REG_SP = 5,
    ORC_REG_BP_INDIRECT = 8,
    ORC_REG_SP_INDIRECT = 9,
};

enum class OrcType { Undefined, EndOfStack, Call, Regs, RegsPartial };

struct OrcEntry {
    std::int16_t sp_offset = 0, bp_offset = 0;
    unsigned sp_reg = 0, bp_reg = 0;
    OrcType type = OrcType::Undefined;
};

// One ORC table: ip[i] is relative to &ip[i]; entries are sorted by ip.
struct OrcTable {
    addr_t text_start = 0, text_end = 0;
    addr_t ip_table = 0, unwind = 0;
    std::size_t count = 0;
};

struct OrcLayout {
    explicit OrcLayout(Kernel& k) {
        Target& t = k.target();
        auto entry_size = t.type_size("orc_entry");
        if (!entry_size) return;
        // <= 6.2: type:2, end:1 (CALL=0, REGS=1, REGS_PARTIAL=2).
        // >= 6.3: type:3, signal:1 (UNDEFINED=0, END_OF_STACK=1, CALL=2, ...).
        old_types = t.member("orc_entry", "end").has_value();
        auto ip_start = k.try_symbol("__start_orc_unwind_ip");
        auto ip_stop = k.try_symbol("__stop_orc_unwind_ip");
        auto unwind = k.try_symbol("__start_orc_unwind");
        auto stext = k.try_symbol("_stext"), etext = k.try_symbol("_etext");
        if (!ip_start || !ip_stop || !unwind || !stext || !etext || *ip_stop <= *ip_start) return;
        vmlinux = {*stext, *etext, *ip_start, *unwind, (*ip_stop - *ip_start) / 4};
        // Entries also cover .init.text and the entry trampolines: widen to
        // the whole kernel image.
        if (auto end = k.try_symbol("_end")) vmlinux.text_end = *end;
        if (auto text = k.try_symbol("_text")) vmlinux.text_start = *text;
        available = true;

        // struct module: list, core_layout.{base,size} (<= 6.3), arch.{num_orcs,orc_unwind_ip,orc_unwind}.
        if (!t.type_size("module") || !t.type_size("module_layout") || !t.type_size("mod_arch_specific")) return;
        StructLayout mod(t, "module");
        auto list = mod.find("list"), core = mod.find("core_layout"), arch = mod.find("arch");
        if (list && core && arch) {
            StructLayout ml(t, "module_layout"), ma(t, "mod_arch_specific");
            auto base = ml.find("base"), size = ml.find("size");
            auto num = ma.find("num_orcs"), ipt = ma.find("orc_unwind_ip"), unw = ma.find("orc_unwind");
            if (base && size && num && ipt && unw) {
                module_list = list->offset;
                module_base = core->offset + base->offset;
                module_size = core->offset + size->offset;
                module_num_orcs = arch->offset + num->offset;
                module_ip = arch->offset + ipt->offset;
                module_unwind = arch->offset + unw->offset;
                module_struct_size = mod.size();
                modules_supported = true;
            }
        }
    }
    bool available = false, old_types = false, modules_supported = false;
    OrcTable vmlinux;
    std::size_t module_list = 0, module_base = 0, module_size = 0, module_num_orcs = 0, module_ip = 0,
                module_unwind = 0, module_struct_size = 0;
};

// The modules' ORC tables, read once per session.
struct ModuleOrcTables {
    explicit ModuleOrcTables(Kernel& k) {
        const OrcLayout& L = k.get<OrcLayout>();
        auto head = k.try_symbol("modules");
        if (!L.modules_supported || !head) return;
        walk_list(k, *head, 10000, [&](addr_t node) {
            addr_t mod = node - L.module_list;
            auto o = Object::read(k.mem(), mod, L.module_struct_size);
            if (!o) return true;
            OrcTable t;
            t.text_start = o->u64(L.module_base);
            t.text_end = t.text_start + o->get<std::uint32_t>(L.module_size);
            t.count = o->get<std::uint32_t>(L.module_num_orcs);
            t.ip_table = o->u64(L.module_ip);
            t.unwind = o->u64(L.module_unwind);
            if (t.count && t.ip_table && t.unwind) tables.push_back(t);
            return true;
        });
    }
    std::vector<OrcTable> tables;
};

std::optional<OrcEntry> decode(const OrcLayout& L, const std::uint8_t* b) {
    OrcEntry e;
    e.sp_offset = static_cast<std::int16_t>(b[0] | b[1] << 8);
    e.bp_offset = static_cast<std::int16_t>(b[2] | b[3] << 8);
    unsigned bits = b[4] | b[5] << 8;
    e.sp_reg = bits & 0xf;
    e.bp_reg = (bits >> 4) & 0xf;
    if (L.old_types) {
        unsigned type = (bits >> 8) & 0x3;
        bool end = (bits >> 10) & 1;
        if (end) e.type = OrcType::EndOfStack;
        else if (type == 0) e.type = OrcType::Call;
        else if (type == 1) e.type = OrcType::Regs;
        else if (type == 2) e.type = OrcType::RegsPartial;
        else return std::nullopt;
    } else {
        static constexpr OrcType types[] = {OrcType::Undefined, OrcType::EndOfStack, OrcType::Call, OrcType::Regs,
                                            OrcType::RegsPartial};
        unsigned type = (bits >> 8) & 0x7;
        if (type >= 5) return std::nullopt;
        e.type = types[type];
    }
    return e;
}

// arch/x86/kernel/unwind_orc.c:__orc_find(): the last entry whose ip <= ip.
std::optional<OrcEntry> orc_find(Kernel& k, addr_t ip) {
    const OrcLayout& L = k.get<OrcLayout>();
    const OrcTable* table = nullptr;
    if (ip >= L.vmlinux.text_start && ip < L.vmlinux.text_end) {
        table = &L.vmlinux;
    } else {
        for (const OrcTable& t : k.get<ModuleOrcTables>().tables)
            if (ip >= t.text_start && ip < t.text_end) table = &t;
    }
    if (!table) return std::nullopt;
    auto ip_at = [&](std::size_t i) -> std::optional<addr_t> {
        auto rel = k.mem().read_as<std::int32_t>(table->ip_table + 4 * i);
        if (!rel) return std::nullopt;
        return table->ip_table + 4 * i + static_cast<std::int64_t>(*rel);
    };
    std::size_t lo = 0, hi = table->count;  // answer in [lo, hi)
    while (hi - lo > 1) {
        std::size_t mid = lo + (hi - lo) / 2;
        auto v = ip_at(mid);
        if (!v) return std::nullopt;
        if (*v <= ip) lo = mid;
        else hi = mid;
    }
    auto first = ip_at(lo);
    if (!first || *first > ip) return std::nullopt;
    std::uint8_t b[6];
    if (!k.mem().read(table->unwind + 6 * lo, b, sizeof b)) return std::nullopt;
    return decode(L, b);
}

}  // namespace

std::optional<std::vector<StackFrame>> orc_call_chain(Kernel& k, const Task& t) {
    const OrcLayout& L = k.get<OrcLayout>();
    if (!L.available || t.stack == 0) return std::nullopt;
    addr_t stack_lo = t.stack, stack_hi = t.stack + k.target().thread_size();
    auto on_stack = [&](addr_t a, std::size_t len) { return a >= stack_lo && a + len <= stack_hi; };
    auto word = [&](addr_t a) -> std::optional<addr_t> {
        if (!on_stack(a, 8)) return std::nullopt;
        return k.mem().read_u64(a);
    };

    // __unwind_start() for a task that is not running: the frame
    // __switch_to_asm() pushed (struct inactive_task_frame: r15 r14 r13 r12
    // bx bp ret_addr).
    addr_t sp = t.sp;
    auto bp0 = word(sp + 5 * 8), ip0 = word(sp + 6 * 8);
    if (!bp0 || !ip0) return std::nullopt;
    addr_t bp = *bp0, ip = *ip0, slot = sp + 6 * 8;
    sp += 7 * 8;
    bool signal = false;

    std::vector<StackFrame> chain;
    for (int depth = 0; depth < 128; ++depth) {
        chain.push_back({slot, ip});
        auto orc = orc_find(k, signal ? ip : ip - 1);
        if (!orc) return std::nullopt;
        if (orc->type == OrcType::EndOfStack) return chain;
        if (orc->type == OrcType::Undefined) return std::nullopt;

        addr_t cfa = 0;
        bool indirect = false;
        switch (orc->sp_reg) {
        case ORC_REG_SP: cfa = sp + orc->sp_offset; break;
        case ORC_REG_BP: cfa = bp + orc->sp_offset; break;
        case ORC_REG_SP_INDIRECT: cfa = sp; indirect = true; break;
        case ORC_REG_BP_INDIRECT: cfa = bp + orc->sp_offset; indirect = true; break;
        default: return std::nullopt;  // needs registers a sleeping task has not saved
        }
        if (indirect) {
            auto v = word(cfa);
            if (!v) return std::nullopt;
            cfa = *v;
            if (orc->sp_reg == ORC_REG_SP_INDIRECT) cfa += orc->sp_offset;
        }

        addr_t next_ip = 0, next_sp = 0;
        switch (orc->type) {
        case OrcType::Call: {
            auto r = word(cfa - 8);
            if (!r) return std::nullopt;
            next_ip = *r;
            next_sp = cfa;
            slot = cfa - 8;
            signal = false;
            break;
        }
        case OrcType::Regs: {
            // struct pt_regs at cfa: ..., ip at +128, cs +136, sp +152.
            auto rip = word(cfa + 128), cs = word(cfa + 136), rsp = word(cfa + 152), rbp = word(cfa + 32);
            if (!rip || !cs) return std::nullopt;
            if (*cs & 3) return chain;  // entered from user mode: the end of the kernel stack
            if (!rsp || !rbp) return std::nullopt;
            next_ip = *rip;
            next_sp = *rsp;
            bp = *rbp;
            signal = true;
            slot = cfa + 128;
            if (!on_stack(next_sp, 8)) return chain;  // continued on another stack (IRQ)
            ip = next_ip;
            sp = next_sp;
            continue;
        }
        case OrcType::RegsPartial: {
            // The iret frame at cfa: ip, cs, flags, sp, ss.
            auto rip = word(cfa), cs = word(cfa + 8), rsp = word(cfa + 24);
            if (!rip || !cs) return std::nullopt;
            if (*cs & 3) return chain;
            if (!rsp) return std::nullopt;
            next_ip = *rip;
            next_sp = *rsp;
            signal = true;
            slot = cfa;
            break;
        }
        default: return std::nullopt;
        }

        switch (orc->bp_reg) {
        case ORC_REG_UNDEFINED: break;
        case ORC_REG_PREV_SP: {
            auto v = word(cfa + orc->bp_offset);
            if (!v) return std::nullopt;
            bp = *v;
            break;
        }
        case ORC_REG_BP: {
            auto v = word(bp + orc->bp_offset);
            if (!v) return std::nullopt;
            bp = *v;
            break;
        }
        default: return std::nullopt;
        }

        if (next_sp <= sp && orc->type == OrcType::Call) return std::nullopt;  // not moving up the stack
        if (!on_stack(next_sp, 0)) return std::nullopt;
        ip = next_ip;
        sp = next_sp;
    }
    return std::nullopt;
}

}  // namespace netdbg
