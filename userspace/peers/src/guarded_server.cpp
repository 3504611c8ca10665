#include "dfaas/peers/guarded_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <nlohmann/json.hpp>
#include <thread>

namespace dfaas::peers {

struct GuardedServer::Counters {
    std::string listener;
    std::array<std::atomic<uint64_t>, kHttpRefusalCount> refused{};
    std::atomic<uint64_t> open{0};
    std::atomic<uint64_t> accepted{0};
    std::atomic<uint64_t> fast_lane{0};
    std::atomic<uint64_t> fast_lane_no_waiting_place{0};
    std::atomic<uint64_t> fast_lane_no_place{0};
    std::atomic<uint64_t> fast_lane_waiting{0};
    std::atomic<uint64_t> fast_lane_serving{0};
    std::atomic<uint64_t> bytes_read{0};
};

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// Waits on sockets are cut into slices so that stop() is noticed quickly.
constexpr milliseconds kPollSlice{100};
constexpr size_t kReadBuffer = 4096;
constexpr size_t kMaxDetail = 200;
// After a refusal the connection is closed with a short, bounded drain of what the client already
// sent, so that the close is a FIN after the reply and not a reset that could discard it.
constexpr size_t kMaxDrainBytes = 64 * 1024;
constexpr milliseconds kMaxDrainTime{200};
// The fast lane keeps this share of its places (1/4, at least one) for requests whose whole head
// is there when first looked at.
constexpr size_t kFastLaneReservedShare = 4;
// Over the budget with nothing received yet: a client sends its request right after connect, so
// it is usually just behind the accept. Any such connection first waits this long for its first
// bytes, holding only its worker (a flood of empty connections costs one worker per 2 ms each).
constexpr milliseconds kFirstBytesWait{2};
// Still nothing after that while every waiting place is held (the client was descheduled, say):
// this many connections at a time may wait the rest of fast_lane_stall for their first bytes
// without holding a place. They run on the pool's spare workers (max_connections +
// fast_lane_connections + 4), leaving two for refusals.
constexpr size_t kFastLaneArrivingAtOnce = 2;

// Set by the pre-routing refusal, read by the connection loop of the same worker thread: the
// unread body must not be parsed as the next request.
thread_local bool close_after_request = false;

std::mutex registry_mutex;
std::vector<std::weak_ptr<GuardedServer::Counters>> &registry() {
    static std::vector<std::weak_ptr<GuardedServer::Counters>> live;
    return live;
}

std::string printable(std::string_view text) {
    std::string out(text.substr(0, 64));
    for (char &c : out)
        if (c < 0x20 || c >= 0x7f) c = '?';
    return "'" + out + (text.size() > 64 ? "...'" : "'");
}

std::string lowercase_trimmed(std::string text) {
    const auto first = text.find_first_not_of(" \t");
    const auto last = text.find_last_not_of(" \t");
    text = first == std::string::npos ? std::string() : text.substr(first, last - first + 1);
    std::transform(text.begin(), text.end(), text.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return text;
}

std::string source_of(int sock) {
    sockaddr_storage address{};
    socklen_t length = sizeof(address);
    if (::getpeername(sock, reinterpret_cast<sockaddr *>(&address), &length) != 0) return "?";
    char text[INET6_ADDRSTRLEN] = {};
    if (address.ss_family == AF_INET)
        ::inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in *>(&address)->sin_addr, text,
                    sizeof(text));
    else if (address.ss_family == AF_INET6)
        ::inet_ntop(AF_INET6, &reinterpret_cast<sockaddr_in6 *>(&address)->sin6_addr, text,
                    sizeof(text));
    return text[0] ? text : "?";
}

void endpoint_of(int sock, bool peer, std::string &ip, int &port) {
    sockaddr_storage address{};
    socklen_t length = sizeof(address);
    const int rc = peer ? ::getpeername(sock, reinterpret_cast<sockaddr *>(&address), &length)
                        : ::getsockname(sock, reinterpret_cast<sockaddr *>(&address), &length);
    if (rc != 0) return;
    char text[INET6_ADDRSTRLEN] = {};
    if (address.ss_family == AF_INET) {
        const auto *in = reinterpret_cast<sockaddr_in *>(&address);
        ::inet_ntop(AF_INET, &in->sin_addr, text, sizeof(text));
        port = ntohs(in->sin_port);
    } else if (address.ss_family == AF_INET6) {
        const auto *in6 = reinterpret_cast<sockaddr_in6 *>(&address);
        ::inet_ntop(AF_INET6, &in6->sin6_addr, text, sizeof(text));
        port = ntohs(in6->sin6_port);
    }
    ip = text;
}

// poll() for `events` until one arrives, `limit` passes or the server stops.
bool wait_for(int sock, short events, Clock::time_point limit,
              const std::atomic<::socket_t> &listener) {
    while (true) {
        if (listener == INVALID_SOCKET) return false;  // stop() was called
        const auto now = Clock::now();
        if (now >= limit) return false;
        const auto slice =
            std::min<milliseconds>(kPollSlice, std::chrono::ceil<milliseconds>(limit - now));
        pollfd fd{sock, events, 0};
        const int rc = ::poll(&fd, 1, static_cast<int>(slice.count()));
        if (rc > 0) return true;
        if (rc < 0 && errno != EINTR) return false;
    }
}

enum class HeadState : uint8_t {
    Whole,        // a whole GET/HEAD request head ("\r\n\r\n" received)
    Partial,      // the start of one, still arriving
    Nothing,      // no byte yet
    NotEligible,  // closed, an error, another method, or max_header_bytes hold no end of head
};

// One look at what the client sent, without reading it (httplib parses it afterwards) or waiting.
HeadState look_at_head(int sock, std::vector<char> &head, size_t &bytes) {
    static constexpr std::string_view kGet = "GET ", kHead = "HEAD ";
    bytes = 0;
    const ssize_t n = ::recv(sock, head.data(), head.size(), MSG_PEEK | MSG_DONTWAIT);
    if (n == 0) return HeadState::NotEligible;  // the client closed
    if (n < 0)
        return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? HeadState::Nothing
                                                                         : HeadState::NotEligible;
    bytes = static_cast<size_t>(n);
    const std::string_view text(head.data(), bytes);
    const auto starts = [&](std::string_view method) {
        const size_t k = std::min(text.size(), method.size());
        return text.substr(0, k) == method.substr(0, k);
    };
    if (!starts(kGet) && !starts(kHead)) return HeadState::NotEligible;
    // Four bytes at least: the method matched in full.
    if (text.find("\r\n\r\n") != std::string_view::npos) return HeadState::Whole;
    if (text.size() >= head.size()) return HeadState::NotEligible;
    return HeadState::Partial;
}

// A head still arriving on a waiting place: looks again until it is whole, `fast_lane_wait`
// passes, a partial head stops growing for `fast_lane_stall` (a slow-loris sends a byte at a
// time: it is let go after the stall, not the wait) or it is not eligible.
bool whole_bodiless_head_arrives(int sock, const GuardSettings &settings, std::vector<char> &head,
                                 const std::atomic<::socket_t> &listener) {
    const auto start = Clock::now();
    const auto limit = start + settings.fast_lane_wait;
    size_t seen = 0;
    auto grew_at = start;
    while (true) {
        size_t bytes = 0;
        const HeadState state = look_at_head(sock, head, bytes);
        if (state == HeadState::Whole) return true;
        if (state == HeadState::NotEligible) return false;
        const auto now = Clock::now();
        if (bytes > seen) {
            seen = bytes;
            grew_at = now;
        }
        if (now >= limit) return false;
        if (seen > 0 && now - grew_at >= settings.fast_lane_stall) return false;
        if (seen == 0) {
            if (!wait_for(sock, POLLIN, limit, listener)) return false;
        } else {
            // Part of a head is queued: poll() would return at once, so wait a little for more.
            std::this_thread::sleep_for(std::min<Clock::duration>(milliseconds(2), limit - now));
        }
    }
}

// The connection's stream: buffered reads that stop at the per-read timeout, the request's
// deadline and its byte budget; httplib parses what it delivers.
class GuardedStream final : public httplib::Stream {
  public:
    GuardedStream(int sock, const GuardSettings &settings, GuardedServer::Counters &counters,
                  const std::atomic<::socket_t> &listener)
        : sock_(sock), settings_(settings), counters_(counters), listener_(listener) {}

