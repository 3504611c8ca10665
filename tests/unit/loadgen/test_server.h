// A small single-threaded epoll HTTP/1.1 server on 127.0.0.1 for the load generator's tests and
// benchmarks. Unlike a library server it exposes what the tests need to control and observe:
// raw response bytes (chunked, close-delimited, split into delayed pieces), replies that never
// come, and counts of accepted connections and received requests.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace dfaas::loadgen::testing {

using Clock = std::chrono::steady_clock;

struct ReceivedRequest {
    std::string method;
    std::string path;
    std::map<std::string, std::string> headers;  // names lower-cased
    std::string body;
    uint64_t connection = 0;  // 1-based number of the accepted connection it came on
    uint64_t sequence = 0;    // 1-based arrival order over the whole server
    Clock::time_point arrival;
};

struct Reply {
    // Written in order; `piece_gap` apart when set, so the client sees them in separate reads.
    std::vector<std::string> pieces;
    std::chrono::milliseconds delay{0};  // before the first piece
    std::chrono::milliseconds piece_gap{0};
    bool close_after = false;  // also implied by a request carrying "Connection: close"
    bool never_answer = false;
};

using Handler = std::function<Reply(const ReceivedRequest &)>;

// A Content-Length framed response; extra headers go in as given.
Reply http_reply(int status, const std::string &body = "ok",
                 const std::vector<std::pair<std::string, std::string>> &headers = {});

class TestServer {
  public:
    // Listens on 127.0.0.1 at `port` (0: an ephemeral port) and serves on its own thread.
    explicit TestServer(Handler handler, uint16_t port = 0, bool keep_requests = true);
    ~TestServer();
    TestServer(const TestServer &) = delete;
    TestServer &operator=(const TestServer &) = delete;

    uint16_t port() const { return port_; }
    std::string url(const std::string &path = "/") const;
    uint64_t accepted_connections() const { return accepted_.load(); }
    uint64_t request_count() const { return requests_.load(); }
    // Every request received so far (only with keep_requests).
    std::vector<ReceivedRequest> received() const;

  private:
    struct Connection;
    struct PendingWrite {
        Clock::time_point due;
        int fd;
        uint64_t connection;
        std::string bytes;
        bool last;
        bool close_after;
    };

    void serve();
    void accept_all();
    void on_readable(int fd);
    void handle_requests(int fd);
    void schedule_reply(Connection &connection, const ReceivedRequest &request, Reply reply);
    void run_due_writes();
    void write_now(Connection &connection, const std::string &bytes);
    void flush(Connection &connection);
    void close_connection(int fd);
    int next_timeout_ms() const;

    Handler handler_;
    bool keep_requests_;
    int listen_fd_ = -1;
    int epoll_fd_ = -1;
    int stop_fd_ = -1;
    uint16_t port_ = 0;
    std::atomic<uint64_t> accepted_{0};
    std::atomic<uint64_t> requests_{0};
    std::map<int, Connection> *connections_ = nullptr;
    std::multimap<Clock::time_point, PendingWrite> pending_;
    mutable std::mutex received_mutex_;
    std::vector<ReceivedRequest> received_;
    std::thread thread_;
};

}  // namespace dfaas::loadgen::testing
