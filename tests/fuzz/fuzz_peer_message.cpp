// libFuzzer target for the peer protocol's parser: the bytes are an HTTP body from an untrusted
// peer. Checks, for every input:
//   1. decode_envelope() returns (no crash, no hang, no exception, no sanitizer report), and a
//      rejection always says why;
//   2. what it accepts re-encodes without error to a canonical text that decodes to the same
//      envelope (the encoder and the decoder agree on what is valid);
//   3. a Membership that knows the sender applies an accepted message without throwing;
//   4. the whole receive pipeline (Receiver::handle) with the input as a correctly signed body.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "dfaas/peers/envelope.h"
#include "dfaas/peers/membership.h"
#include "dfaas/peers/receiver.h"
#include "dfaas/peers/signature.h"

namespace {

using namespace dfaas;
using namespace dfaas::peers;

const Instant kNow{Millis{1718000000123}};
const std::string kKey = "fuzz-cluster-key-0123456789abcdef";

[[noreturn]] void fail(const char *what, std::string_view detail) {
    std::fprintf(stderr, "fuzz_peer_message: %s: %.*s\n", what, static_cast<int>(detail.size()),
                 detail.data());
    std::abort();
}

void check_decoded(const Envelope &envelope) {
    const std::string canonical = encode_envelope(envelope);  // throws = the sides disagree
    const DecodeResult again = decode_envelope(canonical);
    if (!again.ok()) fail("canonical form refused", again.rejection.detail);
    if (!(*again.envelope == envelope)) fail("round trip changed the envelope", canonical);
    if (encode_envelope(*again.envelope) != canonical) fail("encoding not canonical", canonical);

    if (envelope.sender_id == "fuzz-self") return;
    MembershipSettings settings;
    settings.self_id = "fuzz-self";
    settings.self = Endpoint{*Ipv4::parse("10.255.0.1"), 30090};
    settings.max_members = 4;
    settings.max_candidates = 8;
    Membership membership(settings);
    Envelope hello = envelope;
    hello.to.reset();
    hello.body = Heartbeat{NodeType::Mid, {}, "recalc", Millis{10000}, {}, {}};
    // From the address each claims (past the identity check, into the membership proper).
    (void)membership.receive(hello, kNow, hello.sender_ip);
    (void)membership.receive(envelope, kNow, envelope.sender_ip);
    (void)membership.heartbeat_targets(kNow);
    (void)membership.gossip_view(kNow);
    (void)membership.expire(kNow + Millis{3600000});
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const std::string_view bytes(reinterpret_cast<const char *>(data), size);

    const DecodeResult decoded = decode_envelope(bytes);
    if (decoded.ok())
        check_decoded(*decoded.envelope);
    else if (decoded.rejection.detail.empty())
        fail("rejection without a detail", to_string(decoded.rejection.reason));

    // The pipeline behind a valid signature: headers consistent with the body when it decodes.
    Receiver receiver(ReceiverSettings{"fuzz-self"}, Keyring{ClusterKey(kKey), {}},
                      [](const Envelope &, Instant) { return Admission::accept(); });
    const std::string node = decoded.ok() ? decoded.envelope->sender_id : "fuzz-peer";
    const Instant sent_at = decoded.ok() ? decoded.envelope->sent_at : kNow;
    const int64_t ms = sent_at.time_since_epoch().count();
    const std::string timestamp = std::to_string(ms);
    const std::string signature =
        sign(ClusterKey(kKey), "POST", std::string(kMessagePath), ms, bytes);
    InboundRequest request;
    request.method = "POST";
    request.path = kMessagePath;
    request.node = node;
    request.timestamp = timestamp;
    request.signature = signature;
    request.body = bytes;
    const Reply reply = receiver.handle(request, sent_at);
    if (reply.rejection && reply.body.empty()) fail("rejection without a reply body", node);
    if (decoded.ok() && reply.rejection && reply.rejection->reason != RejectReason::SelfSender &&
        reply.rejection->reason != RejectReason::WrongReceiver)
        fail("a decodable, correctly signed message was refused", reply.rejection->detail);
    return 0;
}