    void begin_request() {
        deadline_ = Clock::now() + settings_.request_deadline;
        consumed_ = 0;
        deadline_hit_ = budget_hit_ = false;
    }
    bool deadline_hit() const { return deadline_hit_; }
    bool budget_hit() const { return budget_hit_; }
    bool has_buffered() const { return offset_ < filled_; }

    bool is_readable() const override {
        if (has_buffered()) return true;
        return wait_for(sock_, POLLIN, read_limit(), listener_);
    }
    bool is_writable() const override {
        return wait_for(sock_, POLLOUT, Clock::now() + settings_.read_timeout, listener_);
    }

    ssize_t read(char *ptr, size_t size) override {
        const size_t budget = settings_.max_header_bytes + settings_.max_body;
        if (consumed_ >= budget) {
            budget_hit_ = true;
            return -1;
        }
        size = std::min(size, budget - consumed_);
        if (!has_buffered()) {
            if (!wait_for(sock_, POLLIN, read_limit(), listener_)) {
                if (Clock::now() >= deadline_) deadline_hit_ = true;
                return -1;
            }
            ssize_t n;
            do {
                n = ::recv(sock_, buffer_, sizeof(buffer_), 0);
            } while (n < 0 && errno == EINTR);
            if (n <= 0) return n;
            counters_.bytes_read.fetch_add(static_cast<uint64_t>(n), std::memory_order_relaxed);
            offset_ = 0;
            filled_ = static_cast<size_t>(n);
        }
        const size_t taken = std::min(size, filled_ - offset_);
        std::memcpy(ptr, buffer_ + offset_, taken);
        offset_ += taken;
        consumed_ += taken;
        return static_cast<ssize_t>(taken);
    }

