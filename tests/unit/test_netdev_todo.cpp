// Device unregister waits through BlockerFinder: netdev_run_todo()'s local
// todo list on the waiting task's stack, the devices' usage counts (per-CPU
// or refcount), ref_tracker, net_todo_list, and the refusals.
#include <gtest/gtest.h>

#include <algorithm>

#include "core/kernel.h"
#include "fake_kernel.h"
#include "kernel/net/netdev_todo.h"
#include "kernel/sched/snapshot.h"
#include "kernel/sched/stack.h"
#include "kernel/waits/finder.h"

using namespace netdbg;
using namespace netdbg::test;

namespace {

constexpr std::size_t kTodo = 1216;          // net_device.todo_list
constexpr addr_t kNetTodoList = 0xffffffff83100000ULL;
constexpr addr_t kPcpuBase = 0x2e000ULL;     // per-CPU refcounts are allocated from here
constexpr std::size_t kListOffset = 0x80;    // netdev_run_todo()'s `list`, from sp

void add_netdev_layouts(FakeTarget& t) {
    t.add_struct("net_device", 2432,
                 {{"name", 0, 16},
                  {"dev_list", 64, 16},
                  {"ifindex", 216, 4},
                  {"todo_list", kTodo, 16},
                  {"pcpu_refcnt", 1232, 8},
                  {"refcnt_tracker", 1240, 0},
                  {"reg_state", 1256, 1}});
    t.add_enum("NETREG_UNINITIALIZED", 0);
    t.add_enum("NETREG_REGISTERED", 1);
    t.add_enum("NETREG_UNREGISTERING", 2);
    t.add_enum("NETREG_UNREGISTERED", 3);
    t.add_enum("NETREG_RELEASED", 4);
    t.add_enum("NETREG_DUMMY", 5);
}

struct NetdevScenario {
    FakeKernel fk{2};
    ImageBuilder& img = fk.img;
    FakeTarget& t = fk.target;
    addr_t task;
    addr_t pcpu_next = kPcpuBase;

    NetdevScenario() {
        add_netdev_layouts(t);
        t.map(kNetTodoList, 16);
        t.add_symbol("net_todo_list", kNetTodoList, std::string("struct list_head"));
        img.list_init(kNetTodoList);
        for (int c = 0; c < 2; ++c) t.map(kPerCpuBase + 0x100000ULL * c + kPcpuBase, 0x1000);
        task = fk.add_process({.pid = 80, .comm = "ip", .state = TASK_UNINTERRUPTIBLE, .cpu = 1});
    }

    // A device with per-CPU reference counts counts[cpu].
    addr_t device(const std::string& name, int ifindex, int reg_state, std::vector<std::int32_t> counts) {
        addr_t dev = img.alloc("net_device");
        img.write_str(dev, "net_device", "name", name);
        img.write(dev, "net_device", "ifindex", ifindex);
        img.write(dev, "net_device", "reg_state", reg_state);
        addr_t p = pcpu_next;
        pcpu_next += 8;
        for (std::size_t c = 0; c < counts.size(); ++c)
            t.poke_as<std::int32_t>(kPerCpuBase + 0x100000ULL * c + p, counts[c]);
        img.write(dev, "net_device", "pcpu_refcnt", p);
        return dev;
    }

    // netdev_run_todo() sleeping in msleep() inside netdev_wait_allrefs_any()
    // (when `any`), with the todo list head at sp + kListOffset.
    addr_t run_todo(const std::vector<addr_t>& devs, bool any = true) {
        addr_t sp = fk.sp_of(task);
        if (any) fk.put_frames(task, 0, {"__schedule", "schedule", "schedule_timeout", "msleep", "netdev_wait_allrefs_any"});
        else fk.put_frames(task, 0, {"__schedule", "schedule", "schedule_timeout", "msleep"});
        fk.put_frames(task, 0x60, {"netdev_run_todo"});
        addr_t head = sp + kListOffset;
        img.list_init(head);
        for (addr_t d : devs) img.list_add_tail(d + kTodo, head);
        fk.put_frames(task, 0xa0, {"rtnl_unlock", "nd_leak_exit", "do_syscall_64"});
        return head;
    }

