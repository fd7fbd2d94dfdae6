#include "runtime.hpp"

#include <cstdio>
#include <iostream>

#include <spdlog/spdlog.h>

#include "cli.hpp"
#include "summary.hpp"

namespace hookmcp::app {

namespace {

std::vector<OptionSpec> server_options() {
  auto specs = common_options();
  specs.push_back({"allow-unsigned", false, "accept unsigned sources on a non-loopback address"});
  return specs;
}

// The settings and every mistake in them: what a server refuses to start (or reload) with.
config::Loaded load_checked(const ParsedArgs& args) {
  auto loaded = config::load_all(overrides_from(args), config::process_env());
  config::check_serving(loaded.config, loaded.findings);
  return loaded;
}

// Settings that have no effect: the server runs without them, and says so.
void log_warnings(const config::Findings& findings) {
  for (const auto& w : findings.warnings) spdlog::warn("config: {}", w.to_string());
}

}  // namespace

std::variant<config::Config, int> load_server_config(const std::vector<std::string>& argv,
                                                     const std::string& command, const char* help) {
  auto specs = server_options();
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
  auto loaded = load_checked(*args);
  if (!loaded.findings.ok()) {
    for (const auto& e : loaded.findings.errors) std::cerr << prefix << e.to_string() << "\n";
    return kExitUsage;
  }
  setup_logging(loaded.config.log_level);
  log_warnings(loaded.findings);
  return std::move(loaded.config);
}

Result<config::Config> reload_server_config(const std::vector<std::string>& argv,
                                            const std::string& command) {
  auto args = parse_args(argv, server_options(), command);
  if (!args) return args.error();
  auto loaded = load_checked(*args);
  if (!loaded.findings.ok()) {
    std::string errors;
    for (const auto& e : loaded.findings.errors) {
      errors += (errors.empty() ? "" : "; ") + e.to_string();
    }
    return make_error(ErrorCode::kInvalidArgument, errors);
  }
  spdlog::default_logger()->set_level(spdlog::level::from_str(loaded.config.log_level));
  log_warnings(loaded.findings);
  return std::move(loaded.config);
}

sigset_t block_stop_signals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  return signals;
}

void wait_for_stop_signal(const sigset_t& signals, const std::function<void()>& on_hangup) {
  for (;;) {
    int signal = 0;
    sigwait(&signals, &signal);
    if (signal != SIGHUP) {
      spdlog::info("received {}, stopping", signal == SIGINT ? "SIGINT" : "SIGTERM");
      return;
    }
    spdlog::info("received SIGHUP, reloading the config");
    if (on_hangup) on_hangup();
  }
}

void reload_on_hangup(Node& node, const std::vector<std::string>& argv,
                      const std::string& command) {
  auto cfg = reload_server_config(argv, command);
  if (!cfg) {
    spdlog::error("config not reloaded, the running one stays: {}", cfg.error().message);
    return;
  }
  node.reload(*cfg);
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
  http.version = HOOKMCP_VERSION;
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

NodeOptions node_options(const config::Config& cfg, bool mcp_over_http) {
  NodeOptions options;
  options.config = cfg;
  options.store = store_options(cfg);
  options.mcp = mcp_options(cfg);
  options.http = http_options(cfg);
  options.mcp_over_http = mcp_over_http;
  options.on_listening = [mcp_over_http](const transport::HttpServer& server) {
    log_listening(server, mcp_over_http);
  };
  return options;
}

}  // namespace hookmcp::app