    ssize_t write(const char *ptr, size_t size) override {
        if (!is_writable()) return -1;
        ssize_t n;
        do {
            n = ::send(sock_, ptr, size, MSG_NOSIGNAL);
        } while (n < 0 && errno == EINTR);
        return n;
    }

    void get_remote_ip_and_port(std::string &ip, int &port) const override {
        endpoint_of(sock_, true, ip, port);
    }
    void get_local_ip_and_port(std::string &ip, int &port) const override {
        endpoint_of(sock_, false, ip, port);
    }
    ::socket_t socket() const override { return sock_; }

  private:
    Clock::time_point read_limit() const {
        return std::min(deadline_, Clock::now() + settings_.read_timeout);
    }

    int sock_;
    const GuardSettings &settings_;
    GuardedServer::Counters &counters_;
    const std::atomic<::socket_t> &listener_;
    Clock::time_point deadline_ = Clock::now();
    size_t consumed_ = 0;
    bool deadline_hit_ = false, budget_hit_ = false;
    char buffer_[kReadBuffer];
    size_t offset_ = 0, filled_ = 0;
};

}  // namespace

std::string_view to_string(HttpRefusal reason) {
    switch (reason) {
        case HttpRefusal::ContentEncoding:
            return "content_encoding";
        case HttpRefusal::TransferEncoding:
            return "transfer_encoding";
        case HttpRefusal::BadContentLength:
            return "bad_content_length";
        case HttpRefusal::LengthRequired:
            return "length_required";
        case HttpRefusal::TooLarge:
            return "too_large";
        case HttpRefusal::RequestTooLarge:
            return "request_too_large";
        case HttpRefusal::RequestDeadline:
            return "request_deadline";
        case HttpRefusal::PerSourceConnections:
            return "per_source_connections";
        case HttpRefusal::TotalConnections:
            return "total_connections";
        case HttpRefusal::Forbidden:
            return "forbidden";
    }
    return "unknown";
}

int http_status(HttpRefusal reason) {
    switch (reason) {
        case HttpRefusal::ContentEncoding:
            return 415;
        case HttpRefusal::TransferEncoding:
        case HttpRefusal::LengthRequired:
            return 411;
        case HttpRefusal::TooLarge:
        case HttpRefusal::RequestTooLarge:
            return 413;
        case HttpRefusal::RequestDeadline:
            return 408;
        case HttpRefusal::PerSourceConnections:
        case HttpRefusal::TotalConnections:
            return 503;
        case HttpRefusal::Forbidden:
            return 403;
        case HttpRefusal::BadContentLength:
            return 400;
    }
    return 400;
}

