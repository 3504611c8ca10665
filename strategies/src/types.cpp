#include "dfaas/strategy/types.h"

#include <charconv>

namespace dfaas::strategy {

double &GroupLoad::operator[](Group group) {
    switch (group) {
        case Group::High:
            return high;
        case Group::Low:
            return low;
        case Group::Medium:
            break;
    }
    return medium;
}

double GroupLoad::operator[](Group group) const {
    return const_cast<GroupLoad &>(*this)[group];
}

GroupTable reference_group_table() {
    return {{"eat-memory", Group::High}, {"nmap", Group::High},  {"env", Group::Low},
            {"figlet", Group::Low},      {"shasum", Group::Low}, {"curl", Group::Medium}};
}

std::optional<uint32_t> max_rate_of(const LocalFunction &function,
                                    std::vector<std::string> &warnings) {
    auto label = function.labels.find(std::string(kLabelMaxRate));
    if (label == function.labels.end()) {
        warnings.push_back("function '" + function.name + "' has no label " +
                           std::string(kLabelMaxRate) + ": left out of Recalc");
        return std::nullopt;
    }
    const std::string &text = label->second;
    uint32_t value = 0;
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (text.empty() || error != std::errc() || end != text.data() + text.size()) {
        warnings.push_back("function '" + function.name + "': label " + std::string(kLabelMaxRate) +
                           "='" + text +
                           "' is not an unsigned integer below 2^32: left out of Recalc");
        return std::nullopt;
    }
    return value;
}

std::optional<Group> group_of(const LocalFunction &function, const GroupTable &groups,
                              std::vector<std::string> &warnings) {
    auto label = function.labels.find(std::string(kLabelGroup));
    if (label != function.labels.end()) {
        // Operators type labels: any case, as the OpenFaaS client and the group file accept.
        if (auto group = parse_function_group(label->second, NameCase::Ignore)) return group;
        warnings.push_back("function '" + function.name + "': label " + std::string(kLabelGroup) +
                           "='" + label->second +
                           "' is not HIGH_USAGE, LOW_USAGE or MEDIUM_USAGE: using the group table");
    }
    auto entry = groups.find(function.name);
    if (entry == groups.end()) return std::nullopt;
    return entry->second;
}

}  // namespace dfaas::strategy
