#include "faas_sim/banner.h"

#include <gtest/gtest.h>

#include <sstream>
#include <vector>

namespace faas_sim {
namespace {

std::vector<std::string> lines_of(const std::string &text) {
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);)
        lines.push_back(line);
    return lines;
}

TEST(Banner, EveryGlyphHasRowsOfEqualWidth) {
    for (char c = ' '; c <= '~'; ++c) {
        const std::string_view *rows = banner_glyph(c);
        for (int r = 1; r < kBannerRows; ++r) {
            EXPECT_EQ(rows[r].size(), rows[0].size()) << "glyph '" << c << "' row " << r;
        }
    }
}

TEST(Banner, RendersLettersSideBySide) {
    EXPECT_EQ(render_banner("OK"),
              " ###  #   #\n"
              "#   # #  #\n"
              "#   # ###\n"
              "#   # #  #\n"
              " ###  #   #\n");
}

TEST(Banner, ShowsLowerCaseAsUpperCase) {
    EXPECT_EQ(render_banner("dfaas"), render_banner("DFAAS"));
}

TEST(Banner, ShowsUnknownCharactersAsQuestionMarks) {
    EXPECT_EQ(render_banner("\x01"), render_banner("?"));
    EXPECT_EQ(render_banner("é"), render_banner("??"));  // two UTF-8 bytes
}

TEST(Banner, RendersEachInputLineAndIgnoresTheFinalNewline) {
    auto lines = lines_of(render_banner("A\r\nB\n"));
    ASSERT_EQ(lines.size(), 2u * kBannerRows);
    EXPECT_EQ(lines[0], " ###");
    EXPECT_EQ(lines[kBannerRows], "####");
}

TEST(Banner, WrapsLongTextAtEightyColumns) {
    std::string text(40, 'W');
    auto lines = lines_of(render_banner(text));
    ASSERT_GT(lines.size(), static_cast<size_t>(kBannerRows));
    EXPECT_EQ(lines.size() % kBannerRows, 0u);
    for (const auto &line : lines)
        EXPECT_LE(line.size(), kBannerWidth);
}

TEST(Banner, EmptyInputGivesEmptyOutput) {
    EXPECT_EQ(render_banner(""), "");
}

}  // namespace
}  // namespace faas_sim