const std::array<HttpRefusal, kHttpRefusalCount> &all_http_refusals() {
    static const auto reasons = [] {
        std::array<HttpRefusal, kHttpRefusalCount> result{};
        for (size_t i = 0; i < kHttpRefusalCount; ++i)
            result[i] = static_cast<HttpRefusal>(i);
        return result;
    }();
    return reasons;
}

std::optional<HeaderProblem> screen_headers(const httplib::Request &request, size_t max_body) {
    const size_t encodings = request.get_header_value_count("Content-Encoding");
    for (size_t i = 0; i < encodings; ++i) {
        const auto value = request.get_header_value("Content-Encoding", i);
        const auto coding = lowercase_trimmed(value);
        if (!coding.empty() && coding != "identity")
            return HeaderProblem{
                HttpRefusal::ContentEncoding,
                "Content-Encoding " + printable(value) + ": only identity bodies are accepted"};
    }
    if (request.has_header("Transfer-Encoding"))
        return HeaderProblem{HttpRefusal::TransferEncoding,
                             "Transfer-Encoding " +
                                 printable(request.get_header_value("Transfer-Encoding")) +
                                 ": send the body with a Content-Length"};
    const size_t lengths = request.get_header_value_count("Content-Length");
    if (lengths > 1)
        return HeaderProblem{HttpRefusal::BadContentLength,
                             "Content-Length given " + std::to_string(lengths) + " times"};
    if (lengths == 0) {
        if (request.method == "POST" || request.method == "PUT" || request.method == "PATCH")
            return HeaderProblem{HttpRefusal::LengthRequired,
                                 request.method + " needs a Content-Length"};
        return std::nullopt;
    }
    const std::string text = request.get_header_value("Content-Length");
    uint64_t length = 0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), length);
    if (text.empty() || text.size() > 19 || error != std::errc{} ||
        end != text.data() + text.size())
        return HeaderProblem{HttpRefusal::BadContentLength,
                             "Content-Length " + printable(text) + " is not a number"};
    if (length > max_body)
        return HeaderProblem{HttpRefusal::TooLarge, "body of " + std::to_string(length) +
                                                        " bytes, the limit is " +
                                                        std::to_string(max_body)};
    return std::nullopt;
}

std::vector<HttpListenerSnapshot> http_listener_snapshots() {
    std::vector<HttpListenerSnapshot> out;
    std::lock_guard lock(registry_mutex);
    auto &live = registry();
    live.erase(std::remove_if(live.begin(), live.end(), [](const auto &w) { return w.expired(); }),
               live.end());
    for (const auto &weak : live) {
        const auto counters = weak.lock();
        if (!counters) continue;
        auto found = std::find_if(out.begin(), out.end(),
                                  [&](const auto &s) { return s.listener == counters->listener; });
        if (found == out.end()) {
            out.push_back(HttpListenerSnapshot{});
            found = out.end() - 1;
            found->listener = counters->listener;
        }
        for (size_t i = 0; i < kHttpRefusalCount; ++i)
            found->refused[i] += counters->refused[i].load(std::memory_order_relaxed);
        found->connections += counters->open.load(std::memory_order_relaxed);
        found->accepted_connections += counters->accepted.load(std::memory_order_relaxed);
        found->fast_lane_served += counters->fast_lane.load(std::memory_order_relaxed);
        found->fast_lane_no_waiting_place +=
            counters->fast_lane_no_waiting_place.load(std::memory_order_relaxed);
        found->fast_lane_no_place += counters->fast_lane_no_place.load(std::memory_order_relaxed);
        found->fast_lane_waiting += counters->fast_lane_waiting.load(std::memory_order_relaxed);
        found->fast_lane_serving += counters->fast_lane_serving.load(std::memory_order_relaxed);
        found->bytes_read += counters->bytes_read.load(std::memory_order_relaxed);
    }
    return out;
}

