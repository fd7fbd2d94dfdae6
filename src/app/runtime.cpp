#include "runtime.hpp"

#include <cstdio>
#include <iostream>

#include <spdlog/spdlog.h>

#include "cli.hpp"

namespace hookmcp::app {

std::variant<config::Config, int> load_server_config(const std::vector<std::string>& argv,
                                                     const std::string& command, const char* help) {
  auto specs = common_options();
  specs.push_back({"allow-unsigned", false, "accept unsigned sources on a non-loopback address"});
  std::string prefix = "hookmcp " + command + ": ";
  auto args = parse_args(argv, specs, command);
  if (!args) {
    std::cerr << prefix << args.error().message << "\n";
    return kExitUsage;
  }
  if (args->help) {
    std::cout << help << format_options(specs);
    return kExitOk;
  }
  if (!args->positionals.empty()) {
    std::cerr << prefix << "unexpected argument \"" << args->positionals[0] << "\"\n";
    return kExitUsage;
  }
  auto loaded = config::load_all(overrides_from(*args), config::process_env());
  config::check_serving(loaded.config, loaded.findings);
  if (!loaded.findings.ok()) {
    for (const auto& e : loaded.findings.errors) std::cerr << prefix << e.to_string() << "\n";
    return kExitUsage;
  }
  setup_logging(loaded.config.log_level);
  // Settings that have no effect: the server runs without them, and says so.
  for (const auto& w : loaded.findings.warnings) spdlog::warn("config: {}", w.to_string());
  return std::move(loaded.config);
}

sigset_t block_stop_signals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  return signals;
}

void wait_for_stop_signal(const sigset_t& signals) {
  int signal = 0;
  sigwait(&signals, &signal);
  spdlog::info("received {}, stopping", signal == SIGINT ? "SIGINT" : "SIGTERM");
}

store::Options store_options(const config::Config& cfg) {
  store::Options options;
  options.path = cfg.database;
  options.fsync_each_commit = cfg.durability == config::Durability::kFull;
  options.max_pending_bytes = cfg.max_pending_bytes;
  options.retention_max_age_days = cfg.retention_max_age_days;
  options.retention_max_events = cfg.retention_max_events;
  return options;
}

transport::HttpOptions http_options(const config::Config& cfg) {
  transport::HttpOptions http;
  http.listen = cfg.listen;
  http.max_body_bytes = cfg.max_body_bytes;
  http.max_reading_bytes = cfg.max_pending_bytes;
  http.header_timeout = std::chrono::seconds(cfg.http_header_timeout_s);
  http.body_timeout = std::chrono::seconds(cfg.http_body_timeout_s);
  http.tls_cert_file = cfg.tls_cert_file;
  http.tls_key_file = cfg.tls_key_file;
  for (const auto& token : cfg.mcp_tokens) http.mcp_access.tokens.push_back(token.value);
  http.mcp_access.principals = cfg.mcp_token_principals;
  http.mcp_access.allowed_hosts = cfg.mcp_allowed_hosts;
  http.mcp_access.allowed_origins = cfg.mcp_allowed_origins;
  return http;
}

mcp::ServerOptions mcp_options(const config::Config& cfg) {
  mcp::ServerOptions options;
  options.version = HOOKMCP_VERSION;
  for (const auto& [name, source] : cfg.sources) options.configured_sources[name] = source.provider;
  options.channel_sources = cfg.mcp_channel_sources;
  return options;
}

void announce(const transport::HttpServer& server) {
  std::string line = "listening on " + server.url();
  if (spdlog::should_log(spdlog::level::info)) {
    spdlog::info("{}", line);
  } else {
    std::fprintf(stderr, "%s\n", line.c_str());
  }
}

NodeOptions node_options(const config::Config& cfg) {
  NodeOptions options;
  options.config = cfg;
  options.store = store_options(cfg);
  options.mcp = mcp_options(cfg);
  options.http = http_options(cfg);
  options.on_listening = announce;
  return options;
}

}  // namespace hookmcp::app
