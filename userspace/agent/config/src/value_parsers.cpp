#include "value_parsers.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>

#include "dfaas/clients/duration_text.h"
#include "dfaas/duration.h"

namespace dfaas::config_detail {
namespace {

bool all_digits(std::string_view text) {
    return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) {
        return std::isdigit(static_cast<unsigned char>(c));
    });
}

bool has_control_or_space(std::string_view text) {
    return std::any_of(text.begin(), text.end(), [](char c) {
        return std::iscntrl(static_cast<unsigned char>(c)) ||
               std::isspace(static_cast<unsigned char>(c));
    });
}

// One UTF-8 sequence at the front of `text`: its code point and length, or nullopt when the
// bytes are not UTF-8 (truncated, overlong, a surrogate, above U+10FFFF).
struct CodePoint {
    uint32_t value = 0;
    size_t length = 0;
};
std::optional<CodePoint> next_code_point(std::string_view text) {
    const auto lead = static_cast<unsigned char>(text.front());
    const size_t length = lead < 0x80             ? 1
                          : (lead & 0xe0) == 0xc0 ? 2
                          : (lead & 0xf0) == 0xe0 ? 3
                          : (lead & 0xf8) == 0xf0 ? 4
                                                  : 0;
    if (length == 0 || length > text.size()) return std::nullopt;
    uint32_t value = length == 1 ? lead : lead & (0x7fu >> length);
    for (size_t i = 1; i < length; ++i) {
        const auto next = static_cast<unsigned char>(text[i]);
        if ((next & 0xc0) != 0x80) return std::nullopt;
        value = value << 6 | (next & 0x3fu);
    }
    constexpr uint32_t kSmallest[] = {0, 0, 0x80, 0x800, 0x10000};  // shorter forms: overlong
    if (value < kSmallest[length] || value > 0x10ffff || (value >= 0xd800 && value <= 0xdfff))
        return std::nullopt;
    return CodePoint{value, length};
}

bool is_control(uint32_t code_point) {
    return code_point < 0x20 || (code_point >= 0x7f && code_point <= 0x9f);
}

bool is_noncharacter(uint32_t code_point) {
    return (code_point >= 0xfdd0 && code_point <= 0xfdef) || (code_point & 0xfffe) == 0xfffe;
}

std::string hex(uint32_t value, int digits) {
    static constexpr char kDigits[] = "0123456789ABCDEF";
    std::string text(static_cast<size_t>(digits), '0');
    for (int i = digits - 1; i >= 0; --i, value >>= 4)
        text[static_cast<size_t>(i)] = kDigits[value & 0xf];
    return text;
}

std::string code_point_name(uint32_t code_point) {
    return "U+" + hex(code_point, code_point > 0xffff ? 6 : 4);
}

}  // namespace

std::optional<std::string> text_problem(std::string_view text, bool allow_line_breaks) {
    for (size_t offset = 0; offset < text.size();) {
        const auto code_point = next_code_point(text.substr(offset));
        if (!code_point)
            return "is not valid UTF-8 (byte 0x" +
                   hex(static_cast<unsigned char>(text[offset]), 2) + " at offset " +
                   std::to_string(offset) + ")";
        const uint32_t value = code_point->value;
        const bool line_break = value == '\t' || value == '\n' || value == '\r';
        if (is_control(value) && !(line_break && allow_line_breaks))
            return "contains the control character " + code_point_name(value) + " at offset " +
                   std::to_string(offset) +
                   (line_break ? " (tabs and line breaks only in PromQL templates)" : "");
        if (is_noncharacter(value))
            return "contains the noncharacter " + code_point_name(value) + " at offset " +
                   std::to_string(offset);
        offset += code_point->length;
    }
    return std::nullopt;
}

std::string printable(std::string_view text) {
    std::string shown;
    for (size_t offset = 0; offset < text.size();) {
        const auto code_point = next_code_point(text.substr(offset));
        if (!code_point) {
            shown += "\\x" + hex(static_cast<unsigned char>(text[offset]), 2);
            ++offset;
            continue;
        }
        const uint32_t value = code_point->value;
        if (value == '\t')
            shown += "\\t";
        else if (value == '\n')
            shown += "\\n";
        else if (value == '\r')
            shown += "\\r";
        else if (value < 0x80 && is_control(value))
            shown += "\\x" + hex(value, 2);
        else if (is_control(value) || is_noncharacter(value))
            shown += value > 0xffff ? "\\U" + hex(value, 8) : "\\u" + hex(value, 4);
        else
            shown += text.substr(offset, code_point->length);
        offset += code_point->length;
    }
    return shown;
}

