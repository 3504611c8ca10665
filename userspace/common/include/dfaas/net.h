// Small value types for addresses and endpoints, shared by every userspace component.
#pragma once

#include <compare>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace dfaas {

// An IPv4 address in host byte order. The data-plane library converts to network order at the
// map boundary; everything above it works with this type.
struct Ipv4 {
    uint32_t value = 0;

    static std::optional<Ipv4> parse(std::string_view text);
    static Ipv4 from_network(uint32_t be);
    uint32_t network() const;
    std::string str() const;
    bool is_unspecified() const { return value == 0; }

    auto operator<=>(const Ipv4 &) const = default;
};

// address:port, e.g. "10.0.0.1:8080".
struct Endpoint {
    Ipv4 addr;
    uint16_t port = 0;

    // Accepts "a.b.c.d:port"; the port must be 1..65535.
    static std::optional<Endpoint> parse(std::string_view text);
    std::string str() const;

    auto operator<=>(const Endpoint &) const = default;
};

}  // namespace dfaas

template <>
struct std::hash<dfaas::Ipv4> {
    size_t operator()(const dfaas::Ipv4 &a) const noexcept {
        return std::hash<uint32_t>{}(a.value);
    }
};
