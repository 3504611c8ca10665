// The HTTP server: the OpenFaaS gateway API over a FunctionTable.
#pragma once

#include <httplib.h>

#include <atomic>
#include <cstddef>
#include <ctime>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "faas_sim/basic_auth.h"
#include "faas_sim/function_table.h"
#include "faas_sim/listen_address.h"
#include "faas_sim/node_model.h"

namespace faas_sim {

inline constexpr const char *kNodeIdHeader = "DFaaS-Node-ID";
inline constexpr const char *kClientAddrHeader = "X-Client-Addr";

struct ServerOptions {
    ListenAddress listen{"0.0.0.0", 8080};
    std::string node_name;  // sent in the DFaaS-Node-ID header of every response
    std::optional<BasicAuthCredentials> basic_auth;  // protects /system/* when set
    // cpp-httplib serves each connection on one pool thread for the connection's whole life
    // (idle keep-alive included), so this bounds concurrent connections, not just requests.
    size_t threads = 64;
    int listen_backlog = 1024;  // the library's compiled-in backlog is 5, too small for benchmarks
    size_t keep_alive_max_requests = 100000;
    time_t keep_alive_timeout_seconds = 5;
    size_t max_body_bytes = 16 * 1024 * 1024;
    bool log_requests = false;  // one debug line per request
};

class FaasSimServer {
  public:
    FaasSimServer(std::vector<FunctionSpec> functions, ServerOptions options);
    // With document.node, requests go through the node model (node_model.h).
    FaasSimServer(FunctionsDocument document, ServerOptions options);
    ~FaasSimServer();
    FaasSimServer(const FaasSimServer &) = delete;
    FaasSimServer &operator=(const FaasSimServer &) = delete;

    // Binds and listens; returns the bound port (useful with port 0). Throws std::runtime_error
    // naming the address when that fails.
    int bind();
    // Serves until stop(); returns once every connection has been closed.
    void serve();
    // Thread-safe and idempotent; may be called before serve(). Sleeping and CPU-burning
    // requests are cut short so that shutdown is quick.
    void stop();

  private:
    // Gives access to the listening socket, which cpp-httplib 0.11 keeps protected.
    class HttpServer : public httplib::Server {
      public:
        bool set_listen_backlog(int backlog);
        void close_listener();
    };

    void configure_http_server();
    void register_routes();
    httplib::Server::HandlerResponse check_basic_auth(const httplib::Request &request,
                                                      httplib::Response &response) const;
    void handle_invocation(const httplib::Request &request, httplib::Response &response);
    Outcome run_invocation(SimFunction &function, const httplib::Request &request,
                           httplib::Response &response);
    Outcome run_node_invocation(SimFunction &function, const httplib::Request &request,
                                httplib::Response &response,
                                std::chrono::steady_clock::time_point arrival);
    Outcome answer(SimFunction &function, const httplib::Request &request,
                   httplib::Response &response, std::chrono::steady_clock::time_point start);
    // What faas_sim_function_capacity_requests shows of a function under the node model.
    std::optional<uint64_t> node_capacity(const SimFunction &function) const;
    void handle_list(const httplib::Request &request, httplib::Response &response) const;
    void handle_status(const httplib::Request &request, httplib::Response &response) const;
    SimFunction *deployment_or_500(const httplib::Request &request, httplib::Response &response);
    void handle_scale(const httplib::Request &request, httplib::Response &response);
    // Simulator only (no gateway has it): POST /system/fault/{name} {"status": N}.
    void handle_fault(const httplib::Request &request, httplib::Response &response);
    void handle_info(httplib::Response &response) const;
    void handle_metrics(httplib::Response &response) const;
    // False (and a 400 answer) when ?namespace= names a namespace no function lives in.
    bool namespace_is_valid(const httplib::Request &request, httplib::Response &response) const;

    FunctionTable functions_;
    std::unique_ptr<NodeModel> node_;  // null without a node model
    ServerOptions options_;
    HttpServer http_;
    std::atomic<bool> stopping_{false};
    bool bound_ = false;
};

}  // namespace faas_sim
