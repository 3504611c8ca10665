// Text values and the dump: what the loader accepts, --check-config's dump reproduces. Values that
// YAML cannot carry (bytes that are not UTF-8, control characters, noncharacters) are refused at
// load naming the key; tabs and line breaks are accepted in the PromQL templates and round-trip
// as escapes; no message prints a raw control byte.
#include <gtest/gtest.h>

#include <algorithm>

#include "dfaas/config/config_keys.h"
#include "test_support.h"
#include "value_parsers.h"

namespace detail = dfaas::config_detail;

namespace {

// A message must itself be valid text: no raw control byte, nothing that is not UTF-8.
bool has_raw_unsafe_byte(const std::string &text) {
    return detail::text_problem(text, false).has_value();
}

// Loads `value` into `path` from the environment; then either the load refused it naming the key
// and the variable, or the dump loads back (with no environment) to the same configuration.
// Returns whether it was accepted.
bool accepted_and_round_trips(const std::string &path, const std::string &value) {
    const std::string variable = dfaas::generic_env_name(path);
    auto result = load_yaml(kMinimalYaml, {{variable, value}});
    if (!result.ok()) {
        EXPECT_TRUE(has_error(result, path, {"env " + variable})) << all_errors(result);
        for (const auto &error : result.errors)
            EXPECT_FALSE(has_raw_unsafe_byte(error))
                << "a raw byte in: " << detail::printable(error);
        return false;
    }
    const std::string dump = dfaas::dump_effective(*result.config);
    auto again = load_yaml(dump);
    EXPECT_TRUE(again.ok()) << path << "=" << detail::printable(value) << all_errors(again) << "\n"
                            << dump;
    if (again.ok()) {
        EXPECT_EQ(*again.config, *result.config) << path << "=" << detail::printable(value) << "\n"
                                                 << dump;
    }
    return true;
}

}  // namespace

// Every string the config can hold either round-trips or is refused: yaml-cpp writes a string
// needing double quotes with bytes that are not UTF-8 (or noncharacters) as U+FFFD, so before the
// check "up\n\xff" was accepted and its dump loaded as another query.
TEST(TextValues, EveryStringEitherRoundTripsOrIsRefused) {
    const std::vector<std::string> values = {"up",
                                             "up\n",
                                             "sum(up)\t# x",
                                             "up\r\nor up",
                                             "up\xff",
                                             "up\n\xff",
                                             "\xff: up",
                                             "up\x01",
                                             "up\x01\xff",
                                             "up\x7f",
                                             "up\xc2\x85",
                                             "up\xef\xbf\xbf",
                                             "up\n\xef\xbf\xbe",
                                             "up\xc3",
                                             "up\xc3\xa9",
                                             "up\n\xf0\x9f\x98\x80",
                                             "up\xe2\x80\xa8",
                                             "- up\xed\xa0\x80",
                                             "up\xc0\xaf"};
    for (const std::string path : {"prometheus.node_cpu_query", "node.state_file",
                                   "strategy.group_file", "forecaster.models_dir"})
        for (const auto &value : values)
            accepted_and_round_trips(path, value);
}

TEST(TextValues, InvalidUtf8IsRefusedNamingTheKeyAndTheOffset) {
    auto from_env = load_yaml(kMinimalYaml, {{"DFAAS_NODE_STATE_FILE", "/var/lib/\xff.json"}});
    EXPECT_TRUE(has_error(from_env, "node.state_file",
                          {"\"/var/lib/\\xFF.json\" is not valid UTF-8 (byte 0xFF at offset 9)",
                           "env DFAAS_NODE_STATE_FILE"}));
    // yaml-cpp passes the raw bytes of a plain scalar through.
    auto from_file = load_yaml(kMinimalYaml + "prometheus:\n  node_ram_query: up\xc3(\n");
    EXPECT_TRUE(has_error(from_file, "prometheus.node_ram_query",
                          {"is not valid UTF-8 (byte 0xC3 at offset 2)", "from test.yaml line 5"}));
}

TEST(TextValues, ControlCharactersAreRefusedNamingTheKey) {
    // Double-quoted YAML escapes: the file is valid text, the value is not.
    auto result = load_yaml(kMinimalYaml + "prometheus:\n  node_cpu_query: \"up\\x01\"\n");
    EXPECT_TRUE(has_error(result, "prometheus.node_cpu_query",
                          {"\"up\\x01\" contains the control character U+0001 at offset 2"}));
    result = load_yaml(kMinimalYaml + "prometheus:\n  node_cpu_query: \"up\\x7f\"\n");
    EXPECT_TRUE(has_error(result, "prometheus.node_cpu_query", {"control character U+007F"}));
    result = load_yaml(kMinimalYaml + "prometheus:\n  node_cpu_query: \"up\\x85\"\n");
    EXPECT_TRUE(has_error(result, "prometheus.node_cpu_query", {"control character U+0085"}));
    result = load_yaml(kMinimalYaml + "prometheus:\n  node_cpu_query: \"up\\uFFFF\"\n");
    EXPECT_TRUE(has_error(result, "prometheus.node_cpu_query", {"noncharacter U+FFFF"}));
    // Line breaks only where they belong.
    result = load_yaml("node:\n  id: n1\n  ip: 10.0.0.1\n  state_file: \"/tmp/a\\nb\"\n");
    EXPECT_TRUE(has_error(
        result, "node.state_file",
        {"control character U+000A at offset 6", "tabs and line breaks only in PromQL templates"}));
    // In a list, the item is named.
    result = load_yaml(kMinimalYaml + "peers:\n  seeds: [10.0.0.2:30090, \"10.0.0.3:1\\x1b\"]\n");
    EXPECT_TRUE(
        has_error(result, "peers.seeds", {"(item 2) contains the control character U+001B"}));
}

