// vegeta's targets files (its "http" format), read as they are: each target is a "METHOD URL"
// line, then optional "Name: value" header lines, then an optional "@path" line naming a file
// with the body; a blank line or the next "METHOD URL" line starts the next target, "#" lines are
// comments. Used by dfaas-loadgen --targets-file, round-robin like repeated --target flags.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace dfaas::loadgen {

inline constexpr size_t kMaxTargetsFileBytes = 1024 * 1024;
inline constexpr size_t kMaxTargetsFileTargets = 10'000;
inline constexpr size_t kMaxTargetsFileLineBytes = 8 * 1024;
inline constexpr size_t kMaxTargetHeaders = 64;
// Each @body file, and all of a file's bodies together (every body is kept in memory).
inline constexpr size_t kMaxTargetBodyBytes = 16 * 1024 * 1024;
inline constexpr size_t kMaxTargetBodiesBytes = 64 * 1024 * 1024;

struct VegetaTarget {
    size_t line = 0;  // of the "METHOD URL" line, 1-based
    std::string method;
    std::string url;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
    std::string body_path;  // as the "@" line wrote it; empty without a body
};

// Parses the text of a targets file; SOURCE names it in errors ("FILE line N: ..."). Body files
// are read relative to the current directory, as vegeta does. Throws UsageError.
std::vector<VegetaTarget> parse_vegeta_targets(std::string_view text, std::string_view source);

// parse_vegeta_targets on a file, refused above kMaxTargetsFileBytes. Throws UsageError.
std::vector<VegetaTarget> read_vegeta_targets_file(const std::string &path);

}  // namespace dfaas::loadgen
