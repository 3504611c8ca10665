#include "faas_sim/basic_auth.h"

#include <openssl/crypto.h>

#include <array>
#include <cctype>
#include <fstream>
#include <sstream>

#include "dfaas/text.h"

namespace faas_sim {
namespace {

constexpr int kInvalidSextet = -1;

constexpr std::array<int, 256> make_decoding_table() {
    std::array<int, 256> table{};
    for (int &entry : table)
        entry = kInvalidSextet;
    constexpr std::string_view alphabet =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (size_t i = 0; i < alphabet.size(); ++i) {
        table[static_cast<unsigned char>(alphabet[i])] = static_cast<int>(i);
    }
    return table;
}

bool equals_ignoring_case(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i) {
        if (std::tolower(static_cast<unsigned char>(a[i])) !=
            std::tolower(static_cast<unsigned char>(b[i]))) {
            return false;
        }
    }
    return true;
}

bool constant_time_equals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace

std::string read_secret_file(const std::filesystem::path &path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error(path.string() + ": cannot open the secret file");
    std::ostringstream text;
    text << in.rdbuf();
    std::string value(dfaas::trim_space(text.str()));
    if (value.empty()) throw std::runtime_error(path.string() + ": the secret file is empty");
    return value;
}

std::optional<std::string> decode_base64(std::string_view encoded) {
    static constexpr std::array<int, 256> kTable = make_decoding_table();
    if (encoded.size() % 4 != 0) return std::nullopt;
    size_t padding = 0;
    while (padding < 2 && padding < encoded.size() &&
           encoded[encoded.size() - 1 - padding] == '=') {
        ++padding;
    }
    std::string out;
    out.reserve(encoded.size() / 4 * 3);
    uint32_t accumulator = 0;
    int bits = 0;
    for (size_t i = 0; i < encoded.size() - padding; ++i) {
        int sextet = kTable[static_cast<unsigned char>(encoded[i])];
        if (sextet == kInvalidSextet) return std::nullopt;
        accumulator = (accumulator << 6) | static_cast<uint32_t>(sextet);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out.push_back(static_cast<char>((accumulator >> bits) & 0xff));
        }
    }
    return out;
}

bool authorization_matches(std::string_view header_value, const BasicAuthCredentials &expected) {
    constexpr std::string_view kScheme = "Basic ";
    if (header_value.size() < kScheme.size() ||
        !equals_ignoring_case(header_value.substr(0, kScheme.size()), kScheme)) {
        return false;
    }
    std::optional<std::string> decoded = decode_base64(header_value.substr(kScheme.size()));
    if (!decoded) return false;
    size_t colon = decoded->find(':');
    if (colon == std::string::npos) return false;
    std::string_view user = std::string_view(*decoded).substr(0, colon);
    std::string_view password = std::string_view(*decoded).substr(colon + 1);
    bool user_ok = user == expected.user;
    bool password_ok = constant_time_equals(password, expected.password);
    return user_ok && password_ok;
}

}  // namespace faas_sim
