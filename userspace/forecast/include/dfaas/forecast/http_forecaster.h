// A client of the reference forecaster service (FastAPI): GET /node_usage with a JSON body.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "dfaas/strategy/forecaster.h"

namespace dfaas::forecast {

// {"rate_group_HIGH_USAGE":h,"rate_group_LOW_USAGE":l,"rate_group_MEDIUM_USAGE":m,"node_type":t}
std::string node_usage_request_body(const strategy::GroupLoad &load, NodeType type);

// The answer is a one-element list:
// [{"cpu_usage_node":x,"ram_usage_node":y,"power_usage_node":z}]. Throws ForecastError when the
// body is not that.
strategy::Prediction parse_node_usage_response(std::string_view body);

class HttpForecaster final : public strategy::Forecaster {
  public:
    // `base_url`: "http://host:port" of the service (a trailing "/" is ignored). Throws
    // ForecastError when it is not a usable URL.
    explicit HttpForecaster(std::string base_url,
                            std::chrono::milliseconds timeout = std::chrono::seconds(2));

    // One request per call (thread-safe: no shared connection). Throws ForecastError when the
    // service is unreachable, times out, answers a non-200 status or a malformed body.
    strategy::Prediction predict(const strategy::GroupLoad &load, NodeType type) const override;

    const std::string &base_url() const { return base_url_; }

  private:
    std::string base_url_;
    std::chrono::milliseconds timeout_;
};

}  // namespace dfaas::forecast
