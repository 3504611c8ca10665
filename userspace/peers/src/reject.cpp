#include "dfaas/peers/reject.h"

namespace dfaas::peers {

std::string_view to_string(RejectReason reason) {
    switch (reason) {
        case RejectReason::bad_request:
            return "bad_request";
        case RejectReason::too_large:
            return "too_large";
        case RejectReason::missing_auth:
            return "missing_auth";
        case RejectReason::bad_auth_header:
            return "bad_auth_header";
        case RejectReason::stale_timestamp:
            return "stale_timestamp";
        case RejectReason::bad_signature:
            return "bad_signature";
        case RejectReason::malformed_json:
            return "malformed_json";
        case RejectReason::unsupported_version:
            return "unsupported_version";
        case RejectReason::invalid_envelope:
            return "invalid_envelope";
        case RejectReason::unknown_type:
            return "unknown_type";
        case RejectReason::invalid_body:
            return "invalid_body";
        case RejectReason::header_mismatch:
            return "header_mismatch";
        case RejectReason::self_sender:
            return "self_sender";
        case RejectReason::wrong_receiver:
            return "wrong_receiver";
        case RejectReason::replay:
            return "replay";
        case RejectReason::replay_capacity:
            return "replay_capacity";
        case RejectReason::unknown_sender:
            return "unknown_sender";
        case RejectReason::refused:
            return "refused";
        case RejectReason::internal_error:
            return "internal_error";
        case RejectReason::source_mismatch:
            return "source_mismatch";
        case RejectReason::bad_address:
            return "bad_address";
    }
    return "unknown";
}

int http_status(RejectReason reason) {
    switch (reason) {
        case RejectReason::too_large:
            return 413;
        case RejectReason::missing_auth:
        case RejectReason::bad_auth_header:
        case RejectReason::stale_timestamp:
        case RejectReason::bad_signature:
            return 401;
        case RejectReason::self_sender:
        case RejectReason::wrong_receiver:
        case RejectReason::unknown_sender:
        case RejectReason::source_mismatch:
        case RejectReason::bad_address:
            return 403;
        case RejectReason::replay:
            return 409;
        case RejectReason::refused:
            return 422;
        case RejectReason::replay_capacity:
            return 503;
        case RejectReason::internal_error:
            return 500;
        case RejectReason::bad_request:
        case RejectReason::malformed_json:
        case RejectReason::unsupported_version:
        case RejectReason::invalid_envelope:
        case RejectReason::unknown_type:
        case RejectReason::invalid_body:
        case RejectReason::header_mismatch:
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