GuardedServer::GuardedServer(GuardSettings settings)
    : settings_(std::move(settings)), counters_(std::make_shared<Counters>()) {
    settings_.max_connections = std::max<size_t>(settings_.max_connections, 1);
    settings_.max_connections_per_source =
        std::clamp<size_t>(settings_.max_connections_per_source, 1, settings_.max_connections);
    counters_->listener = settings_.listener;
    {
        std::lock_guard lock(registry_mutex);
        registry().push_back(counters_);
    }
    fast_lane_settings_ = settings_;
    fast_lane_settings_.request_deadline =
        std::min(settings_.request_deadline, settings_.fast_lane_deadline);
    fast_lane_settings_.read_timeout =
        std::min(settings_.read_timeout, settings_.fast_lane_deadline);
    fast_lane_waiting_places_ = fast_lane_waiting_places(settings_);
    // One worker per admitted connection and per fast-lane place, plus spares that refuse the
    // surplus at once: a full listener answers 503 instead of leaving connections queued behind
    // slow ones.
    const size_t workers = settings_.max_connections + settings_.fast_lane_connections + 4;
    new_task_queue = [workers] { return new httplib::ThreadPool(workers); };
    set_read_timeout(
        std::chrono::duration_cast<std::chrono::seconds>(settings_.read_timeout).count(), 0);
    set_keep_alive_timeout(settings_.keep_alive_timeout.count());
    set_payload_max_length(settings_.max_body);
    set_guarded_pre_routing(nullptr);
}

GuardedServer::~GuardedServer() = default;

void GuardedServer::set_guarded_pre_routing(HandlerWithResponse listener_checks,
                                            bool listener_checks_first) {
    set_pre_routing_handler(
        [this, listener_checks = std::move(listener_checks), listener_checks_first](
            const httplib::Request &request, httplib::Response &response) {
            auto run_listener_checks = [&] {
                if (!listener_checks) return false;
                if (listener_checks(request, response) == HandlerResponse::Unhandled) return false;
                // A request answered before its body was read ends the connection.
                close_after_request = true;
                return true;
            };
            if (listener_checks_first && run_listener_checks()) return HandlerResponse::Handled;
            if (auto problem = screen_headers(request, settings_.max_body)) {
                refuse(problem->reason, problem->detail, response);
                return HandlerResponse::Handled;
            }
            if (!listener_checks_first && run_listener_checks()) return HandlerResponse::Handled;
            return HandlerResponse::Unhandled;
        });
}

int GuardedServer::bind_listener(const std::string &host, int port) {
    set_socket_options([](socket_t sock) {
        const int yes = 1;
        (void)::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
    });
    int bound = 0;
    if (port == 0)
        bound = bind_to_any_port(host);
    else if (bind_to_port(host, port))
        bound = port;
    if (bound <= 0) return 0;
    (void)::listen(svr_sock_, SOMAXCONN);
    return bound;
}

void GuardedServer::refuse(HttpRefusal reason, const std::string &detail,
                           httplib::Response &response) {
    counters_->refused[static_cast<size_t>(reason)].fetch_add(1, std::memory_order_relaxed);
    close_after_request = true;
    response.status = http_status(reason);
    response.set_content(
        nlohmann::json{{"error", to_string(reason)}, {"detail", detail.substr(0, kMaxDetail)}}.dump(
            -1, ' ', false, nlohmann::json::error_handler_t::replace) +
            "\n",
        "application/json");
}

HttpListenerSnapshot GuardedServer::snapshot() const {
    HttpListenerSnapshot s;
    s.listener = counters_->listener;
    for (size_t i = 0; i < kHttpRefusalCount; ++i)
        s.refused[i] = counters_->refused[i].load(std::memory_order_relaxed);
    s.connections = counters_->open.load(std::memory_order_relaxed);
    s.accepted_connections = counters_->accepted.load(std::memory_order_relaxed);
    s.fast_lane_served = counters_->fast_lane.load(std::memory_order_relaxed);
    s.fast_lane_no_waiting_place =
        counters_->fast_lane_no_waiting_place.load(std::memory_order_relaxed);
    s.fast_lane_no_place = counters_->fast_lane_no_place.load(std::memory_order_relaxed);
    s.fast_lane_waiting = counters_->fast_lane_waiting.load(std::memory_order_relaxed);
    s.fast_lane_serving = counters_->fast_lane_serving.load(std::memory_order_relaxed);
    s.bytes_read = counters_->bytes_read.load(std::memory_order_relaxed);
    return s;
}