    std::optional<Blocker> find() {
        Kernel k(t);
        Snapshot s(k);
        const Task* tk = s.task(task);
        if (!tk) return std::nullopt;
        StackWords stack = read_stack(k, *tk);
        CallChain chain = call_chain(k, *tk, stack);
        BlockerFinder f(s);
        return f.find(*tk, stack, chain);
    }
};

bool has_line(const std::vector<std::string>& lines, const std::string& part) {
    return std::any_of(lines.begin(), lines.end(), [&](const std::string& l) { return l.find(part) != std::string::npos; });
}

std::string joined(const std::vector<std::string>& lines) {
    std::string out;
    for (const auto& l : lines) out += l + "\n";
    return out;
}

}  // namespace

TEST(NetdevTodo, UsageCountPerCpuOrRefcount) {
    NetdevScenario s;
    addr_t dev = s.device("ndleak0", 5, 3, {2, 1});
    {
        Kernel k(s.t);
        EXPECT_EQ(netdev_usage_count(k, dev), 3);
    }
    s.t.add_member("net_device", "dev_refcnt", 1264, 4);
    s.img.write(dev, "net_device", "pcpu_refcnt", 0);
    s.t.poke_as<std::int32_t>(dev + 1264, 7);
    {
        Kernel k(s.t);
        EXPECT_EQ(netdev_usage_count(k, dev), 7);
    }
    s.t.remove_member("net_device", "dev_refcnt");
    {
        Kernel k(s.t);
        EXPECT_EQ(netdev_usage_count(k, dev), std::nullopt);
        EXPECT_EQ(netdev_reg_state_name(k, 3), "NETREG_UNREGISTERED");
        EXPECT_EQ(netdev_reg_state_name(k, 42), "reg_state 42");
    }
}

TEST(NetdevTodo, RunTodoWaitsForLeakedReferences) {
    NetdevScenario s;
    addr_t leak = s.device("ndleak0", 5, 3, {2, 1});
    addr_t eth1 = s.device("eth1", 6, 3, {0, 1});
    addr_t queued = s.device("ndq", 7, 2, {1, 0});
    s.img.list_add_tail(queued + kTodo, kNetTodoList);
    addr_t head = s.run_todo({leak, eth1});
    auto b = s.find();
    ASSERT_TRUE(b);
    EXPECT_EQ(b->kind, WaitKind::NetdevUnregister);
    EXPECT_EQ(b->object, leak);
    EXPECT_EQ(b->name, "ndleak0, eth1");
    EXPECT_EQ(b->label(), "device unregister ndleak0, eth1");
    EXPECT_TRUE(b->holders.empty());
    EXPECT_EQ(b->holder_note, "the kernel does not record who holds the references (no ref_tracker)");
    const auto& d = b->details;
    EXPECT_TRUE(has_line(d, "ndleak0: ifindex 5, NETREG_UNREGISTERED, usage count 3: 2 reference(s) leaked (expected 1)"))
        << joined(d);
    EXPECT_TRUE(has_line(d, "eth1: ifindex 6, NETREG_UNREGISTERED, usage count 1: every other reference released"))
        << joined(d);
    EXPECT_TRUE(has_line(d, "queued on net_todo_list for the next netdev_run_todo(): ndq: ifindex 7, "
                            "NETREG_UNREGISTERING, usage count 1"))
        << joined(d);
    EXPECT_TRUE(b->findings.empty()) << joined(b->findings);
    EXPECT_EQ(b->fields["list"], hex(head));
    ASSERT_EQ(b->fields["devices"].size(), 2u);
    EXPECT_EQ(b->fields["devices"][0]["name"], "ndleak0");
    EXPECT_EQ(b->fields["devices"][0]["usage_count"], 3);
    EXPECT_EQ(b->fields["devices"][0]["leaked"], 2);
    EXPECT_EQ(b->fields["devices"][0]["reg_state"], "NETREG_UNREGISTERED");
    EXPECT_EQ(b->fields["net_todo_list"][0]["name"], "ndq");
    EXPECT_EQ(b->fields["ref_tracker"], false);
}

