// A bound on JSON nesting checked before parsing: nlohmann::json recurses per level, so hostile
// input ("[[[[...") must be refused before the parser sees it.
#pragma once

#include <cstddef>
#include <string_view>

namespace dfaas {

// True when no array or object in `text` is nested deeper than `limit`. Brackets inside strings
// do not count; the text is not validated otherwise (the parser does that).
inline bool json_nesting_within(std::string_view text, size_t limit) {
    size_t depth = 0;
    bool in_string = false;
    bool escaped = false;
    for (char c : text) {
        if (in_string) {
            if (escaped)
                escaped = false;
            else if (c == '\\')
                escaped = true;
            else if (c == '"')
                in_string = false;
            continue;
        }
        if (c == '"') {
            in_string = true;
        } else if (c == '{' || c == '[') {
            if (++depth > limit) return false;
        } else if ((c == '}' || c == ']') && depth > 0) {
            --depth;
        }
    }
    return true;
}

}  // namespace dfaas
