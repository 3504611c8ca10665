#include "validate.h"

#include <sys/stat.h>

#include "dfaas/clients/duration_text.h"
#include "dfaas/config/config.h"

namespace dfaas::config_detail {
namespace {

class Checker {
  public:
    Checker(Config &config, const KeyOrigins &origins, std::vector<std::string> &errors)
        : config_(config), origins_(origins), errors_(errors) {}

    void run() {
        check_node_ip();
        fill_gateway_default();
        fill_api_listen_default();
        check_ports();
        check_ct_timeouts();
        check_prometheus_window();
        check_timeouts_below_period();
        check_control_tick();
        check_connection_limits("api", config_.api.max_connections_per_source,
                                config_.api.max_connections);
        check_connection_limits("peers", config_.peers.max_connections_per_source,
                                config_.peers.max_connections);
        check_strategy_needs();
        check_openfaas_auth();
        check_secret_files();
        load_groups();
    }

  private:
    // True when every key is usable (parsed, or default).
    bool usable(std::initializer_list<const char *> paths) const {
        for (const char *path : paths)
            if (!origins_.usable(path)) return false;
        return true;
    }
    void error(const std::string &path, const std::string &message) {
        errors_.push_back(path + ": " + message + origins_.from(path));
    }
    // "other.key (10s)", or "other.key (10s, from agent.yaml line 3)" when configured: the error
    // may well be in the other key.
    std::string other(const std::string &path, const std::string &value) const {
        auto it = origins_.origin.find(path);
        return path + " (" + value + (it == origins_.origin.end() ? "" : ", from " + it->second) +
               ")";
    }

    void check_node_ip() {
        if (!origins_.configured("node.ip")) {
            errors_.push_back(
                "node.ip: required (this node's IPv4 address; set node.ip, or "
                "DFAAS_NODE_IP / AGENT_NODE_IP)");
            return;
        }
        if (!usable({"node.ip"})) return;
        uint32_t ip = config_.node.ip.value;
        if (ip == 0 || ip == 0xffffffffu || (ip >> 28) == 0xe)
            error("node.ip", "\"" + config_.node.ip.str() +
                                 "\" is not a unicast address peers and users can reach");
    }

    void fill_gateway_default() {
        if (!origins_.configured("dataplane.gateway"))
            config_.dataplane.gateway = {config_.node.ip, 8080};
    }

    // Without a control token the API can only be mutated from loopback: serve it there unless
    // the operator chose an address.
    void fill_api_listen_default() {
        if (origins_.configured("api.listen") || !usable({"api.token_file"})) return;
        config_.api.listen.addr = config_.api.token_file.empty() ? Ipv4{0x7f000001} : Ipv4{0};
    }

    void check_health_listen() {
        if (!usable({"api.health_listen"})) return;
        const uint16_t port = config_.api.health_listen.port;
        if (usable({"dataplane.function_ports"}))
            check_port_outside_function_ports("api.health_listen", port);
        if (usable({"api.listen"}) && port == config_.api.listen.port)
            error("api.health_listen",
                  "uses the same port as " + other("api.listen", config_.api.listen.str()));
        if (usable({"peers.listen_port"}) && port == config_.peers.listen_port)
            error("api.health_listen",
                  "uses the same port as " +
                      other("peers.listen_port", std::to_string(config_.peers.listen_port)));
    }

    void check_port_outside_function_ports(const std::string &path, uint16_t port) {
        const PortRange &range = config_.dataplane.function_ports;
        if (range.contains(port))
            error(path, "port " + std::to_string(port) + " is inside " +
                            other("dataplane.function_ports",
                                  std::to_string(range.first) + "-" + std::to_string(range.last)) +
                            ": the data plane would steer its traffic");
    }

    // The entry port must not be steered, nor taken by another listener of the agent.
    void check_entry_port() {
        if (!usable({"entry.port", "entry.enabled"}) || !config_.entry.enabled) return;
        const uint16_t port = config_.entry.port;
        if (usable({"dataplane.function_ports"}))
            check_port_outside_function_ports("entry.port", port);
        auto clash = [&](const char *path, uint16_t other_port, const std::string &text) {
            if (usable({path}) && port == other_port)
                error("entry.port", "uses the same port as " + other(path, text));
        };
        clash("api.listen", config_.api.listen.port, config_.api.listen.str());
        clash("api.health_listen", config_.api.health_listen.port, config_.api.health_listen.str());
        clash("peers.listen_port", config_.peers.listen_port,
              std::to_string(config_.peers.listen_port));
        if (usable({"dataplane.gateway", "node.ip"}) &&
            config_.dataplane.gateway.addr == config_.node.ip &&
            config_.dataplane.gateway.port == port)
            error("entry.port", "uses the same port as " +
                                    other("dataplane.gateway", config_.dataplane.gateway.str()));
    }

    void check_ports() {
        check_health_listen();
        check_entry_port();
        if (!usable({"dataplane.function_ports"})) return;
        if (usable({"peers.listen_port"}))
            check_port_outside_function_ports("peers.listen_port", config_.peers.listen_port);
        if (usable({"api.listen"}))
            check_port_outside_function_ports("api.listen", config_.api.listen.port);
        if (usable({"dataplane.gateway", "node.ip"}))
            check_port_outside_function_ports("dataplane.gateway", config_.dataplane.gateway.port);
        if (usable({"api.listen", "peers.listen_port"}) &&
            config_.api.listen.port == config_.peers.listen_port)
            error("api.listen",
                  "uses the same port as " +
                      other("peers.listen_port", std::to_string(config_.peers.listen_port)));
    }

