#include "dfaas/loadgen/engine.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <chrono>
#include <cstring>
#include <ctime>
#include <deque>
#include <limits>
#include <stdexcept>
#include <system_error>

#include "dfaas/loadgen/response_parser.h"

#include "dfaas/text.h"

namespace dfaas::loadgen {

std::string_view error_kind_name(ErrorKind kind) {
    switch (kind) {
        case ErrorKind::Refused:
            return "refused";
        case ErrorKind::Reset:
            return "reset";
        case ErrorKind::Timeout:
            return "timeout";
        case ErrorKind::Closed:
            return "closed";
        case ErrorKind::Protocol:
            return "protocol";
        case ErrorKind::Unreachable:
            return "unreachable";
        case ErrorKind::NoPort:
            return "no_port";
        case ErrorKind::LocalLimit:
            return "local_limit";
        case ErrorKind::Other:
            return "other";
        case ErrorKind::Aborted:
            return "aborted";
    }
    return "other";
}

double RunResult::rate() const {
    if (totals.issued < 2 || attack <= 0) return 0;
    return static_cast<double>(totals.issued - 1) * kNanosPerSecond / static_cast<double>(attack);
}

double RunResult::throughput() const {
    Nanos total = duration();
    if (total <= 0) return 0;
    return static_cast<double>(totals.success) * kNanosPerSecond / static_cast<double>(total);
}

double RunResult::success_ratio() const {
    return totals.issued ? static_cast<double>(totals.success) / totals.issued : 0;
}

double RunResult::http_200_ratio() const {
    return totals.issued ? static_cast<double>(totals.http_200) / totals.issued : 0;
}

namespace {

constexpr uint32_t kNone = std::numeric_limits<uint32_t>::max();
constexpr uint64_t kTimerKey = std::numeric_limits<uint64_t>::max();
constexpr uint64_t kStopKey = kTimerKey - 1;
constexpr Nanos kNever = std::numeric_limits<Nanos>::max();
constexpr size_t kReadBufferBytes = 64 * 1024;
// When the loop falls behind (a busy machine, a burst of responses), sending and reading take
// turns: overdue requests are issued for up to kIssueBudget, then at most kMaxEvents socket
// events are handled. Sending therefore always gets a fair share of the loop and catches up,
// while finished responses are not left unread (which would inflate their latency) for long.
constexpr Nanos kIssueBudget = 2 * kNanosPerMilli;
constexpr size_t kMaxEvents = 256;

ErrorKind kind_from_errno(int err) {
    switch (err) {
        case ECONNREFUSED:
            return ErrorKind::Refused;
        case ECONNRESET:
        case EPIPE:
        case ECONNABORTED:
            return ErrorKind::Reset;
        case ETIMEDOUT:
            return ErrorKind::Timeout;
        case ENETUNREACH:
        case EHOSTUNREACH:
        case ENETDOWN:
        case EHOSTDOWN:
            return ErrorKind::Unreachable;
        case EADDRNOTAVAIL:
        case EADDRINUSE:
            return ErrorKind::NoPort;
        case EMFILE:
        case ENFILE:
        case ENOBUFS:
        case ENOMEM:
            return ErrorKind::LocalLimit;
        default:
            return ErrorKind::Other;
    }
}

bool has_header(const std::vector<std::pair<std::string, std::string>> &headers,
                std::string_view name) {
    return std::any_of(headers.begin(), headers.end(),
                       [&](const auto &header) { return iequals(header.first, name); });
}

const std::string &method_of(const RunConfig &config, const Target &target) {
    return target.request ? target.request->method : config.method;
}

const std::string &body_of(const RunConfig &config, const Target &target) {
    return target.request ? target.request->body : config.body;
}

// The bytes of one request to a target; identical for every request to it, so built once.
std::string build_wire_request(const RunConfig &config, const Target &target) {
    const std::string &method = method_of(config, target);
    const std::string &body = body_of(config, target);
    static const std::vector<std::pair<std::string, std::string>> kNoHeaders;
    const auto &own_headers = target.request ? target.request->headers : kNoHeaders;
    auto given = [&](std::string_view name) {
        return has_header(config.headers, name) || has_header(own_headers, name);
    };
    std::string wire = method + " " + target.parts.path + " HTTP/1.1\r\n";
    if (!given("Host")) wire += "Host: " + target.parts.host_header + "\r\n";
    if (!given("User-Agent")) wire += "User-Agent: dfaas-loadgen\r\n";
    // Asking the server to close makes it the side that closes first, so TIME_WAIT lands there
    // and this client does not run out of ephemeral ports at thousands of connections a second.
    if (!config.keepalive) wire += "Connection: close\r\n";
    bool method_has_body = method == "POST" || method == "PUT" || method == "PATCH";
    if (!body.empty() || method_has_body) {
        wire += "Content-Length: " + std::to_string(body.size()) + "\r\n";
    }
    for (const auto &[name, value] : config.headers)
        wire += name + ": " + value + "\r\n";
    for (const auto &[name, value] : own_headers)
        wire += name + ": " + value + "\r\n";
    wire += "\r\n";
    wire += body;
    return wire;
}

std::string rfc3339_utc_now() {
    auto now = std::chrono::system_clock::now();
    std::time_t seconds = std::chrono::system_clock::to_time_t(now);
    auto millis =
        std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() %
        1000;
    std::tm utc{};
    gmtime_r(&seconds, &utc);
    char buf[40];
    size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &utc);
    std::snprintf(buf + n, sizeof buf - n, ".%03dZ", static_cast<int>(millis));
    return buf;
}

int checked(int rc, const char *what) {
    if (rc < 0) throw std::system_error(errno, std::generic_category(), what);
    return rc;
}

enum class ConnState : uint8_t {
    Free,
    Connecting,
    Writing,
    Reading,
    Idle,      // keep-alive pool: connected, no request
    Draining,  // response complete, waiting for the server's FIN
};

struct Connection {
    int fd = -1;
    uint32_t generation = 0;  // bumped on release, so stale epoll events are recognised
    uint32_t target = 0;
    ConnState state = ConnState::Free;
    bool reused = false;  // carries its second or later request
    size_t written = 0;
    uint32_t request = kNone;
    size_t idle_position = 0;
    ResponseParser parser;
};

struct InFlight {
    uint32_t generation = 0;
    bool active = false;
    bool retried = false;
    uint32_t target = 0;
    uint32_t connection = kNone;
    uint64_t second = 0;
    Nanos issued = 0;
};

// Entries are appended in time order (now + a constant), so a FIFO is a priority queue here.
struct Deadline {
    Nanos at = 0;
    uint32_t id = 0;
    uint32_t generation = 0;
};

struct OpenSecond {
    TimelineRow row;
    uint64_t outstanding = 0;
};

}  // namespace