TEST(TextValues, MultiLineQueriesAndNonAsciiTextAreAcceptedAndRoundTrip) {
    // kMinimalYaml's node section, with the state file added.
    const std::string merged =
        "node:\n  id: n1\n  ip: 10.0.0.1\n  state_file: /var/lib/dfaas/état-✓.json\n"
        "prometheus:\n  node_cpu_query: |\n    100 * sum(\n    \trate(x[$window]))\n";
    dfaas::Config config = load_ok(merged);
    EXPECT_EQ(config.node.state_file, "/var/lib/dfaas/état-✓.json");
    EXPECT_EQ(config.prometheus.node_cpu_query, "100 * sum(\n\trate(x[$window]))\n");
    const std::string dump = dfaas::dump_effective(config);
    EXPECT_NE(dump.find("\"100 * sum(\\n\\trate(x[$window]))\\n\""), std::string::npos) << dump;
    auto again = load_yaml(dump);
    ASSERT_TRUE(again.ok()) << all_errors(again) << "\n" << dump;
    EXPECT_EQ(*again.config, config) << dump;
}

// The external model's CPU queries: cAdvisor's series by default, and empty turns them off
// (from the file and from the environment) where the node queries refuse it.
TEST(TextValues, FunctionCpuAndNodeCoresQueriesMayBeEmpty) {
    dfaas::Config defaults = load_ok(kMinimalYaml);
    EXPECT_EQ(defaults.prometheus.function_cpu_query,
              "100 * sum by (function_name) (label_replace(rate(container_cpu_usage_seconds_total"
              "{namespace=\"openfaas-fn\", container!=\"\", container!=\"POD\"}[$window]), "
              "\"function_name\", \"$1\", \"container\", \"(.+)\"))");
    EXPECT_EQ(defaults.prometheus.node_cores_query, "sum(machine_cpu_cores)");

    dfaas::Config off = load_ok(
        kMinimalYaml + "prometheus:\n  function_cpu_query: \"\"\n  node_cores_query: \" \"\n");
    EXPECT_EQ(off.prometheus.function_cpu_query, "");
    EXPECT_EQ(off.prometheus.node_cores_query, "");
    // An empty variable counts as unset (the default stays); blanks turn the query off.
    EXPECT_TRUE(accepted_and_round_trips("prometheus.function_cpu_query", " "));
    EXPECT_TRUE(accepted_and_round_trips("prometheus.node_cores_query", " "));
    auto from_env =
        load_yaml(kMinimalYaml, {{dfaas::generic_env_name("prometheus.function_cpu_query"), " "},
                                 {dfaas::generic_env_name("prometheus.node_cores_query"), ""}});
    ASSERT_TRUE(from_env.ok()) << all_errors(from_env);
    EXPECT_EQ(from_env.config->prometheus.function_cpu_query, "");
    EXPECT_EQ(from_env.config->prometheus.node_cores_query, "sum(machine_cpu_cores)");

    EXPECT_TRUE(has_error(load_yaml(kMinimalYaml + "prometheus:\n  node_cpu_query: \"\"\n"),
                          "prometheus.node_cpu_query", {"is not a PromQL expression (empty)"}));
}

TEST(TextValues, UnknownKeysAreShownEscaped) {
    auto result = load_yaml(kMinimalYaml + "log:\n  \"lev\\x1b[2Jel\": info\n");
    ASSERT_FALSE(result.ok());
    EXPECT_TRUE(has_error(result, "log.lev\\x1B[2Jel", {"unknown key"})) << all_errors(result);
    for (const auto &error : result.errors)
        EXPECT_FALSE(has_raw_unsafe_byte(error)) << detail::printable(error);
}

TEST(TextValues, PrintableEscapesWhatCouldMisleadATerminal) {
    EXPECT_EQ(detail::printable("plain é ✓"), "plain é ✓");
    EXPECT_EQ(detail::printable("a\tb\nc\rd"), "a\\tb\\nc\\rd");
    EXPECT_EQ(detail::printable("\x1b[2J\x7f"), "\\x1B[2J\\x7F");
    EXPECT_EQ(detail::printable("\xc2\x85"), "\\u0085");
    EXPECT_EQ(detail::printable("a\xff\xc3"), "a\\xFF\\xC3");
    EXPECT_EQ(detail::printable("\xef\xbf\xbf\xf0\x9f\xbf\xbe"), "\\uFFFF\\U0001FFFE");
    EXPECT_EQ(detail::quote("x\x01"), "\"x\\x01\"");
}

TEST(TextValues, TextProblemNamesTheFirstBadByte) {
    EXPECT_EQ(detail::text_problem("ok ✓", false), std::nullopt);
    EXPECT_EQ(detail::text_problem("a\tb", true), std::nullopt);
    EXPECT_EQ(*detail::text_problem("ab\xe2\x82", false),
              "is not valid UTF-8 (byte 0xE2 at offset 2)");  // truncated
    EXPECT_EQ(*detail::text_problem("\xc0\xaf", false),
              "is not valid UTF-8 (byte 0xC0 at offset 0)");  // overlong '/'
    EXPECT_EQ(*detail::text_problem("\xed\xa0\x80", false),
              "is not valid UTF-8 (byte 0xED at offset 0)");  // a surrogate
    EXPECT_EQ(*detail::text_problem("\xf4\x90\x80\x80", false),
              "is not valid UTF-8 (byte 0xF4 at offset 0)");  // above U+10FFFF
    EXPECT_EQ(*detail::text_problem("x\xef\xb7\x90", false),
              "contains the noncharacter U+FDD0 at offset 1");
    EXPECT_EQ(*detail::text_problem("\xf0\x9f\xbf\xbf", false),
              "contains the noncharacter U+01FFFF at offset 0");
}
