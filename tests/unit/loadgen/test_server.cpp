#include "test_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <stdexcept>
#include <system_error>

namespace dfaas::loadgen::testing {
namespace {

constexpr uint64_t kListenKey = ~uint64_t{0};
constexpr uint64_t kStopKey = kListenKey - 1;

int checked(int rc, const char *what) {
    if (rc < 0) throw std::system_error(errno, std::generic_category(), what);
    return rc;
}

std::string lowercase(std::string text) {
    std::transform(text.begin(), text.end(), text.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return text;
}

std::string_view trim(std::string_view text) {
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t'))
        text.remove_prefix(1);
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t'))
        text.remove_suffix(1);
    return text;
}

const char *reason_of(int status) {
    switch (status) {
        case 200:
            return "OK";
        case 204:
            return "No Content";
        case 429:
            return "Too Many Requests";
        case 500:
            return "Internal Server Error";
        case 503:
            return "Service Unavailable";
        default:
            return "Status";
    }
}

}  // namespace

struct TestServer::Connection {
    int fd = -1;
    uint64_t number = 0;
    std::string input;
    std::string output;
    bool hung = false;  // a reply that never comes: input is ignored from now on
    bool close_when_flushed = false;
};

Reply http_reply(int status, const std::string &body,
                 const std::vector<std::pair<std::string, std::string>> &headers) {
    std::string text = "HTTP/1.1 " + std::to_string(status) + " " + reason_of(status) + "\r\n";
    for (const auto &[name, value] : headers)
        text += name + ": " + value + "\r\n";
    text += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
    Reply reply;
    reply.pieces.push_back(std::move(text));
    return reply;
}

TestServer::TestServer(Handler handler, uint16_t port, bool keep_requests)
    : handler_(std::move(handler)), keep_requests_(keep_requests) {
    listen_fd_ = checked(socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), "socket");
    int one = 1;
    setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = htons(port);
    checked(bind(listen_fd_, reinterpret_cast<sockaddr *>(&address), sizeof address), "bind");
    checked(listen(listen_fd_, 4096), "listen");
    socklen_t length = sizeof address;
    getsockname(listen_fd_, reinterpret_cast<sockaddr *>(&address), &length);
    port_ = ntohs(address.sin_port);

    epoll_fd_ = checked(epoll_create1(EPOLL_CLOEXEC), "epoll_create1");
    stop_fd_ = checked(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC), "eventfd");
    epoll_event listen_event{EPOLLIN, {.u64 = kListenKey}};
    checked(epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, listen_fd_, &listen_event), "epoll_ctl");
    epoll_event stop_event{EPOLLIN, {.u64 = kStopKey}};
    checked(epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, stop_fd_, &stop_event), "epoll_ctl");
    thread_ = std::thread([this] { serve(); });
}

TestServer::~TestServer() {
    uint64_t one = 1;
    [[maybe_unused]] ssize_t ignored = write(stop_fd_, &one, sizeof one);
    thread_.join();
    for (int fd : {listen_fd_, epoll_fd_, stop_fd_})
        close(fd);
}

std::string TestServer::url(const std::string &path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
}

std::vector<ReceivedRequest> TestServer::received() const {
    std::lock_guard lock(received_mutex_);
    return received_;
}

void TestServer::serve() {
    std::map<int, Connection> connections;
    connections_ = &connections;
    epoll_event events[256];
    bool stopping = false;
    while (!stopping) {
        int ready = epoll_wait(epoll_fd_, events, 256, next_timeout_ms());
        for (int i = 0; i < ready; ++i) {
            uint64_t key = events[i].data.u64;
            if (key == kStopKey) {
                stopping = true;
            } else if (key == kListenKey) {
                accept_all();
            } else {
                int fd = static_cast<int>(key);
                if (events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR | EPOLLRDHUP))
                    on_readable(fd);
                auto it = connections.find(fd);
                if (it != connections.end() && (events[i].events & EPOLLOUT)) flush(it->second);
            }
        }
        run_due_writes();
    }
    for (auto &[fd, connection] : connections)
        close(fd);
    connections_ = nullptr;
}

int TestServer::next_timeout_ms() const {
    if (pending_.empty()) return -1;
    auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(pending_.begin()->first -
                                                                      Clock::now());
    return static_cast<int>(std::max<int64_t>(0, wait.count() + 1));
}

void TestServer::accept_all() {
    while (true) {
        int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) return;  // EAGAIN, or a connection reset before we got to it
        Connection connection;
        connection.fd = fd;
        connection.number = ++accepted_;
        (*connections_)[fd] = std::move(connection);
        epoll_event event{EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
                          {.u64 = static_cast<uint64_t>(fd)}};
        epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &event);
    }
}

