// Internal: template definitions of value_parsers.h's enum helpers.
#pragma once

#include <algorithm>
#include <cctype>

namespace dfaas::config_detail {

inline bool equal_ignoring_case(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) ==
                      std::tolower(static_cast<unsigned char>(y));
           });
}

template <class E>
std::string canonical_names(const EnumNames<E> &names) {
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
Result<E> parse_enum(std::string_view text, const EnumNames<E> &names) {
    for (const auto &[name, value] : names)
        if (equal_ignoring_case(text, name)) return value;
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
