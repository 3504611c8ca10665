#include "dfaas/peers/signature.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <array>

#include "dfaas/peers/reject.h"

namespace dfaas::peers {

namespace {

using Digest = std::array<unsigned char, 32>;

Digest hmac(const ClusterKey &key, std::string_view message) {
    Digest digest{};
    unsigned int length = 0;
    const auto *result =
        HMAC(EVP_sha256(), key.bytes().data(), static_cast<int>(key.bytes().size()),
             reinterpret_cast<const unsigned char *>(message.data()), message.size(), digest.data(),
             &length);
    if (result == nullptr || length != digest.size()) throw Error("HMAC-SHA256 failed (OpenSSL)");
    return digest;
}

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

}  // namespace

ClusterKey::ClusterKey(std::string secret) : bytes_(std::move(secret)) {
    if (bytes_.size() < kMinKeyBytes) {
        const size_t size = bytes_.size();
        wipe();
        throw Error("cluster key: " + std::to_string(size) + " bytes, at least " +
                    std::to_string(kMinKeyBytes) +
                    " are required (e.g. `openssl rand -hex 32` in the key file)");
    }
}

ClusterKey::ClusterKey(const ClusterKey &other) : bytes_(other.bytes_) {}

ClusterKey &ClusterKey::operator=(const ClusterKey &other) {
    if (this != &other) {
        wipe();
        bytes_ = other.bytes_;
    }
    return *this;
}

ClusterKey::ClusterKey(ClusterKey &&other) noexcept : bytes_(std::move(other.bytes_)) {
    other.wipe();
}

ClusterKey &ClusterKey::operator=(ClusterKey &&other) noexcept {
    if (this != &other) {
        wipe();
        bytes_ = std::move(other.bytes_);
        other.wipe();
    }
    return *this;
}

ClusterKey::~ClusterKey() {
    wipe();
}

void ClusterKey::wipe() noexcept {
    if (!bytes_.empty()) OPENSSL_cleanse(bytes_.data(), bytes_.size());
    bytes_.clear();
}

std::string signing_string(std::string_view method, std::string_view path, int64_t timestamp_ms,
                           std::string_view body) {
    std::string text;
    const std::string timestamp = std::to_string(timestamp_ms);
    text.reserve(method.size() + path.size() + timestamp.size() + body.size() + 3);
    text.append(method).append("\n").append(path).append("\n").append(timestamp).append("\n");
    text.append(body);
    return text;
}

std::string sign(const ClusterKey &key, std::string_view method, std::string_view path,
                 int64_t timestamp_ms, std::string_view body) {
    static const char digits[] = "0123456789abcdef";
    const Digest digest = hmac(key, signing_string(method, path, timestamp_ms, body));
    std::string hex;
    hex.reserve(digest.size() * 2);
    for (unsigned char byte : digest) {
        hex += digits[byte >> 4];
        hex += digits[byte & 15];
    }
    return hex;
}

bool verify(const Keyring &keys, std::string_view method, std::string_view path,
            int64_t timestamp_ms, std::string_view body, std::string_view signature_hex) {
    Digest claimed{};
    if (signature_hex.size() != claimed.size() * 2) return false;
    for (size_t i = 0; i < claimed.size(); ++i) {
        const int high = hex_value(signature_hex[2 * i]);
        const int low = hex_value(signature_hex[2 * i + 1]);
        if (high < 0 || low < 0) return false;
        claimed[i] = static_cast<unsigned char>(high << 4 | low);
    }
    const std::string message = signing_string(method, path, timestamp_ms, body);
    bool match = false;
    // Every key is tried (no early exit), each comparison in constant time.
    auto check = [&](const ClusterKey &key) {
        const Digest expected = hmac(key, message);
        match |= CRYPTO_memcmp(expected.data(), claimed.data(), claimed.size()) == 0;
    };
    check(keys.signing);
    for (const auto &key : keys.also_accepted)
        check(key);
    return match;
}

}  // namespace dfaas::peers
