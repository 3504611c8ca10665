#include "whatif_commands.h"

#include <cmath>
#include <iostream>
#include <memory>
#include <optional>
#include <sstream>

#include "dfaas/forecast/native_forecaster.h"
#include "dfaas/strategy/error.h"
#include "dfaas/strategy/json.h"
#include "dfaas/strategy/strategies.h"
#include "whatif_common.h"
#include "whatif_forecast.h"
#include "whatif_simulate.h"

namespace dfaas::cli {

namespace {

using nlohmann::json;
using namespace whatif;
using strategy::Decision;

int guarded(const std::function<int()> &body) {
    try {
        return body();
    } catch (const CommandError &e) {
        std::cerr << "dfaasctl: " << e.message << '\n';
        return e.code;
    } catch (const strategy::Error &e) {
        std::cerr << "dfaasctl: " << e.what() << '\n';
        return kUsage;
    } catch (const std::exception &e) {  // a bug or an exhausted resource, never a crash
        std::cerr << "dfaasctl: unexpected error: " << e.what() << '\n';
        return kFailure;
    }
}

// ---- forecast ----

// A request rate on the command line: a finite number >= 0.
CLI::Validator rate_validator() {
    return CLI::Validator(
        [](std::string &text) -> std::string {
            try {
                size_t used = 0;
                const double value = std::stod(text, &used);
                if (used == text.size() && std::isfinite(value) && value >= 0.0) return {};
            } catch (const std::exception &) {
            }
            return "expected a finite number >= 0 (req/s), got \"" + text + "\"";
        },
        "REQ/S");
}

struct ForecastOptions {
    std::string models;
    std::string variant = "regression";
    double high = 0.0, low = 0.0, medium = 0.0;
    std::string node_type;
    bool batch = false;
    CLI::Option *models_option = nullptr;
};

int run_forecast(const GlobalOptions &g, const ForecastOptions &o) {
    const auto variant = variant_from_option(o.variant);
    std::optional<NodeType> type;
    if (!o.batch) {
        if (o.node_type.empty())
            throw CommandError{"--node-type is required (heavy, mid, light or 0, 1, 2)", kUsage};
        type = parse_node_type(o.node_type);
        if (!type)
            throw CommandError{
                "--node-type: \"" + o.node_type + "\" is not heavy, mid, light, 0, 1 or 2", kUsage};
    }
    ModelsSource models;
    if (o.models_option->count() > 0) models.option = o.models;
    const auto forecaster =
        load_forecaster(resolve_models_dir(models, variant, "forecast"), variant);
    if (o.batch)
        return run_forecast_batch(forecaster, std::cin, std::cout, std::cerr) == 0 ? kOk : kUsage;
    const auto prediction = forecaster.predict({o.high, o.low, o.medium}, *type);
    if (is_document(g.format)) {
        // ordered_json: the metrics in the order the table has them (print_json would sort).
        print_document(std::cout, g.format, prediction_to_json(prediction));
        return kOk;
    }
    Table t({"METRIC", "VALUE", "UNIT"});
    t.add({kCpuKey, format_number(prediction.cpu), "percent (100 = one core)"});
    t.add({kRamKey, format_number(prediction.ram), "bytes"});
    t.add({kPowerKey, format_number(prediction.power), "microwatts"});
    t.print(std::cout);
    return kOk;
}

// ---- simulate: output ----

std::string name_of(Ipv4 address, const PeerNames &names) {
    const auto found = names.find(address);
    return found == names.end() ? address.str() : found->second;
}

std::string weights_cell(const std::map<Ipv4, uint32_t> &weights, const PeerNames &names) {
    std::string text;
    for (const auto &[address, weight] : weights)
        text += (text.empty() ? "" : " ") + name_of(address, names) + "=" + std::to_string(weight);
    return text.empty() ? "-" : text;
}

std::vector<std::string> policy_cells(const FunctionPolicy &p, const PeerNames &names) {
    return {std::to_string(p.local),         weights_cell(p.peers, names),
            std::to_string(p.reject),        p.local_cap ? std::to_string(p.local_cap) : "-",
            weights_cell(p.overflow, names), weights_cell(p.limit_in, names)};
}

const std::vector<std::string> kPolicyHeaders{"LOCAL",     "PEERS",    "REJECT",
                                              "LOCAL-CAP", "OVERFLOW", "LIMIT-IN"};

std::string seconds_text(strategy::Millis duration) {
    return format_number(duration.count() / 1000.0, 3) + "s";
}

std::string instant_text(strategy::Instant at) {
    const int64_t ms = at.time_since_epoch().count();
    if (ms <= 0) return "now_ms " + std::to_string(ms);
    return format_unix_time(static_cast<uint64_t>(ms) * 1000000u);
}

// For people: 25.0 reads 25 (the JSON output keeps the library's numbers).
void whole_numbers_as_integers(json &value) {
    if (value.is_structured()) {
        for (auto &item : value)
            whole_numbers_as_integers(item);
    } else if (value.is_number_float()) {
        const double number = value.get<double>();
        if (std::abs(number) < 1e15 && number == std::floor(number))
            value = static_cast<int64_t>(number);
    }
}

std::string message_body(const strategy::PeerMessage &message) {
    json body = strategy::message_to_json(message);
    body.erase("type");
    whole_numbers_as_integers(body);
    return body.dump();
}

std::string group_load_text(const strategy::GroupLoad &load) {
    return "HIGH " + format_number(load.high) + ", LOW " + format_number(load.low) + ", MEDIUM " +
           format_number(load.medium);
}

std::string per_function_text(const std::map<std::string, double> &rates) {
    std::string text;
    for (const auto &[function, rate] : rates)
        text += (text.empty() ? "" : ", ") + function + " " + format_number(rate);
    return text.empty() ? "nothing" : text;
}

// What the strategy computed, one line each, for people. `brief` (federation tables) leaves
// out Recalc's plan unless a function is overloaded or unmanaged.
std::vector<std::string> decision_notes(const Decision &d, bool brief = false) {
    std::vector<std::string> notes;
    if (const auto &plan = d.recalc_plan;
        plan && (!brief || !plan->overloaded.empty() || !plan->unmanaged.empty())) {
        std::string managed, overloaded, unmanaged;
        for (const auto &[function, rate] : plan->max_rate)
            managed += (managed.empty() ? "" : ", ") + function + " " + std::to_string(rate);
        for (const auto &function : plan->overloaded)
            overloaded += (overloaded.empty() ? "" : ", ") + function;
        for (const auto &function : plan->unmanaged)
            unmanaged += (unmanaged.empty() ? "" : ", ") + function;
        notes.push_back("recalc: maxrate " + (managed.empty() ? "none" : managed) +
                        "; overloaded: " + (overloaded.empty() ? "none" : overloaded) +
                        (unmanaged.empty() ? "" : "; without maxrate: " + unmanaged));
    }
    if (const auto &r = d.nms) {
        notes.push_back("nodemargin: load " + group_load_text(r->load) + " req/s; forecast cpu " +
                        format_number(r->prediction.cpu) + ", ram " +
                        format_number(r->prediction.ram) + ", power " +
                        format_number(r->prediction.power) + "; usage " +
                        format_number(r->usage_percent) + "%; " +
                        (r->overloaded ? "overloaded" : "not overloaded") + "; margin " +
                        format_number(r->margin) + "; common neighbours " +
                        std::to_string(r->common_neighbours));
        if (r->overloaded) {
            std::string line = "nodemargin: " + std::to_string(r->accepted_steps) +
                               " accepted steps; keeps " + per_function_text(r->kept) + " req/s";
            for (const auto &[peer, moved] : r->forwarded)
                line += "; forwards to " + peer + " " + per_function_text(moved) + " req/s";
            line += r->still_overloaded ? "; still overloaded" : "; no longer overloaded";
            if (r->step_limit_reached) line += " (iteration limit reached)";
            notes.push_back(line);
        }
    }
    for (const auto &warning : d.warnings)
        notes.push_back("warning: " + warning);
    if (d.degraded) notes.push_back("degraded: " + *d.degraded);
    return notes;
}

void print_decision_table(const strategy::Snapshot &s, StrategyKind kind, const Decision &d) {
    const PeerNames names = peer_names(s.peers);
    std::cout << "node " << s.node_id << ", strategy " << to_string(kind) << ", at "
              << instant_text(s.now) << ", period " << seconds_text(s.period) << "\n\n";
    if (d.policies) {
        std::vector<std::string> headers{"FUNCTION"};
        headers.insert(headers.end(), kPolicyHeaders.begin(), kPolicyHeaders.end());
        Table t(headers);
        for (const auto &[function, policy] : *d.policies) {
            auto row = policy_cells(policy, names);
            row.insert(row.begin(), function);
            t.add(row);
        }
        t.print(std::cout);
    } else {
        std::cout << "no policies (the installed policies are kept)\n";
    }
    std::cout << '\n';
    if (d.messages.empty()) {
        std::cout << "no messages\n";
    } else {
        Table t({"TO", "MESSAGE", "BODY"});
        for (const auto &m : d.messages)
            t.add({m.to ? *m.to : "(every live peer)", std::string(strategy::message_type(m.body)),
                   message_body(m.body)});
        t.print(std::cout);
    }
    const auto notes = decision_notes(d);
    if (!notes.empty()) std::cout << '\n';
    for (const auto &note : notes)
        std::cout << note << '\n';
}

json decision_json(const Decision &d) {
    return strategy::decision_to_json(d);
}

void print_period_table(const PeriodResult &p, const PeerNames &names, strategy::Millis period) {
    std::vector<std::string> headers{"NODE", "FUNCTION"};
    headers.insert(headers.end(), kPolicyHeaders.begin(), kPolicyHeaders.end());
    if (p.index > 0) std::cout << '\n';
    std::cout << "period " << p.index << ", t=+" << seconds_text(period * int64_t(p.index)) << " ("
              << instant_text(p.start) << ")\n";
    Table t(headers);
    std::vector<std::string> notes;
    for (const auto &[id, node] : p.nodes) {
        if (!node.up) {
            t.add({id, "(down)"});
            continue;
        }
        if (!node.decision.policies) {
            t.add({id, "(no policies yet)"});
        } else {
            for (const auto &[function, policy] : *node.decision.policies) {
                auto row = policy_cells(policy, names);
                row.insert(row.begin(), {id, function});
                t.add(row);
            }
        }
        for (const auto &note : decision_notes(node.decision, true))
            notes.push_back(id + ": " + note);
    }
    t.print(std::cout);
    for (const auto &note : notes)
        std::cout << note << '\n';
}

json period_json(const PeriodResult &p) {
    json nodes = json::object();
    for (const auto &[id, node] : p.nodes) {
        json entry = decision_json(node.decision);
        entry["up"] = node.up;
        entry["user_rates"] = node.user_rates;
        nodes[id] = std::move(entry);
    }
    return {{"period", p.index},
            {"start_ms", p.start.time_since_epoch().count()},
            {"nodes", std::move(nodes)}};
}

// One element of a JSON array printed as print_json prints the whole array, so that periods are
// written as they are simulated (a long run never holds every period in memory).
void print_json_element(const json &element, bool first) {
    std::cout << (first ? "[\n" : ",\n");
    std::istringstream lines(element.dump(2));
    std::string line;
    bool first_line = true;
    while (std::getline(lines, line)) {
        std::cout << (first_line ? "" : "\n") << "  " << line;
        first_line = false;
    }
}

// ---- simulate ----

struct SimulateOptions {
    std::string file;
    std::string strategy;
    size_t steps = 1;
    std::string models;
    std::string variant;
    CLI::Option *strategy_option = nullptr;
    CLI::Option *steps_option = nullptr;
    CLI::Option *models_option = nullptr;
    CLI::Option *variant_option = nullptr;
};

// Runs `body`, turning library errors into input errors that name the file.
template <class Body>
auto about_file(const std::string &file, Body &&body) {
    try {
        return body();
    } catch (const strategy::Error &e) {
        throw CommandError{file + ": " + e.what(), kUsage};
    }
}

int run_simulate(const GlobalOptions &g, const SimulateOptions &o) {
    const json document = read_json_file(o.file);
    const RunSettings settings =
        about_file(o.file, [&] { return run_settings_from(document, o.file); });

    StrategyKind kind;
    if (o.strategy_option->count() > 0) {
        try {
            kind = strategy::select_strategy_kind(o.strategy);
        } catch (const strategy::Error &e) {
            throw CommandError{std::string("--strategy: ") + e.what(), kUsage};
        }
    } else {
        kind = about_file(o.file, [&] {
            try {
                return strategy::select_strategy_kind(settings.strategy.value_or("recalc"));
            } catch (const strategy::Error &e) {
                throw strategy::Error(std::string("strategy: ") + e.what());
            }
        });
    }

    std::optional<forecast::NativeForecaster> forecaster;
    if (kind == StrategyKind::NodeMargin) {
        forecast::Variant variant = forecast::Variant::Regression;
        if (o.variant_option->count() > 0)
            variant = variant_from_option(o.variant);
        else if (settings.forecaster.variant)
            variant = about_file(o.file, [&] {
                try {
                    return forecast::parse_variant(*settings.forecaster.variant);
                } catch (const strategy::Error &e) {
                    throw strategy::Error(std::string("forecaster.variant: ") + e.what());
                }
            });
        ModelsSource models{std::nullopt, settings.forecaster.models_dir,
                            o.file + ": forecaster.models_dir"};
        if (o.models_option->count() > 0) models.option = o.models;
        forecaster.emplace(
            load_forecaster(resolve_models_dir(models, variant, "Node Margin"), variant));
    }
    const auto strategy = strategy::make_strategy(kind, forecaster ? &*forecaster : nullptr);

    if (!is_federation(document)) {
        if (o.steps_option->count() > 0)
            throw CommandError{o.file +
                                   ": --steps runs a federation file (an object with \"nodes\"); "
                                   "a single snapshot runs one decision",
                               kUsage};
        const auto snapshot =
            about_file(o.file, [&] { return snapshot_from_document(document, kind); });
        const Decision decision = about_file(o.file, [&] { return strategy->decide(snapshot); });
        if (is_document(g.format)) {
            json out = decision_json(decision);
            out["node_id"] = snapshot.node_id;
            out["strategy"] = to_string(kind);
            out["now_ms"] = snapshot.now.time_since_epoch().count();
            print_document(std::cout, g.format, out);
        } else {
            print_decision_table(snapshot, kind, decision);
        }
        return kOk;
    }

    Federation federation =
        about_file(o.file, [&] { return federation_from_document(document, kind); });
    size_t steps = std::max<size_t>(1, federation.periods.size());
    if (o.steps_option->count() > 0) steps = o.steps;
    FederationSimulator simulator(std::move(federation), *strategy);
    const PeerNames names = peer_names(simulator.federation());
    const auto period = simulator.federation().nodes.front().snapshot.period;
    for (size_t k = 0; k < steps; ++k) {
        const PeriodResult result = about_file(o.file, [&] { return simulator.run_period(); });
        if (g.format == Format::Json)
            print_json_element(period_json(result), k == 0);
        else if (g.format == Format::Yaml)
            std::cout << to_yaml_sequence_item(period_json(result));
        else
            print_period_table(result, names, period);
    }
    if (g.format == Format::Json) std::cout << "\n]\n";
    return kOk;
}

}  // namespace

void add_whatif_commands(CLI::App &app, GlobalOptions &g, std::function<int()> &run) {
    auto fo = std::make_shared<ForecastOptions>();
    auto *f = app.add_subcommand(
        "forecast",
        "Predict a node's cpu, ram and power from its load per function group (Node Margin's "
        "forecaster, offline)");
    f->fallthrough();
    fo->models_option =
        f->add_option("--models", fo->models,
                      "Directory of the LightGBM models and scalers.json (default: env "
                      "DFAAS_FORECASTER_DATA_DIR)");
    f->add_option("--variant", fo->variant, "Model variant")
        ->check(CLI::IsMember({"regression", "quantile005", "quantile095"}))
        ->capture_default_str();
    auto *high = f->add_option("--high", fo->high, "Rate of the HIGH_USAGE group (req/s)")
                     ->check(rate_validator());
    auto *low = f->add_option("--low", fo->low, "Rate of the LOW_USAGE group (req/s)")
                    ->check(rate_validator());
    auto *medium = f->add_option("--medium", fo->medium, "Rate of the MEDIUM_USAGE group (req/s)")
                       ->check(rate_validator());
    auto *type = f->add_option("--node-type", fo->node_type, "heavy, mid, light (or 0, 1, 2)");
    f->add_flag("--batch", fo->batch,
                "Read JSON lines {\"rate_group_HIGH_USAGE\":…,\"rate_group_LOW_USAGE\":…,"
                "\"rate_group_MEDIUM_USAGE\":…,\"node_type\":…} on stdin; write one JSON object "
                "per line")
        ->excludes(high)
        ->excludes(low)
        ->excludes(medium)
        ->excludes(type);
    f->callback([&g, &run, fo] {
        run = [&g, fo] { return guarded([&] { return run_forecast(g, *fo); }); };
    });

    auto so = std::make_shared<SimulateOptions>();
    auto *s = app.add_subcommand(
        "simulate",
        "Run a strategy offline: one decision on a snapshot file, or N periods of a federation "
        "file whose nodes exchange their messages");
    s->fallthrough();
    s->add_option("--snapshot", so->file,
                  "Snapshot file (the agent's snapshot JSON) or federation file (\"nodes\")")
        ->required();
    so->strategy_option = s->add_option(
        "--strategy", so->strategy,
        "Strategy (recalc, nodemargin, static, alllocal, external or a reference name; default: "
        "the file's \"strategy\", else recalc)");
    so->steps_option = s->add_option("--steps", so->steps,
                                     "Periods to run a federation file (default: its \"periods\" "
                                     "count, at least 1)")
                           ->check(CLI::Range(size_t{1}, size_t{1000000}));
    so->models_option = s->add_option(
        "--models", so->models,
        "Node Margin: models directory (default: the file's forecaster.models_dir, else env "
        "DFAAS_FORECASTER_DATA_DIR)");
    so->variant_option =
        s->add_option("--variant", so->variant,
                      "Node Margin: model variant (default: the file's forecaster.variant, else "
                      "regression)")
            ->check(CLI::IsMember({"regression", "quantile005", "quantile095"}));
    s->callback([&g, &run, so] {
        run = [&g, so] { return guarded([&] { return run_simulate(g, *so); }); };
    });
}

}  // namespace dfaas::cli
