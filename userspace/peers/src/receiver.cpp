#include "dfaas/peers/receiver.h"

#include <charconv>
#include <nlohmann/json.hpp>
#include <numeric>

namespace dfaas::peers {

namespace {

constexpr size_t kMaxDetail = 300;

// Details may quote received bytes: printable ASCII only, bounded.
std::string sanitized(std::string text) {
    if (text.size() > kMaxDetail) text = text.substr(0, kMaxDetail) + "...";
    for (char &c : text)
        if (c < 0x20 || c >= 0x7f) c = '?';
    return text;
}

std::string shown(std::string_view text) {
    return "'" + sanitized(std::string(text.substr(0, 64))) + (text.size() > 64 ? "...'" : "'");
}

std::optional<uint64_t> parse_decimal(std::string_view text, size_t max_digits) {
    if (text.empty() || text.size() > max_digits) return std::nullopt;
    uint64_t value = 0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error != std::errc{} || end != text.data() + text.size()) return std::nullopt;
    return value;
}

std::string seconds_text(Millis value) {
    const auto ms = value.count();
    if (ms % 1000 == 0) return std::to_string(ms / 1000) + " s";
    return std::to_string(ms) + " ms";
}

}  // namespace

uint64_t ReceiveCounters::accepted_total() const {
    return std::accumulate(accepted.begin(), accepted.end(), uint64_t{0});
}

uint64_t ReceiveCounters::rejected_total() const {
    return std::accumulate(rejected.begin(), rejected.end(), uint64_t{0});
}

Receiver::Receiver(ReceiverSettings settings, Keyring keys, Handler handler)
    : settings_(std::move(settings)),
      keys_(std::move(keys)),
      handler_(std::move(handler)),
      replay_(ReplaySettings{settings_.replay_window, settings_.max_senders,
                             settings_.max_per_sender}) {
    if (!is_valid_peer_id(settings_.self_id))
        throw Error("receiver: node id '" + settings_.self_id + "' is not a node id");
    if (settings_.max_body == 0) throw Error("receiver: max_body must be at least 1 byte");
    if (!handler_) throw Error("receiver: a handler is required");
}

namespace {

// The client's address as the server reports it; an IPv4-mapped IPv6 form counts as IPv4.
std::optional<Ipv4> source_address(std::string_view remote) {
    constexpr std::string_view kMapped = "::ffff:";
    if (remote.starts_with(kMapped)) remote.remove_prefix(kMapped.size());
    return Ipv4::parse(remote);
}

Receiver::Handler source_blind(Receiver::SourceBlindHandler handler) {
    if (!handler) return nullptr;
    return [handler = std::move(handler)](const Envelope &envelope, Instant now,
                                          std::optional<Ipv4>) { return handler(envelope, now); };
}

}  // namespace

Receiver::Receiver(ReceiverSettings settings, Keyring keys, SourceBlindHandler handler)
    : Receiver(std::move(settings), std::move(keys), source_blind(std::move(handler))) {}

void Receiver::set_reject_observer(RejectObserver observer) {
    observer_ = std::move(observer);
}

Reply Receiver::reject(RejectReason reason, std::string detail, std::string_view remote,
                       std::string type) {
    rejected_[static_cast<size_t>(reason)].fetch_add(1, std::memory_order_relaxed);
    Reply reply;
    reply.status = http_status(reason);
    reply.rejection = Rejection{reason, sanitized(std::move(detail))};
    reply.type = std::move(type);
    reply.body =
        nlohmann::json{{"error", to_string(reason)}, {"detail", reply.rejection->detail}}.dump(
            -1, ' ', false, nlohmann::json::error_handler_t::replace);
    if (observer_) {
        try {
            observer_(*reply.rejection, remote);
        } catch (...) {
            // A logging hook must not turn a rejection into a crash.
        }
    }
    return reply;
}

std::optional<Rejection> Receiver::check_request_line(std::string_view method,
                                                      std::string_view path,
                                                      std::optional<size_t> length) const {
    if (method != "POST")
        return Rejection{RejectReason::BadRequest, "method " + shown(method) + ": only POST"};
    if (path != kMessagePath)
        return Rejection{RejectReason::BadRequest,
                         "path " + shown(path) + ": only " + std::string(kMessagePath)};
    if (!length) return Rejection{RejectReason::BadRequest, "Content-Length is required"};
    if (*length > settings_.max_body)
        return Rejection{RejectReason::TooLarge, "body of " + std::to_string(*length) +
                                                     " bytes, the limit is " +
                                                     std::to_string(settings_.max_body)};
    return std::nullopt;
}

