// `uninterruptible --graph`: the DOT wait-for graph, checked edge by edge
// against the chain and the deadlock built into the fake kernel.
#include <gtest/gtest.h>

#include <regex>
#include <set>

#include "core/error.h"
#include "fake_kernel.h"
#include "core/json.h"
#include "commands/waitfor_graph.h"

using namespace netdbg;
using namespace netdbg::test;

namespace {

struct Edge {
    std::string from, to, label;
    bool red;
    bool operator<(const Edge& o) const { return std::tie(from, to, label) < std::tie(o.from, o.to, o.label); }
};

std::string tid(addr_t a) { return "task_" + hex(a).substr(2); }
std::string mid(addr_t a) { return "mutex_" + hex(a).substr(2); }

std::vector<Edge> edges_of(const std::string& dot) {
    std::vector<Edge> out;
    std::regex re(R"re(^  (\w+) -> (\w+) \[label="([^"]*)"([^\]]*)\];$)re");
    std::istringstream in(dot);
    for (std::string line; std::getline(in, line);) {
        std::smatch m;
        if (std::regex_match(line, m, re))
            out.push_back({m[1], m[2], m[3], m[4].str().find("color=red") != std::string::npos});
    }
    return out;
}

// The attribute list of node `id`, or "" when the graph has no such node.
std::string node_of(const std::string& dot, const std::string& id) {
    std::istringstream in(dot);
    for (std::string line; std::getline(in, line);)
        if (line.rfind("  " + id + " [", 0) == 0) return line;
    return "";
}

bool has_edge(const std::vector<Edge>& es, const std::string& from, const std::string& to, const std::string& label,
              bool red) {
    for (const Edge& e : es)
        if (e.from == from && e.to == to && e.label == label) return e.red == red;
    return false;
}

using Scenario = SchedScenario;

}  // namespace

TEST(WaitForGraph, ChainAndDeadlockEdges) {
    // chain: a -> m1 -> b -> m2 -> c (c sleeps interruptibly)
    // cycle: x -> d2 -> y -> d1 -> x, and z -> d1 feeding into it
    Scenario s;
    addr_t m1 = s.fk.new_mutex("chain_m1"), m2 = s.fk.new_mutex("chain_m2");
    addr_t d1 = s.fk.new_mutex("dl_m1"), d2 = s.fk.new_mutex("dl_m2");
    addr_t c = s.task(30, 100, TASK_INTERRUPTIBLE);
    addr_t b = s.task(20, 200);
    addr_t a = s.task(10, 300);
    addr_t x = s.task(40, 100), y = s.task(41, 200), z = s.task(42, 300);
    addr_t lone = s.task(50, 400);  // D state, no mutex: not drawn
    s.fk.put_frames(lone, 0, {"__schedule", "schedule", "io_schedule", "folio_wait_bit_common"});
    s.fk.set_owner(m1, b);
    s.fk.set_owner(m2, c);
    s.fk.block_on_mutex(a, m1, "a_func");
    s.fk.block_on_mutex(b, m2, "b_func");
    s.fk.set_owner(d1, x);
    s.fk.set_owner(d2, y);
    s.fk.block_on_mutex(x, d2, "x_func");
    s.fk.block_on_mutex(y, d1, "y_func");
    s.fk.block_on_mutex(z, d1, "z_func");
    int rc = -1;
    std::string dot = s.fk.run("uninterruptible", {"--graph"}, &rc);
    EXPECT_EQ(rc, 1);
    ASSERT_EQ(dot.rfind("digraph waitfor {\n", 0), 0u) << dot;
    EXPECT_EQ(dot.substr(dot.size() - 2), "}\n");
    // D: a, b, x, y, z and lone; c sleeps interruptibly; plus one idle task per CPU.
    EXPECT_NE(dot.find("6 of 9 tasks in D state, 6 shown; 1 deadlock;"), std::string::npos) << dot;

    auto es = edges_of(dot);
    std::set<Edge> unique(es.begin(), es.end());
    EXPECT_EQ(unique.size(), es.size()) << "duplicate edge\n" << dot;
    EXPECT_EQ(es.size(), 4u + 5u) << dot;  // chain: 2 waits + 2 held; deadlock part: 3 waits + 2 held
    // The chain, not red.
    EXPECT_TRUE(has_edge(es, tid(a), mid(m1), "waits for", false)) << dot;
    EXPECT_TRUE(has_edge(es, mid(m1), tid(b), "held by", false)) << dot;
    EXPECT_TRUE(has_edge(es, tid(b), mid(m2), "waits for", false)) << dot;
    EXPECT_TRUE(has_edge(es, mid(m2), tid(c), "held by", false)) << dot;
    // The cycle, red; z's edge into it is not.
    EXPECT_TRUE(has_edge(es, tid(x), mid(d2), "waits for", true)) << dot;
    EXPECT_TRUE(has_edge(es, mid(d2), tid(y), "held by", true)) << dot;
    EXPECT_TRUE(has_edge(es, tid(y), mid(d1), "waits for", true)) << dot;
    EXPECT_TRUE(has_edge(es, mid(d1), tid(x), "held by", true)) << dot;
    EXPECT_TRUE(has_edge(es, tid(z), mid(d1), "waits for", false)) << dot;

    // Nodes: labels name the task and the lock; cycle members red; the
    // owner that is not blocked shows what it does; the lone D task is absent.
    EXPECT_NE(node_of(dot, mid(m1)).find("label=\"mutex chain_m1\\n" + hex(m1).substr(2) + "\""), std::string::npos)
        << dot;
    EXPECT_NE(node_of(dot, tid(a)).find("label=\"t10\\npid 10  " + hex(a).substr(2) + "\\nUN a_func for 700.000s\""),
              std::string::npos)
        << dot;
    EXPECT_NE(node_of(dot, tid(c)).find("\\nIN\""), std::string::npos) << node_of(dot, tid(c));
    EXPECT_NE(node_of(dot, tid(x)).find("color=red"), std::string::npos);
    EXPECT_NE(node_of(dot, mid(d1)).find("color=red"), std::string::npos);
    EXPECT_EQ(node_of(dot, tid(z)).find("color=red"), std::string::npos);
    EXPECT_EQ(node_of(dot, tid(a)).find("color=red"), std::string::npos);
    EXPECT_EQ(node_of(dot, tid(lone)), "");
}

