#include "dfaas/peers/delivery.h"

#include "dfaas/peers/signature.h"

namespace dfaas::peers {

std::string_view to_string(TargetKind kind) {
    switch (kind) {
        case TargetKind::member:
            return "member";
        case TargetKind::seed:
            return "seed";
        case TargetKind::candidate:
            return "candidate";
    }
    return "unknown";
}

std::string_view to_string(SendStatus status) {
    switch (status) {
        case SendStatus::ok:
            return "ok";
        case SendStatus::timeout:
            return "timeout";
        case SendStatus::refused:
            return "refused";
        case SendStatus::http_error:
            return "http_error";
        case SendStatus::transport_error:
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
