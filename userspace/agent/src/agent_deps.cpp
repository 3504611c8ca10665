#include "agent_deps.h"

#include <utility>

namespace dfaas::agent {

namespace {

class RealDataplane final : public DataplaneControl {
  public:
    explicit RealDataplane(std::unique_ptr<dp::Dataplane> dataplane) : dp_(std::move(dataplane)) {}

    dp::Status status() const override { return dp_->status(); }
    dp::Stats stats() const override { return dp_->stats(); }
    std::vector<dp::PeerCounters> peer_counters() const override { return dp_->peer_counters(); }
    std::vector<std::pair<uint32_t, std::string>> functions() const override {
        return dp_->functions();
    }
    void remove_function(const std::string &name) override { dp_->remove_function(name); }
    std::optional<dp::InstalledPolicy> policy(const std::string &function) const override {
        return dp_->policy(function);
    }
    void set_policy(const std::string &function, const FunctionPolicy &policy) override {
        dp_->set_policy(function, policy);
    }
    std::vector<dp::Service> services() const override { return dp_->services(); }
    void set_service(const dp::Service &service) override { dp_->set_service(service); }
    bool delete_service(Ipv4 addr, uint16_t port) override {
        return dp_->delete_service(addr, port);
    }
    std::vector<dp::Peer> peers() const override { return dp_->peers(); }
    uint32_t add_peer(Ipv4 addr) override { return dp_->add_peer(addr); }
    bool remove_peer(Ipv4 addr) override { return dp_->remove_peer(addr); }
    dp::GcResult collect_garbage() override { return dp_->collect_garbage(); }

  private:
    std::unique_ptr<dp::Dataplane> dp_;
};

class OpenFaasSource final : public FunctionSource {
  public:
    explicit OpenFaasSource(OpenFaasClientOptions options) : client_(std::move(options)) {}
    Result<std::vector<FunctionInfo>> list_functions() const override {
        return client_.list_functions();
    }

  private:
    OpenFaasClient client_;
};

class PrometheusSource final : public MetricsSource {
  public:
    explicit PrometheusSource(PrometheusClientOptions options) : client_(std::move(options)) {}
    Result<PromQueryResult> query(std::string_view promql) const override {
        return client_.query(promql);
    }

  private:
    PrometheusClient client_;
};

OpenFaasClientOptions openfaas_options(const Config &cfg) {
    OpenFaasClientOptions o;
    o.gateway = cfg.openfaas.url;
    o.username = cfg.openfaas.username;
    if (!cfg.openfaas.password_file.empty()) {
        auto password = read_secret_file(cfg.openfaas.password_file);
        if (password) o.password = *password;
    }
    o.timeout = cfg.openfaas.timeout;
    return o;
}

}  // namespace

std::unique_ptr<DataplaneControl> adapt_dataplane(std::unique_ptr<dp::Dataplane> dataplane) {
    return std::make_unique<RealDataplane>(std::move(dataplane));
}

AgentDependencies make_production_dependencies(const Config &cfg) {
    AgentDependencies deps;
    deps.clock = std::make_shared<SystemAgentClock>();
    deps.functions = std::make_unique<OpenFaasSource>(openfaas_options(cfg));
    deps.metrics = std::make_unique<PrometheusSource>(
        PrometheusClientOptions{cfg.prometheus.url, cfg.prometheus.timeout});
    deps.attach_dataplane = [](const dp::AttachOptions &options) {
        return adapt_dataplane(dp::Dataplane::attach(options));
    };
    deps.open_peer_link = [](const Config &config, const std::string &node_id, strategy::Millis ttl,
                             PeerNetwork::LocalHeartbeat local) {
        return std::unique_ptr<PeerNetwork>(
            std::make_unique<PeerLink>(config, node_id, ttl, std::move(local)));
    };
    deps.start_entry = [](const entry::EntryOptions &options, entry::RoutingSource routing) {
        return entry::EntryServer::start(options, std::move(routing));
    };
    return deps;
}

}  // namespace dfaas::agent
