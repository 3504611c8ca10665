#include "output.h"

#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cmath>
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

namespace {

// Plain (unquoted) only when no YAML reader could take the text for anything but a string:
// identifier-like, and not a word YAML 1.1 reads as a boolean or null.
bool plain_is_safe(const std::string &text) {
    if (text.empty()) return false;
    const unsigned char first = static_cast<unsigned char>(text.front());
    if (!std::isalpha(first) && first != '_' && first != '/') return false;
    for (char c : text) {
        const unsigned char u = static_cast<unsigned char>(c);
        if (!std::isalnum(u) && c != '_' && c != '-' && c != '.' && c != '/') return false;
    }
    std::string lower;
    for (char c : text)
        lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    static const char *const kReserved[] = {"y",    "n",     "yes",  "no",   "on",  "off",
                                            "true", "false", "null", ".nan", ".inf"};
    for (const char *word : kReserved)
        if (lower == word) return false;
    return true;
}

void emit_string(YAML::Emitter &out, const std::string &text) {
    if (!plain_is_safe(text)) out << YAML::DoubleQuoted;
    out << text;
}

template <class Json>
void emit(YAML::Emitter &out, const Json &value) {
    switch (value.type()) {
        case nlohmann::json::value_t::object:
            out << YAML::BeginMap;
            for (auto it = value.begin(); it != value.end(); ++it) {
                out << YAML::Key;
                emit_string(out, it.key());
                out << YAML::Value;
                emit(out, it.value());
            }
            out << YAML::EndMap;
            break;
        case nlohmann::json::value_t::array:
            out << YAML::BeginSeq;
            for (const auto &element : value)
                emit(out, element);
            out << YAML::EndSeq;
            break;
        case nlohmann::json::value_t::string:
            emit_string(out, value.template get_ref<const std::string &>());
            break;
        case nlohmann::json::value_t::boolean:
            out << YAML::TrueFalseBool << value.template get<bool>();
            break;
        case nlohmann::json::value_t::number_integer:
            out << value.template get<int64_t>();
            break;
        case nlohmann::json::value_t::number_unsigned:
            out << value.template get<uint64_t>();
            break;
        case nlohmann::json::value_t::number_float: {
            // nlohmann writes NaN and infinities as null; so does the YAML.
            // The JSON's own shortest round-trip text, with a '.' before any exponent: YAML 1.1
            // readers (PyYAML) take "1e-05" for a string and "1.0e-05" for a number.
            const double number = value.template get<double>();
            if (!std::isfinite(number)) {
                out << YAML::Null;
                break;
            }
            std::string text = nlohmann::json(number).dump();
            auto exponent = text.find_first_of("eE");
            if (exponent != std::string::npos && text.find('.') == std::string::npos)
                text.insert(exponent, ".0");
            out << text;
            break;
        }
        default:  // null, discarded, binary (never produced by dfaasctl)
            out << YAML::Null;
            break;
    }
}

template <class Json>
std::string yaml_text(const Json &value) {
    YAML::Emitter out;
    out.SetNullFormat(YAML::LowerNull);
    emit(out, value);
    return std::string(out.c_str()) + "\n";
}

}  // namespace

std::string to_yaml(const nlohmann::json &value) {
    return yaml_text(value);
}
std::string to_yaml(const nlohmann::ordered_json &value) {
    return yaml_text(value);
}

std::string to_yaml_sequence_item(const nlohmann::json &value) {
    return yaml_text(nlohmann::json::array({value}));
}

void print_document(std::ostream &out, Format format, const nlohmann::json &value) {
    if (format == Format::Yaml)
        out << to_yaml(value);
    else
        print_json(out, value);
}

void print_document(std::ostream &out, Format format, const nlohmann::ordered_json &value) {
    if (format == Format::Yaml)
        out << to_yaml(value);
    else
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
