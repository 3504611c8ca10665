// Message authentication: HMAC-SHA256 with the cluster key over
//     METHOD "\n" PATH "\n" TIMESTAMP "\n" BODY
// (TIMESTAMP: the decimal milliseconds of the X-Dfaas-Timestamp header), sent as 64 lowercase hex
// digits in X-Dfaas-Signature. Every node of a federation holds the same key (a k8s Secret);
// the key authenticates membership, it does not tell nodes apart (see docs/peer-protocol.md).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace dfaas::peers {

inline constexpr std::string_view kHeaderNode = "X-Dfaas-Node";
inline constexpr std::string_view kHeaderTimestamp = "X-Dfaas-Timestamp";
inline constexpr std::string_view kHeaderSignature = "X-Dfaas-Signature";
inline constexpr size_t kMinKeyBytes = 16;

// A cluster key. The bytes are wiped when the key is destroyed and never printed.
class ClusterKey {
  public:
    // The content of peers.cluster_key_file (read_secret_file trims whitespace). Throws Error when
    // shorter than kMinKeyBytes ("cluster key: 7 bytes, at least 16 are required ...").
    explicit ClusterKey(std::string secret);
    ClusterKey(const ClusterKey &other);
    ClusterKey &operator=(const ClusterKey &other);
    ClusterKey(ClusterKey &&other) noexcept;
    ClusterKey &operator=(ClusterKey &&other) noexcept;
    ~ClusterKey();

    const std::string &bytes() const { return bytes_; }

  private:
    void wipe() noexcept;
    std::string bytes_;
};

// The key this node signs with, and any other key it still accepts (key rotation: deploy the new
// key as accepted everywhere, then as signing key everywhere, then drop the old one).
struct Keyring {
    ClusterKey signing;
    std::vector<ClusterKey> also_accepted;
};

std::string signing_string(std::string_view method, std::string_view path, int64_t timestamp_ms,
                           std::string_view body);

// 64 lowercase hex digits.
std::string sign(const ClusterKey &key, std::string_view method, std::string_view path,
                 int64_t timestamp_ms, std::string_view body);

// True when `signature_hex` (64 hex digits, either case) is the HMAC of the request under one of
// the keyring's keys. Constant-time comparison; false on any malformed signature.
bool verify(const Keyring &keys, std::string_view method, std::string_view path,
            int64_t timestamp_ms, std::string_view body, std::string_view signature_hex);

}  // namespace dfaas::peers