void TestServer::on_readable(int fd) {
    auto it = connections_->find(fd);
    if (it == connections_->end()) return;
    Connection &connection = it->second;
    char buffer[16384];
    while (true) {
        ssize_t received = recv(fd, buffer, sizeof buffer, 0);
        if (received > 0) {
            if (!connection.hung) connection.input.append(buffer, static_cast<size_t>(received));
            continue;
        }
        if (received < 0 && errno == EINTR) continue;
        if (received < 0 && errno == EAGAIN) break;
        close_connection(fd);  // the client closed or reset
        return;
    }
    handle_requests(fd);
}

// Parses and answers every complete request buffered on fd; stops if answering closed it.
void TestServer::handle_requests(int fd) {
    while (true) {
        auto found = connections_->find(fd);
        if (found == connections_->end() || found->second.hung) return;
        Connection &connection = found->second;
        size_t header_end = connection.input.find("\r\n\r\n");
        if (header_end == std::string::npos) return;
        ReceivedRequest request;
        std::string_view head(connection.input.data(), header_end);
        size_t line_end = head.find("\r\n");
        std::string_view request_line = head.substr(0, line_end);
        size_t first_space = request_line.find(' ');
        size_t second_space = request_line.find(' ', first_space + 1);
        request.method = std::string(request_line.substr(0, first_space));
        request.path =
            std::string(request_line.substr(first_space + 1, second_space - first_space - 1));
        size_t pos = line_end == std::string_view::npos ? head.size() : line_end + 2;
        while (pos < head.size()) {
            size_t end = head.find("\r\n", pos);
            if (end == std::string_view::npos) end = head.size();
            std::string_view header = head.substr(pos, end - pos);
            size_t colon = header.find(':');
            if (colon != std::string_view::npos) {
                request.headers[lowercase(std::string(header.substr(0, colon)))] =
                    std::string(trim(header.substr(colon + 1)));
            }
            pos = end + 2;
        }
        size_t body_length = 0;
        if (auto it = request.headers.find("content-length"); it != request.headers.end()) {
            body_length = std::stoul(it->second);
        }
        size_t total = header_end + 4 + body_length;
        if (connection.input.size() < total) return;
        request.body = connection.input.substr(header_end + 4, body_length);
        connection.input.erase(0, total);
        request.connection = connection.number;
        request.sequence = ++requests_;
        request.arrival = Clock::now();
        Reply reply = handler_(request);
        if (keep_requests_) {
            std::lock_guard lock(received_mutex_);
            received_.push_back(request);
        }
        schedule_reply(connection, request, std::move(reply));
        if (connections_->count(fd) == 0 || connections_->at(fd).number != request.connection) {
            return;
        }
    }
}

void TestServer::schedule_reply(Connection &connection, const ReceivedRequest &request,
                                Reply reply) {
    if (reply.never_answer) {
        connection.hung = true;
        connection.input.clear();
        return;
    }
    auto connection_header = request.headers.find("connection");
    bool close_after = reply.close_after || (connection_header != request.headers.end() &&
                                             lowercase(connection_header->second) == "close");
    bool immediate = reply.delay.count() == 0 && reply.piece_gap.count() == 0;
    if (immediate) {
        std::string all;
        for (const std::string &piece : reply.pieces)
            all += piece;
        connection.close_when_flushed = close_after;
        write_now(connection, all);
        return;
    }
    Clock::time_point due = Clock::now() + reply.delay;
    for (size_t i = 0; i < reply.pieces.size(); ++i) {
        bool last = i + 1 == reply.pieces.size();
        pending_.emplace(due, PendingWrite{due, connection.fd, connection.number, reply.pieces[i],
                                           last, close_after});
        due += reply.piece_gap;
    }
}

void TestServer::run_due_writes() {
    Clock::time_point now = Clock::now();
    while (!pending_.empty() && pending_.begin()->first <= now) {
        PendingWrite write = std::move(pending_.begin()->second);
        pending_.erase(pending_.begin());
        auto it = connections_->find(write.fd);
        // The connection may be gone (client timed out) or its fd reused by a newer one.
        if (it == connections_->end() || it->second.number != write.connection) continue;
        if (write.last) it->second.close_when_flushed = write.close_after;
        write_now(it->second, write.bytes);
    }
}

void TestServer::write_now(Connection &connection, const std::string &bytes) {
    connection.output += bytes;
    flush(connection);
}

void TestServer::flush(Connection &connection) {
    while (!connection.output.empty()) {
        ssize_t sent =
            send(connection.fd, connection.output.data(), connection.output.size(), MSG_NOSIGNAL);
        if (sent > 0) {
            connection.output.erase(0, static_cast<size_t>(sent));
            continue;
        }
        if (sent < 0 && errno == EINTR) continue;
        if (sent < 0 && errno == EAGAIN) return;
        close_connection(connection.fd);
        return;
    }
    if (connection.close_when_flushed) close_connection(connection.fd);
}

void TestServer::close_connection(int fd) {
    close(fd);
    connections_->erase(fd);
}

}  // namespace dfaas::loadgen::testing
