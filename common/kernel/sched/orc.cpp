#include "kernel/sched/orc.h"

#include <algorithm>

#include <fmt/format.h>

#include "kernel/module/module.h"

namespace netdbg {

namespace {

// arch/x86/include/asm/orc_types.h
enum OrcReg : unsigned {
    ORC_REG_UNDEFINED = 0,
    ORC_REG_PREV_SP = 1,
    ORC_REG_DX = 2,
    ORC_REG_DI = 3,
    ORC_REG_BP = 4,
    ORC_REG_SP = 5,
    ORC_REG_R10 = 6,
    ORC_REG_R13 = 7,
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

        // struct module's arch.{num_orcs,orc_unwind_ip,orc_unwind}; where its
        // text lies is the module reader's (mem[] or core_layout).
        if (!t.type_size("module") || !t.type_size("mod_arch_specific")) return;
        auto arch = StructLayout(t, "module").find("arch");
        StructLayout ma(t, "mod_arch_specific");
        auto num = ma.find("num_orcs"), ipt = ma.find("orc_unwind_ip"), unw = ma.find("orc_unwind");
        if (arch && num && ipt && unw) {
            module_num_orcs = arch->offset + num->offset;
            module_ip = arch->offset + ipt->offset;
            module_unwind = arch->offset + unw->offset;
            modules_supported = true;
        }
    }
    bool available = false, old_types = false, modules_supported = false;
    OrcTable vmlinux;
    std::size_t module_num_orcs = 0, module_ip = 0, module_unwind = 0;
};

// The modules' ORC tables, read once per session: one table per text
// region of a module (core and init text share the module's sorted table).
struct ModuleOrcTables {
    explicit ModuleOrcTables(Kernel& k) {
        const OrcLayout& L = k.get<OrcLayout>();
        if (!L.modules_supported) return;
        std::vector<ModuleInfo> modules;
        try {
            modules = for_each_module(k, nullptr, 10000);
        } catch (const LayoutError&) {
            return;
        }
        for (const ModuleInfo& m : modules) {
            auto count = k.mem().read_as<std::uint32_t>(m.addr + L.module_num_orcs);
            auto ip = k.mem().read_u64(m.addr + L.module_ip), unwind = k.mem().read_u64(m.addr + L.module_unwind);
            if (!count || !ip || !unwind || !*count || !*ip || !*unwind) continue;
            for (const ModuleRegion& r : m.regions)
                if (r.text) tables.push_back({r.base, r.base + r.size, *ip, *unwind, *count});
        }
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

// pt_regs (arch/x86/include/asm/ptrace.h): what a Regs frame saved.
constexpr std::size_t kRegsBp = 32, kRegsR10 = 56, kRegsR13 = 16, kRegsDx = 96, kRegsDi = 112, kRegsIp = 128,
                      kRegsCs = 136, kRegsSp = 152;

// Where the registers the ORC entry may name come from: the CPU's own (the
// first frame of a CPU unwind) or a full pt_regs frame on the stack
// (unwind_orc.c:get_reg(), full_regs); none after a call frame.
struct RegsSource {
    const CpuRegisters* cpu = nullptr;
    addr_t pt_regs = 0;
};

class Unwinder {
public:
    Unwinder(Kernel& k, const std::vector<StackArea>& stacks) : k_(k), stacks_(stacks), left_(stacks.size()) {}

    OrcUnwind run(addr_t ip, addr_t sp, addr_t bp, bool signal, addr_t slot, RegsSource regs) {
        OrcUnwind out;
        int cur = area_of(sp, 0);
        if (cur < 0) return fail(out, fmt::format("sp {:016x} is on no stack of this task or CPU", sp), ip, sp, slot,
                                 signal);
        for (int depth = 0; depth < 128; ++depth) {
            k_.check_interrupt();
            out.frames.push_back({ip, slot, sp, signal, stacks_[cur].name});
            auto orc = orc_find(k_, signal ? ip : ip - 1);
            if (!orc) return stop(out, OrcStop::Failed, fmt::format("no ORC entry for {:016x}", ip));
            if (orc->type == OrcType::EndOfStack) return stop(out, OrcStop::EndOfStack, "");
            if (orc->type == OrcType::Undefined)
                return stop(out, OrcStop::Failed, fmt::format("ORC entry of {:016x} is undefined", ip));

            addr_t cfa = 0;
            bool indirect = false;
            switch (orc->sp_reg) {
            case ORC_REG_SP: cfa = sp + orc->sp_offset; break;
            case ORC_REG_BP: cfa = bp + orc->sp_offset; break;
            case ORC_REG_SP_INDIRECT: cfa = sp; indirect = true; break;
            case ORC_REG_BP_INDIRECT: cfa = bp + orc->sp_offset; indirect = true; break;
            case ORC_REG_R10:
            case ORC_REG_R13:
            case ORC_REG_DI:
            case ORC_REG_DX: {
                auto v = reg(regs, orc->sp_reg);
                if (!v) return stop(out, OrcStop::Failed, fmt::format("ORC at {:016x} needs a register not saved", ip));
                cfa = *v + orc->sp_offset;
                break;
            }
            default: return stop(out, OrcStop::Failed, fmt::format("ORC at {:016x}: sp_reg {}", ip, orc->sp_reg));
            }
            if (indirect) {
                auto v = word(cfa);
                if (!v) return stop(out, OrcStop::Failed, fmt::format("unreadable stack word at {:016x}", cfa));
                cfa = *v;
                if (orc->sp_reg == ORC_REG_SP_INDIRECT) cfa += orc->sp_offset;
            }

            addr_t next_ip = 0, next_sp = 0, next_slot = 0;
            bool next_signal = false;
            RegsSource next_regs;
            switch (orc->type) {
            case OrcType::Call: {
                auto r = word(cfa - 8);
                if (!r) return stop(out, OrcStop::Failed, fmt::format("unreadable return address at {:016x}", cfa - 8));
                next_ip = *r;
                next_sp = cfa;
                next_slot = cfa - 8;
                break;
            }
            case OrcType::Regs: {
                auto rip = word(cfa + kRegsIp), cs = word(cfa + kRegsCs);
                if (!rip || !cs) return stop(out, OrcStop::Failed, fmt::format("unreadable pt_regs at {:016x}", cfa));
                if (*cs & 3) return stop(out, OrcStop::UserMode, "");
                auto rsp = word(cfa + kRegsSp), rbp = word(cfa + kRegsBp);
                if (!rsp || !rbp) return stop(out, OrcStop::Failed, fmt::format("unreadable pt_regs at {:016x}", cfa));
                next_ip = *rip;
                next_sp = *rsp;
                next_slot = cfa + kRegsIp;
                next_signal = true;
                next_regs.pt_regs = cfa;
                bp = *rbp;
                break;
            }
            case OrcType::RegsPartial: {
                // The iret frame at cfa: ip, cs, flags, sp, ss.
                auto rip = word(cfa), cs = word(cfa + 8);
                if (!rip || !cs) return stop(out, OrcStop::Failed, fmt::format("unreadable iret frame at {:016x}", cfa));
                if (*cs & 3) return stop(out, OrcStop::UserMode, "");
                auto rsp = word(cfa + 24);
                if (!rsp) return stop(out, OrcStop::Failed, fmt::format("unreadable iret frame at {:016x}", cfa));
                next_ip = *rip;
                next_sp = *rsp;
                next_slot = cfa;
                next_signal = true;
                break;
            }
            default: return stop(out, OrcStop::Failed, "bad ORC type");
            }

            if (orc->type != OrcType::Regs) {
                switch (orc->bp_reg) {
                case ORC_REG_UNDEFINED: break;
                case ORC_REG_PREV_SP: {
                    auto v = word(cfa + orc->bp_offset);
                    if (!v) return stop(out, OrcStop::Failed, "unreadable saved bp");
                    bp = *v;
                    break;
                }
                case ORC_REG_BP: {
                    auto v = word(bp + orc->bp_offset);
                    if (!v) return stop(out, OrcStop::Failed, "unreadable saved bp");
                    bp = *v;
                    break;
                }
                default: return stop(out, OrcStop::Failed, fmt::format("ORC at {:016x}: bp_reg {}", ip, orc->bp_reg));
                }
            }

            // Up the same stack, or on to another one not left before
            // (get_stack_info()'s visit mask).
            int next = area_of(next_sp, 0);
            if (next < 0) {
                std::string text = fmt::format("continues at sp {:016x}, on no known stack", next_sp);
                // Only a pt_regs frame may lead off the stacks we know (an
                // interrupted context on a stack not given).
                return stop(out, orc->type == OrcType::Call ? OrcStop::Failed : OrcStop::OffStack, text);
            }
            if (next == cur) {
                if (next_sp <= sp) return stop(out, OrcStop::Failed, "stack going in the wrong direction");
            } else {
                if (left_[static_cast<std::size_t>(next)])
                    return stop(out, OrcStop::Failed, fmt::format("back on the {} stack", stacks_[next].name));
                left_[static_cast<std::size_t>(cur)] = true;
                cur = next;
            }
            ip = next_ip;
            sp = next_sp;
            slot = next_slot;
            signal = next_signal;
            regs = next_regs;
        }
        return stop(out, OrcStop::Failed, "more than 128 frames");
    }

private:
    int area_of(addr_t a, std::size_t len) const {
        for (std::size_t i = 0; i < stacks_.size(); ++i)
            if (stacks_[i].contains(a, len)) return static_cast<int>(i);
        return -1;
    }
    std::optional<addr_t> word(addr_t a) {
        if (area_of(a, 8) < 0) return std::nullopt;
        return k_.mem().read_u64(a);
    }
    std::optional<addr_t> reg(const RegsSource& r, unsigned which) {
        if (r.cpu) {
            switch (which) {
            case ORC_REG_R10: return r.cpu->r10;
            case ORC_REG_R13: return r.cpu->r13;
            case ORC_REG_DI: return r.cpu->di;
            case ORC_REG_DX: return r.cpu->dx;
            default: return std::nullopt;
            }
        }
        if (!r.pt_regs) return std::nullopt;
        switch (which) {
        case ORC_REG_R10: return word(r.pt_regs + kRegsR10);
        case ORC_REG_R13: return word(r.pt_regs + kRegsR13);
        case ORC_REG_DI: return word(r.pt_regs + kRegsDi);
        case ORC_REG_DX: return word(r.pt_regs + kRegsDx);
        default: return std::nullopt;
        }
    }
    static OrcUnwind stop(OrcUnwind& out, OrcStop why, std::string text) {
        out.stop = why;
        out.why = std::move(text);
        return std::move(out);
    }
    OrcUnwind fail(OrcUnwind& out, std::string text, addr_t ip, addr_t sp, addr_t slot, bool signal) {
        out.frames.push_back({ip, slot, sp, signal, ""});
        return stop(out, OrcStop::Failed, std::move(text));
    }

    Kernel& k_;
    const std::vector<StackArea>& stacks_;
    std::vector<bool> left_;
};

}  // namespace

bool orc_available(Kernel& k) { return k.get<OrcLayout>().available; }

OrcUnwind orc_unwind_task(Kernel& k, const Task& t) {
    OrcUnwind out;
    if (!orc_available(k)) {
        out.why = "the kernel has no ORC tables";
        return out;
    }
    if (t.stack == 0) {
        out.why = "the task has no stack";
        return out;
    }
    std::vector<StackArea> stacks{{t.stack, t.stack + k.target().thread_size(), "task"}};
    // __unwind_start() for a task that is not running: the frame
    // __switch_to_asm() pushed (struct inactive_task_frame: r15 r14 r13 r12
    // bx bp ret_addr).
    addr_t sp = t.sp;
    if (!stacks[0].contains(sp, 7 * 8)) {
        out.why = fmt::format("thread.sp {:016x} is not on the task's stack", sp);
        return out;
    }
    auto bp = k.mem().read_u64(sp + 5 * 8), ip = k.mem().read_u64(sp + 6 * 8);
    if (!bp || !ip) {
        out.why = fmt::format("the switch frame at {:016x} is unreadable", sp);
        return out;
    }
    return Unwinder(k, stacks).run(*ip, sp + 7 * 8, *bp, false, sp + 6 * 8, {});
}

OrcUnwind orc_unwind_regs(Kernel& k, const CpuRegisters& regs, const std::vector<StackArea>& stacks) {
    OrcUnwind out;
    if (regs.cs & 3) {
        out.stop = OrcStop::UserMode;
        return out;
    }
    if (!orc_available(k)) {
        out.frames.push_back({regs.ip, 0, regs.sp, true, ""});
        out.why = "the kernel has no ORC tables";
        return out;
    }
    RegsSource src;
    src.cpu = &regs;
    return Unwinder(k, stacks).run(regs.ip, regs.sp, regs.bp, true, 0, src);
}

std::optional<std::vector<StackFrame>> orc_call_chain(Kernel& k, const Task& t) {
    OrcUnwind u = orc_unwind_task(k, t);
    if (u.stop == OrcStop::Failed) return std::nullopt;
    std::vector<StackFrame> chain;
    for (const OrcFrame& f : u.frames) chain.push_back({f.slot, f.pc});
    return chain;
}

}  // namespace netdbg