std::optional<Reply> Receiver::screen(std::string_view method, std::string_view path,
                                      std::optional<std::string_view> content_length,
                                      std::string_view remote) {
    std::optional<size_t> length;
    if (content_length) {
        const auto parsed = parse_decimal(*content_length, 19);
        if (!parsed)
            return reject(RejectReason::BadRequest,
                          "Content-Length " + shown(*content_length) + " is not a number", remote);
        length = static_cast<size_t>(*parsed);
    }
    if (auto problem = check_request_line(method, path, length))
        return reject(problem->reason, std::move(problem->detail), remote);
    return std::nullopt;
}

Reply Receiver::handle(const InboundRequest &request, Instant now) {
    if (auto problem = check_request_line(request.method, request.path, request.body.size()))
        return reject(problem->reason, std::move(problem->detail), request.remote);
    auto signer = authenticate(request, now);
    if (auto *refused = std::get_if<Reply>(&signer)) return std::move(*refused);
    auto envelope = check_envelope(request, std::get<SignedRequest>(signer));
    if (auto *refused = std::get_if<Reply>(&envelope)) return std::move(*refused);
    return admit(request, std::get<Envelope>(envelope), now);
}

// The authentication headers, then the clock, then the HMAC: nothing is parsed before the
// signature is known to be good.
Receiver::Stage<Receiver::SignedRequest> Receiver::authenticate(const InboundRequest &request,
                                                                Instant now) {
    auto signer = parse_auth_headers(request);
    if (std::holds_alternative<Reply>(signer)) return signer;
    const Instant sent_at = std::get<SignedRequest>(signer).sent_at;
    if (!replay_.in_window(sent_at, now)) {
        const Millis skew = sent_at > now ? sent_at - now : now - sent_at;
        return reject(RejectReason::StaleTimestamp,
                      "timestamp " + std::to_string(sent_at.time_since_epoch().count()) + " is " +
                          seconds_text(skew) + (sent_at > now ? " ahead of" : " behind") +
                          " this node's clock (replay window " +
                          seconds_text(settings_.replay_window) + ")",
                      request.remote);
    }
    if (auto refused = verify_signature(request, std::get<SignedRequest>(signer)))
        return std::move(*refused);
    return signer;
}

Receiver::Stage<Receiver::SignedRequest> Receiver::parse_auth_headers(
    const InboundRequest &request) {
    std::string missing;
    for (const auto &[header, name] :
         {std::pair{&request.node, kHeaderNode}, std::pair{&request.timestamp, kHeaderTimestamp},
          std::pair{&request.signature, kHeaderSignature}})
        if (!header->has_value()) missing += (missing.empty() ? "" : ", ") + std::string(name);
    if (!missing.empty())
        return reject(RejectReason::MissingAuth, "missing " + missing, request.remote);

    if (!is_valid_peer_id(*request.node))
        return reject(RejectReason::BadAuthHeader,
                      std::string(kHeaderNode) + " " + shown(*request.node) + " is not a node id",
                      request.remote);
    const auto timestamp = parse_decimal(*request.timestamp, 15);
    if (!timestamp || static_cast<int64_t>(*timestamp) > kMaxTimestampMs)
        return reject(RejectReason::BadAuthHeader,
                      std::string(kHeaderTimestamp) + " " + shown(*request.timestamp) +
                          " is not milliseconds since the epoch",
                      request.remote);
    if (request.signature->size() != 64)
        return reject(RejectReason::BadAuthHeader,
                      std::string(kHeaderSignature) + " must be 64 hex digits", request.remote);
    return SignedRequest{*request.node, Instant{Millis{static_cast<int64_t>(*timestamp)}}};
}

std::optional<Reply> Receiver::verify_signature(const InboundRequest &request,
                                                const SignedRequest &signer) {
    bool authentic = false;
    try {
        authentic =
            verify(keys_, request.method, request.path, signer.sent_at.time_since_epoch().count(),
                   request.body, *request.signature);
    } catch (const std::exception &error) {
        return reject(RejectReason::InternalError, error.what(), request.remote);
    }
    if (!authentic)
        return reject(RejectReason::BadSignature,
                      "signature of " + shown(signer.node) +
                          " does not match (a different cluster key, or the request was altered)",
                      request.remote);
    return std::nullopt;
}

