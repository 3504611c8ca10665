#include "dfaas/net.h"

#include <arpa/inet.h>

#include <charconv>

namespace dfaas {

std::optional<Ipv4> Ipv4::parse(std::string_view text) {
    // inet_pton accepts exactly the dotted-quad form (no octal, no shorthand), which is what
    // configs and CLIs should accept.
    std::string s(text);
    in_addr a{};
    if (inet_pton(AF_INET, s.c_str(), &a) != 1) return std::nullopt;
    return Ipv4{ntohl(a.s_addr)};
}

Ipv4 Ipv4::from_network(uint32_t be) {
    return Ipv4{ntohl(be)};
}

uint32_t Ipv4::network() const {
    return htonl(value);
}

std::string Ipv4::str() const {
    char buf[INET_ADDRSTRLEN];
    in_addr a{htonl(value)};
    inet_ntop(AF_INET, &a, buf, sizeof(buf));
    return buf;
}

std::optional<Endpoint> Endpoint::parse(std::string_view text) {
    auto colon = text.rfind(':');
    if (colon == std::string_view::npos) return std::nullopt;
    auto addr = Ipv4::parse(text.substr(0, colon));
    if (!addr) return std::nullopt;
    auto port_text = text.substr(colon + 1);
    unsigned port = 0;
    auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (ec != std::errc{} || end != port_text.data() + port_text.size() || port == 0 ||
        port > 65535)
        return std::nullopt;
    return Endpoint{*addr, static_cast<uint16_t>(port)};
}

std::string Endpoint::str() const {
    return addr.str() + ":" + std::to_string(port);
}

}  // namespace dfaas
