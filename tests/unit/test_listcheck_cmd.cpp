// The listcheck command on a synthetic module: 4 instances with a table
// each (symbol.member + --array + --backptr), an hlist hash, and the
// argument errors.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include "core/command.h"
#include "core/error.h"
#include "fake_kernel.h"
#include "core/json.h"

using namespace netdbg;
using netdbg::test::FakeKernel;
using nlohmann::ordered_json;

namespace {

// struct inst { int id; char name[20]; struct list_head table; unsigned nr; }   56 bytes
// struct ent  { struct list_head link; struct inst *inst; u32 key; u8 payload[40]; }  72 bytes
constexpr addr_t kInsts = 0xffffffffc0209000ULL;
constexpr addr_t kHash = 0xffffffffc020a000ULL;
constexpr addr_t kClean = 0xffffffffc020b000ULL;
constexpr std::size_t kInstSize = 56, kTable = 24, kEntSize = 72, kInstPtr = 16, kPayload = 28;

struct Module {
    FakeKernel fk;
    std::vector<std::vector<addr_t>> tables;
    std::vector<addr_t> hnodes;

    explicit Module(std::size_t per_table = 250) {
        auto& t = fk.target;
        t.add_type("inst", kInstSize);
        t.add_member("inst", "id", 0, 4);
        t.add_member("inst", "name", 4, 20);
        t.add_member("inst", "table", kTable, 16);
        t.add_member("inst", "nr", 40, 4);
        t.add_type("ent", kEntSize);
        t.add_member("ent", "link", 0, 16);
        t.add_member("ent", "inst", kInstPtr, 8);
        t.add_member("ent", "key", 24, 4);
        t.add_member("ent", "payload", kPayload, 40);
        t.add_type("hlist_head", 8);
        t.add_type("hlist_node", 16);
        t.add_type("hnode", 24);
        t.add_member("hnode", "node", 0, 16);
        t.add_member("hnode", "key", 16, 4);
        t.map(kInsts, 4 * kInstSize);
        t.add_symbol("insts", kInsts, std::string("struct inst [4]"), 4, "nd_test");
        t.map(kHash, 8 * 8);
        t.add_symbol("hash", kHash, std::string("struct hlist_head [8]"), 8, "nd_test");
        t.map(kClean, 16);
        t.add_symbol("clean", kClean, std::string("struct list_head"), std::nullopt, "nd_test");
        fk.img.list_init(kClean);
        for (std::size_t i = 0; i < 4; ++i) {
            addr_t inst = kInsts + i * kInstSize;
            fk.img.u64(inst, 100 + i);
            addr_t head = inst + kTable;
            fk.img.list_init(head);
            tables.emplace_back();
            for (std::size_t j = 0; j < per_table; ++j) {
                addr_t e = fk.img.alloc(kEntSize, 8);
                fk.img.u64(e + kInstPtr, inst);
                fk.img.list_add_tail(e, head);
                tables.back().push_back(e);
            }
        }
        // hash[b]: nodes pushed at the head, as hlist_add_head does
        for (std::size_t j = 0; j < 12; ++j) {
            addr_t n = fk.img.alloc(24, 8);
            addr_t bucket = kHash + 8 * (j % 8);
            addr_t first = fk.img.u64(bucket);
            fk.img.link(n, first, bucket);
            if (first) fk.img.u64(first + 8, n);
            fk.img.u64(bucket, n);
            hnodes.push_back(n);
        }
    }
    addr_t inst(std::size_t i) const { return kInsts + i * kInstSize; }

    // The three faults of the issue's summary example.
    void inject() {
        fk.img.u64(tables[1][7] + kInstPtr, inst(2));  // wrong back-pointer
        for (std::size_t b = kInstPtr; b < kEntSize; ++b)  // 0xEC from inst to the end
            fk.target.poke_as<std::uint8_t>(tables[2][100] + b, 0xec);
        fk.img.u64(tables[3][249], tables[3][200]);  // last->next = entry 200: a loop
    }
};

std::string first_line(const std::string& s) { return s.substr(0, s.find('\n')); }

}  // namespace

TEST(ListcheckCommand, SummaryInTheIssuesStyle) {
    Module m;
    m.inject();
    int rc = -1;
    std::string out = m.fk.run("listcheck", {"insts.table", "--array", "4", "-o", "ent.link", "--backptr", "inst",
                                             "--poison", "0xEC", "--count"},
                               &rc);
    EXPECT_EQ(first_line(out), "1000 entries in 4 lists, 3 findings: 1 wrong back-pointer, 1 poisoned entry, 1 loop")
        << out;
    EXPECT_EQ(rc, 1);
    // --count: no per-entry lines.
    EXPECT_EQ(out.find("  <- "), std::string::npos);
    EXPECT_NE(out.find("insts[1].table"), std::string::npos) << out;
}

