#include "core/options.h"

#include "core/error.h"

namespace netdbg {

Options::Options(const std::string& command) : command_(command), opts_(command) {
    opts_.add_options()("positional", "", cxxopts::value<std::vector<std::string>>());
    opts_.parse_positional({"positional"});
}

void Options::parse(const std::vector<std::string>& args) {
    std::vector<std::string> storage;
    storage.reserve(args.size() + 1);
    storage.push_back(command_);
    storage.insert(storage.end(), args.begin(), args.end());
    std::vector<const char*> argv;
    for (const auto& a : storage) argv.push_back(a.c_str());
    try {
        result_ = opts_.parse(static_cast<int>(argv.size()), argv.data());
        if (result_.count("positional")) positional_ = result_["positional"].as<std::vector<std::string>>();
    } catch (const cxxopts::exceptions::exception& e) {
        throw Error(command_ + ": " + e.what() + " (see: help " + command_ + ")");
    }
}

}  // namespace netdbg
