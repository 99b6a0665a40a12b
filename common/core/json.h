// JSON output: nlohmann::json with the project's conventions (addresses as
// "0x%016x" strings, times in ns plus the dmesg-style text).
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "core/command.h"
#include "core/target.h"

namespace netdbg {

using json = nlohmann::ordered_json;

std::string hex(addr_t addr);  // "0xffff888004c8a000"
// Writes the document followed by a newline.
void write_json(Output& out, const json& doc);

}  // namespace netdbg
