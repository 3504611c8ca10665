#include "dfaas/loadgen/target.h"

#include <netdb.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <memory>

#include "dfaas/loadgen/duration.h"

namespace dfaas::loadgen {
namespace {

std::string lowercase(std::string_view text) {
    std::string out(text);
    std::transform(out.begin(), out.end(), out.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return out;
}

[[noreturn]] void reject(std::string_view url, std::string_view why) {
    throw UsageError("invalid target '" + std::string(url) + "': " + std::string(why));
}

uint16_t parse_port(std::string_view url, std::string_view text) {
    if (text.empty() || text.size() > 5 ||
        !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        reject(url, "port must be a number 1-65535");
    }
    unsigned long port = std::stoul(std::string(text));
    if (port == 0 || port > 65535) reject(url, "port must be a number 1-65535");
    return static_cast<uint16_t>(port);
}

}  // namespace

ParsedUrl parse_url(std::string_view url) {
    constexpr std::string_view kScheme = "http://";
    std::string lower = lowercase(url.substr(0, std::min(url.size(), size_t{8})));
    if (lower.starts_with("https://")) reject(url, "https is not supported (no TLS); use http://");
    if (!lower.starts_with(kScheme)) reject(url, "must start with http://");
    if (url.find_first_of(" \t\r\n") != std::string_view::npos) reject(url, "contains whitespace");

    std::string_view rest = url.substr(kScheme.size());
    rest = rest.substr(0, rest.find('#'));
    size_t path_start = rest.find_first_of("/?");
    std::string_view authority = rest.substr(0, path_start);
    ParsedUrl parsed;
    parsed.path = path_start == std::string_view::npos ? "/" : std::string(rest.substr(path_start));
    if (parsed.path.front() == '?') parsed.path.insert(0, "/");
    if (authority.find('@') != std::string_view::npos) reject(url, "user info is not supported");
    if (authority.empty()) reject(url, "missing host");
    parsed.host_header = std::string(authority);

    if (authority.front() == '[') {
        size_t close = authority.find(']');
        if (close == std::string_view::npos) reject(url, "unterminated IPv6 literal");
        parsed.host = std::string(authority.substr(1, close - 1));
        std::string_view after = authority.substr(close + 1);
        if (!after.empty()) {
            if (after.front() != ':') reject(url, "unexpected text after IPv6 literal");
            parsed.port = parse_port(url, after.substr(1));
        }
    } else {
        size_t colon = authority.rfind(':');
        parsed.host = std::string(authority.substr(0, colon));
        if (colon != std::string_view::npos)
            parsed.port = parse_port(url, authority.substr(colon + 1));
    }
    if (parsed.host.empty()) reject(url, "missing host");
    return parsed;
}

Target resolve_target(std::string_view url) {
    Target target;
    target.url = std::string(url);
    target.parts = parse_url(url);

    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo *results = nullptr;
    std::string port = std::to_string(target.parts.port);
    int rc = getaddrinfo(target.parts.host.c_str(), port.c_str(), &hints, &results);
    if (rc != 0 || results == nullptr) {
        reject(url, "cannot resolve host '" + target.parts.host + "': " + gai_strerror(rc));
    }
    std::unique_ptr<addrinfo, decltype(&freeaddrinfo)> owner(results, freeaddrinfo);
    std::memcpy(&target.address, results->ai_addr, results->ai_addrlen);
    target.address_length = results->ai_addrlen;
    return target;
}

}  // namespace dfaas::loadgen