class Engine {
  public:
    explicit Engine(RunConfig config);
    ~Engine();
    RunResult run(const ProgressCallback &progress);
    void request_stop() noexcept;

  private:
    // Scheduling
    void describe_run();
    void wait_and_handle_events(bool with_progress);
    bool issuing() const;
    void issue_due();
    void issue(Nanos due, Nanos now);
    Nanos next_wake(bool with_progress);
    void arm_timer(Nanos at);
    void drain_fd(int fd);

    // Requests
    void dispatch(uint32_t slot, Nanos now, bool fresh_connection);
    void complete_request(uint32_t connection, Nanos now);
    void fail_request(uint32_t slot, ErrorKind kind, std::string_view message, Nanos now);
    void finish_request(uint32_t slot, Nanos now);
    void expire_requests(Nanos now);
    void abort_in_flight(Nanos now);
    uint32_t allocate_request();

    // Connections
    uint32_t open_connection(uint32_t target, int &error);
    uint32_t take_idle(uint32_t target);
    void park_idle(uint32_t id);
    void start_close(uint32_t id, Nanos now);
    void expire_closes(Nanos now);
    void release(uint32_t id, bool abortive);
    void on_socket_event(uint64_t key, uint32_t events, Nanos now);
    void send_request(uint32_t id, Nanos now);
    void receive(uint32_t id, Nanos now);
    void on_response_bytes(uint32_t id, std::string_view data, Nanos now);
    void on_peer_closed(uint32_t id, Nanos now);
    void on_connection_error(uint32_t id, int error, Nanos now);
    bool can_retry(uint32_t id) const;
    bool alive(uint32_t id, uint32_t generation) const;

