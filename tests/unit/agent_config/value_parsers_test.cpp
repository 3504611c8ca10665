// The loader's value parsers (internal header): durations, numbers, ranges, enums, templates.
#include <gtest/gtest.h>

#include "value_parsers.h"

using namespace std::chrono_literals;
namespace detail = dfaas::config_detail;

TEST(ValueParsers, DurationUnitsAndPlainSeconds) {
    struct Case {
        const char *text;
        dfaas::Duration expected;
    };
    for (Case c : {Case{"10s", 10s}, Case{"500ms", 500ms}, Case{"1m", 1min}, Case{"2h", 2h},
                   Case{"1m30s", 90s}, Case{"1h0m5s", 3605s}, Case{"10", 10s}, Case{"2.5", 2500ms},
                   Case{"1.5s", 1500ms}, Case{"0.25m", 15s}, Case{" 3s ", 3s}, Case{"-3s", -3s}}) {
        auto parsed = detail::parse_duration(c.text);
        ASSERT_TRUE(parsed) << c.text << ": " << parsed.error();
        EXPECT_EQ(*parsed, c.expected) << c.text;
    }
}

TEST(ValueParsers, DurationRejects) {
    for (const char *bad : {"", "s", "10x", "10 s", "1d", "1..5s", "ms10", "10s5"}) {
        auto parsed = detail::parse_duration(bad);
        ASSERT_FALSE(parsed) << "\"" << bad << "\"";
        EXPECT_NE(parsed.error().find("is not a duration"), std::string::npos) << parsed.error();
    }
    EXPECT_EQ(detail::parse_duration("5us").error(),
              "is finer than a millisecond (the smallest unit is 1ms)");
    EXPECT_EQ(detail::parse_duration("0.5ms").error(),
              "is finer than a millisecond (the smallest unit is 1ms)");
    EXPECT_EQ(detail::parse_positive_duration("-3s").error(), "is not a positive duration");
    EXPECT_EQ(detail::parse_positive_duration("0").error(), "is not a positive duration");
    EXPECT_EQ(detail::parse_positive_duration("500ms", 1s).error(),
              "is shorter than the minimum 1s");
}

TEST(ValueParsers, Unsigned) {
    EXPECT_EQ(*detail::parse_unsigned("42", 0, 100), 42u);
    EXPECT_EQ(detail::parse_unsigned("101", 0, 100).error(), "is out of range 0..100");
    for (const char *bad : {"", "-1", "+1", "1.0", "1e2", " 1", "99999999999999999999999"})
        EXPECT_FALSE(detail::parse_unsigned(bad, 0, 100)) << bad;
}

TEST(ValueParsers, PositiveNumbers) {
    EXPECT_DOUBLE_EQ(*detail::parse_positive_number("5.5e9"), 5.5e9);
    EXPECT_DOUBLE_EQ(*detail::parse_positive_number("120"), 120);
    for (const char *bad : {"0", "-1", "inf", "nan", "1e999", "12%", ""})
        EXPECT_FALSE(detail::parse_positive_number(bad)) << bad;
}

TEST(ValueParsers, Booleans) {
    for (const char *yes : {"true", "True", "TRUE", "yes", "on", "1"})
        EXPECT_TRUE(*detail::parse_bool(yes)) << yes;
    for (const char *no : {"false", "False", "no", "off", "0"})
        EXPECT_FALSE(*detail::parse_bool(no)) << no;
    for (const char *bad : {"", "2", "truee", "t", " true"})
        EXPECT_FALSE(detail::parse_bool(bad)) << bad;
}

TEST(ValueParsers, PortRange) {
    EXPECT_EQ(*detail::parse_port_range("31000-31999"), (dfaas::PortRange{31000, 31999}));
    EXPECT_EQ(*detail::parse_port_range("31000"), (dfaas::PortRange{31000, 31000}));
    EXPECT_EQ(*detail::parse_port_range("31000 - 31010"), (dfaas::PortRange{31000, 31010}));
    for (const char *bad : {"", "0-10", "1-70000", "a-b", "10-", "-10", "2-1"})
        EXPECT_FALSE(detail::parse_port_range(bad)) << bad;
}

TEST(ValueParsers, EnumsAreCaseInsensitiveAndListAliases) {
    EXPECT_EQ(*detail::parse_enum("HEAVY", dfaas::node_type_names()), dfaas::NodeType::Heavy);
    EXPECT_EQ(*detail::parse_enum("2", dfaas::node_type_names()), dfaas::NodeType::Light);
    EXPECT_EQ(*detail::parse_enum("warning", dfaas::log_level_names()), dfaas::LogLevel::Warn);
    EXPECT_EQ(detail::parse_enum("3", dfaas::node_type_names()).error(),
              "is not one of heavy, mid, light (also accepted: 0, 1, 2)");
    EXPECT_EQ(detail::parse_enum("x", dfaas::reject_mode_names()).error(),
              "is not one of rst, drop");
}

TEST(ValueParsers, CanonicalNamesRoundTrip) {
    for (const auto &[name, value] : dfaas::strategy_kind_names())
        EXPECT_EQ(*detail::parse_enum(dfaas::to_string(value), dfaas::strategy_kind_names()),
                  value);
    EXPECT_EQ(dfaas::to_string(dfaas::StrategyKind::NodeMargin), "nodemargin");
    EXPECT_EQ(dfaas::to_string(dfaas::NodeType::Mid), "mid");
}

TEST(ValueParsers, QueryTemplatesMustBalance) {
    EXPECT_TRUE(detail::parse_query_template(
        "100 * sum(rate(node_cpu_seconds_total{mode!=\"idle\"}[$window]))"));
    EXPECT_TRUE(detail::parse_query_template("count(up{job=~\"a(b\"})"));  // brackets in strings
    EXPECT_EQ(detail::parse_query_template("sum(x").error(), "has an unclosed '('");
    EXPECT_EQ(detail::parse_query_template("x[5m)").error(), "has an unbalanced ')'");
    EXPECT_EQ(detail::parse_query_template("x{a=\"b}").error(),
              "has an unterminated string literal");
    EXPECT_EQ(detail::parse_query_template("  ").error(), "is not a PromQL expression (empty)");
}

TEST(ValueParsers, SplitList) {
    EXPECT_EQ(detail::split_list(" a, b ,c"), (std::vector<std::string>{"a", "b", "c"}));
    EXPECT_TRUE(detail::split_list("  ").empty());
    EXPECT_EQ(detail::split_list("a,"), (std::vector<std::string>{"a", ""}));
}

TEST(ValueParsers, Strings) {
    EXPECT_EQ(*detail::parse_absolute_path("/sys/fs/bpf/dfaas/"), "/sys/fs/bpf/dfaas");
    EXPECT_FALSE(detail::parse_absolute_path("sys/fs"));
    EXPECT_TRUE(detail::parse_interface_name("veth-n1"));
    EXPECT_FALSE(detail::parse_interface_name("sixteen-chars-xx"));
    EXPECT_FALSE(detail::parse_interface_name("a/b"));
    EXPECT_TRUE(detail::parse_username(""));
    EXPECT_FALSE(detail::parse_username("a b"));
}
