#include "dfaas/clients/function_group.h"

#include <algorithm>
#include <cctype>

namespace dfaas {

std::string_view to_string(FunctionGroup group) {
    switch (group) {
        case FunctionGroup::HighUsage:
            return "HIGH_USAGE";
        case FunctionGroup::LowUsage:
            return "LOW_USAGE";
        case FunctionGroup::MediumUsage:
            return "MEDIUM_USAGE";
    }
    return "?";
}

std::optional<FunctionGroup> parse_function_group(std::string_view text) {
    auto equal_ignoring_case = [](std::string_view a, std::string_view b) {
        return a.size() == b.size() &&
               std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
                   return std::toupper(static_cast<unsigned char>(x)) ==
                          std::toupper(static_cast<unsigned char>(y));
               });
    };
    for (auto group : kAllFunctionGroups)
        if (equal_ignoring_case(text, to_string(group))) return group;
    return std::nullopt;
}

}  // namespace dfaas