    // Accounting
    OpenSecond &second_of(uint64_t second);
    void open_seconds_through(uint64_t end);
    void close_finished_seconds();
    void finalize_front_second();
    template <typename Update>
    void record(uint64_t second, Update update);
    Progress snapshot(Nanos now) const;
    void finish();

    RunConfig config_;
    std::vector<std::string> wire_requests_;  // per target
    std::vector<size_t> body_sizes_;          // per target
    std::vector<bool> head_requests_;         // per target: a HEAD's response has no body
    int epoll_fd_ = -1;
    int timer_fd_ = -1;
    int stop_fd_ = -1;
    std::atomic<int> stop_requests_{0};
    bool ran_ = false;

    std::deque<Connection> connections_;  // a deque: references survive growth
    std::vector<uint32_t> free_connections_;
    std::vector<std::vector<uint32_t>> idle_;  // per target
    std::deque<InFlight> requests_;
    std::vector<uint32_t> free_requests_;
    std::deque<Deadline> request_deadlines_;
    std::deque<Deadline> close_deadlines_;
    std::deque<OpenSecond> open_seconds_;
    uint64_t first_open_second_ = 0;

    uint64_t next_index_ = 0;
    uint64_t in_flight_ = 0;
    Nanos start_ = 0;
    Nanos first_issue_ = -1;
    Nanos last_issue_ = 0;
    Nanos last_completion_ = 0;
    Nanos armed_at_ = -1;
    Nanos next_progress_ = kNever;
    RunResult result_;
    std::vector<char> read_buffer_ = std::vector<char>(kReadBufferBytes);
};

Engine::Engine(RunConfig config) : config_(std::move(config)) {
    if (config_.targets.empty()) throw UsageError("at least one --target is required");
    if (config_.timeout <= 0) throw UsageError("--timeout must be greater than 0");
    if (config_.pool_size == 0) throw UsageError("--connections must be at least 1");
    if (config_.schedule.total_requests() == 0) {
        throw UsageError("the schedule holds no requests (every stage has rate 0 or is too short)");
    }
    for (const Target &target : config_.targets) {
        wire_requests_.push_back(build_wire_request(config_, target));
        body_sizes_.push_back(body_of(config_, target).size());
        head_requests_.push_back(method_of(config_, target) == "HEAD");
    }
    idle_.resize(config_.targets.size());

    epoll_fd_ = checked(epoll_create1(EPOLL_CLOEXEC), "epoll_create1");
    timer_fd_ = checked(timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC), "timerfd");
    stop_fd_ = checked(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC), "eventfd");
    epoll_event timer_event{EPOLLIN, {.u64 = kTimerKey}};
    checked(epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, timer_fd_, &timer_event), "epoll_ctl");
    epoll_event stop_event{EPOLLIN, {.u64 = kStopKey}};
    checked(epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, stop_fd_, &stop_event), "epoll_ctl");
}

Engine::~Engine() {
    for (Connection &connection : connections_) {
        if (connection.fd >= 0) close(connection.fd);
    }
    for (int fd : {epoll_fd_, timer_fd_, stop_fd_}) {
        if (fd >= 0) close(fd);
    }
}

void Engine::request_stop() noexcept {
    stop_requests_.fetch_add(1);
    uint64_t one = 1;
    [[maybe_unused]] ssize_t ignored = write(stop_fd_, &one, sizeof one);
}

RunResult Engine::run(const ProgressCallback &progress) {
    if (ran_) throw std::logic_error("LoadGenerator::run may be called only once");
    ran_ = true;
    describe_run();
    // The default 50 µs timer slack would be added to every scheduled wake-up.
    int previous_slack = prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0);
    prctl(PR_SET_TIMERSLACK, 1, 0, 0, 0);

    start_ = monotonic_now();
    if (progress) next_progress_ = start_ + kNanosPerSecond;
    while (true) {
        if (stop_requests_.load() >= 2) abort_in_flight(monotonic_now());
        if (issuing()) issue_due();
        Nanos now = monotonic_now();
        expire_requests(now);
        expire_closes(now);
        if (progress && now >= next_progress_) {
            progress(snapshot(now));
            while (next_progress_ <= now)
                next_progress_ += kNanosPerSecond;
        }
        close_finished_seconds();
        if (!issuing() && in_flight_ == 0) break;
        wait_and_handle_events(static_cast<bool>(progress));
    }
    finish();
    prctl(PR_SET_TIMERSLACK, previous_slack, 0, 0, 0);
    return std::move(result_);
}

