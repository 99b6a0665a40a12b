#include "kernel/trace/trace_events.h"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <string_view>

#include <fmt/format.h>

#include "kernel/lib/list.h"

namespace netdbg {

TraceEventLayout::TraceEventLayout(Kernel& k) {
    Target& t = k.target();
    StructLayout c(t, "trace_event_call");
    list = c.require("list");
    klass = c.require("class");
    name = c.require("name");  // the union { name; tp; }
    print_fmt = c.require("print_fmt");
    flags = c.require("flags");
    data = c.find("data");
    MemberInfo ev = c.require("event");
    event_type = StructLayout(t, "trace_event").require("type");
    event_type.offset += ev.offset;
    StructLayout cl(t, "trace_event_class");
    c_system = cl.offset("system");
    c_get_fields = cl.offset("get_fields");
    c_fields = cl.offset("fields");
    StructLayout f(t, "ftrace_event_field");
    f_link = f.offset("link");
    f_name = f.offset("name");
    f_type = f.offset("type");
    f_offset = f.offset("offset");
    f_size = f.offset("size");
    f_is_signed = f.offset("is_signed");
    if (auto l = f.find("len")) f_len = l->offset;
    tp_name = StructLayout(t, "tracepoint").offset("name");
    auto fl = [&](const char* n, const char* bit) -> std::uint32_t {
        if (auto v = t.enum_value(n); v && *v > 0) return static_cast<std::uint32_t>(*v);
        if (auto b = t.enum_value(bit); b && *b >= 0 && *b < 32) return 1u << *b;
        return 0;
    };
    fl_tracepoint = fl("TRACE_EVENT_FL_TRACEPOINT", "TRACE_EVENT_FL_TRACEPOINT_BIT");
    fl_custom = fl("TRACE_EVENT_FL_CUSTOM", "TRACE_EVENT_FL_CUSTOM_BIT");
    ftrace_events = k.try_symbol("ftrace_events");
    common_fields = k.try_symbol("ftrace_common_fields");
    if (t.type_size("syscall_metadata")) {
        StructLayout sm(t, "syscall_metadata");
        if (auto e = sm.find("enter_fields")) sm_enter_fields = e->offset;
        if (auto x = sm.find("exit_fields")) sm_exit_fields = x->offset;
    }
}

// libtraceevent's event_read_fields() frees neither the type nor the name
// of a field whose line it fails to parse: a corrupted field is left out
// before it gets there.
bool well_formed(const EventField& f) {
    auto ident = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; };
    auto base_char = [&](char c) { return ident(c) || c == ' ' || c == '*'; };
    // An array length is any C expression (6.12: "u32[(0x00000200 / sizeof(u32))]").
    auto bracket_char = [](char c) { return c >= 0x20 && c < 0x7f && !std::strchr("[]\"'\\;", c); };
    if (f.name.empty() || !std::all_of(f.name.begin(), f.name.end(), ident)) return false;
    std::string_view type = f.type, brackets;
    if (auto br = type.find('['); br != std::string_view::npos) {
        brackets = type.substr(br);
        type = type.substr(0, br);
    }
    auto first = type.find_first_not_of(' ');
    if (first == std::string_view::npos || !ident(type[first]) || !std::all_of(type.begin(), type.end(), base_char))
        return false;
    if (brackets.empty()) return true;
    return brackets.size() >= 2 && brackets.back() == ']' &&
           std::all_of(brackets.begin() + 1, brackets.end() - 1, bracket_char);
}

namespace {

// The fields of a list of ftrace_event_field: trace_define_field() adds
// each at the head, f_show() prints from the tail: reversed, they are in
// declaration order.
std::vector<EventField> read_fields(Kernel& k, addr_t head, std::vector<std::string>& problems,
                                    const std::string& what) {
    const TraceEventLayout& L = k.get<TraceEventLayout>();
    Memory& mem = k.mem();
    std::vector<EventField> out;
    ListWalk w = walk_list(k, head, 1024, [&](addr_t node) {
        addr_t f = node - L.f_link;
        auto name = mem.read_u64(f + L.f_name);
        auto type = mem.read_u64(f + L.f_type);
        auto off = mem.read_u32(f + L.f_offset);
        auto size = mem.read_u32(f + L.f_size);
        auto sign = mem.read_u32(f + L.f_is_signed);
        if (!name || !type || !off || !size || !sign) return false;
        EventField e;
        e.name = mem.read_cstring(*name, 128).value_or("?");
        e.type = mem.read_cstring(*type, 128).value_or("?");
        e.offset = static_cast<std::int32_t>(*off);
        e.size = static_cast<std::int32_t>(*size);
        e.is_signed = *sign != 0;
        if (L.f_len) e.len = static_cast<std::int32_t>(mem.read_u32(f + *L.f_len).value_or(0));
        if (!well_formed(e)) {
            problems.push_back(fmt::format("{}: ftrace_event_field {:016x}: name or type unreadable or not C, field left out",
                                           what, f));
            return true;
        }
        out.push_back(std::move(e));
        return true;
    });
    for (const ListFinding& f : w.findings) problems.push_back(what + ": fields: " + f.describe());
    std::reverse(out.begin(), out.end());
    return out;
}

}  // namespace

