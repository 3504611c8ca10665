// Targets: plain-HTTP URLs, parsed and resolved once before the run so the hot path never touches
// DNS.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

namespace dfaas::loadgen {

// The pieces of "http://host[:port][/path][?query]" the request needs.
struct ParsedUrl {
    std::string host;  // without brackets for IPv6 literals
    uint16_t port = 80;
    std::string host_header;  // "host" or "host:port" exactly as the URL spelled it
    std::string path;         // "/..." including the query; "/" when the URL has none
};

// Throws UsageError for anything but http:// URLs (https is rejected explicitly: no TLS).
ParsedUrl parse_url(std::string_view url);

// A request of the target's own (a vegeta targets file): its method and body replace the run's
// --method and --body; its headers follow the run's --header ones.
struct TargetRequest {
    std::string method;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
};

struct Target {
    std::string url;  // as the user wrote it, for reports
    ParsedUrl parts;
    sockaddr_storage address{};
    socklen_t address_length = 0;
    std::optional<TargetRequest> request;  // none: the run's method, headers and body
};

// Parses and resolves (numeric addresses or getaddrinfo, first result). Throws UsageError.
Target resolve_target(std::string_view url);

}  // namespace dfaas::loadgen
