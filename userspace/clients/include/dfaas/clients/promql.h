// The PromQL the agent runs, and the interpretation of their results.
//
// Windows must cover at least three scrapes so rate() always has two samples even with
// Prometheus 3's left-open ranges (the config loader enforces window >= 3 x scrape interval).
// Windows are written in whole units ("20s", "1500ms"), never rounded to minutes (the reference
// agent's "%.0fm" turned 20 s into "[0m]").
#pragma once

#include <chrono>
#include <map>
#include <string>
#include <string_view>

#include "dfaas/clients/prometheus.h"
#include "dfaas/clients/result.h"

namespace dfaas::promql {

// Placeholder for the range in configurable query templates, e.g.
// "100 * sum(rate(process_cpu_seconds_total[$window]))". `$` never occurs in PromQL itself.
inline constexpr std::string_view kWindowPlaceholder = "$window";

// "20s", "1500ms", "1m".
std::string range(std::chrono::milliseconds window);

// Every occurrence of $window replaced by range(window).
std::string expand_window(std::string_view query_template, std::chrono::milliseconds window);

// Completed invocations per second per function and HTTP status code, from the gateway metric:
// sum by (function_name, code) (rate(gateway_function_invocation_total[W]))
std::string invocation_rate_by_code(std::chrono::milliseconds window);

// Mean gateway-observed latency in seconds per function, all codes together:
// sum by (function_name) (rate(gateway_functions_seconds_sum[W]))
//   / sum by (function_name) (rate(gateway_functions_seconds_count[W]))
// (summed so several gateway replicas or scrape jobs give one series per function; NaN when the
// function had no request in the window).
std::string mean_latency_by_function(std::chrono::milliseconds window);

// The gateway labels series with function_name="<name>.<namespace>"; names may contain dots but
// namespaces cannot (they are DNS labels), so the namespace is after the last dot.
struct FunctionRef {
    std::string name;
    std::string namespace_name;  // empty when the label had no dot
};
FunctionRef split_function_label(std::string_view function_name);

// function name -> status code -> requests per second
using RatesByCode = std::map<std::string, std::map<std::string, double>>;

// Result of invocation_rate_by_code() keyed by function name. A series without function_name or
// code, or the same function and code twice (two namespaces), is an error: merging them would
// hide a configuration problem.
Result<RatesByCode> invocation_rates(const PromQueryResult &result);

// One number per function: function name -> value (NaN kept), the function named by the
// function_name label, "<name>.<namespace>" or a bare "<name>" (e.g. a cAdvisor container).
// Same error rules: a series without function_name, or the same function twice (two
// namespaces), is an error.
Result<std::map<std::string, double>> values_by_function(const PromQueryResult &result);

// Result of mean_latency_by_function(): function name -> seconds (values_by_function).
Result<std::map<std::string, double>> mean_latencies(const PromQueryResult &result);

// A query expected to give one number (node CPU, node RAM): a scalar, or a vector of exactly one
// series. No series is an error ("no data") — the metric is not scraped (yet).
Result<double> single_value(const PromQueryResult &result);

}  // namespace dfaas::promql
