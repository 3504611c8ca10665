#include "dfaas/peers/reject.h"

namespace dfaas::peers {

std::string_view to_string(RejectReason reason) {
    switch (reason) {
        case RejectReason::BadRequest:
            return "bad_request";
        case RejectReason::TooLarge:
            return "too_large";
        case RejectReason::MissingAuth:
            return "missing_auth";
        case RejectReason::BadAuthHeader:
            return "bad_auth_header";
        case RejectReason::StaleTimestamp:
            return "stale_timestamp";
        case RejectReason::BadSignature:
            return "bad_signature";
        case RejectReason::MalformedJson:
            return "malformed_json";
        case RejectReason::UnsupportedVersion:
            return "unsupported_version";
        case RejectReason::InvalidEnvelope:
            return "invalid_envelope";
        case RejectReason::UnknownType:
            return "unknown_type";
        case RejectReason::InvalidBody:
            return "invalid_body";
        case RejectReason::HeaderMismatch:
            return "header_mismatch";
        case RejectReason::SelfSender:
            return "self_sender";
        case RejectReason::WrongReceiver:
            return "wrong_receiver";
        case RejectReason::Replay:
            return "replay";
        case RejectReason::ReplayCapacity:
            return "replay_capacity";
        case RejectReason::UnknownSender:
            return "unknown_sender";
        case RejectReason::Refused:
            return "refused";
        case RejectReason::InternalError:
            return "internal_error";
        case RejectReason::SourceMismatch:
            return "source_mismatch";
        case RejectReason::BadAddress:
            return "bad_address";
    }
    return "unknown";
}

int http_status(RejectReason reason) {
    switch (reason) {
        case RejectReason::TooLarge:
            return 413;
        case RejectReason::MissingAuth:
        case RejectReason::BadAuthHeader:
        case RejectReason::StaleTimestamp:
        case RejectReason::BadSignature:
            return 401;
        case RejectReason::SelfSender:
        case RejectReason::WrongReceiver:
        case RejectReason::UnknownSender:
        case RejectReason::SourceMismatch:
        case RejectReason::BadAddress:
            return 403;
        case RejectReason::Replay:
            return 409;
        case RejectReason::Refused:
            return 422;
        case RejectReason::ReplayCapacity:
            return 503;
        case RejectReason::InternalError:
            return 500;
        case RejectReason::BadRequest:
        case RejectReason::MalformedJson:
        case RejectReason::UnsupportedVersion:
        case RejectReason::InvalidEnvelope:
        case RejectReason::UnknownType:
        case RejectReason::InvalidBody:
        case RejectReason::HeaderMismatch:
            return 400;
    }
    return 400;
}

const std::array<RejectReason, kRejectReasonCount> &all_reject_reasons() {
    static const auto reasons = [] {
        std::array<RejectReason, kRejectReasonCount> result{};
        for (size_t i = 0; i < kRejectReasonCount; ++i)
            result[i] = static_cast<RejectReason>(i);
        return result;
    }();
    return reasons;
}

}  // namespace dfaas::peers
