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

}  // namespace

struct PeerServer::Impl {
    httplib::Server server;
};

PeerServer::PeerServer(Receiver &receiver, ServerSettings settings)
    : receiver_(receiver), settings_(std::move(settings)), impl_(std::make_unique<Impl>()) {
    if (!settings_.clock)
        settings_.clock = [] {
            return std::chrono::time_point_cast<Millis>(std::chrono::system_clock::now());
        };
    if (settings_.read_timeout <= Millis{0})
        throw Error("peer server: the read timeout must be positive");
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
    server.set_read_timeout(settings_.read_timeout);
    server.set_write_timeout(settings_.read_timeout);
    server.set_payload_max_length(receiver_.settings().max_body);

    // Before the body is read: method, path and the announced length. A request refused here
    // never makes the server read a large body.
    server.set_pre_routing_handler([this](const httplib::Request &request,
                                          httplib::Response &response) {
        const auto reply = receiver_.screen(request.method, request.path,
                                            header(request, "Content-Length"), request.remote_addr);
        if (!reply) return httplib::Server::HandlerResponse::Unhandled;
        write_reply(response, *reply);
        return httplib::Server::HandlerResponse::Handled;
    });
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

    // httplib's default options add SO_REUSEPORT, which would let a second agent share the port
    // and split the traffic: only SO_REUSEADDR (restart while old connections linger). The
    // callback also hands over the listening socket, whose backlog httplib fixes at 5: every
    // peer of a federation may connect at the same instant, so it is raised after binding.
    int listener = -1;
    server.set_socket_options([&listener](int socket) {
        const int yes = 1;
        (void)::setsockopt(socket, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
        listener = socket;
    });
    const std::string host = settings_.address.str();
    const std::string where = host + ":" + std::to_string(settings_.port);
    if (settings_.port == 0) {
        const int bound = server.bind_to_any_port(host);
        if (bound <= 0) throw Error("peers.listen_port: cannot listen on " + host + " (any port)");
        port_ = static_cast<uint16_t>(bound);
    } else {
        if (!server.bind_to_port(host, settings_.port))
            throw Error("peers.listen_port: cannot listen on " + where +
                        " (address in use or not permitted)");
        port_ = settings_.port;
    }
    if (listener >= 0) (void)::listen(listener, SOMAXCONN);
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
