#include "dfaas/peers/client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <nlohmann/json.hpp>

#include "dfaas/peers/reject.h"

namespace dfaas::peers {

namespace {

using Clock = std::chrono::steady_clock;

std::string errno_text(int error) {
    switch (error) {
        case ECONNREFUSED:
            return "connection refused";
        case ECONNRESET:
            return "connection reset by the peer";
        case EPIPE:
            return "connection closed by the peer while sending";
        case ENETUNREACH:
            return "network unreachable";
        case EHOSTUNREACH:
            return "host unreachable";
        case ETIMEDOUT:
            return "connection timed out";
        default:
            return std::strerror(error);
    }
}

std::string text_of(Millis value) {
    return std::to_string(value.count()) + " ms";
}

// Only [a-z0-9_] reasons are taken from an answer; anything else is reported as "HTTP <status>".
bool is_reason_token(const std::string &text) {
    return !text.empty() && text.size() <= 32 && std::all_of(text.begin(), text.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
    });
}

std::string printable(std::string text, size_t limit) {
    if (text.size() > limit) text = text.substr(0, limit) + "...";
    for (char &c : text)
        if (c < 0x20 || c >= 0x7f) c = '?';
    return text;
}

struct Answer {
    bool complete = false;  // a whole answer is here
    bool malformed = false;
    int status = 0;
    std::string body;
};

// Parses what was received so far. `eof`: the peer closed the connection.
Answer parse_answer(const std::string &data, bool eof) {
    Answer answer;
    const size_t head_end = data.find("\r\n\r\n");
    if (head_end == std::string::npos) {
        answer.malformed = eof;
        return answer;
    }
    const std::string_view head(data.data(), head_end);
    // Status line: HTTP/1.x SSS ...
    if (head.size() < 12 || head.substr(0, 7) != "HTTP/1." || head[8] != ' ') {
        answer.malformed = true;
        return answer;
    }
    int status = 0;
    for (size_t i = 9; i < 12; ++i) {
        if (head[i] < '0' || head[i] > '9') {
            answer.malformed = true;
            return answer;
        }
        status = status * 10 + (head[i] - '0');
    }
    answer.status = status;
    std::optional<size_t> content_length;
    size_t line_start = head.find("\r\n");
    while (line_start != std::string_view::npos && line_start < head.size()) {
        line_start += 2;
        size_t line_end = head.find("\r\n", line_start);
        if (line_end == std::string_view::npos) line_end = head.size();
        const std::string_view line = head.substr(line_start, line_end - line_start);
        const size_t colon = line.find(':');
        if (colon != std::string_view::npos) {
            std::string name(line.substr(0, colon));
            std::transform(name.begin(), name.end(), name.begin(),
                           [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
            if (name == "content-length") {
                std::string_view value = line.substr(colon + 1);
                while (!value.empty() && value.front() == ' ')
                    value.remove_prefix(1);
                size_t length = 0;
                bool digits = !value.empty() && value.size() <= 12;
                for (char c : value) {
                    if (c < '0' || c > '9') {
                        digits = false;
                        break;
                    }
                    length = length * 10 + static_cast<size_t>(c - '0');
                }
                if (!digits) {
                    answer.malformed = true;
                    return answer;
                }
                content_length = length;
            }
        }
        line_start = line_end;
    }
    const size_t body_start = head_end + 4;
    const size_t available = data.size() - body_start;
    if (content_length) {
        if (available < *content_length) {
            answer.malformed = eof;
            return answer;
        }
        answer.body = data.substr(body_start, *content_length);
        answer.complete = true;
        return answer;
    }
    if (status == 204 || status == 304 || (status >= 100 && status < 200)) {
        answer.complete = true;
        return answer;
    }
    if (eof) {
        answer.body = data.substr(body_start);
        answer.complete = true;
    }
    return answer;
}

enum class Phase { Connecting, Writing, Reading, Done };

struct Connection {
    int fd = -1;
    Phase phase = Phase::Connecting;
    std::string head;  // request line and headers
    const std::string *body = nullptr;
    size_t sent = 0;  // bytes of head + body sent
    std::string received;
    Clock::time_point started;
    SendResult result;

    Connection() = default;
    Connection(const Connection &) = delete;
    Connection &operator=(const Connection &) = delete;
    ~Connection() {
        if (fd >= 0) ::close(fd);
    }
};

void finish(Connection &connection, SendStatus status, std::string reason) {
    connection.phase = Phase::Done;
    connection.result.status = status;
    connection.result.reason = std::move(reason);
    connection.result.elapsed =
        std::chrono::duration_cast<Millis>(Clock::now() - connection.started);
    if (connection.fd >= 0) {
        ::close(connection.fd);
        connection.fd = -1;
    }
}

void finish_with_answer(Connection &connection, const Answer &answer) {
    connection.result.http_status = answer.status;
    if (answer.status >= 200 && answer.status < 300) {
        finish(connection, SendStatus::Ok, "");
        return;
    }
    std::string reason = "HTTP " + std::to_string(answer.status);
    const auto json = nlohmann::json::parse(answer.body, nullptr, false);
    if (json.is_object()) {
        auto error = json.find("error");
        if (error != json.end() && error->is_string() && is_reason_token(error->get<std::string>()))
            reason = error->get<std::string>();
        auto detail = json.find("detail");
        if (detail != json.end() && detail->is_string())
            connection.result.detail = printable(detail->get<std::string>(), 300);
    }
    finish(connection, SendStatus::HttpError, std::move(reason));
}

void start(Connection &connection, const Delivery &delivery) {
    const OutboundRequest &request = *delivery.request;
    const Endpoint &endpoint = delivery.target.endpoint;
    connection.head = "POST " + request.path + " HTTP/1.1\r\nHost: " + endpoint.str() +
                      "\r\nContent-Type: application/json\r\nContent-Length: " +
                      std::to_string(request.body.size()) + "\r\n";
    for (const auto &[name, value] : request.auth_headers())
        connection.head += name + ": " + value + "\r\n";
    connection.head += "Connection: close\r\n\r\n";
    connection.body = &request.body;

    connection.fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (connection.fd < 0) {
        finish(connection, SendStatus::TransportError,
               "cannot create a socket: " + errno_text(errno));
        return;
    }
    const int one = 1;
    (void)::setsockopt(connection.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(endpoint.port);
    address.sin_addr.s_addr = endpoint.addr.network();
    if (::connect(connection.fd, reinterpret_cast<const sockaddr *>(&address), sizeof(address)) ==
        0) {
        connection.phase = Phase::Writing;
    } else if (errno == EINPROGRESS) {
        connection.phase = Phase::Connecting;
    } else {
        finish(connection, SendStatus::Refused, errno_text(errno));
    }
}

void on_connect_ready(Connection &connection) {
    int error = 0;
    socklen_t length = sizeof(error);
    if (::getsockopt(connection.fd, SOL_SOCKET, SO_ERROR, &error, &length) != 0) error = errno;
    if (error == EINPROGRESS || error == EALREADY) return;
    if (error != 0) {
        finish(connection, SendStatus::Refused, errno_text(error));
        return;
    }
    connection.phase = Phase::Writing;
}

void on_write_ready(Connection &connection) {
    const size_t total = connection.head.size() + connection.body->size();
    while (connection.sent < total) {
        iovec parts[2];
        int count = 0;
        if (connection.sent < connection.head.size()) {
            parts[count++] = {connection.head.data() + connection.sent,
                              connection.head.size() - connection.sent};
            parts[count++] = {const_cast<char *>(connection.body->data()), connection.body->size()};
        } else {
            const size_t offset = connection.sent - connection.head.size();
            parts[count++] = {const_cast<char *>(connection.body->data()) + offset,
                              connection.body->size() - offset};
        }
        msghdr message{};
        message.msg_iov = parts;
        message.msg_iovlen = static_cast<size_t>(count);
        const ssize_t written = ::sendmsg(connection.fd, &message, MSG_NOSIGNAL);
        if (written < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) return;
            if (errno == EINTR) continue;
            finish(connection, SendStatus::Refused, errno_text(errno));
            return;
        }
        connection.sent += static_cast<size_t>(written);
    }
    connection.phase = Phase::Reading;
}

void on_read_ready(Connection &connection, size_t max_bytes) {
    char buffer[16384];
    while (true) {
        const ssize_t got = ::recv(connection.fd, buffer, sizeof(buffer), 0);
        if (got < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) break;
            if (errno == EINTR) continue;
            const int error = errno;
            const Answer answer = parse_answer(connection.received, true);
            if (answer.complete && !answer.malformed)
                finish_with_answer(connection, answer);
            else
                finish(connection, SendStatus::Refused, errno_text(error));
            return;
        }
        if (got == 0) {
            const Answer answer = parse_answer(connection.received, true);
            if (answer.complete && !answer.malformed)
                finish_with_answer(connection, answer);
            else
                finish(connection, SendStatus::TransportError,
                       connection.received.empty() ? "connection closed without an answer"
                                                   : "malformed or truncated HTTP answer");
            return;
        }
        connection.received.append(buffer, static_cast<size_t>(got));
        if (connection.received.size() > max_bytes) {
            finish(connection, SendStatus::TransportError,
                   "answer larger than " + std::to_string(max_bytes) + " bytes");
            return;
        }
    }
    const Answer answer = parse_answer(connection.received, false);
    if (answer.malformed)
        finish(connection, SendStatus::TransportError, "malformed HTTP answer");
    else if (answer.complete)
        finish_with_answer(connection, answer);
}

std::string_view phase_text(Phase phase) {
    switch (phase) {
        case Phase::Connecting:
            return "while connecting";
        case Phase::Writing:
            return "while sending";
        case Phase::Reading:
            return "waiting for the answer";
        case Phase::Done:
            break;
    }
    return "";
}

}  // namespace

uint64_t DestinationCounters::failed() const {
    uint64_t total = 0;
    for (size_t i = 0; i < by_status.size(); ++i)
        if (i != static_cast<size_t>(SendStatus::Ok)) total += by_status[i];
    return total;
}

PeerClient::PeerClient(ClientSettings settings) : settings_(settings) {
    if (settings_.deadline <= Millis{0})
        throw Error("peer client: the deadline must be positive, got " +
                    std::to_string(settings_.deadline.count()) + " ms");
    if (settings_.max_response_bytes == 0 || settings_.max_destinations == 0)
        throw Error("peer client: max_response_bytes and max_destinations must be at least 1");
}

std::vector<SendResult> PeerClient::send(const std::vector<Delivery> &deliveries) {
    return send(deliveries, settings_.deadline);
}

std::vector<SendResult> PeerClient::send(const std::vector<Delivery> &deliveries, Millis deadline) {
    const auto begin = Clock::now();
    const auto deadline_at = begin + std::max(deadline, Millis{1});
    std::vector<Connection> connections(deliveries.size());
    for (size_t i = 0; i < deliveries.size(); ++i) {
        Connection &connection = connections[i];
        connection.started = begin;
        connection.result.target = deliveries[i].target;
        if (!deliveries[i].request) {
            finish(connection, SendStatus::TransportError, "no request");
            continue;
        }
        connection.result.type = deliveries[i].request->type;
        start(connection, deliveries[i]);
    }

    std::vector<pollfd> fds;
    std::vector<size_t> owners;
    while (true) {
        fds.clear();
        owners.clear();
        for (size_t i = 0; i < connections.size(); ++i) {
            const Connection &connection = connections[i];
            if (connection.phase == Phase::Done) continue;
            const short events = connection.phase == Phase::Reading ? POLLIN : POLLOUT;
            fds.push_back(pollfd{connection.fd, events, 0});
            owners.push_back(i);
        }
        if (fds.empty()) break;
        const auto now = Clock::now();
        if (now >= deadline_at) break;
        const auto left = std::chrono::ceil<Millis>(deadline_at - now).count();
        const int ready = ::poll(fds.data(), fds.size(), static_cast<int>(left));
        if (ready < 0) {
            if (errno == EINTR) continue;
            const std::string what = "poll failed: " + errno_text(errno);
            for (auto &connection : connections)
                if (connection.phase != Phase::Done)
                    finish(connection, SendStatus::TransportError, what);
            break;
        }
        for (size_t k = 0; k < fds.size(); ++k) {
            if (fds[k].revents == 0) continue;
            Connection &connection = connections[owners[k]];
            switch (connection.phase) {
                case Phase::Connecting:
                    on_connect_ready(connection);
                    if (connection.phase == Phase::Writing) on_write_ready(connection);
                    break;
                case Phase::Writing:
                    on_write_ready(connection);
                    break;
                case Phase::Reading:
                    on_read_ready(connection, settings_.max_response_bytes);
                    break;
                case Phase::Done:
                    break;
            }
        }
    }
    for (auto &connection : connections)
        if (connection.phase != Phase::Done)
            finish(connection, SendStatus::Timeout,
                   "no answer within " + text_of(deadline) + " (" +
                       std::string(phase_text(connection.phase)) + ")");

    std::vector<SendResult> results;
    results.reserve(connections.size());
    for (auto &connection : connections)
        results.push_back(std::move(connection.result));
    count(results);
    return results;
}

void PeerClient::count(const std::vector<SendResult> &results) {
    std::lock_guard lock(mutex_);
    ++counters_.batches;
    for (const auto &result : results) {
        const auto status = static_cast<size_t>(result.status);
        ++counters_.totals[status];
        DestinationCounters &destination = counters_.destinations[result.target.endpoint];
        if (result.target.id) destination.id = result.target.id;
        ++destination.by_status[status];
        destination.last_status = result.status;
        destination.last_reason = result.reason;
        destination.last_elapsed = result.elapsed;
        destination.consecutive_failures = result.ok() ? 0 : destination.consecutive_failures + 1;
        last_use_[result.target.endpoint] = ++use_clock_;
    }
    while (counters_.destinations.size() > settings_.max_destinations) {
        const auto oldest =
            std::min_element(last_use_.begin(), last_use_.end(),
                             [](const auto &a, const auto &b) { return a.second < b.second; });
        counters_.destinations.erase(oldest->first);
        last_use_.erase(oldest);
    }
}

ClientCounters PeerClient::counters() const {
    std::lock_guard lock(mutex_);
    return counters_;
}

}  // namespace dfaas::peers
