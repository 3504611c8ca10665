#include "agent_client.h"

#include <httplib.h>

namespace dfaas::cli {

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
    httplib::Client client(options_.url);
    if (!client.is_valid())
        throw CommandError{"--agent: \"" + options_.url + "\" is not an http://host:port URL",
                           kUsage};
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
    httplib::Result res = send();

    if (!res)
        throw CommandError{"agent unreachable at " + options_.url + ": " +
                               httplib::to_string(res.error()) +
                               " (is dfaas-agent running? --agent / DFAAS_AGENT)",
                           kUnreachable};
    nlohmann::json doc;
    try {
        doc = nlohmann::json::parse(res->body);
    } catch (const std::exception &) {
        if (res->status < 400)
            throw CommandError{
                method + " " + path + ": the agent answered something that is not JSON", kUsage};
    }
    if (res->status < 400) return doc;
    std::string message = doc.is_object() && doc.contains("error")
                              ? doc["error"].get<std::string>()
                              : "HTTP " + std::to_string(res->status);
    int code = res->status == 404   ? kNotFound
               : res->status == 403 ? kPermission
               : res->status == 401 ? kPermission
                                    : kUsage;
    throw CommandError{message, code};
}

}  // namespace dfaas::cli
