// Aligned text columns in the style of crash's built-in commands.
#pragma once

#include <string>
#include <vector>

#include "core/command.h"

namespace netdbg {

class Table {
public:
    // A header starting with '>' is right-aligned (the '>' is not printed).
    explicit Table(std::vector<std::string> headers, std::string indent = "");
    void row(std::vector<std::string> cells);
    bool empty() const { return rows_.empty(); }
    void render(Output& out) const;

private:
    std::vector<std::string> headers_;
    std::vector<bool> right_;
    std::string indent_;
    std::vector<std::vector<std::string>> rows_;
};

}  // namespace netdbg
