// Command-line options for every command, on cxxopts, with its errors
// turned into one netdbg::Error line.
#pragma once

#include <string>
#include <vector>

#include <cxxopts.hpp>

namespace netdbg {

class Options {
public:
    explicit Options(const std::string& command);
    cxxopts::OptionAdder add() { return opts_.add_options(); }
    // Parses args (without the command name); positional words are
    // returned by positional().
    void parse(const std::vector<std::string>& args);
    bool has(const std::string& name) const { return result_.count(name) > 0; }
    std::string str(const std::string& name) const { return result_[name].as<std::string>(); }
    // Every value of an option given several times (-e A -e B).
    std::vector<std::string> strs(const std::string& name) const { return result_[name].as<std::vector<std::string>>(); }
    const std::vector<std::string>& positional() const { return positional_; }

private:
    std::string command_;
    cxxopts::Options opts_;
    cxxopts::ParseResult result_;
    std::vector<std::string> positional_;
};

}  // namespace netdbg
