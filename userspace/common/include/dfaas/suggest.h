// "Did you mean …?" for misspelt words: configuration keys and variables (the agent's loader),
// commands and options (dfaasctl).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace dfaas {

// Edit distance (insertions, deletions, substitutions).
size_t edit_distance(std::string_view a, std::string_view b);

// The candidate most likely meant by `word`: those with the same last dotted component (a key put
// in the wrong section; several are joined as "a, b or c"), else one `word` abbreviates at a '_'
// ("cpu" for "cpu_threshold"), else the closest by edit distance if close enough to be a typo
// (never a section enclosing `word`).
std::optional<std::string> closest_match(std::string_view word,
                                         const std::vector<std::string> &candidates);

}  // namespace dfaas
