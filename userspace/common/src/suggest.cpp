#include "dfaas/suggest.h"

#include <algorithm>
#include <numeric>

namespace dfaas {
namespace {

std::string_view last_component(std::string_view path) {
    auto dot = path.rfind('.');
    return dot == std::string_view::npos ? path : path.substr(dot + 1);
}

// "a", "a or b", "a, b or c"
std::string join_alternatives(const std::vector<std::string> &items) {
    std::string text = items.front();
    for (size_t i = 1; i < items.size(); ++i)
        text += (i + 1 == items.size() ? " or " : ", ") + items[i];
    return text;
}

}  // namespace

size_t edit_distance(std::string_view a, std::string_view b) {
    std::vector<size_t> previous(b.size() + 1), current(b.size() + 1);
    std::iota(previous.begin(), previous.end(), 0);
    for (size_t i = 1; i <= a.size(); ++i) {
        current[0] = i;
        for (size_t j = 1; j <= b.size(); ++j) {
            size_t substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
            current[j] = std::min({previous[j] + 1, current[j - 1] + 1, substitution});
        }
        std::swap(previous, current);
    }
    return previous[b.size()];
}

std::optional<std::string> closest_match(std::string_view word,
                                         const std::vector<std::string> &candidates) {
    // A section is never the answer for a key inside it ("strategy.nms.cpu" is not "strategy.nms").
    auto is_ancestor = [&](const std::string &candidate) {
        return word.size() > candidate.size() && word.substr(0, candidate.size()) == candidate &&
               word[candidate.size()] == '.';
    };
    std::string_view leaf = last_component(word);
    std::vector<std::string> same_leaf;
    for (const auto &candidate : candidates)
        if (candidate != word && leaf.size() > 2 && last_component(candidate) == leaf)
            same_leaf.push_back(candidate);
    if (!same_leaf.empty()) return join_alternatives(same_leaf);
    // An abbreviated key: "strategy.nms.cpu" for "strategy.nms.cpu_threshold".
    for (const auto &candidate : candidates)
        if (candidate.size() > word.size() && candidate.compare(0, word.size(), word) == 0 &&
            candidate[word.size()] == '_')
            return candidate;
    // A typo changes a few characters: allow about one edit per four characters, at least two.
    size_t allowed = std::max<size_t>(2, word.size() / 4);
    std::optional<std::string> best;
    size_t best_distance = allowed + 1;
    for (const auto &candidate : candidates) {
        if (is_ancestor(candidate)) continue;
        size_t distance = edit_distance(word, candidate);
        if (distance < best_distance) {
            best_distance = distance;
            best = candidate;
        }
    }
    return best;
}

}  // namespace dfaas