// Strict decoding, then the signed body must agree with the headers and be meant for this node.
Receiver::Stage<Envelope> Receiver::check_envelope(const InboundRequest &request,
                                                   const SignedRequest &signer) {
    const std::string_view remote = request.remote;
    DecodeResult decoded = decode_envelope(request.body, settings_.max_body);
    if (!decoded.ok())
        return reject(decoded.rejection.reason, std::move(decoded.rejection.detail), remote);
    Envelope envelope = std::move(*decoded.envelope);
    std::string type(envelope.type());

    if (envelope.sender_id != signer.node)
        return reject(RejectReason::HeaderMismatch,
                      std::string(kHeaderNode) + " " + shown(signer.node) +
                          " but the signed sender_id is " + shown(envelope.sender_id),
                      remote, type);
    if (envelope.sent_at != signer.sent_at)
        return reject(RejectReason::HeaderMismatch,
                      std::string(kHeaderTimestamp) + " " +
                          std::to_string(signer.sent_at.time_since_epoch().count()) +
                          " but the signed sent_at is " +
                          std::to_string(envelope.sent_at.time_since_epoch().count()),
                      remote, type);
    if (envelope.sender_id == settings_.self_id)
        return reject(RejectReason::SelfSender,
                      "a message signed as this node ('" + settings_.self_id + "') from " +
                          envelope.sender_endpoint().str() +
                          " (another node with the same id, or this node's own message sent "
                          "back)",
                      remote, type);
    if (envelope.to && *envelope.to != settings_.self_id)
        return reject(
            RejectReason::WrongReceiver,
            type + " for " + shown(*envelope.to) + ", this node is '" + settings_.self_id + "'",
            remote, type);
    return envelope;
}

// The first stage that changes anything: (sender, seq) is consumed, then the handler decides.
Reply Receiver::admit(const InboundRequest &request, const Envelope &envelope, Instant now) {
    const std::string_view remote = request.remote;
    std::string type(envelope.type());
    if (auto refused = consume_sequence(envelope, now, remote, type)) return std::move(*refused);

    Admission admission;
    try {
        admission = handler_(envelope, now, source_address(remote));
    } catch (const std::exception &error) {
        return reject(RejectReason::InternalError, error.what(), remote, type);
    } catch (...) {
        return reject(RejectReason::InternalError, "unknown exception", remote, type);
    }
    if (!admission.accepted)
        return reject(admission.rejection.reason, std::move(admission.rejection.detail), remote,
                      type);

    const size_t index = body_type_index(envelope.body);
    accepted_[index].fetch_add(1, std::memory_order_relaxed);
    if (admission.ignored) ignored_[index].fetch_add(1, std::memory_order_relaxed);
    accepted_bytes_.fetch_add(request.body.size(), std::memory_order_relaxed);
    Reply reply;
    reply.status = 204;
    reply.type = std::move(type);
    return reply;
}

std::optional<Reply> Receiver::consume_sequence(const Envelope &envelope, Instant now,
                                                std::string_view remote, const std::string &type) {
    ReplayVerdict verdict;
    {
        std::lock_guard lock(replay_mutex_);
        verdict = replay_.admit(envelope.sender_id, envelope.seq, envelope.sent_at, now);
    }
    switch (verdict) {
        case ReplayVerdict::Fresh:
            return std::nullopt;
        case ReplayVerdict::Stale:  // checked in authenticate(); the clock is the same
            return reject(RejectReason::StaleTimestamp, "timestamp outside the window", remote,
                          type);
        case ReplayVerdict::Replay:
            return reject(RejectReason::Replay,
                          "seq " + std::to_string(envelope.seq) + " of '" + envelope.sender_id +
                              "' already received",
                          remote, type);
        case ReplayVerdict::Capacity:
            return reject(RejectReason::ReplayCapacity,
                          "too many senders tracked (" + std::to_string(settings_.max_senders) +
                              "): '" + envelope.sender_id + "' refused",
                          remote, type);
    }
    return std::nullopt;
}

ReceiveCounters Receiver::counters() const {
    ReceiveCounters counters;
    for (size_t i = 0; i < kMessageTypeCount; ++i) {
        counters.accepted[i] = accepted_[i].load(std::memory_order_relaxed);
        counters.ignored[i] = ignored_[i].load(std::memory_order_relaxed);
    }
    for (size_t i = 0; i < kRejectReasonCount; ++i)
        counters.rejected[i] = rejected_[i].load(std::memory_order_relaxed);
    counters.accepted_bytes = accepted_bytes_.load(std::memory_order_relaxed);
    return counters;
}

}  // namespace dfaas::peers
