#include "output.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <iostream>

namespace dfaas::cli {

Table::Table(std::vector<std::string> headers) : headers_(std::move(headers)) {}

void Table::add(std::vector<std::string> row) {
    row.resize(headers_.size());
    rows_.push_back(std::move(row));
}

void Table::print(std::ostream &out) const {
    std::vector<size_t> width(headers_.size());
    for (size_t c = 0; c < headers_.size(); ++c)
        width[c] = headers_[c].size();
    for (const auto &row : rows_)
        for (size_t c = 0; c < row.size(); ++c)
            width[c] = std::max(width[c], row[c].size());
    auto line = [&](const std::vector<std::string> &cells, bool header) {
        std::string text;
        for (size_t c = 0; c < cells.size(); ++c) {
            std::string cell = cells[c];
            if (c + 1 < cells.size()) cell.resize(width[c] + 2, ' ');
            text += cell;
        }
        while (!text.empty() && text.back() == ' ')
            text.pop_back();
        out << (header ? bold(text) : text) << '\n';
    };
    line(headers_, true);
    for (const auto &row : rows_)
        line(row, false);
}

bool use_colour() {
    static const bool colour = isatty(STDOUT_FILENO) && std::getenv("NO_COLOR") == nullptr;
    return colour;
}

std::string bold(const std::string &text) {
    return use_colour() ? "\033[1m" + text + "\033[0m" : text;
}

void print_json(std::ostream &out, const nlohmann::json &value) {
    out << value.dump(2) << '\n';
}

std::string format_count(uint64_t n) {
    char buf[32];
    if (n < 10000) return std::to_string(n);
    if (n < 10000000) {
        std::snprintf(buf, sizeof(buf), "%.1fk", n / 1e3);
    } else if (n < 10000000000ull) {
        std::snprintf(buf, sizeof(buf), "%.1fM", n / 1e6);
    } else {
        std::snprintf(buf, sizeof(buf), "%.1fG", n / 1e9);
    }
    return buf;
}

std::string format_bytes(uint64_t n) {
    const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double v = double(n);
    int u = 0;
    while (v >= 1024 && u < 4) {
        v /= 1024;
        ++u;
    }
    char buf[32];
    if (u == 0)
        std::snprintf(buf, sizeof(buf), "%llu%s", static_cast<unsigned long long>(n), units[u]);
    else
        std::snprintf(buf, sizeof(buf), "%.1f%s", v, units[u]);
    return buf;
}

std::string format_duration_ns(uint64_t ns) {
    char buf[32];
    double s = ns / 1e9;
    if (s < 1e-3)
        std::snprintf(buf, sizeof(buf), "%.0fus", ns / 1e3);
    else if (s < 1)
        std::snprintf(buf, sizeof(buf), "%.0fms", ns / 1e6);
    else if (s < 120)
        std::snprintf(buf, sizeof(buf), "%.1fs", s);
    else if (s < 7200)
        std::snprintf(buf, sizeof(buf), "%.0fm", s / 60);
    else
        std::snprintf(buf, sizeof(buf), "%.1fh", s / 3600);
    return buf;
}

std::string format_unix_time(uint64_t unix_ns) {
    if (unix_ns == 0) return "-";
    time_t t = static_cast<time_t>(unix_ns / 1000000000ull);
    tm utc{};
    gmtime_r(&t, &utc);
    char buf[32];
    std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &utc);
    return buf;
}

}  // namespace dfaas::cli
