// Small text helpers that the HTTP readers and the config/file parsers share.
#pragma once

#include <algorithm>
#include <cctype>
#include <string_view>

namespace dfaas {

// ASCII case-insensitive equality (HTTP field names, tokens such as "chunked").
inline bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) ==
                      std::tolower(static_cast<unsigned char>(y));
           });
}

// Without leading and trailing spaces and tabs: HTTP's optional whitespace around field values.
inline std::string_view trim_blanks(std::string_view text) {
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t'))
        text.remove_prefix(1);
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t'))
        text.remove_suffix(1);
    return text;
}

// Without leading and trailing white space of any kind (std::isspace: also CR, LF, VT, FF).
inline std::string_view trim_space(std::string_view text) {
    while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front())))
        text.remove_prefix(1);
    while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back())))
        text.remove_suffix(1);
    return text;
}

}  // namespace dfaas
