#include "dfaas/entry/server.h"

#include <arpa/inet.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <linux/tcp.h>  // struct tcp_info with tcpi_bytes_* (glibc's lacks them)
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>
#include <optional>
#include <spdlog/spdlog.h>
#include <stdexcept>
#include <unordered_map>
#include <vector>

#include "dfaas/entry/http_head.h"
#include "dfaas/entry/routes.h"
#include "splice_maps.h"

namespace dfaas::entry {

const char *refusal_name(Refusal reason) {
    switch (reason) {
        case Refusal::HeadTooLarge:
            return "head_too_large";
        case Refusal::HeadTimeout:
            return "head_timeout";
        case Refusal::NotHttp:
            return "not_http";
        case Refusal::ClientClosedMidHead:
            return "client_closed_mid_head";
        case Refusal::UnknownFunction:
            return "unknown_function";
        case Refusal::BadFunctionName:
            return "bad_function_name";
        case Refusal::NoFunctionPrefix:
            return "no_function_prefix";
        case Refusal::OverMaxConnections:
            return "over_max_connections";
        case Refusal::UpstreamConnectFailed:
            return "upstream_connect_failed";
        case Refusal::ForgedForward:
            return "forged_forward";
        case Refusal::ClientHalfClosed:
            return "client_half_closed";
        case Refusal::SpliceFailed:
            return "splice_failed";
        case Refusal::DrainTimeout:
            return "drain_timeout";
        case Refusal::IdleTimeout:
            return "idle_timeout";
        case Refusal::InternalError:
            return "internal_error";
        case Refusal::Count:
            break;
    }
    return "unknown";
}

namespace {

using Clock = std::chrono::steady_clock;

// After an error answer the entry reads (and discards) what the client still sends for this
// long and at most this much, so that closing does not turn into a RST that could destroy the
// answer before the client read it.
constexpr auto kLingerTime = std::chrono::seconds(1);
constexpr size_t kLingerBytes = 1 << 20;
// A half-close waits for the bytes spliced before the FIN to leave through the other socket.
constexpr auto kDrainTimeout = std::chrono::seconds(2);
constexpr auto kDrainPoll = std::chrono::milliseconds(1);
constexpr int kAcceptBurst = 256;
constexpr int kMaxEvents = 256;
// TCP_ESTABLISHED of include/net/tcp_states.h (glibc's netinet/tcp.h, which has it, clashes with
// linux/tcp.h, which has the tcp_info this file needs).
constexpr int kTcpEstablished = 1;

enum class State { Head, Connecting, Spliced, Closing };

struct Side {
    int fd = -1;
    uint64_t cookie = 0;
    bool read_done = false;   // its peer sent FIN (seen as EPOLLRDHUP)
    bool write_shut = false;  // this entry sent FIN on it
    uint64_t out_base = 0;    // bytes written on it before the splice (handshake baseline + head)
    uint64_t consumed = 0;    // bytes this entry read from it itself (the request head)
};

struct Connection {
    uint64_t id = 0;
    State state = State::Head;
    Side client, upstream;
    Ipv4 client_addr;
    std::optional<Clock::time_point> deadline;
    std::optional<Clock::time_point> draining_since[2];  // per side index: read_done, not shut
    RequestHead head;
    std::string upstream_head;
    size_t discarded = 0;
    uint64_t received_at_last_check = 0;  // Spliced: both sockets' received bytes, idle check
};

// SOCK_STREAM bytes handed to TCP on this socket so far, the handshake included when counted:
// acked + still queued (SIOCOUTQ). Compared to a baseline taken before anything was written.
uint64_t bytes_written(int fd) {
    tcp_info info{};
    socklen_t len = sizeof(info);
    if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &len) != 0) return 0;
    int queued = 0;
    if (ioctl(fd, SIOCOUTQ, &queued) != 0) queued = 0;
    return info.tcpi_bytes_acked + static_cast<uint64_t>(queued);
}

