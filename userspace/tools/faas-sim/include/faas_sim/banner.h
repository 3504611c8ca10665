// A small banner font of our own (five rows of '#'), standing in for the figlet CLI.
#pragma once

#include <string>
#include <string_view>

namespace faas_sim {

inline constexpr int kBannerRows = 5;
// Figlet's default output width: longer text continues on a new banner line.
inline constexpr size_t kBannerWidth = 80;

// Renders each input line as a banner of kBannerRows rows. Letters are shown in upper case;
// characters the font lacks are shown as '?'. Trailing spaces are trimmed from every row.
std::string render_banner(std::string_view text);

// The glyph for `c` (after upper-casing), one string per row, all rows the same width.
// Exposed so that tests can check the font itself.
const std::string_view *banner_glyph(char c);

}  // namespace faas_sim
