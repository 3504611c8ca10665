// HttpUrl: the base URL of an HTTP service the agent talks to (OpenFaaS gateway, Prometheus,
// forecaster, external strategy), e.g. "http://127.0.0.1:8080" or "https://prom.example/prom".
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "dfaas/clients/result.h"

namespace dfaas {

struct HttpUrl {
    std::string scheme;  // "http" or "https"
    std::string host;    // host name, IPv4 address, or IPv6 address without brackets
    uint16_t port = 0;   // explicit or the scheme's default (80/443)
    std::string path;    // base path without a trailing '/', "" for the root

    // Accepts scheme://host[:port][/path]. Rejects credentials in the URL (they would leak into
    // logs and dumps: use the dedicated username/password-file settings), query strings and
    // fragments (a base URL has none), and anything that is not http or https.
    static Result<HttpUrl> parse(std::string_view text);

    // "scheme://host:port" with IPv6 hosts bracketed: what an HTTP client connects to.
    std::string origin() const;
    // origin() + path: the canonical text form (parse(str()) gives the same HttpUrl).
    std::string str() const;
    // path + suffix, e.g. join("/system/functions") for a gateway mounted under a prefix.
    std::string join(std::string_view suffix) const;

    bool operator==(const HttpUrl &) const = default;
};

}  // namespace dfaas
