#include "faas_sim/server.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <stdexcept>

#include "faas_sim/behaviour.h"

namespace faas_sim {
namespace {

using Clock = std::chrono::steady_clock;

constexpr const char *kTextPlain = "text/plain; charset=utf-8";
constexpr const char *kJson = "application/json";
// The gateway's name pattern, capture 1; capture 2 is the path passed on to the function.
constexpr const char *kInvocationRoute = R"(/function/([-a-zA-Z_0-9.]+)(/.*)?)";
constexpr const char *kNameRoute = R"(([-a-zA-Z_0-9.]+))";

void set_body(httplib::Response &response, int status, std::string body,
              const std::string &content_type) {
    response.status = status;
    response.body = std::move(body);
    response.set_header("Content-Type", content_type);
}

std::string_view capture(const httplib::Request &request, size_t index) {
    if (index >= request.matches.size() || request.matches[index].length() == 0) return {};
    const auto &match = request.matches[index];
    return {&*match.first, static_cast<size_t>(match.length())};
}

std::string_view query_of(const std::string &target) {
    size_t question = target.find('?');
    return question == std::string::npos ? std::string_view()
                                         : std::string_view(target).substr(question + 1);
}

// How the gateway names a function it did not find: name.namespace.
std::string qualified_for_error(std::string_view name) {
    if (name.find('.') != std::string_view::npos) return std::string(name);
    return std::string(name) + "." + std::string(kDefaultNamespace);
}

std::string machine_architecture() {
    utsname names{};
    if (uname(&names) != 0) return "unknown";
    return names.machine;
}

}  // namespace

bool FaasSimServer::HttpServer::set_listen_backlog(int backlog) {
    // listen() on a listening socket only updates its backlog (Linux).
    return ::listen(svr_sock_, backlog) == 0;
}

void FaasSimServer::HttpServer::close_listener() {
    // Unlike httplib::Server::stop(), this works before listen_after_bind() has started too:
    // the accept loop exits as soon as it sees the invalid socket.
    socket_t sock = svr_sock_.exchange(INVALID_SOCKET);
    if (sock == INVALID_SOCKET) return;
    ::shutdown(sock, SHUT_RDWR);
    ::close(sock);
}

FaasSimServer::FaasSimServer(std::vector<FunctionSpec> functions, ServerOptions options)
    : FaasSimServer(FunctionsDocument{std::nullopt, std::move(functions)}, std::move(options)) {}

FaasSimServer::FaasSimServer(FunctionsDocument document, ServerOptions options)
    : functions_(std::move(document.functions)),
      node_(document.node ? std::make_unique<NodeModel>(*document.node) : nullptr),
      options_(std::move(options)) {
    configure_http_server();
    register_routes();
}

FaasSimServer::~FaasSimServer() {
    stop();
}

void FaasSimServer::configure_http_server() {
    const size_t threads = options_.threads;
    http_.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
    http_.set_default_headers({{kNodeIdHeader, options_.node_name}});
    http_.set_keep_alive_max_count(options_.keep_alive_max_requests);
    http_.set_keep_alive_timeout(options_.keep_alive_timeout_seconds);
    http_.set_payload_max_length(options_.max_body_bytes);
    http_.set_tcp_nodelay(true);
    // cpp-httplib's default sets SO_REUSEPORT, which would let a second simulator bind the same
    // port and silently take half of the traffic. SO_REUSEADDR alone still allows a quick restart.
    http_.set_socket_options([](socket_t sock) {
        int yes = 1;
        setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
    });
    http_.set_pre_routing_handler(
        [this](const httplib::Request &request, httplib::Response &response) {
            return check_basic_auth(request, response);
        });
    http_.set_exception_handler(
        [](const httplib::Request &request, httplib::Response &response, std::exception_ptr error) {
            std::string what = "unknown error";
            try {
                if (error) std::rethrow_exception(error);
            } catch (const std::exception &e) {
                what = e.what();
            } catch (...) {
            }
            spdlog::warn("{} {} failed: {}", request.method, request.path, what);
            set_body(response, 500, "internal error: " + what + "\n", kTextPlain);
        });
    if (options_.log_requests) {
        http_.set_logger([](const httplib::Request &request, const httplib::Response &response) {
            spdlog::debug("{}:{} {} {} -> {} ({} bytes)", request.remote_addr, request.remote_port,
                          request.method, request.target, response.status, response.body.size());
        });
    }
}

void FaasSimServer::register_routes() {
    // Invocations first: cpp-httplib tries routes in registration order.
    auto invoke = [this](const httplib::Request &request, httplib::Response &response) {
        handle_invocation(request, response);
    };
    http_.Get(kInvocationRoute, invoke);  // GET and HEAD
    http_.Post(kInvocationRoute, invoke);
    http_.Put(kInvocationRoute, invoke);
    http_.Patch(kInvocationRoute, invoke);
    http_.Delete(kInvocationRoute, invoke);
    http_.Options(kInvocationRoute, invoke);

    http_.Get("/healthz", [](const httplib::Request &, httplib::Response &response) {
        set_body(response, 200, "OK", kTextPlain);
    });
    http_.Get("/metrics", [this](const httplib::Request &, httplib::Response &response) {
        handle_metrics(response);
    });
    http_.Get("/system/functions",
              [this](const httplib::Request &request, httplib::Response &response) {
                  handle_list(request, response);
              });
    http_.Get(std::string("/system/function/") + kNameRoute,
              [this](const httplib::Request &request, httplib::Response &response) {
                  handle_status(request, response);
              });
    http_.Post(std::string("/system/scale-function/") + kNameRoute,
               [this](const httplib::Request &request, httplib::Response &response) {
                   handle_scale(request, response);
               });
    http_.Post(std::string("/system/fault/") + kNameRoute,
               [this](const httplib::Request &request, httplib::Response &response) {
                   handle_fault(request, response);
               });
    http_.Get("/system/info", [this](const httplib::Request &, httplib::Response &response) {
        handle_info(response);
    });
}

int FaasSimServer::bind() {
    const ListenAddress &listen = options_.listen;
    errno = 0;
    int port = listen.port == 0 ? http_.bind_to_any_port(listen.host)
                                : (http_.bind_to_port(listen.host, listen.port) ? listen.port : -1);
    if (port < 0) {
        std::string reason = errno != 0 ? std::string(" (") + std::strerror(errno) + ")" : "";
        throw std::runtime_error(
            fmt::format("cannot listen on {}:{}{}", listen.host, listen.port, reason));
    }
    if (!http_.set_listen_backlog(options_.listen_backlog)) {
        spdlog::warn("cannot raise the listen backlog to {}: {}", options_.listen_backlog,
                     std::strerror(errno));
    }
    bound_ = true;
    return port;
}

void FaasSimServer::serve() {
    if (!bound_) throw std::logic_error("FaasSimServer::serve() called before bind()");
    http_.listen_after_bind();
}

void FaasSimServer::stop() {
    stopping_.store(true);
    if (node_) node_->stop();
    http_.close_listener();
}

httplib::Server::HandlerResponse FaasSimServer::check_basic_auth(
    const httplib::Request &request, httplib::Response &response) const {
    using HandlerResponse = httplib::Server::HandlerResponse;
    if (!options_.basic_auth || request.path.rfind("/system/", 0) != 0) {
        return HandlerResponse::Unhandled;
    }
    auto header = request.headers.find("Authorization");
    if (header != request.headers.end() &&
        authorization_matches(header->second, *options_.basic_auth)) {
        return HandlerResponse::Unhandled;
    }
    response.set_header("WWW-Authenticate", R"(Basic realm="Restricted")");
    set_body(response, 401, "invalid credentials", kTextPlain);
    return HandlerResponse::Handled;
}

void FaasSimServer::handle_invocation(const httplib::Request &request,
                                      httplib::Response &response) {
    const auto start = Clock::now();
    std::string_view name = capture(request, 1);
    SimFunction *function = functions_.find(name);
    if (function == nullptr) {
        set_body(response, 404,
                 "error finding function " + qualified_for_error(name) + ": not found", kTextPlain);
        return;
    }
    function->stats().record_started();
    if (const int fault = function->fault_status(); fault != 0) {
        // An injected fault: answered at once, before capacity, the node model or the behaviour.
        set_body(response, fault,
                 fmt::format("fault injected: {} answers {}\n", function->qualified_name(), fault),
                 kTextPlain);
        function->stats().record_injected(fault, Clock::now() - start);
        return;
    }
    Outcome outcome = node_ && function->replicas() != 0
                          ? run_node_invocation(*function, request, response, start)
                          : run_invocation(*function, request, response);
    function->stats().record_completed(outcome, Clock::now() - start);
}

Outcome FaasSimServer::run_invocation(SimFunction &function, const httplib::Request &request,
                                      httplib::Response &response) {
    if (function.replicas() == 0) {
        // What faas-netes answers when a function has no ready endpoint.
        response.set_header("X-OpenFaaS-Internal", "proxy");
        set_body(response, 503, "No endpoints available for: " + function.spec().name + ".\n",
                 kTextPlain);
        return Outcome::Unavailable;
    }
    if (!function.try_admit()) {
        // The watchdog's max_inflight: refuse at once instead of queueing.
        set_body(response, 429,
                 fmt::format("Concurrent request limit exceeded. Max concurrent requests: {}\n",
                             function.capacity().value_or(0)),
                 kTextPlain);
        return Outcome::TooManyRequests;
    }
    AdmissionSlot slot(function);
    return answer(function, request, response, Clock::now());
}

Outcome FaasSimServer::run_node_invocation(SimFunction &function, const httplib::Request &request,
                                           httplib::Response &response, Clock::time_point arrival) {
    function.enter();  // admitted requests, queued ones too, use memory (node_memory_*)
    AdmissionSlot slot(function);
    const NodeModel::Admission admission = node_->acquire(function, arrival);
    switch (admission.result) {
        case NodeModel::Result::Started:
            break;
        case NodeModel::Result::QueueFull:
            // The watchdog's max_inflight answer; here the function's running and queued
            // requests are its in-flight ones.
            set_body(response, 429,
                     fmt::format("Concurrent request limit exceeded. Max concurrent requests: {}\n",
                                 node_capacity(function).value_or(0)),
                     kTextPlain);
            return Outcome::TooManyRequests;
        case NodeModel::Result::TimedOutInQueue:
            // The gateway's upstream timeout: the function never answered (empty body).
            response.status = 502;
            return Outcome::QueueTimeout;
        case NodeModel::Result::Stopping:
            set_body(response, 503, "the server is stopping\n", kTextPlain);
            return Outcome::Unavailable;
    }
    // The virtual CPU is held for cost_ms of wall time, or for timeout_ms when that is shorter:
    // the watchdog's exec_timeout, which counts from the start of the function, kills it.
    const FunctionSpec &spec = function.spec();
    auto hold = std::chrono::duration<double, std::milli>(spec.cost_ms);
    const bool killed = spec.timeout_ms != 0 && static_cast<double>(spec.timeout_ms) < spec.cost_ms;
    if (killed) hold = std::chrono::milliseconds(spec.timeout_ms);
    const std::chrono::duration<double, std::milli> left =
        admission.started + std::chrono::duration_cast<Clock::duration>(hold) - Clock::now();
    sleep_interruptibly(left.count(), stopping_);
    node_->finish(function, admission.cpu);
    if (killed) {
        set_body(response, 408, "Killed process.\n", kTextPlain);
        return Outcome::ExecTimeout;
    }
    return answer(function, request, response, arrival);
}

std::optional<uint64_t> FaasSimServer::node_capacity(const SimFunction &function) const {
    const uint64_t cpus = node_->spec().cpus;
    const uint64_t per_replica = function.spec().max_inflight;
    const uint64_t running =
        per_replica == 0 ? cpus : std::min(cpus, function.replicas() * per_replica);
    return running + function.spec().queue;
}

Outcome FaasSimServer::answer(SimFunction &function, const httplib::Request &request,
                              httplib::Response &response, Clock::time_point start) {
    InvocationInput input{request.method, capture(request, 2), query_of(request.target),
                          request.body, &request.headers};
    InvocationOutput output;
    try {
        output = invoke(function.spec(), input, stopping_);
    } catch (const std::exception &error) {
        spdlog::warn("function {} failed: {}", function.qualified_name(), error.what());
        set_body(response, 500, std::string(error.what()) + "\n", kTextPlain);
        return Outcome::InternalError;
    }
    const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    response.set_header("X-Duration-Seconds", fmt::format("{:.6f}", seconds));
    // The peer address the function saw: tests check that a forwarded connection still shows
    // the real client (the data plane forwards without source NAT).
    response.set_header(kClientAddrHeader, request.remote_addr);
    set_body(response, 200, std::move(output.body), output.content_type);
    return Outcome::Ok;
}

bool FaasSimServer::namespace_is_valid(const httplib::Request &request,
                                       httplib::Response &response) const {
    if (!request.has_param("namespace")) return true;
    std::set<std::string> known = functions_.namespaces();
    if (known.count(request.get_param_value("namespace")) != 0) return true;
    std::string expected;
    for (const std::string &name : known)
        expected += (expected.empty() ? "" : ", ") + name;
    set_body(response, 400,
             (known.size() == 1 ? "namespace must be: " : "namespace must be one of: ") + expected +
                 "\n",
             kTextPlain);
    return false;
}

void FaasSimServer::handle_list(const httplib::Request &request,
                                httplib::Response &response) const {
    if (!namespace_is_valid(request, response)) return;
    const bool filter = request.has_param("namespace");
    const std::string wanted = filter ? request.get_param_value("namespace") : std::string();
    nlohmann::ordered_json list = nlohmann::ordered_json::array();
    for (const auto &function : functions_.all()) {
        if (filter && function->spec().namespace_name != wanted) continue;
        list.push_back(function->status(/*with_invocation_count=*/true));
    }
    set_body(response, 200, list.dump(), kJson);
}

void FaasSimServer::handle_status(const httplib::Request &request,
                                  httplib::Response &response) const {
    if (!namespace_is_valid(request, response)) return;
    const SimFunction *function = functions_.find(capture(request, 1));
    if (function == nullptr ||
        (request.has_param("namespace") &&
         request.get_param_value("namespace") != function->spec().namespace_name)) {
        response.status = 404;  // the provider answers an unknown function with an empty 404
        return;
    }
    set_body(response, 200, function->status(/*with_invocation_count=*/false).dump(), kJson);
}

// The function a /system/{scale-function,fault}/{name} request names, or nullptr after the
// provider's answer for an unknown function (500, not 404).
SimFunction *FaasSimServer::deployment_or_500(const httplib::Request &request,
                                              httplib::Response &response) {
    SimFunction *function = functions_.find(capture(request, 1));
    if (function == nullptr)
        set_body(response, 500,
                 "Unable to lookup function deployment " + std::string(capture(request, 1)) + "\n",
                 kTextPlain);
    return function;
}

void FaasSimServer::handle_scale(const httplib::Request &request, httplib::Response &response) {
    SimFunction *function = deployment_or_500(request, response);
    if (function == nullptr) return;
    nlohmann::json body = nlohmann::json::parse(request.body, nullptr, /*allow_exceptions=*/false);
    if (body.is_discarded() || !body.is_object() ||
        (body.contains("replicas") && !body["replicas"].is_number_unsigned())) {
        set_body(response, 400, "Cannot parse request. Please pass valid JSON.\n", kTextPlain);
        return;
    }
    // Like the CE gateway, never below one replica.
    uint64_t replicas = std::max<uint64_t>(1, body.value("replicas", uint64_t{0}));
    function->set_replicas(replicas);
    if (node_) node_->replicas_changed();
    spdlog::info("scaled {} to {} replicas", function->qualified_name(), replicas);
    response.status = 202;
}

void FaasSimServer::handle_fault(const httplib::Request &request, httplib::Response &response) {
    SimFunction *function = deployment_or_500(request, response);
    if (function == nullptr) return;
    nlohmann::json body = nlohmann::json::parse(request.body, nullptr, /*allow_exceptions=*/false);
    if (body.is_discarded() || !body.is_object() || !body.contains("status") ||
        !body["status"].is_number_integer()) {
        set_body(response, 400, "Cannot parse request. Please pass valid JSON: {\"status\": N}.\n",
                 kTextPlain);
        return;
    }
    const int64_t status = body["status"].get<int64_t>();
    if (status != 0 && (status < kFirstInjectableStatus || status > kLastInjectableStatus)) {
        set_body(response, 400,
                 fmt::format("status must be 0 (clear) or {}..{}, got {}\n", kFirstInjectableStatus,
                             kLastInjectableStatus, status),
                 kTextPlain);
        return;
    }
    function->set_fault_status(static_cast<int>(status));
    if (status == 0)
        spdlog::info("fault of {} cleared", function->qualified_name());
    else
        spdlog::info("fault of {} set: every request answers {}", function->qualified_name(),
                     status);
    nlohmann::ordered_json answer = {{"name", function->spec().name}, {"status", status}};
    set_body(response, 200, answer.dump(), kJson);
}

void FaasSimServer::handle_info(httplib::Response &response) const {
    nlohmann::ordered_json version = {{"sha", DFAAS_GIT_DESCRIBE}, {"release", DFAAS_VERSION}};
    nlohmann::ordered_json info = {
        {"provider",
         {{"provider", "dfaas-faas-sim"}, {"orchestration", "simulated"}, {"version", version}}},
        {"version", version},
        {"arch", machine_architecture()}};
    set_body(response, 200, info.dump(), kJson);
}

void FaasSimServer::handle_metrics(httplib::Response &response) const {
    std::vector<FunctionMetricsView> views = functions_.metrics_views();
    if (!node_) {
        set_body(response, 200, render_metrics(views), std::string(kMetricsContentType));
        return;
    }
    std::vector<const SimFunction *> functions;
    for (size_t i = 0; i < views.size(); ++i) {
        const SimFunction &function = *functions_.all()[i];
        functions.push_back(&function);
        views[i].capacity = node_capacity(function);
        views[i].running = function.running();
        views[i].queued = function.queued();
    }
    const NodeMetricsView node = node_->metrics(functions);
    set_body(response, 200, render_metrics(views, &node), std::string(kMetricsContentType));
}

}  // namespace faas_sim
