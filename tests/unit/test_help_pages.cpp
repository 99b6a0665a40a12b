// Every command's help page comes from docs/commands/<name>.md.
#include <gtest/gtest.h>

#include <algorithm>

#include "core/command.h"

namespace netdbg {
namespace {

TEST(HelpPages, EveryCommandHasItsPage) {
    for (const auto& c : commands()) {
        SCOPED_TRACE(c.name);
        EXPECT_FALSE(c.summary.empty());
        EXPECT_NE(std::find(c.description.begin(), c.description.end(), "EXAMPLES"), c.description.end());
        EXPECT_GT(c.description.size(), 4u);
    }
}

TEST(HelpPages, ACommandWithoutAPageGetsAnEmptyOne) {
    Command c = make_command("no-such-command", [](Kernel&, const std::vector<std::string>&, Output&) { return 0; });
    EXPECT_EQ(c.name, "no-such-command");
    EXPECT_TRUE(c.summary.empty());
    EXPECT_TRUE(c.description.empty());
}

}  // namespace
}  // namespace netdbg
