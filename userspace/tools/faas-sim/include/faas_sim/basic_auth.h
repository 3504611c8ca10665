// HTTP basic auth as the OpenFaaS gateway applies it to /system/*.
#pragma once

#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace faas_sim {

struct BasicAuthCredentials {
    std::string user;
    std::string password;
};

// Reads a secret file the way the gateway does (surrounding whitespace trimmed). Throws
// std::runtime_error naming the file when it cannot be read or is empty after trimming.
std::string read_secret_file(const std::filesystem::path &path);

// Standard base64 (RFC 4648 with padding) decoding; nullopt for malformed input.
std::optional<std::string> decode_base64(std::string_view encoded);

// True when the Authorization header value carries exactly these credentials. The password
// is compared in constant time.
bool authorization_matches(std::string_view header_value, const BasicAuthCredentials &expected);

}  // namespace faas_sim