TEST(ListcheckCommand, JsonFindingsCarryIndexAddressExpectedActual) {
    Module m;
    m.inject();
    int rc = -1;
    ordered_json j = m.fk.run_json("listcheck", {"insts.table", "--array", "4", "-o", "ent.link", "--backptr", "inst",
                                                 "--poison", "0xEC"},
                                   &rc);
    EXPECT_EQ(rc, 1);
    EXPECT_EQ(j["entry_count"], 1000);
    EXPECT_EQ(j["list_count"], 4);
    EXPECT_EQ(j["finding_count"], 3);
    EXPECT_EQ(j["counts"]["wrong_backptr"], 1);
    EXPECT_EQ(j["poison"]["list_poison1"], "0xdead000000000100");
    EXPECT_EQ(j["poison"]["delta_source"], "__list_del_entry_valid");
    ASSERT_EQ(j["findings"].size(), 3u);
    const auto& wb = j["findings"][0];
    EXPECT_EQ(wb["kind"], "wrong_backptr");
    EXPECT_EQ(wb["list"], 1);
    EXPECT_EQ(wb["label"], "insts[1].table");
    EXPECT_EQ(wb["index"], 7);
    EXPECT_EQ(wb["entry"], hex(m.tables[1][7]));
    EXPECT_EQ(wb["expected"], hex(m.inst(1)));
    EXPECT_EQ(wb["actual"], hex(m.inst(2)));
    EXPECT_EQ(wb["member"], "inst");
    const auto& po = j["findings"][1];
    EXPECT_EQ(po["kind"], "poisoned");
    EXPECT_EQ(po["index"], 100);
    EXPECT_EQ(po["entry"], hex(m.tables[2][100]));
    EXPECT_EQ(po["offset"], kInstPtr);
    EXPECT_EQ(po["length"], kEntSize - kInstPtr);
    EXPECT_EQ(po["byte"], "0xec");
    const auto& lo = j["findings"][2];
    EXPECT_EQ(lo["kind"], "loop");
    EXPECT_EQ(lo["index"], 249);
    EXPECT_EQ(lo["entry"], hex(m.tables[3][249]));
    EXPECT_EQ(lo["cycle_entry"], hex(m.tables[3][200]));
    EXPECT_EQ(lo["cycle_entry_index"], 200);
    EXPECT_EQ(lo["cycle_length"], 50);
    EXPECT_EQ(lo["distinct_entries"], 250);
    EXPECT_EQ(lo["expected"], hex(m.inst(3) + kTable));
    ASSERT_EQ(j["lists"].size(), 4u);
    EXPECT_EQ(j["lists"][3]["entries"], 250);
    EXPECT_EQ(j["lists"][3]["complete"], false);
    EXPECT_EQ(j["lists"][0]["owner"], hex(m.inst(0)));
    EXPECT_EQ(j["lists"][0]["entry_addresses"].size(), 250u);
    EXPECT_EQ(j["lists"][0]["entry_addresses"][0], hex(m.tables[0][0]));
}

TEST(ListcheckCommand, CleanListExitsZeroAndListsEntries) {
    Module m(3);
    int rc = -1;
    std::string out = m.fk.run("listcheck", {"insts.table", "-o", "ent.link", "--backptr", "inst"}, &rc);
    EXPECT_EQ(rc, 0);
    EXPECT_EQ(first_line(out), "3 entries in 1 list, no findings");
    for (addr_t e : m.tables[0]) EXPECT_NE(out.find(fmt::format("{:016x}", e)), std::string::npos) << out;
    // An empty list.
    EXPECT_EQ(first_line(m.fk.run("listcheck", {"clean"}, &rc)), "0 entries in 1 list, no findings");
    EXPECT_EQ(rc, 0);
}

TEST(ListcheckCommand, ExplicitBackptrValueAndAddressHead) {
    Module m(5);
    int rc = -1;
    // Every entry of table 0 points to inst(0), not to inst(1).
    ordered_json j = m.fk.run_json(
        "listcheck", {fmt::format("{:#x}", m.inst(0) + kTable), "-s", "ent", "--backptr", fmt::format("inst={:#x}", m.inst(1))},
        &rc);
    EXPECT_EQ(rc, 1);
    EXPECT_EQ(j["counts"]["wrong_backptr"], 5);
    EXPECT_EQ(j["findings"][4]["expected"], hex(m.inst(1)));
    EXPECT_EQ(j["lists"][0]["label"], fmt::format("{:016x}", m.inst(0) + kTable));
}

