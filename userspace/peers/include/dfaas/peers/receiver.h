// The receiving side's pure half: every check an inbound HTTP request goes through, in order,
// then the handler. The PeerServer feeds it; tests drive it directly.
//
//   screen:  method POST, path /v1/peer/message, Content-Length present and <= max_body
//   handle:  the same, then three stages:
//            authenticate    the auth headers present and well-formed, the timestamp within the
//                            replay window, the HMAC (before any parsing);
//            check_envelope  strict decoding, headers equal to the signed body's sender_id and
//                            sent_at, sender not this node, "to" absent or this node;
//            admit           (sender, seq) not seen, then the handler (the agent:
//                            Membership::receive).
//
// Every rejection is counted under its reason and changes nothing; only a message that reaches
// the handler consumes its (sender, seq). Thread-safe: the server calls it from several threads
// (the handler must lock what it touches).
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "dfaas/peers/envelope.h"
#include "dfaas/peers/reject.h"
#include "dfaas/peers/replay.h"
#include "dfaas/peers/signature.h"

namespace dfaas::peers {

struct ReceiverSettings {
    std::string self_id;
    Millis replay_window{30000};  // peers.replay_window
    size_t max_body = kMaxMessageBytes;
    size_t max_senders = 4096;
    size_t max_per_sender = 4096;
};

struct InboundRequest {
    std::string_view method;
    std::string_view path;
    std::optional<std::string_view> node;       // X-Dfaas-Node
    std::optional<std::string_view> timestamp;  // X-Dfaas-Timestamp
    std::optional<std::string_view> signature;  // X-Dfaas-Signature
    std::string_view body;
    std::string_view remote;  // the client's address: logs, and the handler's `source`
};

struct Reply {
    int status = 204;
    std::string body;                    // {"error":"<reason>","detail":"..."} on rejection
    std::optional<Rejection> rejection;  // empty when accepted
    std::string type;                    // the message type when it was decoded
};

// Plain data for the exporter.
struct ReceiveCounters {
    std::array<uint64_t, kMessageTypeCount> accepted{};  // by kMessageTypes index
    std::array<uint64_t, kMessageTypeCount> ignored{};   // accepted, of no use to the peer table
    std::array<uint64_t, kRejectReasonCount> rejected{};
    uint64_t accepted_bytes = 0;

    uint64_t accepted_total() const;
    uint64_t rejected_total() const;
    uint64_t rejected_for(RejectReason reason) const {
        return rejected[static_cast<size_t>(reason)];
    }
};

class Receiver {
  public:
    // `source`: the TCP source address of the request (InboundRequest::remote parsed), nullopt
    // when it is not an IPv4 address. The agent's handler binds the sender's identity to it.
    using Handler =
        std::function<Admission(const Envelope &, Instant now, std::optional<Ipv4> source)>;
    // For handlers that do not look at the source (tests, fuzzing).
    using SourceBlindHandler = std::function<Admission(const Envelope &, Instant now)>;
    // Called for every rejection (for logs; the agent rate-limits). Must not throw.
    using RejectObserver = std::function<void(const Rejection &, std::string_view remote)>;

    // Throws Error when the self id is invalid, the window not positive or a limit 0.
    Receiver(ReceiverSettings settings, Keyring keys, Handler handler);
    Receiver(ReceiverSettings settings, Keyring keys, SourceBlindHandler handler);

    void set_reject_observer(RejectObserver observer);

    // The checks possible before the body is read. nullopt: go on reading.
    std::optional<Reply> screen(std::string_view method, std::string_view path,
                                std::optional<std::string_view> content_length,
                                std::string_view remote = {});

    Reply handle(const InboundRequest &request, Instant now);

    ReceiveCounters counters() const;
    const ReceiverSettings &settings() const { return settings_; }

  private:
    // What authenticate() establishes: the signer named by the headers and the signed time.
    struct SignedRequest {
        std::string_view node;
        Instant sent_at;
    };
    // A stage of handle(): what the next stage needs, or the rejection already counted.
    template <class T>
    using Stage = std::variant<T, Reply>;

    Reply reject(RejectReason reason, std::string detail, std::string_view remote,
                 std::string type = {});
    // handle()'s three stages, in order; nothing is parsed before the signature is known good,
    // and only admit() changes state (the replay guard, the counters, the handler's table).
    Stage<SignedRequest> authenticate(const InboundRequest &request, Instant now);
    Stage<Envelope> check_envelope(const InboundRequest &request, const SignedRequest &signer);
    Reply admit(const InboundRequest &request, const Envelope &envelope, Instant now);
    // authenticate()'s parts: the headers well-formed, then the HMAC over the raw body.
    Stage<SignedRequest> parse_auth_headers(const InboundRequest &request);
    std::optional<Reply> verify_signature(const InboundRequest &request,
                                          const SignedRequest &signer);
    // admit()'s first part: consumes (sender, seq) or says why not.
    std::optional<Reply> consume_sequence(const Envelope &envelope, Instant now,
                                          std::string_view remote, const std::string &type);
    std::optional<Rejection> check_request_line(std::string_view method, std::string_view path,
                                                std::optional<size_t> content_length) const;

    ReceiverSettings settings_;
    Keyring keys_;
    Handler handler_;
    RejectObserver observer_;

    std::mutex replay_mutex_;
    ReplayGuard replay_;

    std::array<std::atomic<uint64_t>, kMessageTypeCount> accepted_{};
    std::array<std::atomic<uint64_t>, kMessageTypeCount> ignored_{};
    std::array<std::atomic<uint64_t>, kRejectReasonCount> rejected_{};
    std::atomic<uint64_t> accepted_bytes_{0};
};

}  // namespace dfaas::peers
