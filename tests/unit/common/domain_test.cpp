// The shared domain enumerations (dfaas/domain.h): every enumerator round-trips through its
// to_string and parser, and the names are the documented ones — the config values
// (docs/config-reference.md), the peer protocol's node_type (docs/peer-protocol.md) and the
// strategy names (docs/strategies.md). Renaming, adding or dropping a spelling fails here.
#include "dfaas/domain.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace dfaas {
namespace {

// One enumerator and every spelling that parses to it, the canonical one first.
template <class Enum>
struct Spellings {
    Enum value;
    std::vector<std::string_view> names;
};

// The documented spellings, written out rather than derived from the tables under test.
const std::vector<Spellings<NodeType>> kNodeTypes{
    {NodeType::Heavy, {"heavy", "0"}},
    {NodeType::Mid, {"mid", "1"}},
    {NodeType::Light, {"light", "2"}},
};
const std::vector<Spellings<RejectMode>> kRejectModes{
    {RejectMode::Rst, {"rst"}},
    {RejectMode::Drop, {"drop"}},
};
const std::vector<Spellings<StrategyKind>> kStrategyKinds{
    {StrategyKind::Recalc, {"recalc", "recalcstrategy"}},
    {StrategyKind::NodeMargin, {"nodemargin", "nodemarginstrategy"}},
    {StrategyKind::StaticWeights, {"static", "staticstrategy"}},
    {StrategyKind::AllLocal, {"alllocal", "alllocalstrategy"}},
    {StrategyKind::External, {"external", "rlagentstrategy"}},
};
const std::vector<Spellings<LogLevel>> kLogLevels{
    {LogLevel::Trace, {"trace"}},          {LogLevel::Debug, {"debug"}}, {LogLevel::Info, {"info"}},
    {LogLevel::Warn, {"warn", "warning"}}, {LogLevel::Error, {"error"}},
};
const std::vector<Spellings<FunctionGroup>> kFunctionGroups{
    {FunctionGroup::High, {"HIGH_USAGE"}},
    {FunctionGroup::Low, {"LOW_USAGE"}},
    {FunctionGroup::Medium, {"MEDIUM_USAGE"}},
};
const std::vector<Spellings<ForecasterVariant>> kForecasterVariants{
    {ForecasterVariant::Regression, {"regression"}},
    {ForecasterVariant::Quantile005, {"quantile005"}},
    {ForecasterVariant::Quantile095, {"quantile095"}},
};

std::string uppercase(std::string_view text) {
    std::string result(text);
    for (char &c : result)
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return result;
}

// The table holds exactly the documented spellings (no more, none renamed), every enumerator's
// canonical name comes back from to_string, and every spelling parses back to its enumerator:
// exactly as written, and in any case only when the caller asks to ignore case.
template <class Enum, class Parse>
void expect_names(EnumNames<Enum> table, const std::vector<Spellings<Enum>> &documented,
                  Parse parse) {
    size_t spellings = 0;
    for (const auto &[value, names] : documented) {
        spellings += names.size();
        EXPECT_EQ(to_string(value), names.front());
        for (std::string_view name : names) {
            const bool in_table =
                std::any_of(table.begin(), table.end(), [&](const EnumName<Enum> &entry) {
                    return entry.name == name && entry.value == value;
                });
            EXPECT_TRUE(in_table) << name;
            EXPECT_EQ(parse(name, NameCase::Exact), value) << name;
            EXPECT_EQ(parse(uppercase(name), NameCase::Ignore), value) << name;
            if (uppercase(name) != name) {
                EXPECT_EQ(parse(uppercase(name), NameCase::Exact), std::nullopt) << name;
            }
        }
    }
    EXPECT_EQ(table.size(), spellings) << "a spelling in the table is not documented";
    EXPECT_EQ(parse("", NameCase::Ignore), std::nullopt);
    EXPECT_EQ(parse("unknown", NameCase::Ignore), std::nullopt);
    EXPECT_EQ(parse(std::string(documented.front().names.front()) + " ", NameCase::Ignore),
              std::nullopt);
}

TEST(DomainNames, NodeTypeIsHeavyMidLightAndTheModelCodes) {
    expect_names(node_type_names(), kNodeTypes, [](std::string_view text, NameCase match) {
        return parse_node_type(text, match);
    });
    // The numeric value is the forecaster models' feature and the peer message's integer form.
    EXPECT_EQ(static_cast<int>(NodeType::Heavy), 0);
    EXPECT_EQ(static_cast<int>(NodeType::Mid), 1);
    EXPECT_EQ(static_cast<int>(NodeType::Light), 2);
    EXPECT_EQ(parse_node_type("3"), std::nullopt);
}

TEST(DomainNames, RejectModeIsRstOrDrop) {
    expect_names(reject_mode_names(), kRejectModes, [](std::string_view text, NameCase match) {
        return parse_reject_mode(text, match);
    });
}

TEST(DomainNames, StrategyKindHasTheConfigNamesAndTheReferenceNames) {
    expect_names(strategy_kind_names(), kStrategyKinds, [](std::string_view text, NameCase match) {
        return parse_strategy_kind(text, match);
    });
    // dfaasctl's shorthand is the strategies library's (select_strategy_kind), not a config name.
    EXPECT_EQ(parse_strategy_kind("nms", NameCase::Ignore), std::nullopt);
}

TEST(DomainNames, LogLevelIsTraceToErrorWithWarningForWarn) {
    expect_names(log_level_names(), kLogLevels, [](std::string_view text, NameCase match) {
        return parse_log_level(text, match);
    });
}

TEST(DomainNames, FunctionGroupHasTheReferenceNamesInAnyCaseWhenAsked) {
    expect_names(
        function_group_names(), kFunctionGroups,
        [](std::string_view text, NameCase match) { return parse_function_group(text, match); });
    // What operators type (labels, the group file) is read ignoring case; peers must match.
    EXPECT_EQ(parse_function_group("high_usage", NameCase::Ignore), FunctionGroup::High);
    EXPECT_EQ(parse_function_group("high_usage", NameCase::Exact), std::nullopt);
}

TEST(DomainNames, ForecasterVariantIsTheModelFileSuffix) {
    expect_names(forecaster_variant_names(), kForecasterVariants,
                 [](std::string_view text, NameCase match) {
                     return parse_forecaster_variant(text, match);
                 });
}

// --- the documents ------------------------------------------------------------------------

std::string read_doc(const std::string &name) {
    std::ifstream in(std::string(DFAAS_SOURCE_DIR) + "/docs/" + name);
    EXPECT_TRUE(in) << name;
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

template <class Enum>
std::string joined_canonical(const std::vector<Spellings<Enum>> &documented,
                             std::string_view separator) {
    std::string text;
    for (const auto &spellings : documented)
        text += (text.empty() ? "" : std::string(separator)) + std::string(spellings.names[0]);
    return text;
}

TEST(DomainNames, ConfigReferenceListsTheNames) {
    const std::string doc = read_doc("config-reference.md");
    auto expect_row = [&](std::string_view key, std::string type) {
        const std::string row = "| `" + std::string(key) + "` | " + type + " |";
        EXPECT_NE(doc.find(row), std::string::npos) << row;
    };
    expect_row("node.type", "enum: " + joined_canonical(kNodeTypes, "\\|") + " (or 0\\|1\\|2)");
    expect_row("dataplane.reject_mode", "enum: " + joined_canonical(kRejectModes, "\\|"));
    expect_row("strategy.name", "enum: " + joined_canonical(kStrategyKinds, "\\|"));
    expect_row("log.level", "enum: " + joined_canonical(kLogLevels, "\\|"));
    expect_row("forecaster.variant", "enum: " + joined_canonical(kForecasterVariants, "\\|"));
    // The reference names of the strategies are in the description of strategy.name.
    for (const auto &spellings : kStrategyKinds)
        EXPECT_NE(doc.find(std::string(spellings.names[1])), std::string::npos)
            << spellings.names[1];
}

TEST(DomainNames, PeerProtocolAndStrategiesDocumentTheNames) {
    const std::string protocol = read_doc("peer-protocol.md");
    const std::string node_types = "`node_type` (`" + joined_canonical(kNodeTypes, "`/`") + "`";
    EXPECT_NE(protocol.find(node_types), std::string::npos) << node_types;

    const std::string strategies = read_doc("strategies.md");
    for (const auto &spellings : kStrategyKinds)
        for (std::string_view name : spellings.names)
            EXPECT_NE(strategies.find("`" + std::string(name) + "`"), std::string::npos) << name;
    for (const auto &spellings : kNodeTypes)
        EXPECT_NE(strategies.find("`" + std::string(spellings.names[0]) + "`"), std::string::npos)
            << spellings.names[0];
}

}  // namespace
}  // namespace dfaas
