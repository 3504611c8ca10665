#include "dfaas/peers/delivery.h"

#include "dfaas/peers/signature.h"

namespace dfaas::peers {

std::string_view to_string(TargetKind kind) {
    switch (kind) {
        case TargetKind::Member:
            return "member";
        case TargetKind::Seed:
            return "seed";
        case TargetKind::Candidate:
            return "candidate";
    }
    return "unknown";
}

std::string_view to_string(SendStatus status) {
    switch (status) {
        case SendStatus::Ok:
            return "ok";
        case SendStatus::Timeout:
            return "timeout";
        case SendStatus::Refused:
            return "refused";
        case SendStatus::HttpError:
            return "http_error";
        case SendStatus::TransportError:
            return "transport_error";
    }
    return "unknown";
}

std::vector<std::pair<std::string, std::string>> OutboundRequest::auth_headers() const {
    return {{std::string(kHeaderNode), node_id},
            {std::string(kHeaderTimestamp), std::to_string(timestamp_ms)},
            {std::string(kHeaderSignature), signature}};
}

}  // namespace dfaas::peers
