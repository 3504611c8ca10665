#include "dfaas/peers/server.h"

#include <httplib.h>
#include <sys/socket.h>

#include <chrono>

namespace dfaas::peers {

namespace {

void write_reply(httplib::Response &response, const Reply &reply) {
    response.status = reply.status;
    if (!reply.body.empty()) response.set_content(reply.body, "application/json");
}

std::optional<std::string_view> header(const httplib::Request &request, const char *name) {
    auto found = request.headers.find(name);  // case-insensitive map
    if (found == request.headers.end()) return std::nullopt;
    return std::string_view(found->second);
}

GuardSettings guard_settings(const ServerSettings &settings, size_t max_body) {
    GuardSettings guard;
    guard.listener = "peer";
    guard.max_body = max_body;
    guard.read_timeout = settings.read_timeout;
    guard.request_deadline = settings.request_deadline;
    guard.max_connections_per_source = settings.max_connections_per_source;
    guard.max_connections = settings.max_connections;
    return guard;
}

}  // namespace

struct PeerServer::Impl {
    explicit Impl(GuardSettings guard) : server(std::move(guard)) {}
    GuardedServer server;
};

PeerServer::PeerServer(Receiver &receiver, ServerSettings settings)
    : receiver_(receiver), settings_(std::move(settings)) {
    if (!settings_.clock)
        settings_.clock = [] {
            return std::chrono::time_point_cast<Millis>(std::chrono::system_clock::now());
        };
    if (settings_.read_timeout <= Millis{0})
        throw Error("peer server: the read timeout must be positive");
    if (settings_.request_deadline <= Millis{0})
        throw Error("peer server: the request deadline must be positive");
    impl_ = std::make_unique<Impl>(guard_settings(settings_, receiver_.settings().max_body));
}

HttpListenerSnapshot PeerServer::http_counters() const {
    return impl_->server.snapshot();
}

PeerServer::~PeerServer() {
    stop();
}

bool PeerServer::running() const {
    return impl_->server.is_running();
}

void PeerServer::start() {
    if (thread_.joinable()) return;
    auto &server = impl_->server;
    server.set_write_timeout(settings_.read_timeout);

    // Before the body is read: method, path and the announced length as the receiver counts them,
    // then the guard's header screening (no Content-Encoding, no Transfer-Encoding). A request
    // refused here never makes the server read its body.
    server.set_guarded_pre_routing(
        [this](const httplib::Request &request, httplib::Response &response) {
            const auto reply =
                receiver_.screen(request.method, request.path, header(request, "Content-Length"),
                                 request.remote_addr);
            if (!reply) return httplib::Server::HandlerResponse::Unhandled;
            write_reply(response, *reply);
            return httplib::Server::HandlerResponse::Handled;
        },
        /*listener_checks_first=*/true);
    server.Post(std::string(kMessagePath),
                [this](const httplib::Request &request, httplib::Response &response) {
                    InboundRequest inbound;
                    inbound.method = request.method;
                    inbound.path = request.path;
                    inbound.node = header(request, kHeaderNode.data());
                    inbound.timestamp = header(request, kHeaderTimestamp.data());
                    inbound.signature = header(request, kHeaderSignature.data());
                    inbound.body = request.body;
                    inbound.remote = request.remote_addr;
                    write_reply(response, receiver_.handle(inbound, settings_.clock()));
                });
    server.set_exception_handler(
        [](const httplib::Request &, httplib::Response &response, std::exception_ptr) {
            response.status = 500;
            response.set_content(R"({"error":"internal_error","detail":"server exception"})",
                                 "application/json");
        });

    // SO_REUSEADDR only (a second agent may not share the port) and a full backlog (every peer
    // of a federation may connect at the same instant): GuardedServer::bind_listener.
    const std::string host = settings_.address.str();
    const std::string where = host + ":" + std::to_string(settings_.port);
    const int bound = server.bind_listener(host, settings_.port);
    if (bound <= 0)
        throw Error(settings_.port == 0
                        ? "peers.listen_port: cannot listen on " + host + " (any port)"
                        : "peers.listen_port: cannot listen on " + where +
                              " (address in use or not permitted)");
    port_ = static_cast<uint16_t>(bound);
    thread_ = std::thread([&server] { server.listen_after_bind(); });
    // stop() before the loop runs would be lost: wait until it does.
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (!server.is_running() && std::chrono::steady_clock::now() < give_up)
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    if (!server.is_running()) {
        stop();
        throw Error("peer server: the listener on " + where + " did not start");
    }
}

void PeerServer::stop() {
    if (!thread_.joinable()) return;
    impl_->server.stop();
    thread_.join();
}

}  // namespace dfaas::peers