EventFormats read_event_formats(Kernel& k, std::size_t max) {
    const TraceEventLayout& L = k.get<TraceEventLayout>();
    Memory& mem = k.mem();
    EventFormats out;
    if (!L.ftrace_events) throw Error("no ftrace_events: this kernel has no trace events");
    if (L.common_fields) out.common = read_fields(k, *L.common_fields, out.problems, "ftrace_common_fields");
    if (out.common.empty()) {
        // struct trace_entry, as trace_define_generic_fields() declares it.
        StructLayout te(k.target(), "trace_entry");
        for (auto [member, type, name, sign] :
             {std::tuple{"type", "unsigned short", "common_type", false},
              std::tuple{"flags", "unsigned char", "common_flags", false},
              std::tuple{"preempt_count", "unsigned char", "common_preempt_count", false},
              std::tuple{"pid", "int", "common_pid", true}}) {
            MemberInfo m = te.require(member);
            out.common.push_back({type, name, static_cast<int>(m.offset), static_cast<int>(m.size), sign, 0});
        }
    }
    ListWalk w = walk_list(k, *L.ftrace_events, max, [&](addr_t node) {
        k.check_interrupt();
        addr_t call = node - L.list.offset;
        auto o = Object::read(mem, call, L.flags.offset + L.flags.size);
        if (!o) {
            out.problems.push_back(fmt::format("trace_event_call {:016x} is unreadable", call));
            return false;
        }
        EventFormat e;
        e.call = call;
        e.id = static_cast<std::int32_t>(o->uint(L.event_type.offset, L.event_type.size));
        auto flags = static_cast<std::uint32_t>(o->uint(L.flags.offset, L.flags.size));
        addr_t name = o->u64(L.name.offset);
        // trace_event_name()
        if (!(flags & L.fl_custom) && (flags & L.fl_tracepoint))
            name = name ? mem.read_u64(name + L.tp_name).value_or(0) : 0;
        e.name = name ? mem.read_cstring(name, 128).value_or("") : "";
        addr_t klass = o->u64(L.klass.offset);
        if (auto sys = klass ? mem.read_u64(klass + L.c_system) : std::nullopt; sys && *sys)
            e.system = mem.read_cstring(*sys, 128).value_or("");
        if (addr_t pf = o->u64(L.print_fmt.offset)) e.print_fmt = mem.read_cstring(pf, 8192).value_or("");
        if (e.name.empty() || e.system.empty()) {
            out.problems.push_back(fmt::format("trace_event_call {:016x} (id {}): name or system unreadable", call, e.id));
            return true;
        }
        // trace_get_fields()
        std::string what = e.system + ":" + e.name;
        addr_t get_fields = klass ? mem.read_u64(klass + L.c_get_fields).value_or(0) : 0;
        if (!get_fields) {
            e.fields = read_fields(k, klass + L.c_fields, out.problems, what);
        } else {
            std::string fn = k.function_name(get_fields);
            addr_t data = L.data ? o->u64(L.data->offset) : 0;
            if (fn == "syscall_get_enter_fields" && L.sm_enter_fields && data)
                e.fields = read_fields(k, data + *L.sm_enter_fields, out.problems, what);
            else if (fn == "syscall_get_exit_fields" && L.sm_exit_fields && data)
                e.fields = read_fields(k, data + *L.sm_exit_fields, out.problems, what);
            else
                e.fields_known = false;
        }
        out.by_id.emplace(e.id, out.events.size());
        out.events.push_back(std::move(e));
        return true;
    });
    for (const ListFinding& f : w.findings) out.problems.push_back("ftrace_events: " + f.describe());
    return out;
}

namespace {

void field_line(std::string& s, const EventField& f) {
    auto br = f.type.find('[');
    if (br == std::string::npos || f.type.starts_with("__data_loc"))
        s += fmt::format("\tfield:{} {};", f.type, f.name);
    else if (f.len)
        s += fmt::format("\tfield:{} {}[{}];", f.type.substr(0, br), f.name, f.len);
    else
        s += fmt::format("\tfield:{} {}{};", f.type.substr(0, br), f.name, f.type.substr(br));
    s += fmt::format("\toffset:{};\tsize:{};\tsigned:{};\n", f.offset, f.size, f.is_signed ? 1 : 0);
}

}  // namespace

std::string format_text(const EventFormats& f, const EventFormat& e) {
    std::string s = fmt::format("name: {}\nID: {}\nformat:\n", e.name, e.id);
    for (const EventField& c : f.common) field_line(s, c);
    s += "\n";
    for (const EventField& c : e.fields) field_line(s, c);
    s += fmt::format("\nprint fmt: {}\n", e.print_fmt);
    return s;
}

std::string header_page_text(std::size_t page_size) {
    return fmt::format(
        "\tfield: u64 timestamp;\toffset:0;\tsize:8;\tsigned:0;\n"
        "\tfield: local_t commit;\toffset:8;\tsize:8;\tsigned:1;\n"
        "\tfield: int overwrite;\toffset:8;\tsize:1;\tsigned:1;\n"
        "\tfield: char data;\toffset:16;\tsize:{};\tsigned:1;\n",
        page_size - 16);
}

std::string header_event_text() {
    return "# compressed entry header\n"
           "\ttype_len    :    5 bits\n"
           "\ttime_delta  :   27 bits\n"
           "\tarray       :   32 bits\n"
           "\n"
           "\tpadding     : type == 29\n"
           "\ttime_extend : type == 30\n"
           "\ttime_stamp : type == 31\n"
           "\tdata max type_len  == 28\n";
}

}  // namespace netdbg
