#include "dfaas/clients/promql.h"

#include "dfaas/clients/duration_text.h"

namespace dfaas::promql {
namespace {

// Looks up a label every series of the query must carry.
Result<std::string> required_label(const PromSample &sample, const std::string &label) {
    auto it = sample.labels.find(label);
    if (it == sample.labels.end() || it->second.empty())
        return fail("series " + format_labels(sample.labels) + " has no " + label + " label");
    return it->second;
}

std::string duplicate_message(const std::string &what, const std::string &first_namespace,
                              const std::string &second_namespace) {
    return what + " appears twice (namespaces \"" + first_namespace + "\" and \"" +
           second_namespace + "\"); restrict the query to one namespace";
}

}  // namespace

std::string range(std::chrono::milliseconds window) {
    return format_duration(window);
}

std::string expand_window(std::string_view query_template, std::chrono::milliseconds window) {
    std::string expanded;
    std::string window_text = range(window);
    size_t position = 0;
    while (true) {
        size_t found = query_template.find(kWindowPlaceholder, position);
        expanded.append(query_template.substr(position, found - position));
        if (found == std::string_view::npos) return expanded;
        expanded += window_text;
        position = found + kWindowPlaceholder.size();
    }
}

std::string invocation_rate_by_code(std::chrono::milliseconds window) {
    return "sum by (function_name, code) (rate(gateway_function_invocation_total[" + range(window) +
           "]))";
}

std::string mean_latency_by_function(std::chrono::milliseconds window) {
    std::string w = range(window);
    return "sum by (function_name) (rate(gateway_functions_seconds_sum[" + w +
           "])) / sum by (function_name) (rate(gateway_functions_seconds_count[" + w + "]))";
}

FunctionRef split_function_label(std::string_view function_name) {
    auto dot = function_name.rfind('.');
    if (dot == std::string_view::npos) return {std::string(function_name), ""};
    return {std::string(function_name.substr(0, dot)), std::string(function_name.substr(dot + 1))};
}

Result<RatesByCode> invocation_rates(const PromQueryResult &result) {
    RatesByCode rates;
    // (function, code) -> namespace it came from, to report duplicates precisely.
    std::map<std::pair<std::string, std::string>, std::string> seen_in;
    for (const auto &sample : result.samples) {
        auto function_label = required_label(sample, "function_name");
        if (!function_label) return Error{function_label.error()};
        auto code = required_label(sample, "code");
        if (!code) return Error{code.error()};
        FunctionRef function = split_function_label(*function_label);
        auto [it, inserted] = seen_in.try_emplace({function.name, *code}, function.namespace_name);
        if (!inserted)
            return fail(duplicate_message("function \"" + function.name + "\" code " + *code,
                                          it->second, function.namespace_name));
        rates[function.name][*code] = sample.value;
    }
    return rates;
}

Result<std::map<std::string, double>> values_by_function(const PromQueryResult &result) {
    std::map<std::string, double> values;
    std::map<std::string, std::string> seen_in;
    for (const auto &sample : result.samples) {
        auto function_label = required_label(sample, "function_name");
        if (!function_label) return Error{function_label.error()};
        FunctionRef function = split_function_label(*function_label);
        auto [it, inserted] = seen_in.try_emplace(function.name, function.namespace_name);
        if (!inserted)
            return fail(duplicate_message("function \"" + function.name + "\"", it->second,
                                          function.namespace_name));
        values[function.name] = sample.value;
    }
    return values;
}

Result<std::map<std::string, double>> mean_latencies(const PromQueryResult &result) {
    return values_by_function(result);
}

Result<double> single_value(const PromQueryResult &result) {
    if (result.samples.empty())
        return fail("no data (the metric is not scraped, or not yet: check Prometheus targets)");
    if (result.samples.size() > 1)
        return fail("expected one series, got " + std::to_string(result.samples.size()) +
                    " (first two: " + format_labels(result.samples[0].labels) + ", " +
                    format_labels(result.samples[1].labels) +
                    "); aggregate the query, e.g. with sum()");
    return result.samples.front().value;
}

}  // namespace dfaas::promql