// Payload bytes received on the socket, plus one for a FIN (TCP counts its sequence number).
uint64_t bytes_received(int fd) {
    tcp_info info{};
    socklen_t len = sizeof(info);
    if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &len) != 0) return 0;
    return info.tcpi_bytes_received;
}

int tcp_state(int fd) {
    tcp_info info{};
    socklen_t len = sizeof(info);
    if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &len) != 0) return -1;
    return info.tcpi_state;
}

uint64_t socket_cookie(int fd) {
    uint64_t cookie = 0;
    socklen_t len = sizeof(cookie);
    if (getsockopt(fd, SOL_SOCKET, SO_COOKIE, &cookie, &len) != 0) return 0;
    return cookie;
}

std::string json_error(int code, const std::string &error, const std::string &function) {
    nlohmann::json body{{"error", error}};
    if (!function.empty()) body["function"] = function;
    std::string text = body.dump();
    const char *status = "Error";
    switch (code) {
        case 400:
            status = "Bad Request";
            break;
        case 404:
            status = "Not Found";
            break;
        case 408:
            status = "Request Timeout";
            break;
        case 429:
            status = "Too Many Requests";
            break;
        case 431:
            status = "Request Header Fields Too Large";
            break;
        case 502:
            status = "Bad Gateway";
            break;
        default:
            break;
    }
    return "HTTP/1.1 " + std::to_string(code) + " " + status +
           "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(text.size()) +
           "\r\nConnection: close\r\n\r\n" + text;
}

}  // namespace

class EntryServer::Impl {
  public:
    Impl(const EntryOptions &options, RoutingSource routing)
        : options_(options), routing_(std::move(routing)), maps_(2 * options.max_connections) {
        if (options_.peer_entry_port == 0) options_.peer_entry_port = options_.listen.port;
        head_buffer_.resize(options_.max_head_bytes);
        routes_.set_local_admission(options_.local_admission);
        listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (listen_fd_ < 0)
            throw std::runtime_error(std::string("entry: socket: ") + strerror(errno));
        int one = 1;
        setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        sockaddr_in sa{};
        sa.sin_family = AF_INET;
        sa.sin_port = htons(options_.listen.port);
        sa.sin_addr.s_addr = options_.listen.addr.network();
        if (bind(listen_fd_, reinterpret_cast<sockaddr *>(&sa), sizeof(sa)) != 0 ||
            listen(listen_fd_, 1024) != 0) {
            int err = errno;
            close(listen_fd_);
            throw std::runtime_error("entry: cannot listen on " + options_.listen.str() + ": " +
                                     strerror(err));
        }
        socklen_t len = sizeof(sa);
        getsockname(listen_fd_, reinterpret_cast<sockaddr *>(&sa), &len);
        port_ = ntohs(sa.sin_port);
        if (options_.peer_entry_port == 0) options_.peer_entry_port = port_;
        epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
        wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        add(listen_fd_, EPOLLIN, kListenTag);
        add(wake_fd_, EPOLLIN, kWakeTag);
        refresh_routes();
        thread_ = std::thread([this] { run(); });
    }

    ~Impl() {
        stop();
        for (auto &[id, conn] : connections_) {
            if (conn->client.fd >= 0) close(conn->client.fd);
            if (conn->upstream.fd >= 0) close(conn->upstream.fd);
        }
        close(listen_fd_);
        close(epoll_fd_);
        close(wake_fd_);
    }

    void stop() {
        if (stopping_.exchange(true)) return;
        uint64_t one = 1;
        [[maybe_unused]] auto n = write(wake_fd_, &one, sizeof(one));
        if (thread_.joinable()) thread_.join();
    }

    EntryCounters counters() const {
        EntryCounters c;
        {
            std::lock_guard lock(counters_mu_);
            c.connections = connections_by_route_;
        }
        for (size_t i = 0; i < c.refused.size(); ++i)
            c.refused[i] = refused_[i].load();
        c.open_connections = open_.load();
        c.spliced = spliced_.load();
        maps_.read_counters(c.splice_redirected, c.splice_no_peer);
        return c;
    }

    uint16_t port() const { return port_; }
    size_t splice_map_entries() const { return maps_.entries(); }