TEST(ListcheckCommand, HlistHashTable) {
    Module m(1);
    int rc = -1;
    ordered_json j = m.fk.run_json("listcheck", {"hash", "--hlist", "--array", "8", "-o", "hnode.node"}, &rc);
    EXPECT_EQ(rc, 0) << j.dump(1);
    EXPECT_EQ(j["entry_count"], 12);
    EXPECT_EQ(j["stride"], 8);
    EXPECT_EQ(j["lists"][0]["entries"], 2);
    EXPECT_EQ(j["lists"][7]["label"], "hash[7]");
    // Break bucket 3's second node's pprev.
    addr_t second = m.fk.img.u64(m.fk.img.u64(kHash + 3 * 8));
    m.fk.img.u64(second + 8, kHash);
    j = m.fk.run_json("listcheck", {"hash", "--hlist", "--array", "8", "-o", "hnode.node"}, &rc);
    EXPECT_EQ(rc, 1);
    ASSERT_EQ(j["findings"].size(), 1u);
    EXPECT_EQ(j["findings"][0]["kind"], "bad_prev");
    EXPECT_EQ(j["findings"][0]["list"], 3);
    EXPECT_EQ(j["findings"][0]["index"], 1);
    EXPECT_EQ(j["summary"], "12 entries in 8 lists, 1 finding: 1 bad prev pointer");
}

TEST(ListcheckCommand, MaxBoundsEachList) {
    Module m(20);
    int rc = -1;
    std::string out = m.fk.run("listcheck", {"insts.table", "--array", "2", "--max", "5", "--count"}, &rc);
    EXPECT_EQ(first_line(out), "10 entries in 2 lists, 2 findings: 2 truncated lists");
    EXPECT_EQ(rc, 1);
}

TEST(ListcheckCommand, ArgumentErrorsAreOneClearLine) {
    Module m(2);
    auto err = [&](std::vector<std::string> args) {
        try {
            m.fk.run("listcheck", args);
        } catch (const Error& e) {
            return std::string(e.what());
        }
        return std::string("(no error)");
    };
    EXPECT_NE(err({"nosuch"}).find("no such symbol"), std::string::npos);
    EXPECT_NE(err({"hash"}).find("use --hlist"), std::string::npos);
    EXPECT_NE(err({"clean", "--hlist"}).find("drop --hlist"), std::string::npos);
    EXPECT_NE(err({"insts"}).find("give symbol.member"), std::string::npos);
    EXPECT_NE(err({"insts.tabel"}).find("struct inst has no member 'tabel'"), std::string::npos);
    EXPECT_NE(err({"insts.table", "-o", "ent.inst"}).find("is 8 bytes, not a list_head node"), std::string::npos);
    EXPECT_NE(err({"insts.table", "--array", "5"}).find("has 4 elements"), std::string::npos);
    EXPECT_NE(err({"insts.table", "--backptr", "inst"}).find("needs the entry struct"), std::string::npos);
    EXPECT_NE(err({"insts.table", "-s", "ent", "--backptr", "nope"}).find("no member 'nope'"), std::string::npos);
    EXPECT_NE(err({"insts.table", "--hlist", "--bsd"}).find("exclude each other"), std::string::npos);
    EXPECT_NE(err({"insts.table", "--max", "ten"}).find("not a number"), std::string::npos);
    EXPECT_NE(err({"insts.table", "--poison", "0xECC"}).find("not a byte"), std::string::npos);
    EXPECT_NE(err({}).find("usage"), std::string::npos);
    // An unreadable address is a finding, not an error.
    int rc = -1;
    std::string out = m.fk.run("listcheck", {"0xffff8880dead0000"}, &rc);
    EXPECT_EQ(first_line(out), "0 entries in 1 list, 1 finding: 1 unreadable pointer");
    EXPECT_EQ(rc, 1);
}

TEST(ListcheckCommand, HelpPageSections) {
    const Command* c = find_command("listcheck");
    ASSERT_NE(c, nullptr);
    EXPECT_NE(c->synopsis.find("--backptr"), std::string::npos);
    bool examples = false;
    for (const auto& l : c->description) examples |= l == "EXAMPLES";
    EXPECT_TRUE(examples);
}

TEST(ListcheckCommand, MaxFindingsKeepsTheCountsExact) {
    Module m(10);
    for (addr_t e : m.tables[0]) m.fk.img.u64(e + kInstPtr, 0x1234);
    int rc = -1;
    ordered_json j = m.fk.run_json("listcheck", {"insts.table", "-o", "ent.link", "--backptr", "inst",
                                                 "--max-findings", "3"},
                                   &rc);
    EXPECT_EQ(rc, 1);
    EXPECT_EQ(j["summary"], "10 entries in 1 list, 10 findings: 10 wrong back-pointers");
    EXPECT_EQ(j["findings"].size(), 3u);
    EXPECT_EQ(j["findings_not_shown"], 7);
    EXPECT_EQ(j["finding_count"], 10);
    // In a loop the walk sees entries twice; each is still counted once.
    m.fk.img.u64(m.tables[0][9], m.tables[0][2]);
    j = m.fk.run_json("listcheck", {"insts.table", "-o", "ent.link", "--backptr", "inst", "--max-findings", "2"});
    EXPECT_EQ(j["summary"], "10 entries in 1 list, 11 findings: 10 wrong back-pointers, 1 loop");
    std::string text = m.fk.run("listcheck", {"insts.table", "-o", "ent.link", "--backptr", "inst",
                                              "--max-findings", "2", "--count"});
    EXPECT_NE(text.find("... 8 more not shown (--max-findings 2 per list)"), std::string::npos) << text;
}
