#include <gtest/gtest.h>

#include <fstream>

#include "commands/commands.h"
#include "core/kernel.h"
#include "fake_trace.h"
#include "kernel/trace/event_print.h"
#include "kernel/trace/ring_buffer.h"
#include "kernel/trace/saved_cmdlines.h"
#include "kernel/trace/trace_array.h"
#include "kernel/trace/trace_events.h"

using namespace netdbg;
using namespace netdbg::test;

namespace {

std::vector<std::uint64_t> times(const CpuRing& r) {
    std::vector<std::uint64_t> v;
    for (const RingRecord& rec : r.records) v.push_back(rec.ts);
    return v;
}

std::uint32_t value_of(const CpuRing& r, const RingRecord& rec) {
    std::uint32_t v;
    std::memcpy(&v, r.payload(rec).data() + 8, 4);
    return v;
}

std::string run(FakeTarget& t, std::vector<std::string> args, int* status = nullptr) {
    Kernel k(t);
    StringOutput out;
    int rc = find_command("ftrace")->run(k, args, out);
    if (status) *status = rc;
    return out.str;
}

}  // namespace

TEST(RingBuffer, DecodesEveryRecordKind) {
    RingPage p;
    PageWriter w;
    w.event(0, tick_event(1, 1, 0));          // ts 1000
    w.event(5, tick_event(1, 2, 0), true);    // type_len 0: ts 1005
    w.time_extend(1ULL << 30);                // + 2^30
    w.event(7, tick_event(1, 3, 0));          // 1005 + 2^30 + 7
    w.padding(20);                            // discarded: no time
    w.time_stamp(5000000000ULL);              // absolute
    w.event(1, tick_event(1, 4, 0));          // 5000000001
    w.word(29);                               // null padding: the end
    w.event(1, tick_event(1, 5, 0));          // never read
    p.readable = true;
    p.time_stamp = 1000;
    p.bytes.assign(4096, 0);
    std::memcpy(p.bytes.data() + 16, w.bytes.data(), w.bytes.size());
    p.commit_bytes = static_cast<std::uint32_t>(w.bytes.size());
    CpuRing r;
    r.pages.push_back(p);
    decode_data_page(r.pages[0], 0, 0, r);
    ASSERT_EQ(r.records.size(), 4u);
    EXPECT_EQ(times(r), (std::vector<std::uint64_t>{1000, 1005, 1005 + (1ULL << 30) + 7, 5000000001ULL}));
    EXPECT_EQ(value_of(r, r.records[1]), 2u);
    EXPECT_EQ(r.records[1].size, 24u);
    EXPECT_EQ(r.paddings, 1u);
    EXPECT_EQ(r.time_extends, 1u);
    EXPECT_EQ(r.time_stamps, 1u);
    EXPECT_TRUE(r.problems.empty());
}

TEST(RingBuffer, RecordPastTheCommitIsAFindingAndTheRestOfThePageStays) {
    RingPage p;
    PageWriter w;
    w.event(0, tick_event(1, 1, 0));
    w.word(0);
    w.word(4000);  // type_len 0 claiming 4000 bytes
    p.readable = true;
    p.bytes.assign(4096, 0);
    std::memcpy(p.bytes.data() + 16, w.bytes.data(), w.bytes.size());
    p.commit_bytes = static_cast<std::uint32_t>(w.bytes.size());
    CpuRing r;
    r.pages.push_back(p);
    EXPECT_EQ(decode_data_page(r.pages[0], 0, 0, r), 28u);
    EXPECT_EQ(r.records.size(), 1u);
    ASSERT_EQ(r.problems.size(), 1u);
    EXPECT_NE(r.problems[0].find("past the page's commit"), std::string::npos) << r.problems[0];
}

// A wrapped ring: HEAD on page 2, the writer on page 1; pages 2, 3, 0, 1.
FakeTrace& wrapped(FakeTrace& f) {
    for (int i = 0; i < 4; ++i) {
        PageWriter w;
        int order = (i + 2) % 4;  // page 2 is the oldest
        for (int e = 0; e < 3; ++e) w.event(e ? 10 : 0, tick_event(100 + i, static_cast<std::uint32_t>(order * 3 + e), f.tick_fn));
        f.page(0, i, 1000000000ULL * (order + 1), w);
    }
    f.set_head(0, 2);
    f.set_commit(0, 1);
    f.set_counters(0, 12, 0);
    return f;
}

TEST(RingBuffer, ReadsFromTheHeadToTheCommitPage) {
    FakeTrace f(1);
    wrapped(f);
    Kernel k(f.t);
    auto rings = read_ring_buffers(k, f.trace_buffer);
    ASSERT_EQ(rings.size(), 1u);
    const CpuRing& r = rings[0];
    EXPECT_TRUE(r.problems.empty()) << r.problems[0];
    ASSERT_EQ(r.records.size(), 12u);
    for (std::size_t i = 0; i < 12; ++i) EXPECT_EQ(value_of(r, r.records[i]), i);
    auto ts = times(r);
    EXPECT_TRUE(std::is_sorted(ts.begin(), ts.end()));
    EXPECT_EQ(r.pages.size(), 5u);  // the (empty) reader page, then four
    EXPECT_TRUE(r.pages[0].reader);
    EXPECT_TRUE(r.pages[4].commit);
    EXPECT_EQ(r.unread_entries(), 12u);
}

