// Internal: one HTTP GET with a timeout, turning every transport failure into a message that says
// what happened ("connection refused", "no response within 2s", "cannot resolve host ...").
// HTTP error statuses are not failures here: callers decide (Prometheus errors carry JSON bodies).
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "dfaas/clients/http_url.h"
#include "dfaas/clients/result.h"

namespace dfaas::detail {

struct BasicAuth {
    std::string username;
    std::string password;
};

struct HttpGetOptions {
    // Applies to connecting and, separately, to waiting for the response.
    std::chrono::milliseconds timeout{2000};
    std::optional<BasicAuth> basic_auth;
};

struct HttpResponse {
    int status = 0;
    std::string body;
    std::string content_type;
};

using QueryParams = std::vector<std::pair<std::string, std::string>>;

// GET base.join(path) with the parameters percent-encoded. A failed Result's message starts with
// "GET <url>: ".
Result<HttpResponse> http_get(const HttpUrl &base, std::string_view path, const QueryParams &params,
                              const HttpGetOptions &options);

// "GET http://host:port/path" — the prefix of every message about that request.
std::string describe_get(const HttpUrl &base, std::string_view path);

// The body reduced to one line of at most `max_chars` characters, for error messages.
std::string body_excerpt(std::string_view body, size_t max_chars = 200);

}  // namespace dfaas::detail