void Engine::describe_run() {
    // A targets file may give several methods: the report lists each once, in target order.
    std::vector<std::string> methods;
    for (const Target &target : config_.targets) {
        const std::string &method = method_of(config_, target);
        if (std::find(methods.begin(), methods.end(), method) == methods.end()) {
            methods.push_back(method);
            result_.method += (methods.size() > 1 ? "," : "") + method;
        }
    }
    result_.keepalive = config_.keepalive;
    result_.timeout = config_.timeout;
    for (const Target &target : config_.targets)
        result_.targets.push_back(target.url);
    result_.scheduled = config_.schedule.total_requests();
    result_.target_rate = config_.schedule.mean_rate();
    result_.planned_duration = config_.schedule.duration();
    result_.started_at = rfc3339_utc_now();
}

// Sleeps until the next timed event (or returns at once when one is already due) and handles
// whatever socket, timer and stop events arrived.
void Engine::wait_and_handle_events(bool with_progress) {
    Nanos wake = next_wake(with_progress);
    int timeout_ms = -1;
    if (wake <= monotonic_now()) {
        timeout_ms = 0;
    } else if (wake != kNever) {
        arm_timer(wake);
    }
    std::array<epoll_event, kMaxEvents> events;
    int ready = epoll_wait(epoll_fd_, events.data(), static_cast<int>(events.size()), timeout_ms);
    if (ready < 0) {
        if (errno == EINTR) return;
        throw std::system_error(errno, std::generic_category(), "epoll_wait");
    }
    for (int i = 0; i < ready; ++i) {
        uint64_t key = events[i].data.u64;
        if (key == kTimerKey) {
            drain_fd(timer_fd_);
            armed_at_ = -1;
        } else if (key == kStopKey) {
            drain_fd(stop_fd_);
        } else {
            on_socket_event(key, events[i].events, monotonic_now());
        }
    }
}

bool Engine::issuing() const {
    return stop_requests_.load() == 0 && next_index_ < config_.schedule.total_requests();
}

void Engine::issue_due() {
    const Nanos batch_start = monotonic_now();
    while (issuing()) {
        Nanos due = start_ + config_.schedule.due_offset(next_index_);
        Nanos now = monotonic_now();
        if (due > now || now - batch_start > kIssueBudget) return;
        issue(due, now);
    }
}

void Engine::issue(Nanos due, Nanos now) {
    uint64_t index = next_index_++;
    uint64_t second = static_cast<uint64_t>((due - start_) / kNanosPerSecond);
    uint32_t slot = allocate_request();
    InFlight &request = requests_[slot];
    request.active = true;
    request.retried = false;
    request.target = static_cast<uint32_t>(index % config_.targets.size());
    request.connection = kNone;
    request.second = second;
    request.issued = now;
    request_deadlines_.push_back({now + config_.timeout, slot, request.generation});
    ++in_flight_;
    ++second_of(second).outstanding;
    record(second, [&](Tally &tally) {
        ++tally.issued;
        tally.lag.record(now - due);
        tally.bytes_out += body_sizes_[request.target];
    });
    if (first_issue_ < 0) first_issue_ = now;
    last_issue_ = now;
    dispatch(slot, now, false);
}

Nanos Engine::next_wake(bool with_progress) {
    // Deadlines of requests and connections that already finished are dropped here rather than
    // waking the loop for nothing.
    while (!request_deadlines_.empty()) {
        const Deadline &front = request_deadlines_.front();
        const InFlight &request = requests_[front.id];
        if (request.active && request.generation == front.generation) break;
        request_deadlines_.pop_front();
    }
    while (!close_deadlines_.empty()) {
        const Deadline &front = close_deadlines_.front();
        if (alive(front.id, front.generation) &&
            connections_[front.id].state == ConnState::Draining) {
            break;
        }
        close_deadlines_.pop_front();
    }
    Nanos wake = kNever;
    if (issuing()) wake = start_ + config_.schedule.due_offset(next_index_);
    if (!request_deadlines_.empty()) wake = std::min(wake, request_deadlines_.front().at);
    if (!close_deadlines_.empty()) wake = std::min(wake, close_deadlines_.front().at);
    if (with_progress) wake = std::min(wake, next_progress_);
    return wake;
}

