#include "dfaas/forecast/http_forecaster.h"

#include <httplib.h>

#include <cmath>
#include <regex>
#include <nlohmann/json.hpp>

namespace dfaas::forecast {

namespace {

using Json = nlohmann::json;
using strategy::ForecastError;

constexpr const char *kNodeUsagePath = "/node_usage";

double metric(const Json &record, const char *name) {
    auto found = record.find(name);
    if (found == record.end() || !found->is_number() || !std::isfinite(found->get<double>()))
        throw ForecastError(std::string("forecaster answer: '") + name +
                            "' is missing or not a finite number");
    return found->get<double>();
}

// http://host[:port] or https://host[:port], nothing after the authority.
bool usable_url(const std::string &url) {
    static const std::regex kBaseUrl(
        R"(https?://(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9._-]+)(:[0-9]{1,5})?)");
    return std::regex_match(url, kBaseUrl);
}

httplib::Client make_client(const std::string &base_url, std::chrono::milliseconds timeout) {
    if (!usable_url(base_url))
        throw ForecastError("forecaster URL '" + base_url +
                            "' is not http(s)://host[:port] (no path)");
    httplib::Client client(base_url);
    if (!client.is_valid()) throw ForecastError("forecaster URL '" + base_url + "' is not usable");
    client.set_connection_timeout(timeout);
    client.set_read_timeout(timeout);
    client.set_write_timeout(timeout);
    return client;
}

}  // namespace

std::string node_usage_request_body(const strategy::GroupLoad &load, NodeType type) {
    Json body = Json::object();
    body["rate_group_HIGH_USAGE"] = load.high;
    body["rate_group_LOW_USAGE"] = load.low;
    body["rate_group_MEDIUM_USAGE"] = load.medium;
    body["node_type"] = static_cast<int>(type);
    return body.dump();
}

strategy::Prediction parse_node_usage_response(std::string_view body) {
    Json answer;
    try {
        answer = Json::parse(body);
    } catch (const Json::parse_error &error) {
        throw ForecastError(std::string("forecaster answer is not JSON: ") + error.what());
    }
    if (!answer.is_array() || answer.size() != 1 || !answer[0].is_object())
        throw ForecastError("forecaster answer: expected a list of one object, got " +
                            answer.dump().substr(0, 200));
    const Json &record = answer[0];
    return {metric(record, "cpu_usage_node"), metric(record, "ram_usage_node"),
            metric(record, "power_usage_node")};
}

HttpForecaster::HttpForecaster(std::string base_url, std::chrono::milliseconds timeout)
    : base_url_(std::move(base_url)), timeout_(timeout) {
    if (!base_url_.empty() && base_url_.back() == '/') base_url_.pop_back();
    make_client(base_url_, timeout_);  // reject an unusable URL at configuration time
}

strategy::Prediction HttpForecaster::predict(const strategy::GroupLoad &load, NodeType type) const {
    httplib::Client client = make_client(base_url_, timeout_);
    // The reference service reads a JSON body on GET, as the reference agent sends it.
    httplib::Request request;
    request.method = "GET";
    request.path = kNodeUsagePath;
    request.body = node_usage_request_body(load, type);
    request.set_header("Content-Type", "application/json");
    const httplib::Result result = client.send(request);
    if (!result)
        throw ForecastError("forecaster " + base_url_ + kNodeUsagePath + ": " +
                            httplib::to_string(result.error()));
    if (result->status != 200)
        throw ForecastError("forecaster " + base_url_ + kNodeUsagePath + ": HTTP status " +
                            std::to_string(result->status));
    return parse_node_usage_response(result->body);
}

}  // namespace dfaas::forecast
