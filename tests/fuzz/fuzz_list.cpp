// libFuzzer target: list walkers on a fuzzed module image. Four instances
// with a list_head table of entries each (back-pointer to their instance)
// and an hlist hash; the input corrupts links, back-pointers, payloads and
// pages. walk_list, check_list in every shape, and the listcheck command
// (text and JSON) must end with findings or one netdbg::Error line.
#include <fmt/format.h>

#include "fuzz_image.h"
#include "core/kernel.h"
#include "kernel/lib/list.h"
#include "kernel/lib/list_check.h"
#include "fake_kernel.h"

using namespace netdbg;
using namespace netdbg::test;

namespace {

constexpr addr_t kInsts = 0xffffffffc0209000ULL;
constexpr addr_t kHash = 0xffffffffc020a000ULL;
constexpr std::size_t kInstSize = 56, kTable = 24, kEntSize = 72, kInstPtr = 16;

struct Scenario {
    FakeKernel fk;
    std::unique_ptr<fuzz::HostileImage> image;

    Scenario() {
        auto& t = fk.target;
        t.add_type("inst", kInstSize);
        t.add_member("inst", "table", kTable, 16);
        t.add_type("ent", kEntSize);
        t.add_member("ent", "link", 0, 16);
        t.add_member("ent", "inst", kInstPtr, 8);
        t.add_type("hnode", 24);
        t.add_member("hnode", "node", 0, 16);
        t.map(kInsts, 4 * kInstSize);
        t.add_symbol("insts", kInsts, std::string("struct inst [4]"), 4, "nd_fuzz");
        t.map(kHash, 8 * 8);
        t.add_symbol("hash", kHash, std::string("struct hlist_head [8]"), 8, "nd_fuzz");
        for (std::size_t i = 0; i < 4; ++i) {
            addr_t inst = kInsts + i * kInstSize;
            fk.img.list_init(inst + kTable);
            for (std::size_t j = 0; j < 6; ++j) {
                addr_t e = fk.img.alloc(kEntSize, 8);
                fk.img.u64(e + kInstPtr, inst);
                fk.img.list_add_tail(e, inst + kTable);
            }
        }
        for (std::size_t j = 0; j < 12; ++j) {  // hlist_add_head
            addr_t n = fk.img.alloc(24, 8);
            addr_t bucket = kHash + 8 * (j % 8);
            addr_t first = fk.img.u64(bucket);
            fk.img.link(n, first, bucket);
            if (first) fk.img.u64(first + 8, n);
            fk.img.u64(bucket, n);
        }
        image = std::make_unique<fuzz::HostileImage>(
            t, std::vector<fuzz::Region>{{kInsts, 4 * kInstSize}, {kHash, 64}, fuzz::heap_of(fk.img)});
    }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static Scenario s;
    static FakeTarget& t = s.fk.target;
    // check_list in one shape, from a list_head of an instance or an hlist
    // bucket.
    auto check = [](ListKind kind, addr_t head) -> fuzz::HostileImage::Action {
        return [=] {
            Kernel k(t);
            ListShape shape;
            shape.kind = kind;
            shape.entry_size = kEntSize;
            shape.max = 100;
            shape.poison_bytes = parse_poison_bytes("auto");
            shape.backptr = MemberInfo{kInstPtr, 8};
            shape.backptr_name = "inst";
            ListWalk w = check_list(k, shape, head, kInsts, [](const ListEntryView&) { return true; });
            for (const ListFinding& f : w.findings) {
                f.describe();
                list_finding_json(f);
            }
        };
    };
    static const std::vector<fuzz::HostileImage::Action> actions = {
        [] {
            Kernel k(t);
            walk_list(k, kInsts + kTable, 100, [](addr_t) { return true; });
        },
        check(ListKind::ListHead, kInsts + 2 * kInstSize + kTable),
        check(ListKind::HList, kHash + 8 * 3),
        check(ListKind::Bsd, kHash + 8 * 5),
        check(ListKind::Single, kHash + 8 * 6),
        fuzz::command(t, "listcheck",
                      {"insts.table", "--array", "4", "-o", "ent.link", "--backptr", "inst", "--poison", "0xEC"}),
        fuzz::command(t, "listcheck", {"insts.table", "--array", "4", "-o", "ent.link", "--max", "50", "--json"}),
        fuzz::command(t, "listcheck", {"hash", "--hlist", "--array", "8", "-o", "hnode.node", "--json"}),
        fuzz::command(t, "listcheck", {fmt::format("{:#x}", kInsts + kTable), "--bsd", "--count"}),
        fuzz::command(t, "listcheck", {fmt::format("{:#x}", kHash), "--single", "--array", "8"}),
    };
    s.image->run(data, size, actions);
    return 0;
}