std::optional<HttpRefusal> GuardedServer::admit(const std::string &source) {
    std::lock_guard lock(sources_mutex_);
    std::optional<HttpRefusal> refusal;
    if (open_total_ >= settings_.max_connections)
        refusal = HttpRefusal::TotalConnections;
    else if (open_by_source_[source] >= settings_.max_connections_per_source)
        refusal = HttpRefusal::PerSourceConnections;
    if (refusal) {
        if (open_by_source_[source] == 0) open_by_source_.erase(source);
        return refusal;
    }
    ++open_by_source_[source];
    ++open_total_;
    counters_->open.store(open_total_, std::memory_order_relaxed);
    counters_->accepted.fetch_add(1, std::memory_order_relaxed);
    return std::nullopt;
}

size_t fast_lane_waiting_places(const GuardSettings &settings) {
    const size_t places = settings.fast_lane_connections;
    if (places == 0) return 0;
    return places - std::max<size_t>(1, places / kFastLaneReservedShare);
}

void GuardedServer::publish_fast_lane_locked() {
    counters_->fast_lane_waiting.store(fast_lane_waiting_, std::memory_order_relaxed);
    counters_->fast_lane_serving.store(fast_lane_held_ - fast_lane_waiting_,
                                       std::memory_order_relaxed);
}

bool GuardedServer::claim_fast_lane_place(PlaceUse use) {
    std::lock_guard lock(fast_lane_mutex_);
    if (fast_lane_held_ >= settings_.fast_lane_connections) return false;
    if (use == PlaceUse::Waiting) {
        if (fast_lane_waiting_ >= fast_lane_waiting_places_) return false;
        ++fast_lane_waiting_;
    }
    ++fast_lane_held_;
    publish_fast_lane_locked();
    return true;
}

void GuardedServer::end_waiting(bool keep_place) {
    std::lock_guard lock(fast_lane_mutex_);
    --fast_lane_waiting_;
    if (!keep_place) --fast_lane_held_;
    publish_fast_lane_locked();
}

void GuardedServer::release_fast_lane() {
    std::lock_guard lock(fast_lane_mutex_);
    --fast_lane_held_;
    publish_fast_lane_locked();
}

bool GuardedServer::claim_arrival() {
    std::lock_guard lock(fast_lane_mutex_);
    if (fast_lane_arriving_ >= kFastLaneArrivingAtOnce) return false;
    ++fast_lane_arriving_;
    return true;
}

void GuardedServer::release_arrival() {
    std::lock_guard lock(fast_lane_mutex_);
    --fast_lane_arriving_;
}

// Over the budget, a connection gets a fast-lane place only for a whole GET or HEAD head. One
// already whole takes any free place at once. One still arriving (or not begun) waits for the rest
// on a waiting place -- there are fewer of these than places, so heads that never complete (a
// slow-loris reconnecting all the time) cannot hold the places whole requests need.
bool GuardedServer::take_fast_lane(socket_t sock) {
    if (settings_.fast_lane_connections == 0) return false;
    // Bounded by max_header_bytes: a head that fills it without ending is not eligible.
    std::vector<char> head(std::max<size_t>(settings_.max_header_bytes, 5));
    size_t bytes = 0;
    const auto first_look_at = Clock::now();
    HeadState first = look_at_head(sock, head, bytes);
    if (first == HeadState::Nothing &&
        wait_for(sock, POLLIN, first_look_at + kFirstBytesWait, svr_sock_))
        first = look_at_head(sock, head, bytes);
    if (first == HeadState::NotEligible) return false;
    auto no_place = [&](std::atomic<uint64_t> &counter) {
        counter.fetch_add(1, std::memory_order_relaxed);
        return false;
    };
    if (first == HeadState::Whole)
        return claim_fast_lane_place(PlaceUse::Serving) || no_place(counters_->fast_lane_no_place);
    if (claim_fast_lane_place(PlaceUse::Waiting)) {
        const bool whole = whole_bodiless_head_arrives(sock, settings_, head, svr_sock_);
        end_waiting(whole);  // a whole head keeps its place to be served on
        return whole;
    }
    if (first == HeadState::Partial) return no_place(counters_->fast_lane_no_waiting_place);
    // Nothing received yet and every waiting place held: wait out the stall for the first bytes
    // without a place; only a head that is then whole may take one.
    if (!claim_arrival()) return no_place(counters_->fast_lane_no_waiting_place);
    const bool whole =
        wait_for(sock, POLLIN, first_look_at + settings_.fast_lane_stall, svr_sock_) &&
        look_at_head(sock, head, bytes) == HeadState::Whole;
    release_arrival();
    if (!whole) return no_place(counters_->fast_lane_no_waiting_place);
    return claim_fast_lane_place(PlaceUse::Serving) || no_place(counters_->fast_lane_no_place);
}

