// kernel/trace/trace_events.c: the events the kernel knows (ftrace_events,
// struct trace_event_call), each with its id, system, name, fields and
// print format, and the text of its `format` file rebuilt from them
// (f_show()), which is what trace-cmd and libtraceevent parse.
#pragma once

#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/kernel.h"

namespace netdbg {

struct EventField {
    std::string type, name;
    int offset = 0, size = 0;
    bool is_signed = false;
    int len = 0;  // array length, when the kernel records it (ftrace_event_field.len)
};

struct EventFormat {
    addr_t call = 0;
    int id = 0;
    std::string system, name;
    std::vector<EventField> fields;  // the event's own, in declaration order
    std::string print_fmt;
    bool fields_known = true;  // false: the fields are behind a get_fields() netdbg does not know
};

struct EventFormats {
    std::vector<EventField> common;  // common_type, common_flags, ...
    std::vector<EventFormat> events;
    std::vector<std::string> problems;
    std::unordered_map<int, std::size_t> by_id;  // id -> index in events
    const EventFormat* find(int id) const {
        auto it = by_id.find(id);
        return it == by_id.end() ? nullptr : &events[it->second];
    }
};

struct TraceEventLayout {
    explicit TraceEventLayout(Kernel& k);
    // struct trace_event_call
    MemberInfo list, klass, name, event_type, print_fmt, flags;
    std::optional<MemberInfo> data;
    // struct trace_event_class
    std::size_t c_system = 0, c_get_fields = 0, c_fields = 0;
    // struct ftrace_event_field
    std::size_t f_link = 0, f_name = 0, f_type = 0, f_offset = 0, f_size = 0, f_is_signed = 0;
    std::optional<std::size_t> f_len;
    std::size_t tp_name = 0;  // struct tracepoint.name
    std::uint32_t fl_tracepoint = 0, fl_custom = 0;
    std::optional<addr_t> ftrace_events, common_fields;
    // struct syscall_metadata (syscall events keep their fields there)
    std::optional<std::size_t> sm_enter_fields, sm_exit_fields;
};

EventFormats read_event_formats(Kernel& k, std::size_t max = 100000);

// Whether libtraceevent reads the field back from its format line: a name
// that is one C identifier, a type of words and '*' (the first a word)
// with at most one "[...]" at its end. The kernel's own fields are; a
// corrupted name or type is not.
bool well_formed(const EventField& f);

// The `format` file of one event, as the kernel prints it.
std::string format_text(const EventFormats& f, const EventFormat& e);
// events/header_page and events/header_event (ring_buffer_print_page_header(),
// ring_buffer_print_entry_header()).
std::string header_page_text(std::size_t page_size);
std::string header_event_text();

}  // namespace netdbg
