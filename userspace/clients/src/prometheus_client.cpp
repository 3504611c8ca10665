#include "dfaas/clients/duration_text.h"
#include "dfaas/clients/prometheus.h"
#include "http_get.h"

namespace dfaas {
namespace {
constexpr std::string_view kQueryPath = "/api/v1/query";
}

PrometheusClient::PrometheusClient(PrometheusClientOptions options)
    : options_(std::move(options)) {}

Result<PromQueryResult> PrometheusClient::query(std::string_view promql) const {
    std::string context =
        "query `" + std::string(promql) + "`: " + detail::describe_get(options_.server, kQueryPath);
    // The server-side timeout makes Prometheus give up (and free its resources) when we do.
    detail::QueryParams params{{"query", std::string(promql)},
                               {"timeout", format_duration(options_.timeout)}};
    auto response =
        detail::http_get(options_.server, kQueryPath, params, {options_.timeout, std::nullopt});
    if (!response) return fail("query `" + std::string(promql) + "`: " + response.error());
    return parse_query_response(response->status, response->body).with_context(context);
}

}  // namespace dfaas