TEST(NetdevTodo, WaitInlinedIntoRunTodo) {
    NetdevScenario s;
    addr_t leak = s.device("ndleak0", 5, 3, {2, 1});
    s.run_todo({leak}, false);
    auto b = s.find();
    ASSERT_TRUE(b);
    EXPECT_EQ(b->name, "ndleak0");
}

TEST(NetdevTodo, ListOfOtherThingsIsRefused) {
    NetdevScenario s;
    // Registered devices on a stack list: not a todo list being waited on.
    addr_t a = s.device("eth0", 2, 1, {1, 0});
    addr_t b2 = s.device("eth1", 3, 1, {1, 0});
    s.run_todo({a, b2});
    EXPECT_FALSE(s.find());
}

TEST(NetdevTodo, UnprintableNameIsRefused) {
    NetdevScenario s;
    addr_t a = s.device("bad\x01name", 2, 3, {1, 0});
    s.run_todo({a});
    EXPECT_FALSE(s.find());
}

TEST(NetdevTodo, LoopingTodoListIsBoundedWithAFinding) {
    NetdevScenario s;
    addr_t a = s.device("nda", 5, 3, {2, 0});
    addr_t b2 = s.device("ndb", 6, 3, {2, 0});
    addr_t c = s.device("ndc", 7, 3, {2, 0});
    addr_t head = s.run_todo({a, b2, c});
    // ndb -> nda: the forward walk loops; the head's prev side still holds.
    s.img.u64(b2 + kTodo, a + kTodo);
    auto b = s.find();
    ASSERT_TRUE(b);
    EXPECT_EQ(b->name, "nda, ndb");
    EXPECT_TRUE(has_line(b->findings, "todo list loop")) << joined(b->findings);
    EXPECT_EQ(b->fields["list"], hex(head));
}

TEST(NetdevTodo, BrokenHeadGivesNoBlocker) {
    NetdevScenario s;
    addr_t a = s.device("nda", 5, 3, {2, 0});
    addr_t head = s.run_todo({a});
    s.img.u64(a + kTodo + 8, 0x1234);  // a->prev no longer the head
    (void)head;
    EXPECT_FALSE(s.find());
}

TEST(NetdevTodo, GarbageLaterEntryIsAFinding) {
    NetdevScenario s;
    addr_t a = s.device("nda", 5, 3, {2, 0});
    addr_t junk = s.img.alloc("net_device");  // reg_state 0, no name
    s.run_todo({a, junk});
    auto b = s.find();
    ASSERT_TRUE(b);
    EXPECT_EQ(b->name, "nda");
    EXPECT_TRUE(has_line(b->findings, "todo list entry 1 at")) << joined(b->findings);
}

TEST(NetdevTodo, RefTrackerIsReported) {
    NetdevScenario s;
    s.t.remove_member("net_device", "refcnt_tracker");
    s.t.add_member("net_device", "refcnt_tracker", 1280, 64);
    s.t.add_struct("ref_tracker_dir", 64, {{"lock", 0, 4}, {"list", 8, 16}, {"quarantine", 24, 16}, {"name", 40, 24}});
    s.t.add_struct("ref_tracker", 32, {{"head", 0, 16}, {"dead", 16, 1}, {"alloc_stack_handle", 20, 4}});
    addr_t a = s.device("nda", 5, 3, {3, 0});
    addr_t list = a + 1280 + 8;
    s.img.list_init(list);
    for (std::uint32_t h : {0x1234u, 0x5678u}) {
        addr_t tr = s.img.alloc("ref_tracker");
        s.t.poke_as<std::uint32_t>(tr + 20, h);
        s.img.list_add_tail(tr, list);
    }
    s.run_todo({a});
    auto b = s.find();
    ASSERT_TRUE(b);
    EXPECT_EQ(b->holder_note, "dev->refcnt_tracker records 2 holder(s); their stacks are in the stack depot, not decoded here");
    EXPECT_TRUE(has_line(b->details, "nda: 2 reference(s) tracked in refcnt_tracker (allocation stack handles 0x1234 0x5678)"))
        << joined(b->details);
    EXPECT_EQ(b->fields["ref_tracker"], true);
    EXPECT_EQ(b->fields["devices"][0]["tracked"], 2);
}

