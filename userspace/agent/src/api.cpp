#include "api.h"

#include <httplib.h>
#include <charconv>
#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

#include "dfaas/dataplane/json.h"
#include "dfaas/strategy/json.h"
#include "api_requests.h"
#include "dfaas/version.h"
#include "metrics.h"
#include "views.h"

namespace dfaas::agent {

namespace {

using nlohmann::json;

void reply_json(httplib::Response &res, int status, const json &body) {
    res.status = status;
    res.set_content(api_json_text(body), "application/json");
}

void reply_error(httplib::Response &res, int status, const std::string &message) {
    reply_json(res, status, json{{"error", message}});
}

// A query parameter that must be a decimal number no larger than `max`; `fallback` when absent.
std::optional<uint64_t> query_number(const httplib::Request &req, const char *name,
                                     uint64_t fallback, uint64_t max) {
    if (!req.has_param(name)) return fallback;
    const std::string text = req.get_param_value(name);
    uint64_t value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (text.empty() || ec != std::errc() || end != text.data() + text.size() || value > max)
        return std::nullopt;
    return value;
}

bool from_loopback(const httplib::Request &req) {
    return req.remote_addr == "127.0.0.1" || req.remote_addr == "::1" ||
           req.remote_addr.rfind("127.", 0) == 0;
}

// Mutations: from loopback, or with the control token (Authorization: Bearer <token>).
bool may_mutate(const httplib::Request &req, const std::string &token) {
    if (from_loopback(req)) return true;
    if (token.empty()) return false;
    auto auth = req.get_header_value("Authorization");
    const std::string prefix = "Bearer ";
    if (auth.size() != prefix.size() + token.size() || auth.rfind(prefix, 0) != 0) return false;
    // Constant time over the token's length.
    unsigned char diff = 0;
    for (size_t i = 0; i < token.size(); ++i)
        diff |= auth[prefix.size() + i] ^ token[i];
    return diff == 0;
}

bool is_mutation(const std::string &method) {
    return method != "GET" && method != "HEAD" && method != "OPTIONS";
}

std::vector<PolicyPeer> policy_peers(const AgentView &v) {
    std::vector<PolicyPeer> members;
    members.reserve(v.peers.size());
    for (const auto &p : v.peers)
        members.push_back(PolicyPeer{p.id, p.address});
    return members;
}

void register_health(httplib::Server &server, Agent &agent) {
    server.Get("/healthz", [](const httplib::Request &, httplib::Response &res) {
        res.set_content("ok\n", "text/plain");
    });
    // From the readiness board, never from view(): view() waits for the state lock, which a
    // control tick or a period step over hundreds of functions holds for a long time (a probe
    // with a 1 s timeout missed answers while 300 functions were deployed).
    server.Get("/readyz", [&agent](const httplib::Request &, httplib::Response &res) {
        const Readiness readiness = agent.readiness();
        reply_json(res, readiness.ready ? 200 : 503,
                   json{{"ready", readiness.ready}, {"reasons", readiness.reasons}});
    });
}

std::string read_token(const Config &cfg) {
    if (cfg.api.token_file.empty()) return {};
    auto t = read_secret_file(cfg.api.token_file);
    if (t) return *t;
    spdlog::warn("api.token_file: {} (mutations only from loopback)", t.error());
    return {};
}

}  // namespace

peers::GuardSettings api_guard_settings(const Config &cfg) {
    peers::GuardSettings guard;
    guard.listener = "api";
    guard.max_body = kMaxPolicyRequestBytes;
    guard.max_connections_per_source = cfg.api.max_connections_per_source;
    guard.max_connections = cfg.api.max_connections;
    guard.read_timeout = cfg.api.read_timeout;
    guard.request_deadline = cfg.api.request_deadline;
    return guard;
}

peers::GuardSettings health_guard_settings(const Config &cfg) {
    peers::GuardSettings guard;
    guard.listener = "health";
    guard.max_body = 0;  // GET only
    guard.max_header_bytes = 8 * 1024;
    guard.request_deadline = std::chrono::seconds(2);
    guard.read_timeout = std::chrono::seconds(2);
    guard.max_connections_per_source = cfg.api.max_connections_per_source;
    guard.max_connections = 16;
    return guard;
}

void register_health_api(peers::GuardedServer &server, Agent &agent) {
    register_health(server, agent);
    server.set_guarded_pre_routing(nullptr);
}

void register_api(peers::GuardedServer &server, Agent &agent, const Config &cfg) {
    const std::string token = read_token(cfg);

    // Before the body is read: the guard's header screening (no Content-Encoding, no
    // Transfer-Encoding, at most 64 KiB announced), then the token of a mutation. A client
    // without the token never gets its body read.
    server.set_guarded_pre_routing(
        [&server, token](const httplib::Request &req, httplib::Response &res) {
            if (is_mutation(req.method) && !may_mutate(req, token)) {
                server.refuse(peers::HttpRefusal::Forbidden,
                              "mutations need loopback or the control token", res);
                return httplib::Server::HandlerResponse::Handled;
            }
            return httplib::Server::HandlerResponse::Unhandled;
        });

    register_health(server, agent);
    server.Get("/metrics", [&agent](const httplib::Request &, httplib::Response &res) {
        res.set_content(render_metrics(agent.view()) +
                            render_http_metrics(peers::http_listener_snapshots()) +
                            agent.entry_metrics(),
                        "text/plain; version=0.0.4; charset=utf-8");
    });
    server.Get("/v1/status", [&agent](const httplib::Request &, httplib::Response &res) {
        reply_json(res, 200, status_json(agent.view()));
    });
    server.Get("/v1/functions", [&agent](const httplib::Request &, httplib::Response &res) {
        reply_json(res, 200, functions_json(agent.view()));
    });
    server.Get("/v1/policies", [&agent](const httplib::Request &, httplib::Response &res) {
        reply_json(res, 200, policies_json(agent.view(), ""));
    });
    server.Get(R"(/v1/policies/([^/]+))",
               [&agent](const httplib::Request &req, httplib::Response &res) {
                   auto v = agent.view();
                   std::string fn = req.matches[1];
                   if (!v.installed.count(fn) && !v.functions.count(fn))
                       return reply_error(res, 404, "function " + fn + " not found");
                   reply_json(res, 200, policies_json(v, fn));
               });
    server.Get("/v1/peers", [&agent](const httplib::Request &, httplib::Response &res) {
        reply_json(res, 200, peers_json(agent.view()));
    });
    server.Get("/v1/stats", [&agent](const httplib::Request &, httplib::Response &res) {
        reply_json(res, 200, stats_json(agent.view_with_fresh_stats()));
    });
    // Recent peer and policy events (`dfaasctl monitor`): those after `since`, at most `limit`
    // (<= 256) per answer.
    server.Get("/v1/events", [&agent](const httplib::Request &req, httplib::Response &res) {
        auto since = query_number(req, "since", 0, UINT64_MAX);
        if (!since) return reply_error(res, 400, "since: expects a sequence number");
        auto limit = query_number(req, "limit", EventLog::kMaxPage, EventLog::kMaxPage);
        if (!limit)
            return reply_error(res, 400, "limit: expects 0.." + std::to_string(EventLog::kMaxPage));
        const auto &log = agent.events();
        reply_json(res, 200, to_json(log.since(*since, *limit), log.overwritten()));
    });
    server.Get("/v1/snapshot", [&agent](const httplib::Request &, httplib::Response &res) {
        auto snap = agent.last_snapshot();
        if (!snap) return reply_error(res, 404, "no strategy step has run yet");
        // With the strategy and the forecaster models, `dfaasctl simulate --snapshot` replays
        // exactly what this agent ran (the file is self-contained).
        json doc = strategy::snapshot_to_json(*snap);
        const auto v = agent.view();
        if (!v.strategy_name.empty()) doc["strategy"] = v.strategy_name;
        if (v.config.forecaster.mode == ForecasterMode::Native &&
            !v.config.forecaster.models_dir.empty())
            doc["forecaster"] = {{"models_dir", v.config.forecaster.models_dir},
                                 {"variant", std::string(to_string(v.config.forecaster.variant))}};
        reply_json(res, 200, doc);
    });

    server.Put(R"(/v1/policies/([^/]+))",
               [&agent, token](const httplib::Request &req, httplib::Response &res) {
                   if (!may_mutate(req, token))
                       return reply_error(res, 403, "mutations need loopback or the control token");
                   std::string fn = req.matches[1];
                   auto v = agent.view();
                   if (!v.functions.count(fn))
                       return reply_error(res, 404, "function " + fn + " not found");
                   auto parsed = parse_policy_request(req.body, policy_peers(v));
                   if (auto *error = std::get_if<std::string>(&parsed))
                       return reply_error(res, 400, *error);
                   const auto &request = std::get<PolicyRequest>(parsed);
                   agent.set_override(fn, request.policy, request.ttl);
                   reply_json(res, 200, policies_json(agent.view(), fn));
               });
    server.Delete(R"(/v1/policies/([^/]+))", [&agent, token](const httplib::Request &req,
                                                             httplib::Response &res) {
        if (!may_mutate(req, token))
            return reply_error(res, 403, "mutations need loopback or the control token");
        std::string fn = req.matches[1];
        if (!agent.clear_override(fn))
            return reply_error(res, 404, "no override for function " + fn);
        reply_json(res, 200, policies_json(agent.view(), fn));
    });
    server.Post("/v1/recalc", [&agent, token](const httplib::Request &req, httplib::Response &res) {
        if (!may_mutate(req, token))
            return reply_error(res, 403, "mutations need loopback or the control token");
        agent.request_recalc();
        reply_json(res, 202, json{{"recalc", "requested"}});
    });

    server.set_exception_handler(
        [](const httplib::Request &req, httplib::Response &res, std::exception_ptr ep) {
            std::string what = "unknown error";
            try {
                if (ep) std::rethrow_exception(ep);
            } catch (const std::exception &e) {
                what = e.what();
            } catch (...) {
            }
            spdlog::warn("API {} {}: {}", req.method, req.path, what);
            reply_error(res, 500, what);
        });
    server.set_error_handler([](const httplib::Request &req, httplib::Response &res) {
        if (res.body.empty())
            reply_error(res, res.status, req.method + " " + req.path + ": not found");
    });
}

std::string api_json_text(const nlohmann::json &body) {
    return body.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

}  // namespace dfaas::agent