std::string quote(std::string_view text) {
    return "\"" + printable(text) + "\"";
}

std::string trim(std::string_view text) {
    auto first = text.find_first_not_of(" \t\r\n");
    if (first == std::string_view::npos) return {};
    auto last = text.find_last_not_of(" \t\r\n");
    return std::string(text.substr(first, last - first + 1));
}

std::vector<std::string> split_list(std::string_view text) {
    std::vector<std::string> items;
    if (trim(text).empty()) return items;
    size_t start = 0;
    while (true) {
        size_t comma = text.find(',', start);
        items.push_back(trim(text.substr(start, comma - start)));
        if (comma == std::string_view::npos) return items;
        start = comma + 1;
    }
}

Result<Duration> parse_duration(std::string_view text) {
    std::string trimmed = trim(text);
    std::string_view body = trimmed;
    // The shared grammar refuses negatives; the sign is taken here so that the positive-only
    // check can say what is wrong with "-3s".
    bool negative = !body.empty() && body.front() == '-';
    if (negative || (!body.empty() && body.front() == '+')) body.remove_prefix(1);
    auto parsed = dfaas::parse_duration(body, BareNumber::Seconds);
    if (!parsed) return fail(parsed.reason);
    if (*parsed % std::chrono::milliseconds(1) != std::chrono::nanoseconds(0))
        return fail("is finer than a millisecond (the smallest unit is 1ms)");
    auto result = std::chrono::duration_cast<Duration>(*parsed);
    return negative ? -result : result;
}

Result<Duration> parse_positive_duration(std::string_view text, Duration minimum) {
    auto duration = parse_duration(text);
    if (!duration) return duration;
    if (duration->count() <= 0) return fail("is not a positive duration");
    if (*duration < minimum) return fail("is shorter than the minimum " + format_duration(minimum));
    return duration;
}

Result<uint64_t> parse_unsigned(std::string_view text, uint64_t min, uint64_t max) {
    std::string range = std::to_string(min) + ".." + std::to_string(max);
    uint64_t value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (!all_digits(text) || ec != std::errc{} || end != text.data() + text.size())
        return fail("is not a whole number in " + range);
    if (value < min || value > max) return fail("is out of range " + range);
    return value;
}

Result<double> parse_positive_number(std::string_view text) {
    double value = 0;
    bool letters_other_than_exponent = std::any_of(text.begin(), text.end(), [](char c) {
        return std::isalpha(static_cast<unsigned char>(c)) && c != 'e' && c != 'E';
    });
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (text.empty() || letters_other_than_exponent || ec != std::errc{} ||
        end != text.data() + text.size())
        return fail("is not a number");
    if (!std::isfinite(value) || value <= 0) return fail("is not a positive number");
    return value;
}

Result<double> parse_number_in(std::string_view text, double min, double max) {
    double value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    auto shortest = [](double x) {
        char buffer[32];
        auto result = std::to_chars(buffer, buffer + sizeof(buffer), x);
        return std::string(buffer, result.ptr);
    };
    std::string range = shortest(min) + ".." + shortest(max);
    if (text.empty() || ec != std::errc{} || end != text.data() + text.size() ||
        !std::isfinite(value))
        return fail("is not a number in " + range);
    if (value < min || value > max) return fail("is out of range " + range);
    return value;
}

Result<bool> parse_bool(std::string_view text) {
    std::string lower(text);
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return char(std::tolower(c)); });
    if (lower == "true" || lower == "yes" || lower == "on" || lower == "1") return true;
    if (lower == "false" || lower == "no" || lower == "off" || lower == "0") return false;
    return fail("is not a boolean (true or false)");
}

Result<Ipv4> parse_ipv4(std::string_view text) {
    auto address = Ipv4::parse(text);
    if (!address) return fail("is not an IPv4 address (a.b.c.d)");
    return *address;
}

Result<Endpoint> parse_endpoint(std::string_view text) {
    auto endpoint = Endpoint::parse(text);
    if (!endpoint) return fail("is not an IPv4 address with a port (a.b.c.d:port, port 1..65535)");
    return *endpoint;
}

Result<uint16_t> parse_port(std::string_view text) {
    auto port = parse_unsigned(text, 1, 65535);
    if (!port) return fail("is not a port number in 1..65535");
    return static_cast<uint16_t>(*port);
}

Result<PortRange> parse_port_range(std::string_view text) {
    auto dash = text.find('-');
    auto first = parse_port(trim(text.substr(0, dash)));
    auto last = dash == std::string_view::npos ? first : parse_port(trim(text.substr(dash + 1)));
    if (!first || !last) return fail("is not a port range first-last (ports 1..65535)");
    if (*first > *last) return fail("is an empty range (first port after last)");
    return PortRange{*first, *last};
}

