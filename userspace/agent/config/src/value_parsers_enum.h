// Internal: template definitions of value_parsers.h's enum helpers.
#pragma once

#include <algorithm>

namespace dfaas::config_detail {

template <class E>
std::string canonical_names(EnumNames<E> names) {
    std::string joined;
    std::vector<E> seen;
    for (const auto &[name, value] : names) {
        if (std::find(seen.begin(), seen.end(), value) != seen.end()) continue;
        seen.push_back(value);
        if (!joined.empty()) joined += '|';
        joined += name;
    }
    return joined;
}

template <class E>
Result<E> parse_enum(std::string_view text, EnumNames<E> names) {
    if (auto value = find_enum(names, text, NameCase::Ignore)) return *value;
    std::string canonical, aliases;
    std::vector<E> seen;
    for (const auto &[name, value] : names) {
        bool first_of_value = std::find(seen.begin(), seen.end(), value) == seen.end();
        std::string &list = first_of_value ? canonical : aliases;
        if (first_of_value) seen.push_back(value);
        list += (list.empty() ? "" : ", ") + std::string(name);
    }
    std::string message = "is not one of " + canonical;
    if (!aliases.empty()) message += " (also accepted: " + aliases + ")";
    return fail(message);
}

}  // namespace dfaas::config_detail