  private:
    static constexpr uint64_t kListenTag = 0;
    static constexpr uint64_t kWakeTag = 1;
    // Connection ids start at 1; tag = id * 2 + side (0 client, 1 upstream), so >= 2.
    static uint64_t tag(uint64_t id, int side) { return id * 2 + static_cast<uint64_t>(side); }

    void add(int fd, uint32_t events, uint64_t data) {
        epoll_event ev{};
        ev.events = events;
        ev.data.u64 = data;
        epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev);
    }
    void modify(int fd, uint32_t events, uint64_t data) {
        epoll_event ev{};
        ev.events = events;
        ev.data.u64 = data;
        epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, fd, &ev);
    }

    void count(Refusal reason) { refused_[static_cast<size_t>(reason)].fetch_add(1); }
    void count_route(const std::string &function, const std::string &route) {
        std::lock_guard lock(counters_mu_);
        connections_by_route_[{function, route}] += 1;
    }

    void refresh_routes() {
        next_refresh_ = Clock::now() + options_.refresh_interval;
        try {
            RoutingSnapshot snapshot = routing_();
            auto refused = routes_.install(snapshot.policies);
            for (const auto &name : refused)
                spdlog::warn("entry: the policy of {} does not compile; routed all-local", name);
            peers_ = std::move(snapshot.peers);
        } catch (const std::exception &e) {
            spdlog::warn("entry: reading the routes failed (kept the last ones): {}", e.what());
        }
    }

    void set_deadline(Connection &conn, std::optional<Clock::time_point> when) {
        if (conn.deadline) timers_.erase({*conn.deadline, conn.id});
        conn.deadline = when;
        if (when) timers_.insert({*when, conn.id});
    }

    void run() {
        std::vector<epoll_event> events(kMaxEvents);
        while (!stopping_.load()) {
            try {
                loop_once(events);
            } catch (const std::exception &e) {
                count(Refusal::InternalError);
                spdlog::error("entry: loop: {}", e.what());
            }
        }
    }

    int wait_timeout() const {
        auto now = Clock::now();
        auto until = next_refresh_;
        if (!timers_.empty() && timers_.begin()->first < until) until = timers_.begin()->first;
        if (!draining_.empty() && now + kDrainPoll < until) until = now + kDrainPoll;
        if (until <= now) return 0;
        // Rounded up: a wait rounded down to 0 ms would spin until the deadline.
        auto ms = std::chrono::ceil<std::chrono::milliseconds>(until - now).count();
        return static_cast<int>(std::clamp<int64_t>(ms, 1, 1000));
    }

    void loop_once(std::vector<epoll_event> &events) {
        int n =
            epoll_wait(epoll_fd_, events.data(), static_cast<int>(events.size()), wait_timeout());
        for (int i = 0; i < n; ++i) {
            uint64_t data = events[i].data.u64;
            if (data == kListenTag) {
                accept_burst();
                continue;
            }
            if (data == kWakeTag) return;
            dispatch(data / 2, static_cast<int>(data % 2), events[i].events);
        }
        auto now = Clock::now();
        while (!timers_.empty() && timers_.begin()->first <= now) {
            uint64_t id = timers_.begin()->second;
            timers_.erase(timers_.begin());
            auto it = connections_.find(id);
            if (it == connections_.end()) continue;
            it->second->deadline.reset();
            guarded(id, [&](Connection &conn) { on_deadline(conn); });
        }
        if (!draining_.empty()) {
            std::vector<uint64_t> ids(draining_.begin(), draining_.end());
            for (uint64_t id : ids)
                guarded(id, [&](Connection &conn) { check_drains(conn); });
        }
        if (now >= next_refresh_) refresh_routes();
    }

    // Runs `work` on a connection; an exception closes it and is counted.
    template <typename Work>
    void guarded(uint64_t id, Work &&work) {
        auto it = connections_.find(id);
        if (it == connections_.end()) return;
        try {
            work(*it->second);
        } catch (const std::exception &e) {
            count(Refusal::InternalError);
            spdlog::error("entry: connection {}: {}", id, e.what());
            close_connection(id);
        }
    }

    void dispatch(uint64_t id, int side, uint32_t events) {
        guarded(id, [&](Connection &conn) {
            switch (conn.state) {
                case State::Head:
                    if (side == 0) on_head(conn, events);
                    break;
                case State::Connecting:
                    if (side == 1)
                        on_connected(conn);
                    else if (events & (EPOLLERR | EPOLLHUP))
                        close_connection(conn.id);
                    break;
                case State::Spliced:
                    on_spliced(conn, side, events);
                    break;
                case State::Closing:
                    on_closing(conn, events);
                    break;
            }
        });
    }

    void accept_burst() {
        for (int i = 0; i < kAcceptBurst; ++i) {
            sockaddr_in sa{};
            socklen_t len = sizeof(sa);
            int fd = accept4(listen_fd_, reinterpret_cast<sockaddr *>(&sa), &len,
                             SOCK_NONBLOCK | SOCK_CLOEXEC);
            if (fd < 0) {
                if (errno == EINTR || errno == ECONNABORTED) continue;
                if (errno != EAGAIN && errno != EWOULDBLOCK)
                    spdlog::warn("entry: accept: {}", strerror(errno));
                return;
            }
            if (connections_.size() >= options_.max_connections) {
                close(fd);
                count(Refusal::OverMaxConnections);
                continue;
            }
            auto conn = std::make_unique<Connection>();
            conn->id = next_id_++;
            conn->client.fd = fd;
            conn->client_addr = Ipv4::from_network(sa.sin_addr.s_addr);
            int one = 1;
            setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
            conn->client.out_base = bytes_written(fd);
            // Edge-triggered while reading the head: MSG_PEEK leaves the bytes queued, so a
            // level-triggered EPOLLIN would fire again at once.
            add(fd, EPOLLIN | EPOLLRDHUP | EPOLLET, tag(conn->id, 0));
            Connection &ref = *conn;
            connections_.emplace(conn->id, std::move(conn));
            open_.store(connections_.size());
            set_deadline(ref, Clock::now() + options_.head_timeout);
        }
    }

    void on_head(Connection &conn, uint32_t events) {
        ssize_t n = recv(conn.client.fd, head_buffer_.data(), head_buffer_.size(), MSG_PEEK);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
                count(Refusal::ClientClosedMidHead);
                close_connection(conn.id);
            }
            return;
        }
        if (n <= 0) {
            count(Refusal::ClientClosedMidHead);
            close_connection(conn.id);
            return;
        }
        HeadLimits limits;
        limits.max_head_bytes = options_.max_head_bytes;
        HeadResult result = parse_head(std::string_view(head_buffer_.data(), n), limits);
        switch (result.status) {
            case HeadStatus::Incomplete:
                if (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
                    count(Refusal::ClientClosedMidHead);
                    close_connection(conn.id);
                }
                return;
            case HeadStatus::TooLarge:
                answer(conn, 431, "request head too large", "", Refusal::HeadTooLarge);
                return;
            case HeadStatus::NotHttp:
                answer(conn, 400, "not an HTTP/1.x request", "", Refusal::NotHttp);
                return;
            case HeadStatus::Complete:
                break;
        }
        conn.head = std::move(result.head);
        route(conn);
    }

    void route(Connection &conn) {
        TargetMatch target = match_target(conn.head.target);
        if (target.kind == TargetKind::NoPrefix) {
            answer(conn, 404, "no /function/ prefix", "", Refusal::NoFunctionPrefix);
            return;
        }
        if (target.kind == TargetKind::BadName) {
            answer(conn, 404, "bad function name", "", Refusal::BadFunctionName);
            return;
        }
        std::string name = target.name;
        // "<name>.<namespace>": OpenFaaS' own form; the agent knows functions by name.
        if (!routes_.knows(name) && name.find('.') != std::string::npos)
            name = name.substr(0, name.find('.'));
        if (!routes_.knows(name)) {
            answer(conn, 404, "unknown function", target.name, Refusal::UnknownFunction);
            return;
        }
        bool forwarded_in = false;
        if (conn.head.field(kForwardedByField)) {
            if (peers_.count(conn.client_addr))
                forwarded_in = true;
            else
                count(Refusal::ForgedForward);
        }
        Route chosen{RouteKind::Local, {}};
        std::string label = "local";
        if (target.kind == TargetKind::AsyncFunction) {
            label = "async";
        } else if (forwarded_in) {
            label = "forwarded_in";
        } else {
            auto now_second = static_cast<uint64_t>(
                std::chrono::duration_cast<std::chrono::seconds>(Clock::now().time_since_epoch())
                    .count());
            chosen = *routes_.pick(name, now_second);
            label = chosen.label();
        }
        count_route(name, label);
        if (chosen.kind == RouteKind::Reject) {
            answer(conn, 429, "rejected", name, std::nullopt);
            return;
        }
        Endpoint upstream = options_.gateway;
        std::optional<std::string> forwarded_by;
        if (chosen.kind == RouteKind::Peer) {
            upstream = Endpoint{chosen.peer, options_.peer_entry_port};
            forwarded_by = options_.node_id;
        }
        conn.upstream_head = rewrite_head(conn.head, conn.client_addr.str(), forwarded_by);
        connect_upstream(conn, upstream, name);
    }

    void connect_upstream(Connection &conn, const Endpoint &target, const std::string &function) {
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            answer(conn, 502, "upstream unreachable", function, Refusal::UpstreamConnectFailed);
            return;
        }
        conn.upstream.fd = fd;
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        sockaddr_in sa{};
        sa.sin_family = AF_INET;
        sa.sin_port = htons(target.port);
        sa.sin_addr.s_addr = target.addr.network();
        if (connect(fd, reinterpret_cast<sockaddr *>(&sa), sizeof(sa)) != 0 &&
            errno != EINPROGRESS) {
            answer(conn, 502, "upstream unreachable", function, Refusal::UpstreamConnectFailed);
            return;
        }
        conn.state = State::Connecting;
        // The client is not watched while connecting (only errors and hang-ups reach us).
        modify(conn.client.fd, 0, tag(conn.id, 0));
        add(fd, EPOLLOUT, tag(conn.id, 1));
        set_deadline(conn, Clock::now() + options_.connect_timeout);
    }

    void on_connected(Connection &conn) {
        int err = 0;
        socklen_t len = sizeof(err);
        if (getsockopt(conn.upstream.fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
            answer(conn, 502, "upstream unreachable", "", Refusal::UpstreamConnectFailed);
            return;
        }
        splice(conn);
    }

    // The ordering-safe splice (docs/architecture.md, Entry port).
    void splice(Connection &conn) {
        Side &client = conn.client;
        Side &upstream = conn.upstream;
        client.cookie = socket_cookie(client.fd);
        upstream.cookie = socket_cookie(upstream.fd);
        upstream.out_base = bytes_written(upstream.fd);
        // 1. The upstream's bytes go to the client, before the upstream has anything to answer.
        //    The upstream becomes the target of the client's bytes now too (the client is not
        //    diverted yet, so nothing flows there): a sockhash takes only established sockets,
        //    and an upstream that answers at once and closes (Connection: close) is in
        //    CLOSE_WAIT by step 3.
        int err = maps_.route_to(upstream.cookie, client.fd);
        if (err == 0) err = maps_.route_to(client.cookie, upstream.fd);
        if (err == 0) err = maps_.divert(upstream.cookie, upstream.fd);
        if (err != 0) {
            note_splice_error("upstream", err, client.fd, upstream.fd);
            // A sockhash takes established sockets only: a client that already sent its FIN
            // (CLOSE_WAIT) cannot be spliced. Not a relay in userspace: answered and counted.
            if (tcp_state(client.fd) != kTcpEstablished)
                answer(conn, 400, "client half-closed before the request was routed", "",
                       Refusal::ClientHalfClosed);
            else
                answer(conn, 502, "splice failed", "", Refusal::SpliceFailed);
            return;
        }
        // 2. Take the head off the client's queue (it was only peeked) and send the rewritten one.
        size_t taken = 0;
        while (taken < conn.head.length) {
            ssize_t n = recv(client.fd, head_buffer_.data(), conn.head.length - taken, 0);
            if (n <= 0) {
                if (n < 0 && errno == EINTR) continue;
                if (head_errors_++ % 1000 == 0)
                    spdlog::warn(
                        "entry: reading the peeked head back returned {} ({}), client "
                        "state {}",
                        n, n < 0 ? strerror(errno) : "end of stream", tcp_state(client.fd));
                // The peeked bytes are queued: only a reset can take them away.
                count(Refusal::ClientClosedMidHead);
                close_connection(conn.id);
                return;
            }
            taken += static_cast<size_t>(n);
        }
        client.consumed = taken;
        size_t sent = 0;
        while (sent < conn.upstream_head.size()) {
            ssize_t n = send(upstream.fd, conn.upstream_head.data() + sent,
                             conn.upstream_head.size() - sent, MSG_NOSIGNAL);
            if (n <= 0) {
                if (n < 0 && errno == EINTR) continue;
                // A fresh connection's send buffer holds a head of max_head_bytes + ~100.
                answer(conn, 502, "upstream unreachable", "", Refusal::UpstreamConnectFailed);
                return;
            }
            sent += static_cast<size_t>(n);
        }
        upstream.out_base += sent;
        // 3. The client's bytes go to the upstream. What the client sent after the head (a
        //    body) is already queued: the verdict only runs on the next data_ready, so kick it
        //    with SO_RCVLOWAT, whose setter runs tcp_data_ready() and so the verdict over the
        //    whole queue, in order.
        err = maps_.divert(client.cookie, client.fd);
        if (err != 0 && tcp_state(client.fd) != kTcpEstablished) {
            // The client sent its FIN since step 1 (a sockhash takes only established sockets):
            // it has said all it will say, and what followed its head is queued. That rest is
            // moved here, once, then the upstream gets the FIN; the answer is spliced as usual.
            if (!forward_rest_of_client(conn)) {
                count(Refusal::ClientHalfClosed);
                close_connection(conn.id);
                return;
            }
            epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, client.fd, nullptr);
            client.read_done = true;
            shutdown(upstream.fd, SHUT_WR);
            upstream.write_shut = true;
            conn.state = State::Spliced;
            start_idle_check(conn);
            modify(upstream.fd, EPOLLRDHUP, tag(conn.id, 1));
            spliced_.fetch_add(1);
            return;
        }
        if (err != 0) {
            note_splice_error("client", err, client.fd, upstream.fd);
            // Part of the upstream's answer may have reached the client already: no answer of
            // our own can follow it. Closed (the client sees the connection end), counted.
            count(tcp_state(client.fd) != kTcpEstablished ? Refusal::ClientHalfClosed
                                                          : Refusal::SpliceFailed);
            close_connection(conn.id);
            return;
        }
        int one = 1;
        setsockopt(client.fd, SOL_SOCKET, SO_RCVLOWAT, &one, sizeof(one));
        conn.state = State::Spliced;
        start_idle_check(conn);
        // Only the ends are watched: EPOLLRDHUP (and the always-reported EPOLLHUP/EPOLLERR).
        modify(client.fd, EPOLLRDHUP, tag(conn.id, 0));
        modify(upstream.fd, EPOLLRDHUP, tag(conn.id, 1));
        spliced_.fetch_add(1);
    }

    // A half-closed client's bytes after its head, to the upstream (at most kLingerBytes, and
    // only what the upstream's send buffer takes at once: false otherwise).
    bool forward_rest_of_client(Connection &conn) {
        char chunk[16384];
        size_t moved = 0;
        for (;;) {
            ssize_t n = recv(conn.client.fd, chunk, sizeof(chunk), MSG_DONTWAIT);
            if (n == 0) return true;
            if (n < 0) {
                if (errno == EINTR) continue;
                return false;
            }
            moved += static_cast<size_t>(n);
            if (moved > kLingerBytes) return false;
            for (ssize_t off = 0; off < n;) {
                ssize_t w = send(conn.upstream.fd, chunk + off, static_cast<size_t>(n - off),
                                 MSG_NOSIGNAL | MSG_DONTWAIT);
                if (w <= 0) return false;
                off += w;
            }
        }
    }

    // The first failure, then one in 1000, are logged with the kernel's reason and both
    // sockets' TCP states (the count is in the counters).
    void note_splice_error(const char *step, int err, int client_fd, int upstream_fd) {
        if (splice_errors_++ % 1000 != 0) return;
        spdlog::warn(
            "entry: sockhash refused the {} side: {} (client state {}, upstream state {}; "
            "{} such failures so far)",
            step, strerror(-err), tcp_state(client_fd), tcp_state(upstream_fd), splice_errors_);
    }

    void on_spliced(Connection &conn, int side, uint32_t events) {
        Side &self = side == 0 ? conn.client : conn.upstream;
        if (events & EPOLLERR) {
            close_connection(conn.id);
            return;
        }
        if ((events & EPOLLRDHUP) && !self.read_done) {
            self.read_done = true;
            // Nothing more to hear from this socket: stop watching it (its EPOLLHUP would be
            // level-triggered once both directions are shut).
            epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, self.fd, nullptr);
            conn.draining_since[side] = Clock::now();
            draining_.insert(conn.id);
            check_drains(conn);
            return;
        }
        if (events & EPOLLHUP) close_connection(conn.id);
    }

    // A side whose peer sent FIN: once every byte it received has left through the other
    // socket, that socket gets the FIN (shutdown SHUT_WR). The verdict hands bytes to the other
    // socket through a work queue, so a shutdown at the FIN itself could cut the last ones off.
    void check_drains(Connection &conn) {
        for (int side = 0; side < 2; ++side) {
            if (!conn.draining_since[side]) continue;
            Side &from = side == 0 ? conn.client : conn.upstream;
            Side &to = side == 0 ? conn.upstream : conn.client;
            uint64_t received = bytes_received(from.fd);
            uint64_t in = received > from.consumed + 1 ? received - from.consumed - 1 : 0;
            uint64_t written = bytes_written(to.fd);
            uint64_t out = written > to.out_base ? written - to.out_base : 0;
            bool timed_out = Clock::now() - *conn.draining_since[side] > kDrainTimeout;
            if (out < in && !timed_out) continue;
            if (out < in) count(Refusal::DrainTimeout);
            shutdown(to.fd, SHUT_WR);
            to.write_shut = true;
            conn.draining_since[side].reset();
        }
        if (!conn.draining_since[0] && !conn.draining_since[1]) draining_.erase(conn.id);
        if (conn.client.read_done && conn.upstream.read_done && conn.client.write_shut &&
            conn.upstream.write_shut)
            close_connection(conn.id);
    }

    void on_closing(Connection &conn, uint32_t events) {
        char sink[16384];
        for (;;) {
            ssize_t n = recv(conn.client.fd, sink, sizeof(sink), 0);
            if (n > 0) {
                conn.discarded += static_cast<size_t>(n);
                if (conn.discarded > kLingerBytes) break;
                continue;
            }
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) &&
                !(events & (EPOLLERR | EPOLLHUP)))
                return;
            break;
        }
        close_connection(conn.id);
    }

    void on_deadline(Connection &conn) {
        switch (conn.state) {
            case State::Head:
                answer(conn, 408, "request head timeout", "", Refusal::HeadTimeout);
                break;
            case State::Connecting:
                answer(conn, 502, "upstream unreachable", "", Refusal::UpstreamConnectFailed);
                break;
            case State::Spliced:
                check_idle(conn);
                break;
            case State::Closing:
                close_connection(conn.id);
                break;
        }
    }

    // Bytes the kernel received on both sockets so far: they grow with any traffic, whoever
    // moves it (the verdict redirects without waking this loop).
    static uint64_t received_bytes(const Connection &conn) {
        uint64_t total = 0;
        for (const Side *side : {&conn.client, &conn.upstream})
            if (side->fd >= 0) total += bytes_received(side->fd);
        return total;
    }

    void start_idle_check(Connection &conn) {
        conn.received_at_last_check = received_bytes(conn);
        set_deadline(conn, Clock::now() + options_.idle_timeout);
    }

    // One check per idle_timeout: a connection that received nothing since the last one is
    // closed (a client holding idle connections must not keep entry slots forever).
    void check_idle(Connection &conn) {
        const uint64_t received = received_bytes(conn);
        if (received != conn.received_at_last_check) {
            conn.received_at_last_check = received;
            set_deadline(conn, Clock::now() + options_.idle_timeout);
            return;
        }
        count(Refusal::IdleTimeout);
        close_connection(conn.id);
    }

    // Answers the client with a JSON error and lingers (reading, discarding) until it closes.
    void answer(Connection &conn, int code, const std::string &error, const std::string &function,
                std::optional<Refusal> reason) {
        if (reason) count(*reason);
        if (conn.upstream.fd >= 0) {
            close(conn.upstream.fd);
            conn.upstream.fd = -1;
        }
        std::string response = json_error(code, error, function);
        // A few hundred bytes on a socket that has sent nothing: the send buffer takes them.
        [[maybe_unused]] ssize_t n =
            send(conn.client.fd, response.data(), response.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
        shutdown(conn.client.fd, SHUT_WR);
        conn.state = State::Closing;
        modify(conn.client.fd, EPOLLIN | EPOLLRDHUP, tag(conn.id, 0));
        set_deadline(conn, Clock::now() + kLingerTime);
    }

    void close_connection(uint64_t id) {
        auto it = connections_.find(id);
        if (it == connections_.end()) return;
        Connection &conn = *it->second;
        set_deadline(conn, std::nullopt);
        draining_.erase(id);
        // close() also takes the sockets out of the sockhashes (sock_map_close).
        if (conn.client.fd >= 0) close(conn.client.fd);
        if (conn.upstream.fd >= 0) close(conn.upstream.fd);
        connections_.erase(it);
        open_.store(connections_.size());
    }

    EntryOptions options_;
    RoutingSource routing_;
    SpliceMaps maps_;
    int listen_fd_ = -1, epoll_fd_ = -1, wake_fd_ = -1;
    uint16_t port_ = 0;
    std::thread thread_;
    std::atomic<bool> stopping_{false};

    // The loop thread's own state.
    RouteTable routes_;
    std::set<Ipv4> peers_;
    Clock::time_point next_refresh_{};
    std::unordered_map<uint64_t, std::unique_ptr<Connection>> connections_;
    std::set<std::pair<Clock::time_point, uint64_t>> timers_;
    std::set<uint64_t> draining_;
    uint64_t next_id_ = 1;
    uint64_t splice_errors_ = 0;
    uint64_t head_errors_ = 0;
    std::vector<char> head_buffer_;

    // Read by counters() from other threads.
    mutable std::mutex counters_mu_;
    std::map<std::pair<std::string, std::string>, uint64_t> connections_by_route_;
    std::array<std::atomic<uint64_t>, static_cast<size_t>(Refusal::Count)> refused_{};
    std::atomic<uint64_t> open_{0};
    std::atomic<uint64_t> spliced_{0};
};

std::unique_ptr<EntryServer> EntryServer::start(const EntryOptions &options,
                                                RoutingSource routing) {
    return std::unique_ptr<EntryServer>(
        new EntryServer(std::make_unique<Impl>(options, std::move(routing))));
}

EntryServer::EntryServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
EntryServer::~EntryServer() = default;
void EntryServer::stop() {
    impl_->stop();
}
EntryCounters EntryServer::counters() const {
    return impl_->counters();
}
uint16_t EntryServer::port() const {
    return impl_->port();
}
size_t EntryServer::splice_map_entries() const {
    return impl_->splice_map_entries();
}

}  // namespace dfaas::entry