Result<HttpUrl> parse_url(std::string_view text) {
    auto url = HttpUrl::parse(text);
    if (!url) return fail("is not a valid URL: " + url.error());
    return url;
}

Result<std::string> parse_node_id(std::string_view text) {
    if (text.empty()) return std::string{};
    auto valid_char = [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
    };
    if (text.size() > 63 || !std::isalnum(static_cast<unsigned char>(text.front())) ||
        !std::all_of(text.begin(), text.end(), valid_char))
        return fail(
            "is not a node id (1..63 of A-Z a-z 0-9 . _ -, starting with a letter or digit)");
    return std::string(text);
}

Result<std::string> parse_interface_name(std::string_view text) {
    // Linux: at most IFNAMSIZ-1 = 15 bytes, no '/', no whitespace, not "." or "..".
    if (text.empty() || text.size() > 15 || text == "." || text == ".." ||
        text.find('/') != std::string_view::npos || has_control_or_space(text))
        return fail("is not a network interface name (1..15 characters, no '/' or spaces)");
    return std::string(text);
}

Result<std::string> parse_absolute_path(std::string_view text) {
    if (text.empty() || text.front() != '/' || has_control_or_space(text))
        return fail("is not an absolute path");
    std::string path(text);
    while (path.size() > 1 && path.back() == '/')
        path.pop_back();
    return path;
}

Result<std::string> parse_file_path(std::string_view text) {
    if (text.empty()) return fail("is not a file path (empty)");
    if (text.back() == '/') return fail("is a directory path, expected a file");
    if (std::any_of(text.begin(), text.end(),
                    [](char c) { return std::iscntrl(static_cast<unsigned char>(c)); }))
        return fail("contains control characters");
    return std::string(text);
}

Result<std::string> parse_directory_path(std::string_view text) {
    if (text.empty()) return fail("is not a directory path (empty)");
    if (std::any_of(text.begin(), text.end(),
                    [](char c) { return std::iscntrl(static_cast<unsigned char>(c)); }))
        return fail("contains control characters");
    return std::string(text);
}

Result<std::string> parse_optional_file_path(std::string_view text) {
    if (text.empty()) return std::string{};
    return parse_file_path(text);
}

Result<std::string> parse_username(std::string_view text) {
    // Basic auth sends "user:password": a ':' in the user name cannot be expressed.
    if (text.find(':') != std::string_view::npos)
        return fail("contains ':' (not allowed in a basic-auth user name)");
    if (has_control_or_space(text)) return fail("contains spaces or control characters");
    return std::string(text);
}

Result<std::string> parse_query_template(std::string_view text) {
    if (trim(text).empty()) return fail("is not a PromQL expression (empty)");
    // Catch typos early: brackets must balance outside string literals.
    std::string open;
    char in_string = 0;
    for (size_t i = 0; i < text.size(); ++i) {
        char c = text[i];
        if (in_string) {
            if (c == '\\')
                ++i;
            else if (c == in_string)
                in_string = 0;
            continue;
        }
        if (c == '"' || c == '\'' || c == '`')
            in_string = c;
        else if (c == '(' || c == '[' || c == '{')
            open += c;
        else if (c == ')' || c == ']' || c == '}') {
            char expected = c == ')' ? '(' : c == ']' ? '[' : '{';
            if (open.empty() || open.back() != expected)
                return fail("has an unbalanced '" + std::string(1, c) + "'");
            open.pop_back();
        }
    }
    if (in_string) return fail("has an unterminated string literal");
    if (!open.empty()) return fail("has an unclosed '" + std::string(1, open.back()) + "'");
    return std::string(text);
}

Result<std::string> parse_optional_query_template(std::string_view text) {
    if (trim(text).empty()) return std::string();
    return parse_query_template(text);
}

EnumNames<ForwardMode> forward_mode_names() {
    static constexpr EnumName<ForwardMode> kNames[]{{"encap", ForwardMode::Encap}};
    return kNames;
}

EnumNames<RecalcOverflow> recalc_overflow_names() {
    static constexpr EnumName<RecalcOverflow> kNames[]{{"standby", RecalcOverflow::Standby},
                                                       {"overloaded", RecalcOverflow::Overloaded}};
    return kNames;
}

EnumNames<ForecasterMode> forecaster_mode_names() {
    static constexpr EnumName<ForecasterMode> kNames[]{{"native", ForecasterMode::Native},
                                                       {"http", ForecasterMode::Http}};
    return kNames;
}

}  // namespace dfaas::config_detail
