// Prometheus HTTP API client: instant queries (GET /api/v1/query) and parsing of their answers.
//
// Sample values travel as strings because of "NaN", "+Inf" and "-Inf"; they are represented as
// the corresponding doubles (callers decide what a NaN rate means). Only instant-vector and scalar
// results are accepted: the agent never asks for ranges, so a matrix or string result means the
// query is wrong and is reported as "unexpected result type".
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dfaas/clients/http_url.h"
#include "dfaas/clients/result.h"

namespace dfaas {

using PromLabels = std::map<std::string, std::string>;

struct PromSample {
    PromLabels labels;       // empty for a scalar
    double timestamp = 0;    // Unix seconds
    double value = 0;        // may be NaN or +/-infinity
    std::string value_text;  // as sent, e.g. "0.25" or "NaN"
};

enum class PromResultType { Vector, Scalar };

struct PromQueryResult {
    PromResultType type = PromResultType::Vector;
    std::vector<PromSample> samples;    // a scalar is one sample without labels
    std::vector<std::string> warnings;  // the server's "warnings" (query still answered)
    std::vector<std::string> infos;     // the server's "infos" (Prometheus 3)
};

// "NaN", "+Inf", "Inf", "-Inf" or a decimal/exponent number, the whole text; nullopt otherwise.
// Locale-independent (unlike strtod).
std::optional<double> parse_sample_value(std::string_view text);

// {a="1",b="2"} — how a series is named in messages.
std::string format_labels(const PromLabels &labels);

// Interprets an /api/v1/query answer. `http_status` matters because Prometheus answers errors
// with 4xx/5xx and a JSON body ({"status":"error","errorType":…,"error":…}), while proxies in front
// of it answer with non-JSON bodies; both become messages such as
// "HTTP 400: bad_data: invalid parameter \"query\": …".
Result<PromQueryResult> parse_query_response(int http_status, std::string_view body);

struct PrometheusClientOptions {
    HttpUrl server;                           // e.g. http://127.0.0.1:9090
    std::chrono::milliseconds timeout{2000};  // connect and answer; also sent as the query timeout
};

class PrometheusClient {
  public:
    explicit PrometheusClient(PrometheusClientOptions options);

    // Instant query at the server's current time. Errors read
    // "query `<promql>`: GET <url>/api/v1/query: <what went wrong>".
    Result<PromQueryResult> query(std::string_view promql) const;

  private:
    PrometheusClientOptions options_;
};

}  // namespace dfaas
