// Targets: plain-HTTP URLs, parsed and resolved once before the run so the hot path never touches
// DNS.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <string_view>

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

struct Target {
    std::string url;  // as the user wrote it, for reports
    ParsedUrl parts;
    sockaddr_storage address{};
    socklen_t address_length = 0;
};

// Parses and resolves (numeric addresses or getaddrinfo, first result). Throws UsageError.
Target resolve_target(std::string_view url);

}  // namespace dfaas::loadgen
