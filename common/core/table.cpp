#include "core/table.h"

#include <algorithm>

namespace netdbg {

Table::Table(std::vector<std::string> headers, std::string indent) : indent_(std::move(indent)) {
    for (auto& h : headers) {
        bool right = !h.empty() && h[0] == '>';
        right_.push_back(right);
        headers_.push_back(right ? h.substr(1) : h);
    }
}

void Table::row(std::vector<std::string> cells) {
    cells.resize(headers_.size());
    rows_.push_back(std::move(cells));
}

void Table::render(Output& out) const {
    std::vector<std::size_t> width(headers_.size());
    for (std::size_t c = 0; c < headers_.size(); ++c) {
        width[c] = headers_[c].size();
        for (const auto& r : rows_) width[c] = std::max(width[c], r[c].size());
    }
    auto line = [&](const std::vector<std::string>& cells) {
        std::string s = indent_;
        for (std::size_t c = 0; c < cells.size(); ++c) {
            bool last = c + 1 == cells.size();
            std::string pad(width[c] - cells[c].size(), ' ');
            if (right_[c]) s += pad + cells[c];
            else s += last ? cells[c] : cells[c] + pad;
            if (!last) s += "  ";
        }
        while (!s.empty() && s.back() == ' ') s.pop_back();
        s += '\n';
        out.write(s);
    };
    line(headers_);
    for (const auto& r : rows_) line(r);
}

}  // namespace netdbg
