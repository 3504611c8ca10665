// Sends a batch of signed requests, all at once, and returns within the deadline whatever the
// peers do: one slow or dead peer never delays the others. Non-blocking sockets and one poll()
// loop in the calling thread (no thread per peer); HTTP/1.1 with Connection: close.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "dfaas/net.h"
#include "dfaas/peers/delivery.h"

namespace dfaas::peers {

inline constexpr size_t kSendStatusCount = static_cast<size_t>(SendStatus::TransportError) + 1;

struct ClientSettings {
    Millis deadline{1000};  // per batch: every message of the batch shares it
    size_t max_response_bytes = 64 * 1024;
    size_t max_destinations = 4096;  // counters kept for at most this many endpoints
};

struct DestinationCounters {
    std::optional<std::string> id;                       // the last id a delivery named
    std::array<uint64_t, kSendStatusCount> by_status{};  // by SendStatus
    SendStatus last_status = SendStatus::Ok;
    std::string last_reason;
    Millis last_elapsed{0};
    uint64_t consecutive_failures = 0;

    uint64_t sent() const { return by_status[static_cast<size_t>(SendStatus::Ok)]; }
    uint64_t failed() const;
};

struct ClientCounters {
    std::map<Endpoint, DestinationCounters> destinations;
    std::array<uint64_t, kSendStatusCount> totals{};
    uint64_t batches = 0;
};

class PeerClient {
  public:
    // Throws Error when the deadline is not positive or a limit is 0.
    explicit PeerClient(ClientSettings settings = {});

    // One result per delivery, in the same order. Returns after every answer or at the deadline
    // (measured on the steady clock from the call), whichever comes first; what is unfinished
    // then is a timeout. Thread-safe (concurrent batches are independent).
    std::vector<SendResult> send(const std::vector<Delivery> &deliveries);
    std::vector<SendResult> send(const std::vector<Delivery> &deliveries, Millis deadline);

    ClientCounters counters() const;
    const ClientSettings &settings() const { return settings_; }

  private:
    void count(const std::vector<SendResult> &results);

    ClientSettings settings_;
    mutable std::mutex mutex_;
    ClientCounters counters_;
    std::map<Endpoint, uint64_t> last_use_;
    uint64_t use_clock_ = 0;
};

}  // namespace dfaas::peers