void Engine::arm_timer(Nanos at) {
    if (at == armed_at_) return;
    itimerspec spec{};
    spec.it_value.tv_sec = at / kNanosPerSecond;
    spec.it_value.tv_nsec = at % kNanosPerSecond;
    checked(timerfd_settime(timer_fd_, TFD_TIMER_ABSTIME, &spec, nullptr), "timerfd_settime");
    armed_at_ = at;
}

void Engine::drain_fd(int fd) {
    uint64_t value = 0;
    while (read(fd, &value, sizeof value) > 0) {
    }
}

uint32_t Engine::allocate_request() {
    if (!free_requests_.empty()) {
        uint32_t slot = free_requests_.back();
        free_requests_.pop_back();
        return slot;
    }
    requests_.emplace_back();
    return static_cast<uint32_t>(requests_.size() - 1);
}

void Engine::dispatch(uint32_t slot, Nanos now, bool fresh_connection) {
    InFlight &request = requests_[slot];
    uint32_t id = kNone;
    if (config_.keepalive && !fresh_connection) id = take_idle(request.target);
    if (id == kNone) {
        int error = 0;
        id = open_connection(request.target, error);
        if (id == kNone) {
            fail_request(slot, kind_from_errno(error), std::strerror(error), now);
            return;
        }
    }
    Connection &connection = connections_[id];
    connection.request = slot;
    connection.written = 0;
    connection.parser.reset(head_requests_[connection.target]);
    request.connection = id;
    if (connection.state == ConnState::Writing) send_request(id, now);
}

void Engine::complete_request(uint32_t id, Nanos now) {
    Connection &connection = connections_[id];
    uint32_t slot = connection.request;
    const InFlight &request = requests_[slot];
    const ResponseParser &parser = connection.parser;
    int status = parser.status();
    record(request.second, [&](Tally &tally) {
        ++tally.responses;
        ++tally.status_codes[status];
        if (status >= 200 && status < 400) ++tally.success;
        if (status == 200) ++tally.http_200;
        Nanos latency = now - request.issued;
        if (parser.node_id().empty()) {
            ++tally.no_node_id;
        } else {
            ++tally.served_by[parser.node_id()];
            auto node = tally.served_by_latency.find(parser.node_id());
            if (node != tally.served_by_latency.end()) {
                node->second.record(latency);
            } else if (tally.served_by_latency.size() < kMaxLatencyNodes) {
                tally.served_by_latency[parser.node_id()].record(latency);
            }
        }
        tally.bytes_in += parser.body_bytes();
        tally.latency.record(latency);
    });
    connection.request = kNone;
    finish_request(slot, now);
}

void Engine::fail_request(uint32_t slot, ErrorKind kind, std::string_view message, Nanos now) {
    InFlight &request = requests_[slot];
    auto kind_index = static_cast<size_t>(kind);
    record(request.second, [&](Tally &tally) {
        ++tally.errors;
        ++tally.error_kinds[kind_index];
    });
    if (result_.error_examples[kind_index].empty()) {
        result_.error_examples[kind_index] = std::string(message);
    }
    if (request.connection != kNone) connections_[request.connection].request = kNone;
    finish_request(slot, now);
}

void Engine::finish_request(uint32_t slot, Nanos now) {
    InFlight &request = requests_[slot];
    --second_of(request.second).outstanding;
    request.active = false;
    request.connection = kNone;
    ++request.generation;
    free_requests_.push_back(slot);
    --in_flight_;
    last_completion_ = std::max(last_completion_, now);
}

void Engine::expire_requests(Nanos now) {
    while (!request_deadlines_.empty() && request_deadlines_.front().at <= now) {
        Deadline deadline = request_deadlines_.front();
        request_deadlines_.pop_front();
        const InFlight &request = requests_[deadline.id];
        if (!request.active || request.generation != deadline.generation) continue;
        uint32_t connection = request.connection;
        fail_request(deadline.id, ErrorKind::Timeout,
                     "no complete response within " + format_duration(config_.timeout), now);
        if (connection != kNone) release(connection, true);
    }
}

