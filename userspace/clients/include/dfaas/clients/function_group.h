// Function groups of the Node Margin strategy: the forecaster predicts node load from the request
// rate of each group. A function's group comes from its label `dfaas.group` or from the
// strategy's group file; the names are the reference's.
#pragma once

#include <array>
#include <optional>
#include <string_view>

namespace dfaas {

enum class FunctionGroup { HighUsage, LowUsage, MediumUsage };

inline constexpr std::array<FunctionGroup, 3> kAllFunctionGroups = {
    FunctionGroup::HighUsage, FunctionGroup::LowUsage, FunctionGroup::MediumUsage};

// "HIGH_USAGE", "LOW_USAGE", "MEDIUM_USAGE".
std::string_view to_string(FunctionGroup group);

// Exact reference spelling, case-insensitive ("high_usage" is accepted).
std::optional<FunctionGroup> parse_function_group(std::string_view text);

}  // namespace dfaas