TEST(RingBuffer, StaleHeadPageHintIsNotTrusted) {
    FakeTrace f(1);
    wrapped(f);
    f.img.write(f.cpu[0].cpu_buffer, "ring_buffer_per_cpu", "head_page", f.cpu[0].bpage[0]);
    Kernel k(f.t);
    auto r = read_ring_buffers(k, f.trace_buffer)[0];
    ASSERT_EQ(r.records.size(), 12u);
    EXPECT_EQ(value_of(r, r.records[0]), 0u);
}

TEST(RingBuffer, ReaderPageFirstFromItsReadOffset) {
    FakeTrace f(1);
    wrapped(f);
    PageWriter w;
    w.event(0, tick_event(7, 90, 0));
    w.event(1, tick_event(7, 91, 0));
    f.page(0, -1, 10, w);
    f.img.write(f.cpu[0].reader, "buffer_page", "read", 28);  // the first one was consumed
    Kernel k(f.t);
    auto r = read_ring_buffers(k, f.trace_buffer)[0];
    ASSERT_EQ(r.records.size(), 13u);
    EXPECT_EQ(value_of(r, r.records[0]), 91u);
    EXPECT_EQ(r.records[0].ts, 11u);
}

TEST(RingBuffer, LoopingPageListIsBoundedAndReported) {
    FakeTrace f(1);
    wrapped(f);
    // page 3 links back to page 2: the commit page (1) is never reached
    f.img.u64(f.cpu[0].bpage[3], f.cpu[0].bpage[2]);
    Kernel k(f.t);
    auto r = read_ring_buffers(k, f.trace_buffer)[0];
    ASSERT_FALSE(r.problems.empty());
    EXPECT_NE(r.problems.back().find("loops back"), std::string::npos) << r.problems.back();
    EXPECT_EQ(r.records.size(), 6u);  // pages 2 and 3 were read
}

TEST(RingBuffer, ExcludedPageIsAFindingAndTheOthersAreRead) {
    FakeTrace f(1);
    wrapped(f);
    f.t.unmap(f.cpu[0].data[3], 4096);
    Kernel k(f.t);
    auto r = read_ring_buffers(k, f.trace_buffer)[0];
    ASSERT_EQ(r.problems.size(), 1u);
    EXPECT_NE(r.problems[0].find("unreadable"), std::string::npos);
    EXPECT_EQ(r.records.size(), 9u);
}

TEST(TraceEvents, FormatTextIsTheKernels) {
    FakeTrace f(1);
    Kernel k(f.t);
    EventFormats ev = read_event_formats(k);
    ASSERT_EQ(ev.events.size(), 2u);
    const EventFormat* tick = ev.find(kTickId);
    ASSERT_NE(tick, nullptr);
    EXPECT_EQ(tick->system, "test");
    EXPECT_EQ(format_text(ev, *tick),
              "name: nd_tick\nID: 42\nformat:\n"
              "\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n"
              "\tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;\n"
              "\tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;\n"
              "\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;\n\n"
              "\tfield:unsigned int value;\toffset:8;\tsize:4;\tsigned:0;\n"
              "\tfield:unsigned long func;\toffset:16;\tsize:8;\tsigned:0;\n\n"
              "print fmt: \"value=%u func=%ps\", REC->value, (void *)REC->func\n");
    std::vector<std::string> problems;
    auto inst = trace_instances(k, problems);
    ASSERT_EQ(inst.size(), 1u);
    EXPECT_EQ(inst[0].clock, "global");
}

TEST(TraceEvents, FieldWithACorruptedNameOrTypeIsLeftOutAndReported) {
    FakeTrace f(1);
    // ftrace_common_fields runs last field first: common_pid, common_preempt_count, common_flags.
    addr_t link = f.img.offset("ftrace_event_field", "link");
    addr_t pid = f.img.u64(f.t.symbol_address("ftrace_common_fields").value()) - link;
    addr_t flags = f.img.u64(f.img.u64(pid + link) + 0) - link;
    f.img.str(f.img.u64(flags + f.img.offset("ftrace_event_field", "type")), "");
    f.img.str(f.img.u64(pid + f.img.offset("ftrace_event_field", "name")), "pid;\tsize:");
    Kernel k(f.t);
    EventFormats ev = read_event_formats(k);
    ASSERT_EQ(ev.common.size(), 2u);
    EXPECT_EQ(ev.common[0].name, "common_type");
    EXPECT_EQ(ev.common[1].name, "common_preempt_count");
    ASSERT_EQ(ev.problems.size(), 2u);
    EXPECT_NE(ev.problems[0].find("name or type unreadable"), std::string::npos) << ev.problems[0];
    // libtraceevent still parses the events from the fields left.
    EventPrinter p(ev, 1, 4096);
    EXPECT_TRUE(p.problems().empty());
    EXPECT_EQ(p.info(0, 1, tick_event(5, 77, 0)), "value=77 func=0x0");
}