void Engine::abort_in_flight(Nanos now) {
    for (uint32_t slot = 0; slot < requests_.size(); ++slot) {
        if (!requests_[slot].active) continue;
        uint32_t connection = requests_[slot].connection;
        fail_request(slot, ErrorKind::Aborted, "abandoned by a second interrupt", now);
        if (connection != kNone) release(connection, true);
    }
}

uint32_t Engine::open_connection(uint32_t target_index, int &error) {
    const Target &target = config_.targets[target_index];
    int fd = socket(target.address.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        error = errno;
        return kNone;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    int rc =
        connect(fd, reinterpret_cast<const sockaddr *>(&target.address), target.address_length);
    if (rc < 0 && errno != EINPROGRESS) {
        error = errno;
        close(fd);
        return kNone;
    }
    uint32_t id;
    if (!free_connections_.empty()) {
        id = free_connections_.back();
        free_connections_.pop_back();
    } else {
        connections_.emplace_back();
        id = static_cast<uint32_t>(connections_.size() - 1);
    }
    Connection &connection = connections_[id];
    connection.fd = fd;
    connection.target = target_index;
    connection.state = rc == 0 ? ConnState::Writing : ConnState::Connecting;
    connection.reused = false;
    connection.request = kNone;
    // Edge-triggered: registered once, never modified, so a request costs no epoll_ctl beyond
    // this one. Every handler therefore reads or writes until EAGAIN.
    epoll_event event{EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
                      {.u64 = (uint64_t{connection.generation} << 32) | id}};
    if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &event) < 0) {
        error = errno;
        release(id, true);
        return kNone;
    }
    ++result_.connections_opened;
    return id;
}

uint32_t Engine::take_idle(uint32_t target) {
    std::vector<uint32_t> &pool = idle_[target];
    if (pool.empty()) return kNone;
    uint32_t id = pool.back();  // the most recently used one is the least likely to be stale
    pool.pop_back();
    Connection &connection = connections_[id];
    connection.state = ConnState::Writing;
    connection.reused = true;
    return id;
}

void Engine::park_idle(uint32_t id) {
    Connection &connection = connections_[id];
    std::vector<uint32_t> &pool = idle_[connection.target];
    if (pool.size() >= config_.pool_size) {
        release(id, false);
        return;
    }
    connection.state = ConnState::Idle;
    connection.idle_position = pool.size();
    pool.push_back(id);
}

void Engine::start_close(uint32_t id, Nanos now) {
    Connection &connection = connections_[id];
    connection.state = ConnState::Draining;
    close_deadlines_.push_back({now + config_.close_grace, id, connection.generation});
}

void Engine::expire_closes(Nanos now) {
    while (!close_deadlines_.empty() && close_deadlines_.front().at <= now) {
        Deadline deadline = close_deadlines_.front();
        close_deadlines_.pop_front();
        if (alive(deadline.id, deadline.generation) &&
            connections_[deadline.id].state == ConnState::Draining) {
            release(deadline.id, true);  // the server kept it open despite Connection: close
        }
    }
}

bool Engine::alive(uint32_t id, uint32_t generation) const {
    return id < connections_.size() && connections_[id].generation == generation &&
           connections_[id].state != ConnState::Free;
}

