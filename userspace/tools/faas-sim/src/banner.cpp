#include "faas_sim/banner.h"

#include <array>
#include <cctype>
#include <vector>

namespace faas_sim {
namespace {

struct Glyph {
    char character;
    std::array<std::string_view, kBannerRows> rows;
};

// Drawn for this project. Each glyph's rows have equal width; the renderer adds one column of
// space between glyphs.
constexpr Glyph kFont[] = {
    {' ', {"   ", "   ", "   ", "   ", "   "}},
    {'A', {" ### ", "#   #", "#####", "#   #", "#   #"}},
    {'B', {"#### ", "#   #", "#### ", "#   #", "#### "}},
    {'C', {" ####", "#    ", "#    ", "#    ", " ####"}},
    {'D', {"#### ", "#   #", "#   #", "#   #", "#### "}},
    {'E', {"#####", "#    ", "#### ", "#    ", "#####"}},
    {'F', {"#####", "#    ", "#### ", "#    ", "#    "}},
    {'G', {" ####", "#    ", "#  ##", "#   #", " ### "}},
    {'H', {"#   #", "#   #", "#####", "#   #", "#   #"}},
    {'I', {"###", " # ", " # ", " # ", "###"}},
    {'J', {"  ###", "    #", "    #", "#   #", " ### "}},
    {'K', {"#   #", "#  # ", "###  ", "#  # ", "#   #"}},
    {'L', {"#    ", "#    ", "#    ", "#    ", "#####"}},
    {'M', {"#   #", "## ##", "# # #", "#   #", "#   #"}},
    {'N', {"#   #", "##  #", "# # #", "#  ##", "#   #"}},
    {'O', {" ### ", "#   #", "#   #", "#   #", " ### "}},
    {'P', {"#### ", "#   #", "#### ", "#    ", "#    "}},
    {'Q', {" ### ", "#   #", "# # #", "#  # ", " ## #"}},
    {'R', {"#### ", "#   #", "#### ", "#  # ", "#   #"}},
    {'S', {" ####", "#    ", " ### ", "    #", "#### "}},
    {'T', {"#####", "  #  ", "  #  ", "  #  ", "  #  "}},
    {'U', {"#   #", "#   #", "#   #", "#   #", " ### "}},
    {'V', {"#   #", "#   #", "#   #", " # # ", "  #  "}},
    {'W', {"#   #", "#   #", "# # #", "## ##", "#   #"}},
    {'X', {"#   #", " # # ", "  #  ", " # # ", "#   #"}},
    {'Y', {"#   #", " # # ", "  #  ", "  #  ", "  #  "}},
    {'Z', {"#####", "   # ", "  #  ", " #   ", "#####"}},
    {'0', {" ### ", "#  ##", "# # #", "##  #", " ### "}},
    {'1', {" # ", "## ", " # ", " # ", "###"}},
    {'2', {" ### ", "#   #", "  ## ", " #   ", "#####"}},
    {'3', {"#### ", "    #", " ### ", "    #", "#### "}},
    {'4', {"#   #", "#   #", "#####", "    #", "    #"}},
    {'5', {"#####", "#    ", "#### ", "    #", "#### "}},
    {'6', {" ### ", "#    ", "#### ", "#   #", " ### "}},
    {'7', {"#####", "    #", "   # ", "  #  ", "  #  "}},
    {'8', {" ### ", "#   #", " ### ", "#   #", " ### "}},
    {'9', {" ### ", "#   #", " ####", "    #", " ### "}},
    {'!', {"#", "#", "#", " ", "#"}},
    {'?', {" ### ", "#   #", "  ## ", "     ", "  #  "}},
    {'.', {" ", " ", " ", " ", "#"}},
    {',', {"  ", "  ", "  ", " #", "# "}},
    {':', {" ", "#", " ", "#", " "}},
    {';', {"  ", " #", "  ", " #", "# "}},
    {'\'', {"#", "#", " ", " ", " "}},
    {'"', {"# #", "# #", "   ", "   ", "   "}},
    {'-', {"   ", "   ", "###", "   ", "   "}},
    {'_', {"    ", "    ", "    ", "    ", "####"}},
    {'+', {"   ", " # ", "###", " # ", "   "}},
    {'=', {"   ", "###", "   ", "###", "   "}},
    {'*', {"   ", "# #", " # ", "# #", "   "}},
    {'/', {"    #", "   # ", "  #  ", " #   ", "#    "}},
    {'(', {" #", "# ", "# ", "# ", " #"}},
    {')', {"# ", " #", " #", " #", "# "}},
    {'#', {" # # ", "#####", " # # ", "#####", " # # "}},
    {'@', {" ### ", "# ###", "# # #", "# ###", " #   "}},
};

const Glyph &glyph_for(char c) {
    static const std::array<const Glyph *, 128> table = [] {
        std::array<const Glyph *, 128> built{};
        for (const Glyph &glyph : kFont)
            built[static_cast<unsigned char>(glyph.character)] = &glyph;
        return built;
    }();
    unsigned char index = static_cast<unsigned char>(std::toupper(static_cast<unsigned char>(c)));
    if (index < table.size() && table[index] != nullptr) return *table[index];
    return *table[static_cast<unsigned char>('?')];
}

void trim_trailing_spaces(std::string &row) {
    size_t end = row.find_last_not_of(' ');
    row.erase(end == std::string::npos ? 0 : end + 1);
}

// One banner line (kBannerRows rows of text) being filled left to right.
class BannerLine {
  public:
    bool fits(const Glyph &glyph) const {
        return width_ == 0 || width_ + 1 + glyph.rows[0].size() <= kBannerWidth;
    }
    void add(const Glyph &glyph) {
        for (int r = 0; r < kBannerRows; ++r) {
            if (width_ > 0) rows_[r] += ' ';
            rows_[r] += glyph.rows[r];
        }
        width_ += (width_ > 0 ? 1 : 0) + glyph.rows[0].size();
    }
    bool empty() const { return width_ == 0; }
    void flush_into(std::string &out) {
        for (std::string &row : rows_) {
            trim_trailing_spaces(row);
            out += row;
            out += '\n';
            row.clear();
        }
        width_ = 0;
    }

  private:
    std::array<std::string, kBannerRows> rows_;
    size_t width_ = 0;
};

void render_line(std::string_view line, std::string &out) {
    BannerLine banner;
    for (char c : line) {
        const Glyph &glyph = glyph_for(c);
        if (!banner.fits(glyph)) banner.flush_into(out);
        banner.add(glyph);
    }
    if (!banner.empty()) banner.flush_into(out);
}

}  // namespace

const std::string_view *banner_glyph(char c) {
    return glyph_for(c).rows.data();
}

std::string render_banner(std::string_view text) {
    std::string out;
    while (!text.empty()) {
        size_t newline = text.find('\n');
        std::string_view line = text.substr(0, newline);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        render_line(line, out);
        if (newline == std::string_view::npos) break;
        text.remove_prefix(newline + 1);
    }
    return out;
}

}  // namespace faas_sim