TEST(TraceEvents, WellFormedFieldsAreTheOnesLibtraceeventReadsBack) {
    // Types as the kernel writes them (TRACE_EVENT's __field, __array, __dynamic_array), seen on our dumps.
    for (const char* type : {"unsigned long", "const char *", "void *", "struct sk_buff *", "u8[6]", "char[16]",
                             "__data_loc char[]", "u32[(0x00000200 / sizeof(u32))]", "__u8[16]"})
        EXPECT_TRUE(well_formed({type, "f", 0, 8, false, 0})) << type;
    // What corrupted strings give: nothing the kernel writes as a type.
    for (const char* type : {"", " ", "*", "unsigned` int", "int;", "char:", "u8[6", "u8[6]x", "u8[[6]]", "u8[\"6]", "int\n"})
        EXPECT_FALSE(well_formed({type, "f", 0, 8, false, 0})) << type;
    for (const char* name : {"", "a b", "x;", "x[1]", "\t"}) EXPECT_FALSE(well_formed({"int", name, 0, 4, false, 0})) << name;
}

TEST(EventPrint, LibtraceeventPrintsTheFields) {
    FakeTrace f(1);
    Kernel k(f.t);
    EventFormats ev = read_event_formats(k);
    EventPrinter p(ev, 1, 4096);
    EXPECT_TRUE(p.problems().empty());
    p.add_address(f.tick_fn + 0x10, {"nd_tick_fn", 0x10, ""});
    auto e = tick_event(5, 77, f.tick_fn + 0x10);
    EXPECT_EQ(p.info(0, 1, e), "value=77 func=nd_tick_fn");
    // A record shorter than its format reads zeros, not past the record.
    e.resize(12);
    EXPECT_EQ(p.info(0, 1, e), "value=77 func=0x0");
    EXPECT_EQ(latency_flags(0x01 | 0x10, 0x02), "d.s2.");
    EXPECT_EQ(latency_flags(0x04 | 0x20 | 0x08, 0x11), ".Nh11");
}

TEST(FtraceCommand, EventsStallsAndFindings) {
    FakeTrace f(2);
    wrapped(f);
    f.add_comm(100, "ticker");
    // CPU 1: a work starts and the CPU says nothing more; then an id with no format.
    PageWriter w;
    w.event(0, tick_event(200, 1, 0));
    w.event(10, work_start_event(200, 0xffff888000001000ULL, f.work_fn));
    w.event(10, {0x99, 0, 0, 0, 1, 0, 0, 0});
    f.page(1, 0, 500, w);
    f.set_commit(1, 0);
    f.set_counters(1, 3, 0);
    int status = -1;
    std::string out = run(f.t, {}, &status);
    EXPECT_EQ(status, 1);
    EXPECT_EQ(out.substr(0, out.find('\n')),
              "15 events in the top instance on 2 CPUs, trace clock global, 0.000001 to 4.000000; 1 work item never "
              "ended; 1 finding");
    EXPECT_NE(out.find("CPU1: 1 record of event id 153, which has no format"), std::string::npos) << out;
    EXPECT_NE(out.find("          ticker-100     [000] .....     3.000000: nd_tick: value=6 func=nd_tick_fn"),
              std::string::npos)
        << out;
    EXPECT_NE(out.find("workqueue_execute_start: work struct 0xffff888000001000: function nd_stall_fn"),
              std::string::npos)
        << out;
    std::string stalls = run(f.t, {"--stalls"});
    EXPECT_NE(stalls.find("CPU1: workqueue_execute_start nd_stall_fn in <...> (pid 200) at"), std::string::npos)
        << stalls;
    std::string last = run(f.t, {"-c", "0", "--last", "2"});
    // the verdict, the finding, the work never ended, a blank line, 2 events
    EXPECT_EQ(std::count(last.begin(), last.end(), '\n'), 6) << last;
    EXPECT_THROW(run(f.t, {"-B", "x"}), Error);
}

TEST(FtraceCommand, WritesATraceDat) {
    FakeTrace f(1);
    wrapped(f);
    std::string path = ::testing::TempDir() + "netdbg-test-trace.dat";
    std::string out = run(f.t, {"-o", path, "--stalls"});
    EXPECT_NE(out.find("wrote " + path), std::string::npos) << out;
    std::ifstream in(path, std::ios::binary);
    std::string head(12, '\0');
    in.read(head.data(), 12);
    EXPECT_EQ(head, std::string("\x17\x08\x44tracing6\0", 12));
    std::remove(path.c_str());
}
