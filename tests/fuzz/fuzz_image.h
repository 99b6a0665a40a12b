// Hostile memory for the libFuzzer targets: a prepared scenario image
// (FakeTarget) whose bytes the fuzz input patches before each run and which
// is restored afterwards, so every input meets a mostly well-formed kernel
// with a few corrupted fields, pointers and unreadable pages: the shape of
// a real broken dump.
//
// The input's first byte picks the action to run (a walker or one command
// line of the target, modulo their number): one action per execution keeps
// an execution cheap, and libFuzzer learns which action a corruption reaches.
// The rest is a list of patches, each `op offset16 ...`, the offset taken
// modulo the bytes of the fuzzed regions:
//   op % 5 == 0  raw bytes: a length byte (1..16) then the bytes
//   op % 5 == 1  a pointer into the image: offset16 of the target
//   op % 5 == 2  a hostile word (NULL, LIST_POISON1/2, -1, 0x6b.., unmapped,
//                the word's own address, non-canonical)
//   op % 5 == 3  the page holding offset becomes unreadable
//   op % 5 == 4  Ctrl-C after (next byte) polls of interrupted()
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "fake_target.h"

namespace netdbg {
class Kernel;
}

namespace netdbg::fuzz {

struct Region {
    addr_t addr;
    std::size_t len;
};

class HostileImage {
public:
    // Snapshots the mapped pages under regions; only those are patched.
    HostileImage(test::FakeTarget& t, std::vector<Region> regions);

    using Action = std::function<void()>;

    // Patches the image with the input, runs the action its first byte
    // picks, restores the image. netdbg::Error thrown by the action is the
    // expected end of a command on bad memory; anything else escapes and
    // libFuzzer reports it.
    void run(const std::uint8_t* data, std::size_t size, const std::vector<Action>& actions);

private:
    addr_t at(std::size_t offset) const;  // byte offset in the regions -> address
    void write(addr_t a, const void* p, std::size_t n);
    void restore();

    test::FakeTarget& t_;
    std::vector<Region> regions_;
    std::size_t total_ = 0;
    std::map<addr_t, std::vector<std::uint8_t>> saved_;  // page -> bytes
    std::set<addr_t> dirty_;
};

// Everything the image builder allocated: the objects a scenario built.
Region heap_of(const test::ImageBuilder& img);

// An action that runs one command line (see run_command).
HostileImage::Action command(test::FakeTarget& t, std::string name, std::vector<std::string> args);

// Runs a command on a fresh Kernel (an empty page cache) and returns its
// output; netdbg::Error ends it with its one line, as the front ends print.
std::string run_command(test::FakeTarget& t, const std::string& name, const std::vector<std::string>& args);

}  // namespace netdbg::fuzz
