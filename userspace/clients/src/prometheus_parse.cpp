// Parsing of Prometheus /api/v1/query answers (the envelope, vector and scalar results).
#include <nlohmann/json.hpp>

#include <cctype>
#include <charconv>
#include <limits>

#include "dfaas/clients/prometheus.h"
#include "http_get.h"

namespace dfaas {
namespace {

using nlohmann::json;

bool is_success_status(int http_status) {
    return http_status >= 200 && http_status < 300;
}

// [<unix seconds>, "<value>"]
Result<PromSample> parse_timestamped_value(const json &pair, const std::string &where) {
    if (!pair.is_array() || pair.size() != 2)
        return fail(where + ": expected [timestamp, \"value\"], got " + pair.dump());
    if (!pair[0].is_number())
        return fail(where + ": timestamp is a " + std::string(pair[0].type_name()) +
                    ", expected a number");
    if (!pair[1].is_string())
        return fail(where + ": value is a " + std::string(pair[1].type_name()) +
                    ", expected a string");
    PromSample sample;
    sample.timestamp = pair[0].get<double>();
    sample.value_text = pair[1].get<std::string>();
    auto value = parse_sample_value(sample.value_text);
    if (!value) return fail(where + ": value \"" + sample.value_text + "\" is not a number");
    sample.value = *value;
    return sample;
}

Result<PromLabels> parse_metric(const json &series, const std::string &where) {
    PromLabels labels;
    auto metric = series.find("metric");
    if (metric == series.end() || metric->is_null()) return labels;
    if (!metric->is_object()) return fail(where + ".metric: expected an object of labels");
    for (const auto &[name, value] : metric->items()) {
        if (!value.is_string())
            return fail(where + ".metric[\"" + name + "\"]: expected a string, got " +
                        value.type_name());
        labels.emplace(name, value.get<std::string>());
    }
    return labels;
}

Result<PromSample> parse_vector_element(const json &series, size_t index) {
    std::string where = "result[" + std::to_string(index) + "]";
    if (!series.is_object()) return fail(where + ": expected an object");
    auto labels = parse_metric(series, where);
    if (!labels) return Error{labels.error()};
    auto value = series.find("value");
    if (value == series.end()) {
        if (series.contains("histogram"))
            return fail(where + " " + format_labels(*labels) +
                        ": is a native histogram; the agent's queries expect float samples");
        return fail(where + " " + format_labels(*labels) + ": has no \"value\"");
    }
    auto sample = parse_timestamped_value(*value, where + " " + format_labels(*labels));
    if (!sample) return sample;
    sample->labels = std::move(*labels);
    return sample;
}

Result<std::vector<PromSample>> parse_vector(const json &result) {
    if (!result.is_array()) return fail("vector result is not an array");
    std::vector<PromSample> samples;
    samples.reserve(result.size());
    for (size_t index = 0; index < result.size(); ++index) {
        auto sample = parse_vector_element(result[index], index);
        if (!sample) return Error{sample.error()};
        samples.push_back(std::move(*sample));
    }
    return samples;
}

std::vector<std::string> string_list(const json &envelope, std::string_view key) {
    std::vector<std::string> items;
    auto list = envelope.find(key);
    if (list == envelope.end() || !list->is_array()) return items;
    for (const auto &item : *list)
        items.push_back(item.is_string() ? item.get<std::string>() : item.dump());
    return items;
}

std::string text_field(const json &envelope, std::string_view key, std::string_view fallback) {
    auto field = envelope.find(key);
    return field != envelope.end() && field->is_string() ? field->get<std::string>()
                                                         : std::string(fallback);
}

Result<PromQueryResult> parse_data(const json &envelope) {
    auto data = envelope.find("data");
    if (data == envelope.end() || !data->is_object()) return fail("answer has no \"data\" object");
    std::string type = text_field(*data, "resultType", "");
    auto result = data->find("result");
    if (result == data->end()) return fail("answer has no data.result");

    PromQueryResult parsed;
    parsed.warnings = string_list(envelope, "warnings");
    parsed.infos = string_list(envelope, "infos");
    if (type == "vector") {
        auto samples = parse_vector(*result);
        if (!samples) return Error{samples.error()};
        parsed.samples = std::move(*samples);
        return parsed;
    }
    if (type == "scalar") {
        auto sample = parse_timestamped_value(*result, "scalar result");
        if (!sample) return Error{sample.error()};
        parsed.type = PromResultType::Scalar;
        parsed.samples.push_back(std::move(*sample));
        return parsed;
    }
    return fail("unexpected result type \"" + type + "\" (expected vector or scalar)");
}

}  // namespace

std::optional<double> parse_sample_value(std::string_view text) {
    if (text == "NaN") return std::numeric_limits<double>::quiet_NaN();
    if (text == "+Inf" || text == "Inf") return std::numeric_limits<double>::infinity();
    if (text == "-Inf") return -std::numeric_limits<double>::infinity();
    // from_chars would also take "inf"/"nan" spellings Prometheus never sends; refuse letters
    // other than an exponent so a garbled value is not read as a special one.
    for (char c : text)
        if (std::isalpha(static_cast<unsigned char>(c)) && c != 'e' && c != 'E')
            return std::nullopt;
    double value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (text.empty() || ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
    return value;
}

std::string format_labels(const PromLabels &labels) {
    std::string text = "{";
    for (const auto &[name, value] : labels) {
        if (text.size() > 1) text += ',';
        text += name + "=\"" + value + "\"";
    }
    return text + "}";
}

Result<PromQueryResult> parse_query_response(int http_status, std::string_view body) {
    json envelope;
    try {
        envelope = json::parse(body);
    } catch (const json::exception &error) {  // parse_error, and out_of_range for 1e400
        if (!is_success_status(http_status))
            return fail("HTTP " + std::to_string(http_status) + ": " + detail::body_excerpt(body));
        return fail(std::string("malformed JSON: ") + error.what());
    }
    std::string http_prefix =
        is_success_status(http_status) ? "" : "HTTP " + std::to_string(http_status) + ": ";
    if (!envelope.is_object())
        return fail(http_prefix + "expected a JSON object, got " + envelope.type_name());

    std::string status = text_field(envelope, "status", "");
    if (status == "error")
        return fail(http_prefix + text_field(envelope, "errorType", "unknown error type") + ": " +
                    text_field(envelope, "error", "(no message)"));
    if (!http_prefix.empty()) return fail(http_prefix + detail::body_excerpt(body));
    if (status != "success")
        return fail("unexpected status \"" + status + "\" (expected success or error)");
    return parse_data(envelope);
}

}  // namespace dfaas
