// failure_of: the one line each kind of exception becomes in both front ends.
#include <gtest/gtest.h>

#include <new>
#include <stdexcept>

#include "core/error.h"
#include "core/failure.h"

namespace netdbg {
namespace {

TEST(FailureOf, ReturnsNothingWhenTheCommandReturns) {
    int ran = 0;
    EXPECT_FALSE(failure_of([&] { ++ran; }).has_value());
    EXPECT_EQ(ran, 1);
}

TEST(FailureOf, InterruptedIsMarked) {
    auto f = failure_of([] { throw Interrupted(); });
    ASSERT_TRUE(f);
    EXPECT_EQ(f->message, "interrupted");
    EXPECT_TRUE(f->interrupted);
}

TEST(FailureOf, ErrorsKeepTheirLine) {
    auto f = failure_of([] { throw LayoutError("layout: struct module has no member 'mem'"); });
    ASSERT_TRUE(f);
    EXPECT_EQ(f->message, "layout: struct module has no member 'mem'");
    EXPECT_FALSE(f->interrupted);
}

TEST(FailureOf, OtherExceptionsAreInternalErrors) {
    EXPECT_EQ(failure_of([] { throw std::bad_alloc(); })->message, "out of memory");
    EXPECT_EQ(failure_of([] { throw std::out_of_range("vector"); })->message, "internal error: vector");
    EXPECT_EQ(failure_of([] { throw 42; })->message, "internal error: unknown exception");
}

}  // namespace
}  // namespace netdbg
