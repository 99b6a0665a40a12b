// Hooks the integration tests switch on through the environment; off (and
// free) in normal use. Shared by the crash and gdb targets.
#pragma once

namespace netdbg {

// NETDBG_TEST_READ_DELAY_US: microseconds every target read sleeps, so the
// Ctrl-C tests can interrupt a walk that is really running on a small dump
// (tests/integration/test_interrupt.py). 0 when unset.
unsigned test_read_delay_us();

// Sleeps test_read_delay_us(), if any.
void test_read_delay();

}  // namespace netdbg
