#include "dfaas/clients/openfaas.h"
#include "http_get.h"

namespace dfaas {
namespace {

constexpr std::string_view kFunctionsPath = "/system/functions";

std::string describe_http_status(const detail::HttpResponse &response) {
    std::string text =
        "HTTP " + std::to_string(response.status) + ": " + detail::body_excerpt(response.body);
    if (response.status == 401)
        text +=
            " (the gateway wants basic auth: check openfaas.username and openfaas.password_file)";
    return text;
}

}  // namespace

OpenFaasClient::OpenFaasClient(OpenFaasClientOptions options) : options_(std::move(options)) {}

Result<std::vector<FunctionInfo>> OpenFaasClient::list_functions() const {
    detail::HttpGetOptions request{options_.timeout, std::nullopt};
    if (!options_.username.empty())
        request.basic_auth = detail::BasicAuth{options_.username, options_.password};
    auto response = detail::http_get(options_.gateway, kFunctionsPath, {}, request);
    if (!response) return Error{response.error()};

    std::string context = detail::describe_get(options_.gateway, kFunctionsPath);
    if (response->status != 200) return fail(context + ": " + describe_http_status(*response));
    return parse_function_list(response->body).with_context(context);
}

}  // namespace dfaas
