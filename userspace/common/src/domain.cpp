#include "dfaas/domain.h"

#include <algorithm>
#include <array>
#include <cctype>

namespace dfaas {
namespace {

constexpr std::array<EnumName<NodeType>, 6> kNodeTypeNames{{
    {"heavy", NodeType::Heavy},
    {"mid", NodeType::Mid},
    {"light", NodeType::Light},
    {"0", NodeType::Heavy},
    {"1", NodeType::Mid},
    {"2", NodeType::Light},
}};

constexpr std::array<EnumName<RejectMode>, 2> kRejectModeNames{{
    {"rst", RejectMode::Rst},
    {"drop", RejectMode::Drop},
}};

constexpr std::array<EnumName<StrategyKind>, 10> kStrategyKindNames{{
    {"recalc", StrategyKind::Recalc},
    {"nodemargin", StrategyKind::NodeMargin},
    {"static", StrategyKind::StaticWeights},
    {"alllocal", StrategyKind::AllLocal},
    {"external", StrategyKind::External},
    {"recalcstrategy", StrategyKind::Recalc},
    {"nodemarginstrategy", StrategyKind::NodeMargin},
    {"staticstrategy", StrategyKind::StaticWeights},
    {"alllocalstrategy", StrategyKind::AllLocal},
    {"rlagentstrategy", StrategyKind::External},
}};

constexpr std::array<EnumName<LogLevel>, 6> kLogLevelNames{{
    {"trace", LogLevel::Trace},
    {"debug", LogLevel::Debug},
    {"info", LogLevel::Info},
    {"warn", LogLevel::Warn},
    {"error", LogLevel::Error},
    {"warning", LogLevel::Warn},
}};

constexpr std::array<EnumName<FunctionGroup>, 3> kFunctionGroupNames{{
    {"HIGH_USAGE", FunctionGroup::High},
    {"LOW_USAGE", FunctionGroup::Low},
    {"MEDIUM_USAGE", FunctionGroup::Medium},
}};

constexpr std::array<EnumName<ForecasterVariant>, 3> kForecasterVariantNames{{
    {"regression", ForecasterVariant::Regression},
    {"quantile005", ForecasterVariant::Quantile005},
    {"quantile095", ForecasterVariant::Quantile095},
}};

// Every enumerator listed here has a name in its table: a table entry lost in an edit fails the
// build, not a peer or a config dump. A new enumerator goes into its table and into this list.
template <class Enum, size_t N>
constexpr bool names_every(const std::array<EnumName<Enum>, N> &names,
                           std::initializer_list<Enum> values) {
    for (Enum value : values)
        if (std::none_of(names.begin(), names.end(),
                         [value](const EnumName<Enum> &entry) { return entry.value == value; }))
            return false;
    return true;
}
static_assert(names_every(kNodeTypeNames, {NodeType::Heavy, NodeType::Mid, NodeType::Light}));
static_assert(names_every(kRejectModeNames, {RejectMode::Rst, RejectMode::Drop}));
static_assert(names_every(kStrategyKindNames, {StrategyKind::Recalc, StrategyKind::NodeMargin,
                                               StrategyKind::StaticWeights, StrategyKind::AllLocal,
                                               StrategyKind::External}));
static_assert(names_every(kLogLevelNames, {LogLevel::Trace, LogLevel::Debug, LogLevel::Info,
                                           LogLevel::Warn, LogLevel::Error}));
static_assert(names_every(kFunctionGroupNames,
                          {FunctionGroup::High, FunctionGroup::Low, FunctionGroup::Medium}));
static_assert(names_every(kForecasterVariantNames,
                          {ForecasterVariant::Regression, ForecasterVariant::Quantile005,
                           ForecasterVariant::Quantile095}));

}  // namespace

EnumNames<NodeType> node_type_names() {
    return kNodeTypeNames;
}
EnumNames<RejectMode> reject_mode_names() {
    return kRejectModeNames;
}
EnumNames<StrategyKind> strategy_kind_names() {
    return kStrategyKindNames;
}
EnumNames<LogLevel> log_level_names() {
    return kLogLevelNames;
}
EnumNames<FunctionGroup> function_group_names() {
    return kFunctionGroupNames;
}
EnumNames<ForecasterVariant> forecaster_variant_names() {
    return kForecasterVariantNames;
}

std::string_view to_string(NodeType value) {
    return canonical_name(node_type_names(), value);
}
std::string_view to_string(RejectMode value) {
    return canonical_name(reject_mode_names(), value);
}
std::string_view to_string(StrategyKind value) {
    return canonical_name(strategy_kind_names(), value);
}
std::string_view to_string(LogLevel value) {
    return canonical_name(log_level_names(), value);
}
std::string_view to_string(FunctionGroup value) {
    return canonical_name(function_group_names(), value);
}
std::string_view to_string(ForecasterVariant value) {
    return canonical_name(forecaster_variant_names(), value);
}

bool names_match(std::string_view a, std::string_view b, NameCase match) {
    if (match == NameCase::Exact) return a == b;
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) ==
                      std::tolower(static_cast<unsigned char>(y));
           });
}

std::optional<NodeType> parse_node_type(std::string_view text, NameCase match) {
    return find_enum(node_type_names(), text, match);
}
std::optional<RejectMode> parse_reject_mode(std::string_view text, NameCase match) {
    return find_enum(reject_mode_names(), text, match);
}
std::optional<StrategyKind> parse_strategy_kind(std::string_view text, NameCase match) {
    return find_enum(strategy_kind_names(), text, match);
}
std::optional<LogLevel> parse_log_level(std::string_view text, NameCase match) {
    return find_enum(log_level_names(), text, match);
}
std::optional<FunctionGroup> parse_function_group(std::string_view text, NameCase match) {
    return find_enum(function_group_names(), text, match);
}
std::optional<ForecasterVariant> parse_forecaster_variant(std::string_view text, NameCase match) {
    return find_enum(forecaster_variant_names(), text, match);
}

}  // namespace dfaas
