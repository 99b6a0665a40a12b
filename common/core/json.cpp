#include "core/json.h"

#include <fmt/format.h>

namespace netdbg {

std::string hex(addr_t addr) { return fmt::format("{:#018x}", addr); }

void write_json(Output& out, const json& doc) {
    out.write(doc.dump(2, ' ', false, json::error_handler_t::replace));
    out.write("\n");
}

}  // namespace netdbg