void GuardedServer::release(const std::string &source) {
    std::lock_guard lock(sources_mutex_);
    auto found = open_by_source_.find(source);
    if (found != open_by_source_.end() && --found->second == 0) open_by_source_.erase(found);
    --open_total_;
    counters_->open.store(open_total_, std::memory_order_relaxed);
}

void GuardedServer::drain(socket_t sock) {
    const auto limit = Clock::now() + kMaxDrainTime;
    char sink[kReadBuffer];
    size_t drained = 0;
    while (drained < kMaxDrainBytes && wait_for(sock, POLLIN, limit, svr_sock_)) {
        const ssize_t n = ::recv(sock, sink, sizeof(sink), MSG_DONTWAIT);
        if (n <= 0) break;
        drained += static_cast<size_t>(n);
        counters_->bytes_read.fetch_add(static_cast<uint64_t>(n), std::memory_order_relaxed);
    }
}

bool GuardedServer::process_and_close_socket(socket_t sock) {
    const std::string source = source_of(sock);
    bool served = false;
    const auto refusal = admit(source);
    if (!refusal) {
        try {
            served = serve_connection(sock, settings_, std::max<size_t>(keep_alive_max_count_, 1));
        } catch (...) {
            // A handler's exception is httplib's to answer; anything else ends this connection
            // only.
        }
        ::shutdown(sock, SHUT_WR);
        drain(sock);
        release(source);
    } else if (take_fast_lane(sock)) {
        // Over the budget, but the whole request is already here: one request, then closed.
        counters_->fast_lane.fetch_add(1, std::memory_order_relaxed);
        try {
            served = serve_connection(sock, fast_lane_settings_, 1);
        } catch (...) {
        }
        ::shutdown(sock, SHUT_WR);
        drain(sock);
        release_fast_lane();
    } else {
        counters_->refused[static_cast<size_t>(*refusal)].fetch_add(1, std::memory_order_relaxed);
        // Refused before reading anything: no drain, the worker is free at once.
        static constexpr std::string_view kBusy =
            "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
        (void)::send(sock, kBusy.data(), kBusy.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
        ::shutdown(sock, SHUT_RDWR);
    }
    ::close(sock);
    return served;
}

bool GuardedServer::serve_connection(socket_t sock, const GuardSettings &settings,
                                     size_t max_requests) {
    GuardedStream stream(sock, settings, *counters_, svr_sock_);
    size_t remaining = max_requests;
    bool ok = true;
    // Between requests (and before the first) a connection may idle for keep_alive_timeout.
    while (remaining > 0) {
        if (!stream.has_buffered() &&
            !wait_for(sock, POLLIN, Clock::now() + settings.keep_alive_timeout, svr_sock_))
            break;
        stream.begin_request();
        close_after_request = false;
        bool closed = false;
        ok = process_request(stream, remaining == 1, closed, nullptr);
        if (stream.deadline_hit())
            counters_->refused[static_cast<size_t>(HttpRefusal::RequestDeadline)].fetch_add(
                1, std::memory_order_relaxed);
        if (stream.budget_hit())
            counters_->refused[static_cast<size_t>(HttpRefusal::RequestTooLarge)].fetch_add(
                1, std::memory_order_relaxed);
        // A request cut off (deadline, byte budget) or refused ends the connection: what follows
        // on it is the rest of the same request.
        if (!ok || closed || close_after_request || stream.deadline_hit() || stream.budget_hit())
            break;
        --remaining;
    }
    return ok;
}

}  // namespace dfaas::peers
