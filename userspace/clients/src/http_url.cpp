#include "dfaas/clients/http_url.h"

#include <algorithm>
#include <cctype>
#include <charconv>

namespace dfaas {
namespace {

bool is_host_char(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_';
}

Result<uint16_t> parse_port(std::string_view text) {
    unsigned value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (text.empty() || ec != std::errc{} || end != text.data() + text.size() || value == 0 ||
        value > 65535)
        return fail("port \"" + std::string(text) + "\" is not a number in 1..65535");
    return static_cast<uint16_t>(value);
}

struct HostPort {
    std::string host;
    std::string_view port_text;  // empty when no port was given
};

Result<HostPort> split_authority(std::string_view authority) {
    if (authority.empty()) return fail("missing host");
    if (authority.find('@') != std::string_view::npos)
        return fail(
            "credentials in the URL are not supported (use the username and "
            "password-file settings instead)");
    if (authority.front() == '[') {  // IPv6 literal: [addr] or [addr]:port
        auto close = authority.find(']');
        if (close == std::string_view::npos) return fail("unterminated '[' in IPv6 host");
        std::string host(authority.substr(1, close - 1));
        auto rest = authority.substr(close + 1);
        if (host.empty()) return fail("missing host");
        if (rest.empty()) return HostPort{host, {}};
        if (rest.front() != ':') return fail("unexpected text after IPv6 host");
        return HostPort{host, rest.substr(1)};
    }
    auto colon = authority.find(':');
    std::string host(authority.substr(0, colon));
    if (host.empty()) return fail("missing host");
    if (!std::all_of(host.begin(), host.end(), is_host_char))
        return fail("host \"" + host + "\" contains characters not allowed in a host name");
    if (colon == std::string_view::npos) return HostPort{host, {}};
    auto port_text = authority.substr(colon + 1);
    if (port_text.empty()) return fail("empty port after ':'");
    return HostPort{host, port_text};
}

}  // namespace

Result<HttpUrl> HttpUrl::parse(std::string_view text) {
    auto scheme_end = text.find("://");
    if (scheme_end == std::string_view::npos)
        return fail("\"" + std::string(text) + "\" is not a URL (expected http://host[:port])");
    HttpUrl url;
    url.scheme = std::string(text.substr(0, scheme_end));
    std::transform(url.scheme.begin(), url.scheme.end(), url.scheme.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (url.scheme != "http" && url.scheme != "https")
        return fail("scheme \"" + url.scheme + "\" is not supported (use http or https)");

    auto rest = text.substr(scheme_end + 3);
    if (rest.find_first_of("?#") != std::string_view::npos)
        return fail("a base URL cannot have a query string or fragment");
    auto slash = rest.find('/');
    auto authority = rest.substr(0, slash);
    auto host_port = split_authority(authority);
    if (!host_port) return Error{host_port.error()};
    url.host = host_port->host;
    if (host_port->port_text.empty()) {
        url.port = url.scheme == "https" ? 443 : 80;
    } else {
        auto port = parse_port(host_port->port_text);
        if (!port) return Error{port.error()};
        url.port = *port;
    }
    if (slash != std::string_view::npos) {
        url.path = std::string(rest.substr(slash));
        while (!url.path.empty() && url.path.back() == '/')
            url.path.pop_back();
        if (url.path.find_first_of(" \t\r\n") != std::string::npos)
            return fail("path contains whitespace");
    }
    return url;
}

std::string HttpUrl::origin() const {
    bool ipv6 = host.find(':') != std::string::npos;
    std::string bracketed = ipv6 ? "[" + host + "]" : host;
    return scheme + "://" + bracketed + ":" + std::to_string(port);
}

std::string HttpUrl::str() const {
    return origin() + path;
}

std::string HttpUrl::join(std::string_view suffix) const {
    return path + std::string(suffix);
}

}  // namespace dfaas
