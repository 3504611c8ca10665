// The domain enumerations that more than one component speaks of, each defined once with its
// names: the node class, the reject mode, the strategy, the log level and the function group.
//
// They live in dfaas_common because it is the one library every user links: the data plane
// (RejectMode) may depend on neither the strategies nor the configuration, the configuration
// (which holds all four) does not link the strategies, and the strategies link only dfaas_common.
// One type on every side, so no conversion sits between the config, the agent, the strategies
// and the data plane.
//
// The names are what operators write in the config and on the command line and what peers and
// the JSON outputs carry: renaming one is a protocol and config change (tests/unit/common
// checks them against the documented lists).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace dfaas {

// Node classes of the forecaster models: the numeric value is the model feature and what a
// peer message may carry instead of the name.
enum class NodeType : uint8_t { Heavy = 0, Mid = 1, Light = 2 };

// What the data plane does with a connection nobody can take: answer RST, or drop the SYN.
enum class RejectMode : uint8_t { Rst, Drop };

// The offloading strategies (docs/strategies.md). StaticWeights is the fixed 60/7x6 split.
enum class StrategyKind : uint8_t { Recalc, NodeMargin, StaticWeights, AllLocal, External };

// Severity of the agent's log lines, least severe first.
enum class LogLevel : uint8_t { Trace, Debug, Info, Warn, Error };

// Resource profile of a function for Node Margin's forecaster, which predicts a node's load from
// the request rate of each group. Operators set it with the label dfaas.group or the group file;
// peers carry it in their load reports.
enum class FunctionGroup : uint8_t { High, Low, Medium };

// The forecaster model variants the reference ships (config forecaster.variant, dfaasctl whatif).
enum class ForecasterVariant : uint8_t { Regression, Quantile005, Quantile095 };

// One accepted spelling of an enumerator.
template <class Enum>
struct EnumName {
    std::string_view name;
    Enum value;
};

// Every accepted spelling of an enumeration's values. The first entry of each value is its
// canonical name (what to_string returns and what the config dump, the API and peers write);
// later ones are aliases that parse to the same value.
template <class Enum>
using EnumNames = std::span<const EnumName<Enum>>;

// heavy, mid, light; aliases the model codes 0, 1, 2.
EnumNames<NodeType> node_type_names();
// rst, drop.
EnumNames<RejectMode> reject_mode_names();
// recalc, nodemargin, static, alllocal, external; aliases the reference agent's names
// recalcstrategy, nodemarginstrategy, staticstrategy, alllocalstrategy, rlagentstrategy.
EnumNames<StrategyKind> strategy_kind_names();
// trace, debug, info, warn, error; alias warning.
EnumNames<LogLevel> log_level_names();
// HIGH_USAGE, LOW_USAGE, MEDIUM_USAGE (the reference's names).
EnumNames<FunctionGroup> function_group_names();
// regression, quantile005, quantile095 (the model files' suffixes).
EnumNames<ForecasterVariant> forecaster_variant_names();

std::string_view to_string(NodeType value);
std::string_view to_string(RejectMode value);
std::string_view to_string(StrategyKind value);
std::string_view to_string(LogLevel value);
std::string_view to_string(FunctionGroup value);
std::string_view to_string(ForecasterVariant value);

// How a parser compares names. What operators type (config values, command-line options, the
// strategy of a snapshot file) ignores case; what programs write (peer messages, JSON
// documents) must match exactly.
enum class NameCase : uint8_t { Exact, Ignore };

bool names_match(std::string_view a, std::string_view b, NameCase match);

// The first name of `value` in `names` (its canonical name); "unknown" when the table lacks it.
template <class Enum>
std::string_view canonical_name(EnumNames<Enum> names, Enum value) {
    for (const auto &[name, candidate] : names)
        if (candidate == value) return name;
    return "unknown";
}

// The value `text` names in `names`, or nullopt.
template <class Enum>
std::optional<Enum> find_enum(EnumNames<Enum> names, std::string_view text, NameCase match) {
    for (const auto &[name, value] : names)
        if (names_match(name, text, match)) return value;
    return std::nullopt;
}

// The one parser of each enumeration: any spelling of its name table.
std::optional<NodeType> parse_node_type(std::string_view text, NameCase match = NameCase::Exact);
std::optional<RejectMode> parse_reject_mode(std::string_view text,
                                            NameCase match = NameCase::Exact);
std::optional<StrategyKind> parse_strategy_kind(std::string_view text,
                                                NameCase match = NameCase::Exact);
std::optional<LogLevel> parse_log_level(std::string_view text, NameCase match = NameCase::Exact);
std::optional<FunctionGroup> parse_function_group(std::string_view text,
                                                  NameCase match = NameCase::Exact);
std::optional<ForecasterVariant> parse_forecaster_variant(std::string_view text,
                                                          NameCase match = NameCase::Exact);

}  // namespace dfaas
