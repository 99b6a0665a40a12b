#include "kernel/sched/stack.h"

#include <cstring>

#include "kernel/sched/orc.h"

namespace netdbg {

KernelText::KernelText(Kernel& k) {
    auto sym = [&](const char* n) { return k.try_symbol(n).value_or(0); };
    stext = sym("_stext");
    etext = sym("_etext");
    sched_start = sym("__sched_text_start");
    sched_end = sym("__sched_text_end");
    lock_start = sym("__lock_text_start");
    lock_end = sym("__lock_text_end");
}

StackWords read_stack(Kernel& k, const Task& t) {
    StackWords s;
    std::size_t size = k.target().thread_size();
    addr_t top = t.stack + size;
    if (t.stack == 0 || t.sp < t.stack || t.sp >= top) return s;
    s.base = t.sp & ~addr_t{7};
    s.words.resize((top - s.base) / 8);
    s.readable = k.mem().read(s.base, s.words.data(), s.words.size() * 8);
    if (!s.readable) s.words.clear();
    return s;
}

namespace {

// x86-64: is the instruction ending at pc a call? Direct `call rel32`
// (e8), or an indirect `call *` (ff /2) in its register, memory and
// displacement forms.
bool follows_call(Kernel& k, addr_t pc) {
    std::uint8_t b[7];
    if (!k.mem().read(pc - 7, b, sizeof b)) return false;
    if (b[2] == 0xe8) return true;                                  // e8 rel32
    if (b[5] == 0xff && (b[6] & 0x38) == 0x10) return true;         // ff /2, modrm only
    if (b[4] == 0xff && (b[5] & 0x38) == 0x10) return true;         // ff /2 + disp8 or sib
    if (b[3] == 0xff && (b[4] & 0x38) == 0x10) return true;         // ff /2 + sib + disp8
    if (b[1] == 0xff && (b[2] & 0x38) == 0x10) return true;         // ff /2 + disp32
    if (b[0] == 0xff && (b[1] & 0x38) == 0x10) return true;         // ff /2 + sib + disp32
    return false;
}

bool is_text(Kernel& k, const KernelText& text, addr_t pc) {
    if (pc >= text.stext && pc < text.etext) return true;
    // Module text: the symbol lookup knows the module.
    if (pc < 0xffff800000000000ULL) return false;
    auto s = k.target().symbolize(pc);
    return s && !s->module.empty() && s->offset < 0x100000;
}

}  // namespace

std::vector<StackFrame> scan_call_chain(Kernel& k, const Task& t, const StackWords& stack) {
    const KernelText& text = k.get<KernelText>();
    std::vector<StackFrame> out;
    for (std::size_t i = 0; i < stack.words.size(); ++i) {
        addr_t w = stack.words[i];
        if (!is_text(k, text, w) || !follows_call(k, w)) continue;
        out.push_back({stack.base + 8 * i, w});
    }
    return out;
}

std::vector<StackFrame> scan_call_chain(Kernel& k, const Task& t) {
    return scan_call_chain(k, t, read_stack(k, t));
}

std::string wait_function(Kernel& k, const std::vector<StackFrame>& chain) {
    const KernelText& text = k.get<KernelText>();
    for (const StackFrame& f : chain) {
        if (text.in_sched_functions(f.pc)) continue;
        return k.function_name(f.pc);
    }
    return "";
}

const char* chain_source_name(ChainSource s) {
    switch (s) {
    case ChainSource::Orc: return "orc";
    case ChainSource::Debugger: return "unwinder";
    case ChainSource::Scan: return "stack scan";
    }
    return "?";
}

namespace {

// The debugger's unwinder gives return addresses only: find the stack slot
// of each, in order up the stack, so that the wait readers can look at a
// frame's words (a slot stays 0 where the address is not found).
void find_slots(const StackWords& stack, std::vector<StackFrame>& frames) {
    std::size_t from = 0;
    for (StackFrame& f : frames) {
        for (std::size_t i = from; i < stack.words.size(); ++i) {
            if (stack.words[i] != f.pc) continue;
            f.slot = stack.base + 8 * i;
            from = i + 1;
            break;
        }
    }
}

std::optional<CallChain> unwound_chain(Kernel& k, const Task& t, const StackWords* stack) {
    CallChain c;
    if (!t.on_cpu) {
        if (auto frames = orc_call_chain(k, t)) {
            c.source = ChainSource::Orc;
            c.frames = std::move(*frames);
            return c;
        }
    }
    if (auto pcs = k.target().call_chain(t.addr)) {
        c.source = ChainSource::Debugger;
        for (addr_t pc : *pcs) c.frames.push_back({0, pc});
        if (!t.on_cpu) {
            if (stack) find_slots(*stack, c.frames);
            else find_slots(read_stack(k, t), c.frames);
        }
        return c;
    }
    return std::nullopt;
}

}  // namespace

CallChain call_chain(Kernel& k, const Task& t) {
    if (auto c = unwound_chain(k, t, nullptr)) return std::move(*c);
    CallChain c;
    c.frames = scan_call_chain(k, t);
    return c;
}

CallChain call_chain(Kernel& k, const Task& t, const StackWords& stack) {
    if (auto c = unwound_chain(k, t, &stack)) return std::move(*c);
    CallChain c;
    c.frames = scan_call_chain(k, t, stack);
    return c;
}

}  // namespace netdbg
