#include "core/test_hooks.h"

#include <unistd.h>

#include <cstdlib>

namespace netdbg {

unsigned test_read_delay_us() {
    static const unsigned delay = [] {
        const char* v = std::getenv("NETDBG_TEST_READ_DELAY_US");
        return v ? static_cast<unsigned>(std::strtoul(v, nullptr, 10)) : 0u;
    }();
    return delay;
}

void test_read_delay() {
    if (unsigned us = test_read_delay_us()) usleep(us);
}

}  // namespace netdbg
