#include <gtest/gtest.h>

#include <string>

#include "dfaas/clients/result.h"

using dfaas::Error;
using dfaas::Result;

namespace {

Result<int> half(int value) {
    if (value % 2 != 0) return dfaas::fail(std::to_string(value) + " is odd");
    return value / 2;
}

}  // namespace

TEST(Result, CarriesValueOrError) {
    auto good = half(8);
    ASSERT_TRUE(good);
    EXPECT_EQ(*good, 4);
    auto bad = half(3);
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error(), "3 is odd");
}

TEST(Result, WithContextPrefixesOnlyErrors) {
    EXPECT_EQ(half(3).with_context("halving").error(), "halving: 3 is odd");
    EXPECT_EQ(*half(6).with_context("halving"), 3);
}

TEST(Result, StringValueAndErrorAreDistinct) {
    Result<std::string> value = std::string("text");
    Result<std::string> error = Error{"text"};
    EXPECT_TRUE(value.ok());
    EXPECT_FALSE(error.ok());
}

TEST(ResultDeathTest, ReadingTheValueOfAnErrorAborts) {
    EXPECT_DEATH((void)half(3).value(), "3 is odd");
}
