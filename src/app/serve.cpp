#include <csignal>
#include <cstdio>
#include <iostream>

#include <spdlog/spdlog.h>

#include "cli.hpp"
#include "commands.hpp"
#include "hookmcp/intake/intake.hpp"
#include "hookmcp/store/store.hpp"
#include "hookmcp/transport/http_server.hpp"

namespace hookmcp::app {

namespace {

constexpr const char* kServeHelp = R"(Usage: hookmcp serve [OPTIONS]

Runs the daemon: webhook intake at POST /hooks/{source}, GET /healthz and GET /metrics on one
listener. Every delivery is committed to the database before it is answered with 2xx.

With no config, any /hooks/{source} accepts unsigned webhooks from loopback. On a non-loopback
address hookmcp refuses to start unless every source has a secret (or --allow-unsigned).

Examples:
  hookmcp serve
  hookmcp serve --listen 127.0.0.1:0 --db /tmp/events.db
  HOOKMCP_CONFIG=/etc/hookmcp.json hookmcp serve

Options:
)";

// The stderr line that tells a person (and the tests) where the listener is.
void announce(const config::Endpoint& ep) {
  std::string host = ep.host.find(':') != std::string::npos ? "[" + ep.host + "]" : ep.host;
  std::string line = "listening on http://" + host + ":" + std::to_string(ep.port);
  if (spdlog::should_log(spdlog::level::info)) {
    spdlog::info("{}", line);
  } else {
    std::fprintf(stderr, "%s\n", line.c_str());
  }
}

}  // namespace

int run_serve(const std::vector<std::string>& argv) {
  auto specs = common_options();
  specs.push_back({"allow-unsigned", false, "accept unsigned sources on a non-loopback address"});
  auto args = parse_args(argv, specs, "serve");
  if (!args) {
    std::cerr << "hookmcp serve: " << args.error().message << "\n";
    return kExitUsage;
  }
  if (args->help) {
    std::cout << kServeHelp << format_options(specs);
    return kExitOk;
  }
  if (!args->positionals.empty()) {
    std::cerr << "hookmcp serve: unexpected argument \"" << args->positionals[0] << "\"\n";
    return kExitUsage;
  }
  auto cfg = config::load(overrides_from(*args), config::process_env());
  if (!cfg) {
    std::cerr << "hookmcp serve: " << cfg.error().message << "\n";
    return kExitUsage;
  }
  if (auto s = config::check_exposure(*cfg); !s) {
    std::cerr << "hookmcp serve: " << s.error().message << "\n";
    return kExitUsage;
  }
  setup_logging(cfg->log_level);

  // Block the stop signals before any thread starts, so that only sigwait below sees them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  SystemClock clock;
  Metrics metrics;
  store::Options store_options;
  store_options.path = cfg->database;
  store_options.fsync_each_commit = cfg->durability == config::Durability::kFull;
  store_options.max_pending_bytes = cfg->max_pending_bytes;
  store_options.retention_max_age_days = cfg->retention_max_age_days;
  store_options.retention_max_events = cfg->retention_max_events;
  store_options.clock = &clock;
  store_options.metrics = &metrics;
  auto store = store::open_sqlite(store_options);
  if (!store) {
    spdlog::error("{}", store.error().message);
    return kExitFailure;
  }
  spdlog::info("database {}", cfg->database);

  intake::Intake intake(*cfg, **store, clock, metrics);
  transport::HttpOptions http;
  http.listen = cfg->listen;
  http.max_body_bytes = cfg->max_body_bytes;
  auto server = transport::HttpServer::start(http, intake, **store, metrics);
  if (!server) {
    spdlog::error("{}", server.error().message);
    (*store)->close();
    return kExitFailure;
  }
  announce((*server)->local_endpoint());

  int signal = 0;
  sigwait(&stop_signals, &signal);
  spdlog::info("received {}, stopping", signal == SIGINT ? "SIGINT" : "SIGTERM");
  // Answer what is in flight, then commit what is queued; together well within 5 s.
  (*server)->stop(std::chrono::milliseconds(3000));
  (*store)->close();
  spdlog::info("stopped");
  return kExitOk;
}

}  // namespace hookmcp::app
