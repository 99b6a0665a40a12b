// A wait-for graph as Graphviz DOT: tasks and the objects they wait on
// (locks, completions, grace periods, sockets, devices) as nodes, each kind
// of object in its own shape, "waits for" (task -> object) and "held by"
// (object -> holder) edges, cycles in red.
// Independent of how the graph was found (uninterruptible --graph).
#pragma once

#include <string>
#include <vector>

namespace netdbg {

struct WaitForNode {
    enum class Kind { Task, Lock };
    std::string id;     // unique DOT identifier: [A-Za-z0-9_]
    Kind kind = Kind::Task;
    std::string label;  // may hold '\n' between lines
    bool blocked = false;   // a task in D state (a lock: unused)
    bool in_cycle = false;
    std::string shape = "ellipse";  // a Lock node's DOT shape, by the kind of wait
};

struct WaitForEdge {
    enum class Kind { WaitsFor, HeldBy };
    std::string from, to;  // node ids
    Kind kind = Kind::WaitsFor;
    bool in_cycle = false;
    std::string label;  // "" = "waits for" / "held by"
};

struct WaitForGraph {
    std::string title;  // the graph's caption (one line)
    std::vector<WaitForNode> nodes;
    std::vector<WaitForEdge> edges;
};

// A DOT string literal: quotes and backslashes escaped, newlines as \n.
std::string dot_quote(const std::string& text);
std::string render_waitfor_dot(const WaitForGraph& g);

}  // namespace netdbg
