// libFuzzer target for Prometheus answers: parse_query_response() (the /api/v1/query JSON:
// vector, scalar, matrix, errors) and the agent's interpretation of the result (promql.h:
// invocation rates by code, mean latencies, single values, function_name labels). Prometheus
// and whatever proxies it are outside the node: garbage must become an error, never a crash.
//
// Input layout: optionally "HTTP <3 digits>\n" (the status; 200 otherwise), then the body, so the
// JSON fixtures are valid seeds. Checks, for every input:
//   1. every parser returns (no crash, hang, escaping exception or sanitizer report), and a
//      refusal says why;
//   2. an accepted scalar is one sample without labels; every sample's value is what
//      parse_sample_value() makes of the text sent (NaN stays NaN);
//   3. an accepted rate or latency table has one entry per series, keyed by the function name
//      (the function_name label before its last dot).
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "dfaas/clients/prometheus.h"
#include "dfaas/clients/promql.h"

namespace {

[[noreturn]] void fail(const char *what, std::string_view detail) {
    std::fprintf(stderr, "fuzz_prometheus: %s: %.*s\n", what, static_cast<int>(detail.size()),
                 detail.data());
    std::abort();
}

template <class T>
void check_refusal(const dfaas::Result<T> &result, const char *what) {
    if (!result && result.error().empty()) fail("a refusal without a message", what);
}

bool same_value(double a, double b) {
    return (std::isnan(a) && std::isnan(b)) || a == b;
}

void check_samples(const dfaas::PromQueryResult &result) {
    if (result.type == dfaas::PromResultType::Scalar &&
        (result.samples.size() != 1 || !result.samples.front().labels.empty()))
        fail("a scalar that is not one unlabelled sample", "");
    for (const auto &sample : result.samples) {
        const auto value = dfaas::parse_sample_value(sample.value_text);
        if (!value) fail("a sample whose text is not a value", sample.value_text);
        if (!same_value(*value, sample.value))
            fail("a sample's value is not its text", sample.value_text);
        (void)dfaas::format_labels(sample.labels);
    }
}

size_t series_with_label(const dfaas::PromQueryResult &result) {
    size_t count = 0;
    for (const auto &sample : result.samples)
        count += sample.labels.count("function_name");
    return count;
}

void check_interpretations(const dfaas::PromQueryResult &result) {
    const auto rates = dfaas::promql::invocation_rates(result);
    check_refusal(rates, "invocation_rates");
    if (rates) {
        size_t entries = 0;
        for (const auto &[function, codes] : *rates)
            entries += codes.size();
        if (entries != result.samples.size()) fail("rates do not have one entry per series", "");
    }
    const auto latencies = dfaas::promql::mean_latencies(result);
    check_refusal(latencies, "mean_latencies");
    if (latencies && latencies->size() != result.samples.size())
        fail("latencies do not have one entry per series", "");
    if ((rates || latencies) && series_with_label(result) != result.samples.size())
        fail("a series without function_name accepted", "");
    const auto single = dfaas::promql::single_value(result);
    check_refusal(single, "single_value");
    if (single && result.samples.size() != 1) fail("a single value from several series", "");

    for (const auto &sample : result.samples) {
        auto label = sample.labels.find("function_name");
        if (label == sample.labels.end()) continue;
        const auto ref = dfaas::promql::split_function_label(label->second);
        // The label is the name, or the name, a dot and the namespace (possibly empty).
        if (label->second != ref.name && label->second != ref.name + "." + ref.namespace_name)
            fail("split_function_label lost text", label->second);
        if (ref.namespace_name.find('.') != std::string::npos)
            fail("a namespace with a dot", label->second);
        if (rates && !rates->count(ref.name)) fail("a function missing from the rates", ref.name);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    std::string_view input(reinterpret_cast<const char *>(data), size);
    int status = 200;
    if (input.size() >= 9 && input.substr(0, 5) == "HTTP " && input[8] == '\n') {
        status = 0;
        for (char c : input.substr(5, 3))
            status = status * 10 + (c >= '0' && c <= '9' ? c - '0' : 0);
        input.remove_prefix(9);
    }
    const auto parsed = dfaas::parse_query_response(status, input);
    check_refusal(parsed, "parse_query_response");
    if (parsed) {
        if (status < 200 || status > 299) fail("an answer with an error status accepted", input);
        check_samples(*parsed);
        check_interpretations(*parsed);
    }
    // The query templates the operator configures, with the same bytes as the template.
    const std::string expanded =
        dfaas::promql::expand_window(input.substr(0, 256), std::chrono::milliseconds(20000));
    if (expanded.find(dfaas::promql::kWindowPlaceholder) != std::string::npos)
        fail("$window left in an expanded query", expanded);
    return 0;
}