TEST(NetdevTodo, OldWaitAllrefsFindsTheDeletedDevice) {
    NetdevScenario s;
    addr_t a = s.device("ndold", 5, 3, {2, 0});
    s.img.link(a + kTodo, 0xdead000000000100ULL, 0xdead000000000122ULL);  // list_del()ed
    addr_t sp = s.fk.sp_of(s.task);
    s.fk.put_frames(s.task, 0, {"__schedule", "schedule", "schedule_timeout", "msleep", "netdev_wait_allrefs"});
    s.img.u64(sp + 0x30, a);  // dev, spilled in netdev_wait_allrefs()'s frame
    s.fk.put_frames(s.task, 0x60, {"netdev_run_todo", "rtnl_unlock", "do_syscall_64"});
    auto b = s.find();
    ASSERT_TRUE(b);
    EXPECT_EQ(b->name, "ndold");
    EXPECT_TRUE(b->fields["list"].is_null());
    EXPECT_TRUE(has_line(b->details, "usage count 2: 1 reference(s) leaked (expected 1)")) << joined(b->details);
}

TEST(NetdevTodo, MissingLayoutMakesTheReaderInactive) {
    NetdevScenario s;
    addr_t a = s.device("nda", 5, 3, {2, 0});
    s.run_todo({a});
    s.t.remove_member("net_device", "todo_list");
    EXPECT_FALSE(s.find());
}

TEST(NetdevTodo, UnregisterCountsSayWhetherAnyDeviceCanBeWaitedFor) {
    NetdevScenario s;
    constexpr addr_t kInitNet = 0xffffffff83200000ULL, kNetList = 0xffffffff83201000ULL,
                     kPernet = 0xffffffff83202000ULL, kGlobal = 0xffffffff83203000ULL;
    s.t.add_struct("net", 0x200, {{"list", 0, 16}, {"dev_base_head", 16, 16}, {"dev_unreg_count", 0x40, 4}});
    s.t.add_struct("rw_semaphore", 40, {{"count", 0, 8}, {"owner", 8, 8}});
    s.t.map(kInitNet, 0x200);
    s.t.add_symbol("init_net", kInitNet, std::string("struct net"));
    s.t.map(kNetList, 16);
    s.t.add_symbol("net_namespace_list", kNetList, std::string("struct list_head"));
    s.img.list_init(kNetList);
    s.img.list_add_tail(kInitNet, kNetList);
    addr_t other = s.img.alloc("net");
    s.img.list_add_tail(other, kNetList);
    s.t.map(kPernet, 40);
    s.t.add_symbol("pernet_ops_rwsem", kPernet, std::string("struct rw_semaphore"));
    auto may = [&] {
        Kernel k(s.t);
        return devices_may_be_unregistering(k);
    };
    EXPECT_FALSE(may());  // every listed namespace counts 0, pernet_ops_rwsem is free
    s.img.write(other, "net", "dev_unreg_count", 1);
    EXPECT_TRUE(may());
    s.img.write(other, "net", "dev_unreg_count", 0);
    // A reader: cleanup_net() may be unregistering the devices of namespaces off the list.
    s.t.poke_as<std::uint64_t>(kPernet, 0x100);
    EXPECT_TRUE(may());
    s.t.poke_as<std::uint64_t>(kPernet, 0);
    // A looping namespace list proves nothing.
    s.t.poke_as<std::uint64_t>(other, other);  // other->list.next = itself
    EXPECT_TRUE(may());
    s.img.list_init(kNetList);
    s.img.list_add_tail(kInitNet, kNetList);
    EXPECT_FALSE(may());
    // 6.6+: the global count alone decides.
    s.t.map(kGlobal, 4);
    s.t.add_symbol("dev_unreg_count", kGlobal, std::string("atomic_t"));
    s.img.write(kInitNet, "net", "dev_unreg_count", 1);
    EXPECT_FALSE(may());
    s.t.poke_as<std::uint32_t>(kGlobal, 2);
    EXPECT_TRUE(may());
}