// abortive: close with an RST (SO_LINGER 0) so this side keeps no TIME_WAIT entry. Used whenever
// the client, not the server, ends a connection early (timeouts, errors, an ignored close).
void Engine::release(uint32_t id, bool abortive) {
    Connection &connection = connections_[id];
    if (connection.state == ConnState::Idle) {
        std::vector<uint32_t> &pool = idle_[connection.target];
        uint32_t moved = pool.back();
        pool[connection.idle_position] = moved;
        connections_[moved].idle_position = connection.idle_position;
        pool.pop_back();
    }
    if (connection.request != kNone) requests_[connection.request].connection = kNone;
    if (abortive) {
        linger reset{1, 0};
        setsockopt(connection.fd, SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
    }
    close(connection.fd);
    connection.fd = -1;
    connection.state = ConnState::Free;
    connection.request = kNone;
    ++connection.generation;
    free_connections_.push_back(id);
}

void Engine::on_socket_event(uint64_t key, uint32_t events, Nanos now) {
    auto id = static_cast<uint32_t>(key & 0xffffffffu);
    auto generation = static_cast<uint32_t>(key >> 32);
    if (!alive(id, generation)) return;  // released earlier in this batch of events
    Connection &connection = connections_[id];
    if (connection.state == ConnState::Connecting) {
        if (events & (EPOLLERR | EPOLLHUP)) {
            int error = 0;
            socklen_t length = sizeof error;
            getsockopt(connection.fd, SOL_SOCKET, SO_ERROR, &error, &length);
            on_connection_error(id, error ? error : ECONNREFUSED, now);
            return;
        }
        if (!(events & EPOLLOUT)) return;
        connection.state = ConnState::Writing;
    }
    if (connection.state == ConnState::Writing && (events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
        send_request(id, now);
        if (!alive(id, generation)) return;
    }
    if (events & (EPOLLIN | EPOLLRDHUP | EPOLLERR | EPOLLHUP)) receive(id, now);
}

void Engine::send_request(uint32_t id, Nanos now) {
    Connection &connection = connections_[id];
    const std::string &wire = wire_requests_[connection.target];
    while (connection.written < wire.size()) {
        ssize_t sent = send(connection.fd, wire.data() + connection.written,
                            wire.size() - connection.written, MSG_NOSIGNAL);
        if (sent > 0) {
            connection.written += static_cast<size_t>(sent);
        } else if (sent < 0 && errno == EINTR) {
            continue;
        } else if (sent < 0 && errno == EAGAIN) {
            return;  // EPOLLOUT resumes
        } else {
            on_connection_error(id, sent < 0 ? errno : EPIPE, now);
            return;
        }
    }
    connection.state = ConnState::Reading;
}

void Engine::receive(uint32_t id, Nanos now) {
    const uint32_t generation = connections_[id].generation;
    while (alive(id, generation)) {
        Connection &connection = connections_[id];
        ssize_t received = recv(connection.fd, read_buffer_.data(), read_buffer_.size(), 0);
        if (received > 0) {
            std::string_view data(read_buffer_.data(), static_cast<size_t>(received));
            switch (connection.state) {
                case ConnState::Writing:  // the server may answer before the body is sent
                case ConnState::Reading:
                    on_response_bytes(id, data, now);
                    // A connection parked for reuse is read again only on its next edge,
                    // saving a recv that would find nothing.
                    if (alive(id, generation) && connection.state == ConnState::Idle) return;
                    break;
                case ConnState::Idle:  // unsolicited bytes: its framing can't be trusted
                    release(id, true);
                    return;
                default:  // draining: whatever follows the response is discarded
                    break;
            }
        } else if (received == 0) {
            on_peer_closed(id, now);
            return;
        } else if (errno == EINTR) {
            continue;
        } else if (errno == EAGAIN) {
            return;
        } else {
            on_connection_error(id, errno, now);
            return;
        }
    }
}

void Engine::on_response_bytes(uint32_t id, std::string_view data, Nanos now) {
    Connection &connection = connections_[id];
    size_t used = connection.parser.feed(data);
    if (connection.parser.failed()) {
        fail_request(connection.request, ErrorKind::Protocol, connection.parser.error(), now);
        release(id, true);
        return;
    }
    if (!connection.parser.done()) return;
    bool reusable = config_.keepalive && connection.parser.keep_alive() && used == data.size() &&
                    connection.written == wire_requests_[connection.target].size();
    complete_request(id, now);
    if (reusable) {
        park_idle(id);
    } else {
        start_close(id, now);  // the receive loop goes on to read the server's FIN
    }
}

void Engine::on_peer_closed(uint32_t id, Nanos now) {
    Connection &connection = connections_[id];
    if (connection.state == ConnState::Writing || connection.state == ConnState::Reading) {
        connection.parser.on_eof();
        if (connection.parser.done()) {  // a close-delimited body ends here
            complete_request(id, now);
        } else if (can_retry(id)) {
            on_connection_error(id, ECONNRESET, now);
            return;
        } else {
            fail_request(connection.request, ErrorKind::Closed, connection.parser.error(), now);
        }
    }
    // The server closed first: closing now sends our FIN from CLOSE_WAIT, so no TIME_WAIT here.
    release(id, false);
}

bool Engine::can_retry(uint32_t id) const {
    const Connection &connection = connections_[id];
    return connection.request != kNone && connection.reused && !connection.parser.started() &&
           !requests_[connection.request].retried;
}

// A reused keep-alive connection that fails before any response byte most likely was closed by
// the server while idle (a race no client can avoid); the request is re-sent once on a new
// connection, keeping its original issue time, as HTTP clients do for idempotent requests.
void Engine::on_connection_error(uint32_t id, int error, Nanos now) {
    Connection &connection = connections_[id];
    uint32_t slot = connection.request;
    if (slot != kNone && can_retry(id)) {
        release(id, true);
        requests_[slot].retried = true;
        ++result_.retries;
        dispatch(slot, now, true);
        return;
    }
    if (slot != kNone) fail_request(slot, kind_from_errno(error), std::strerror(error), now);
    release(id, true);
}

// Only for a second that is still open: one with requests in flight, or not yet finalized.
OpenSecond &Engine::second_of(uint64_t second) {
    open_seconds_through(second + 1);
    return open_seconds_[second - first_open_second_];
}

// Makes sure rows exist for every second below `end`, including seconds without requests.
void Engine::open_seconds_through(uint64_t end) {
    while (first_open_second_ + open_seconds_.size() < end) {
        OpenSecond fresh;
        fresh.row.second = first_open_second_ + open_seconds_.size();
        open_seconds_.push_back(std::move(fresh));
    }
}

template <typename Update>
void Engine::record(uint64_t second, Update update) {
    update(result_.totals);
    update(second_of(second).row.tally);
}

// A second is final once the schedule has moved past it and none of its requests is in flight.
void Engine::close_finished_seconds() {
    Nanos issued_until = issuing() ? config_.schedule.due_offset(next_index_) : kNever;
    while (!open_seconds_.empty()) {
        const OpenSecond &front = open_seconds_.front();
        auto end_of_second = static_cast<Nanos>(front.row.second + 1) * kNanosPerSecond;
        if (front.outstanding > 0 || end_of_second > issued_until) return;
        finalize_front_second();
    }
}

void Engine::finalize_front_second() {
    TimelineRow row = std::move(open_seconds_.front().row);
    open_seconds_.pop_front();
    ++first_open_second_;
    row.p50 = row.tally.latency.percentile(50);
    row.p99 = row.tally.latency.percentile(99);
    row.lag_max = row.tally.lag.max();
    for (const auto &[node, histogram] : row.tally.served_by_latency)
        row.served_by_p50_p99[node] = {histogram.percentile(50), histogram.percentile(99)};
    row.tally.latency = Histogram{};
    row.tally.lag = Histogram{};
    row.tally.served_by_latency.clear();
    result_.timeline.push_back(std::move(row));
}

Progress Engine::snapshot(Nanos now) const {
    Progress progress;
    progress.elapsed = now - start_;
    progress.planned = config_.schedule.duration();
    progress.issued = result_.totals.issued;
    progress.completed = result_.totals.completed();
    progress.success = result_.totals.success;
    progress.in_flight = in_flight_;
    progress.p99 = result_.totals.latency.percentile(99);
    return progress;
}

void Engine::finish() {
    for (uint32_t id = 0; id < connections_.size(); ++id) {
        if (connections_[id].state != ConnState::Free) release(id, false);
    }
    result_.interrupted = stop_requests_.load() > 0;
    // A complete run reports every second of the plan, even trailing ones without requests.
    if (!result_.interrupted) {
        auto planned = static_cast<uint64_t>((config_.schedule.duration() + kNanosPerSecond - 1) /
                                             kNanosPerSecond);
        open_seconds_through(planned);
    }
    while (!open_seconds_.empty())
        finalize_front_second();
    if (first_issue_ >= 0) {
        result_.attack = last_issue_ - first_issue_;
        result_.wait = std::max<Nanos>(0, last_completion_ - last_issue_);
    }
}

LoadGenerator::LoadGenerator(RunConfig config)
    : engine_(std::make_unique<Engine>(std::move(config))) {}

LoadGenerator::~LoadGenerator() = default;

RunResult LoadGenerator::run(const ProgressCallback &progress) {
    return engine_->run(progress);
}

void LoadGenerator::request_stop() noexcept {
    engine_->request_stop();
}

}  // namespace dfaas::loadgen
