#include "dfaas/json_depth.h"

#include <gtest/gtest.h>

#include <string>

namespace {

std::string nested(size_t levels) {
    return std::string(levels, '[') + std::string(levels, ']');
}

TEST(JsonDepth, LimitPassesLimitPlusOneDoesNot) {
    EXPECT_TRUE(dfaas::json_nesting_within(nested(8), 8));
    EXPECT_FALSE(dfaas::json_nesting_within(nested(9), 8));
    EXPECT_TRUE(dfaas::json_nesting_within(R"({"a":[1,{"b":[]}],"c":{}})", 4));
    EXPECT_FALSE(dfaas::json_nesting_within(R"({"a":[1,{"b":[]}],"c":{}})", 3));
}

TEST(JsonDepth, BracketsInsideStringsDoNotCount) {
    EXPECT_TRUE(dfaas::json_nesting_within(R"(["[[[[[[[[[", "\"[[[[[["])", 1));
    // An escaped quote does not end the string.
    EXPECT_TRUE(dfaas::json_nesting_within(R"(["\"{{{{"])", 1));
}

TEST(JsonDepth, UnbalancedClosersDoNotUnderflow) {
    EXPECT_FALSE(dfaas::json_nesting_within("]]]]" + nested(3), 2));
}

}  // namespace
