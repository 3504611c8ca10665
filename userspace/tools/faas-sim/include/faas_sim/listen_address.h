// The --listen flag: "ADDR:PORT", with IPv6 addresses in brackets ("[::1]:8080").
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace faas_sim {

struct ListenAddress {
    std::string host;  // without brackets, as getaddrinfo wants it
    int port = 0;      // 0 asks the kernel for a free port
};

// nullopt when the text is not ADDR:PORT with a port from 0 to 65535.
std::optional<ListenAddress> parse_listen_address(std::string_view text);

}  // namespace faas_sim
