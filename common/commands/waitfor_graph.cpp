#include "commands/waitfor_graph.h"

#include <fmt/format.h>

namespace netdbg {

std::string dot_quote(const std::string& text) {
    std::string out = "\"";
    for (char c : text) {
        if (c == '"' || c == '\\')
            out += {'\\', c};
        else if (c == '\n')
            out += "\\n";
        else if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
            out += fmt::format("\\\\x{:02x}", static_cast<unsigned char>(c));  // shown as \xNN
        else
            out += c;
    }
    return out + "\"";
}

namespace {

std::string node_attributes(const WaitForNode& n) {
    std::string a = "label=" + dot_quote(n.label);
    if (n.kind == WaitForNode::Kind::Lock)
        a += ", shape=" + n.shape + ", style=filled, fillcolor=lightyellow";
    else
        a += n.blocked ? ", shape=box, style=\"rounded,filled\", fillcolor=lightgrey" : ", shape=box, style=rounded";
    if (n.in_cycle) a += ", color=red, fontcolor=red, penwidth=2";
    return a;
}

}  // namespace

std::string render_waitfor_dot(const WaitForGraph& g) {
    std::string out = "digraph waitfor {\n";
    out += "  rankdir=LR;\n";
    out += "  labelloc=t;\n";
    out += "  label=" + dot_quote(g.title) + ";\n";
    out += "  node [fontname=\"monospace\", fontsize=10];\n";
    out += "  edge [fontname=\"monospace\", fontsize=9];\n";
    for (const WaitForNode& n : g.nodes) out += fmt::format("  {} [{}];\n", n.id, node_attributes(n));
    for (const WaitForEdge& e : g.edges) {
        bool waits = e.kind == WaitForEdge::Kind::WaitsFor;
        std::string a = "label=" + dot_quote(!e.label.empty() ? e.label : waits ? "waits for" : "held by");
        if (!waits) a += ", style=dashed";
        if (e.in_cycle) a += ", color=red, fontcolor=red, penwidth=2";
        out += fmt::format("  {} -> {} [{}];\n", e.from, e.to, a);
    }
    return out + "}\n";
}

}  // namespace netdbg
