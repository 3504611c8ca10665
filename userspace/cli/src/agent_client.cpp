#include "agent_client.h"

#include <httplib.h>
#include <netdb.h>
#include <sys/socket.h>

#include <charconv>
#include <chrono>

namespace dfaas::cli {

namespace {

constexpr const char *kAgentHint = "is dfaas-agent running? --agent / DFAAS_AGENT";

}  // namespace

std::optional<AgentUrl> parse_agent_url(std::string_view text) {
    constexpr std::string_view kScheme = "http://";
    if (text.size() > 2048 || text.substr(0, kScheme.size()) != kScheme) return std::nullopt;
    std::string_view rest = text.substr(kScheme.size());
    while (!rest.empty() && rest.back() == '/')
        rest.remove_suffix(1);
    if (rest.find('/') != std::string_view::npos) return std::nullopt;  // no path
    AgentUrl url;
    std::string_view port_text;
    if (!rest.empty() && rest.front() == '[') {  // [v6]:port
        auto close = rest.find(']');
        if (close == std::string_view::npos) return std::nullopt;
        url.host = std::string(rest.substr(1, close - 1));
        rest.remove_prefix(close + 1);
        if (!rest.empty()) {
            if (rest.front() != ':') return std::nullopt;
            port_text = rest.substr(1);
            if (port_text.empty()) return std::nullopt;
        }
    } else {
        auto colon = rest.rfind(':');
        url.host = std::string(rest.substr(0, colon));
        if (colon != std::string_view::npos) {
            port_text = rest.substr(colon + 1);
            if (port_text.empty()) return std::nullopt;
        }
    }
    const bool bracketed = text[kScheme.size()] == '[';
    if (url.host.empty() ||
        url.host.find_first_of(bracketed ? " @?#[]" : " @?#[]:") != std::string::npos)
        return std::nullopt;
    if (!port_text.empty()) {
        unsigned port = 0;
        auto [end, ec] =
            std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
        if (ec != std::errc{} || end != port_text.data() + port_text.size() || port == 0 ||
            port > 65535)
            return std::nullopt;
        url.port = static_cast<uint16_t>(port);
    }
    return url;
}

AgentClient::AgentClient(AgentOptions options) : options_(std::move(options)) {
    while (!options_.url.empty() && options_.url.back() == '/')
        options_.url.pop_back();
}

nlohmann::json AgentClient::get(const std::string &path) const {
    return request("GET", path, nullptr);
}

nlohmann::json AgentClient::put(const std::string &path, const nlohmann::json &body) const {
    std::string text = body.dump();
    return request("PUT", path, &text);
}

nlohmann::json AgentClient::post(const std::string &path, const nlohmann::json &body) const {
    std::string text = body.dump();
    return request("POST", path, &text);
}

nlohmann::json AgentClient::del(const std::string &path) const {
    return request("DELETE", path, nullptr);
}

nlohmann::json AgentClient::request(const std::string &method, const std::string &path,
                                    const std::string *body) const {
    auto url = parse_agent_url(options_.url);
    if (!url)
        throw CommandError{"--agent: \"" + options_.url +
                               "\" is not a URL of the form http://HOST[:PORT] (bad URL; e.g. "
                               "http://127.0.0.1:9080)",
                           kUsage};
    // httplib reports a name that does not resolve like a refused connection: resolving first
    // lets the message say which.
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    addrinfo *resolved = nullptr;
    int gai = ::getaddrinfo(url->host.c_str(), nullptr, &hints, &resolved);
    if (gai != 0)
        throw CommandError{"agent unreachable at " + options_.url + ": cannot resolve host \"" +
                               url->host + "\" (" + ::gai_strerror(gai) + "; " + kAgentHint + ")",
                           kUnreachable};
    ::freeaddrinfo(resolved);

    httplib::Client client(url->host, url->port);
    auto timeout = std::chrono::milliseconds(options_.timeout_ms);
    client.set_connection_timeout(timeout);
    client.set_read_timeout(timeout);
    client.set_write_timeout(timeout);
    httplib::Headers headers;
    if (!options_.token.empty()) headers.emplace("Authorization", "Bearer " + options_.token);

    auto send = [&]() -> httplib::Result {
        if (method == "GET") return client.Get(path, headers);
        if (method == "DELETE") return client.Delete(path, headers);
        if (method == "PUT") return client.Put(path, headers, *body, "application/json");
        return client.Post(path, headers, *body, "application/json");
    };
    const auto started = std::chrono::steady_clock::now();
    httplib::Result res = send();
    const auto waited = std::chrono::steady_clock::now() - started;

    if (!res) {
        const std::string limit = std::to_string(options_.timeout_ms) + "ms";
        std::string what;
        switch (res.error()) {
            case httplib::Error::ConnectionTimeout:
                what = "connection timed out after " + limit;
                break;
            case httplib::Error::Connection:
                what = waited >= timeout ? "connection timed out after " + limit
                                         : "connection refused";
                break;
            case httplib::Error::Read:
                what = waited >= timeout ? "timed out after " + limit + " waiting for an answer"
                                         : "the connection closed before an answer";
                break;
            default:
                what = httplib::to_string(res.error());
                break;
        }
        throw CommandError{"agent unreachable at " + options_.url + ": " + what + " (" +
                               kAgentHint + (waited >= timeout ? "; --request-timeout" : "") + ")",
                           kUnreachable};
    }
    nlohmann::json doc;
    try {
        doc = nlohmann::json::parse(res->body);
    } catch (const std::exception &) {
        if (res->status < 400)
            throw CommandError{
                method + " " + path + ": the agent answered something that is not JSON", kFailure};
    }
    if (res->status < 400) return doc;
    std::string message = doc.is_object() && doc.contains("error") && doc["error"].is_string()
                              ? doc["error"].get<std::string>()
                              : "HTTP " + std::to_string(res->status);
    int code = res->status == 404                         ? kNotFound
               : res->status == 403 || res->status == 401 ? kPermission
               : res->status < 500                        ? kUsage
                                                          : kFailure;
    throw CommandError{message, code};
}

}  // namespace dfaas::cli
