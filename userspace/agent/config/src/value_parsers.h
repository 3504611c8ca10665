// Internal: text -> typed value for configuration keys. Every failure is a reason phrased to
// follow the quoted value, e.g. `"-3s"` + ` is not a positive duration`.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "dfaas/clients/http_url.h"
#include "dfaas/clients/result.h"
#include "dfaas/config/config.h"
#include "dfaas/net.h"

namespace dfaas::config_detail {

// The shared grammar of dfaas/duration.h ("10s", "500ms", "1h30m"), plain seconds ("10", "2.5").
// Negative values parse (so the positive-only check can say so); sub-millisecond values do not.
Result<Duration> parse_duration(std::string_view text);
// parse_duration, then > 0 and >= minimum.
Result<Duration> parse_positive_duration(std::string_view text, Duration minimum = Duration(1));

// Digits only, within [min, max].
Result<uint64_t> parse_unsigned(std::string_view text, uint64_t min, uint64_t max);
// A finite number > 0 ("120", "5.5e9").
Result<double> parse_positive_number(std::string_view text);
// A finite number in [min, max] ("0.5").
Result<double> parse_number_in(std::string_view text, double min, double max);
// true|false, also yes|no, on|off, 1|0 (YAML 1.1's and the reference's environment spellings),
// case-insensitive.
Result<bool> parse_bool(std::string_view text);

Result<Ipv4> parse_ipv4(std::string_view text);
Result<Endpoint> parse_endpoint(std::string_view text);
Result<uint16_t> parse_port(std::string_view text);
// "31000-31999" or a single port "31000".
Result<PortRange> parse_port_range(std::string_view text);
Result<HttpUrl> parse_url(std::string_view text);

// Name -> value tables for the configuration's own enumerations, in the form of dfaas/domain.h
// (whose node_type_names, reject_mode_names, strategy_kind_names and log_level_names the keys of
// the shared enumerations use): the first entry for each value is its canonical name.
EnumNames<ForwardMode> forward_mode_names();
EnumNames<ForecasterMode> forecaster_mode_names();
EnumNames<RecalcOverflow> recalc_overflow_names();

// Canonical names joined with '|', e.g. "rst|drop".
template <class E>
std::string canonical_names(EnumNames<E> names);

// Case-insensitive lookup; the error lists the canonical names (and the accepted aliases).
template <class E>
Result<E> parse_enum(std::string_view text, EnumNames<E> names);

// String checks.
Result<std::string> parse_node_id(std::string_view text);         // "" or a valid node id
Result<std::string> parse_interface_name(std::string_view text);  // Linux interface name
Result<std::string> parse_absolute_path(std::string_view text);
Result<std::string> parse_file_path(std::string_view text);  // non-empty, not a directory path
Result<std::string> parse_optional_file_path(std::string_view text);  // "" or a file path
Result<std::string> parse_directory_path(std::string_view text);      // non-empty
Result<std::string> parse_username(std::string_view text);            // "" or no ':' / controls
Result<std::string> parse_query_template(std::string_view text);      // balanced PromQL template
Result<std::string> parse_optional_query_template(std::string_view text);  // ... or empty

// Why `text` cannot be the value of a key, or nullopt. Every value must be valid UTF-8 (YAML is
// Unicode text: yaml-cpp would write other bytes back as U+FFFD, so the dump would not load to the
// same config) without control characters (C0, DEL, C1) or Unicode noncharacters (U+FDD0..U+FDEF,
// U+xFFFE, U+xFFFF: yaml-cpp cannot write them back either). Tab, LF and CR are allowed only when
// `allow_line_breaks` (PromQL templates, which may span lines); the dump escapes them.
std::optional<std::string> text_problem(std::string_view text, bool allow_line_breaks);

// `text` with every byte that could mislead a terminal or a log shown as an escape: control
// characters as \t, \n, \r or \xNN (C1 as \u00NN), noncharacters as \uFFFF or \U0001FFFF,
// bytes that are not UTF-8 as \xNN.
std::string printable(std::string_view text);
// printable(text) in double quotes: how error messages show a value.
std::string quote(std::string_view text);
std::string trim(std::string_view text);
// "a, b,c" -> {"a","b","c"}; "" -> {}.
std::vector<std::string> split_list(std::string_view text);

}  // namespace dfaas::config_detail

#include "value_parsers_enum.h"