TEST(WaitForGraph, FiltersKeepTheChainsOfShownTasks) {
    // Only a is blocked >= 600 s, but the graph follows its chain to c.
    Scenario s;
    addr_t m1 = s.fk.new_mutex("chain_m1"), m2 = s.fk.new_mutex("chain_m2");
    addr_t c = s.task(30, 100, TASK_INTERRUPTIBLE);
    addr_t b = s.task(20, 900);
    addr_t a = s.task(10, 300);
    addr_t other = s.task(11, 950);
    s.fk.set_owner(m1, b);
    s.fk.set_owner(m2, c);
    s.fk.block_on_mutex(a, m1, "a_func");
    s.fk.block_on_mutex(other, m1, "o_func");
    s.fk.block_on_mutex(b, m2, "b_func");
    int rc = -1;
    std::string dot = s.fk.run("uninterruptible", {"--graph", "--for", "600s"}, &rc);
    EXPECT_EQ(rc, 0);
    auto es = edges_of(dot);
    EXPECT_EQ(es.size(), 4u) << dot;
    EXPECT_TRUE(has_edge(es, mid(m2), tid(c), "held by", false)) << dot;
    EXPECT_EQ(node_of(dot, tid(other)), "") << dot;
    for (const Edge& e : es) EXPECT_FALSE(e.red);
}

TEST(WaitForGraph, OwnerOutsideTheTaskList) {
    Scenario s;
    addr_t m = s.fk.new_mutex("orphan_m");
    addr_t a = s.task(10, 300);
    addr_t ghost = 0xffff888012345600ULL;
    s.fk.set_owner(m, ghost);
    s.fk.block_on_mutex(a, m);
    std::string dot = s.fk.run("uninterruptible", {"--graph"});
    EXPECT_TRUE(has_edge(edges_of(dot), mid(m), tid(ghost), "held by", false)) << dot;
    EXPECT_NE(node_of(dot, tid(ghost)).find("(not in task list)"), std::string::npos) << dot;
}

TEST(WaitForGraph, EmptyGraphAndExclusiveOptions) {
    Scenario s;
    s.task(10, 300, TASK_INTERRUPTIBLE);
    int rc = -1;
    std::string dot = s.fk.run("uninterruptible", {"--graph"}, &rc);
    EXPECT_EQ(rc, 0);
    EXPECT_TRUE(edges_of(dot).empty());
    EXPECT_NE(dot.find("0 of 3 tasks in D state"), std::string::npos) << dot;
    EXPECT_THROW(s.fk.run("uninterruptible", {"--graph", "--json"}), Error);
    EXPECT_THROW(s.fk.run("uninterruptible", {"--graph", "--group"}), Error);
}

TEST(WaitForGraph, QuoteEscapesWhatDotWouldMisread) {
    EXPECT_EQ(dot_quote("a\"b\\c\nd"), R"("a\"b\\c\nd")");
    EXPECT_EQ(dot_quote(std::string("x\x01y", 3)), R"("x\\x01y")");
    WaitForGraph g;
    g.title = "t";
    g.nodes.push_back({"task_1", WaitForNode::Kind::Task, "comm \"q\"", true, false});
    std::string dot = render_waitfor_dot(g);
    EXPECT_NE(dot.find(R"(task_1 [label="comm \"q\"")"), std::string::npos) << dot;
}