    void check_ct_timeouts() {
        const CtTimeouts &ct = config_.dataplane.ct_timeouts;
        auto check = [&](const char *path, Duration value) {
            if (usable({path, "dataplane.ct_timeouts.established"}) && value > ct.established)
                error(path, format_duration(value) + " is longer than " +
                                other("dataplane.ct_timeouts.established",
                                      format_duration(ct.established)));
        };
        check("dataplane.ct_timeouts.syn", ct.syn);
        check("dataplane.ct_timeouts.closing", ct.closing);
    }

    void check_prometheus_window() {
        const PrometheusConfig &prometheus = config_.prometheus;
        if (usable({"prometheus.window", "prometheus.scrape_interval"}) &&
            prometheus.window < 3 * prometheus.scrape_interval)
            error("prometheus.window", format_duration(prometheus.window) +
                                           " covers fewer than 3 scrapes; it must be >= 3 x " +
                                           other("prometheus.scrape_interval",
                                                 format_duration(prometheus.scrape_interval)) +
                                           " = " + format_duration(3 * prometheus.scrape_interval));
    }

    void check_timeouts_below_period() {
        if (!usable({"strategy.period"})) return;
        Duration period = config_.strategy.period;
        auto check = [&](const char *path, Duration timeout) {
            if (usable({path}) && timeout >= period)
                error(path, format_duration(timeout) + " is not shorter than " +
                                other("strategy.period", format_duration(period)));
        };
        check("openfaas.timeout", config_.openfaas.timeout);
        check("prometheus.timeout", config_.prometheus.timeout);
        check("forecaster.timeout", config_.forecaster.timeout);
        check("strategy.external.timeout", config_.strategy.external.timeout);
    }

    void check_control_tick() {
        if (usable({"peers.control_tick", "strategy.period"}) &&
            config_.peers.control_tick > config_.strategy.period)
            error("peers.control_tick",
                  format_duration(config_.peers.control_tick) + " is longer than " +
                      other("strategy.period", format_duration(config_.strategy.period)));
    }

    // The guard would silently lower a per-source limit above the total: say so instead.
    void check_connection_limits(const std::string &section, uint32_t per_source, uint32_t total) {
        const std::string per_source_key = section + ".max_connections_per_source";
        const std::string total_key = section + ".max_connections";
        if (usable({per_source_key.c_str(), total_key.c_str()}) && per_source > total)
            error(per_source_key, std::to_string(per_source) + " is more than " +
                                      other(total_key, std::to_string(total)));
    }

    void check_strategy_needs() {
        if (!usable({"strategy.name"})) return;
        StrategyKind strategy = config_.strategy.name;
        if (strategy == StrategyKind::External && usable({"strategy.external.url"}) &&
            !config_.strategy.external.url)
            error("strategy.external.url", "required when strategy.name is external");
        if (usable({"forecaster.mode", "forecaster.url"}) &&
            config_.forecaster.mode == ForecasterMode::Http && !config_.forecaster.url)
            error("forecaster.url", "required when forecaster.mode is http");
        bool needs_models = strategy == StrategyKind::NodeMargin &&
                            config_.forecaster.mode == ForecasterMode::Native;
        struct stat info {};
        if (needs_models && usable({"forecaster.mode", "forecaster.models_dir"}) &&
            (::stat(config_.forecaster.models_dir.c_str(), &info) != 0 || !S_ISDIR(info.st_mode)))
            error("forecaster.models_dir", "\"" + config_.forecaster.models_dir +
                                               "\" is not a directory (the nodemargin strategy "
                                               "needs the forecaster models)");
    }

    void check_openfaas_auth() {
        const OpenFaasConfig &openfaas = config_.openfaas;
        if (!usable({"openfaas.username", "openfaas.password_file"})) return;
        if (!openfaas.username.empty() && openfaas.password_file.empty())
            error("openfaas.password_file", "required when openfaas.username is set");
        if (openfaas.username.empty() && !openfaas.password_file.empty())
            error("openfaas.username", "required when openfaas.password_file is set");
    }

    void check_secret_file(const char *path, const std::string &file) {
        if (file.empty() || !usable({path})) return;
        auto secret = read_secret_file(file);
        if (!secret) error(path, secret.error());
    }

    void check_secret_files() {
        check_secret_file("openfaas.password_file", config_.openfaas.password_file);
        check_secret_file("api.token_file", config_.api.token_file);
        check_secret_file("peers.cluster_key_file", config_.peers.cluster_key_file);
        if (usable({"peers.seeds", "peers.cluster_key_file"}) && !config_.peers.seeds.empty() &&
            config_.peers.cluster_key_file.empty())
            error("peers.cluster_key_file",
                  "required when peers.seeds is set (peer messages are signed with it)");
    }

    void load_groups() {
        const std::string &file = config_.strategy.group_file;
        if (file.empty() || !usable({"strategy.group_file"})) return;
        auto groups = load_group_file(file);
        if (!groups) return error("strategy.group_file", groups.error());
        config_.strategy.groups = std::move(*groups);
    }

    Config &config_;
    const KeyOrigins &origins_;
    std::vector<std::string> &errors_;
};

}  // namespace

std::string KeyOrigins::from(const std::string &path) const {
    auto it = origin.find(path);
    return it == origin.end() ? "" : " (from " + it->second + ")";
}

void validate_config(Config &config, const KeyOrigins &origins, std::vector<std::string> &errors) {
    Checker(config, origins, errors).run();
}

}  // namespace dfaas::config_detail
