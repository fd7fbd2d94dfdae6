#include "summary.hpp"

#include <cstdio>

#include <spdlog/spdlog.h>

namespace hookmcp::app {

namespace {

std::string plural(size_t n, const char* one, const char* many) {
  return std::to_string(n) + " " + (n == 1 ? one : many);
}

}  // namespace

void log_startup(const config::Config& given, const std::string& command) {
  // The sources connections feed are made at start, with the secret registered at the provider.
  config::Config cfg = given;
  for (const auto& [name, c] : given.connections) {
    config::Source& s = cfg.sources[c.source];
    if (s.name.empty()) {
      s.name = c.source;
      s.provider = c.provider();
    }
  }
  spdlog::info("hookmcp {} {}: config {}, database {}", HOOKMCP_VERSION, command,
               cfg.config_file.empty() ? "none (zero-config mode)" : cfg.config_file,
               config::shown_database(cfg.database));
  if (cfg.sources.empty()) {
    spdlog::warn(
        "no sources are configured: any /hooks/{source} accepts UNSIGNED webhooks from "
        "loopback, so anything that can reach the listener can write events. Configure sources "
        "with their secrets before you expose hookmcp (a tunnel included)");
  } else {
    std::string list;
    std::string unsigned_sources;
    for (const auto& [name, source] : cfg.sources) {
      bool signed_source = source.is_signed();
      list += (list.empty() ? "" : ", ") + name + " (" + source.provider + ", " +
              (signed_source ? "signed" : "UNSIGNED") + ")";
      if (!signed_source) unsigned_sources += (unsigned_sources.empty() ? "" : ", ") + name;
    }
    spdlog::info("sources: {}", list);
    if (!unsigned_sources.empty()) {
      spdlog::warn("unsigned sources accept any request that reaches them: {}", unsigned_sources);
    }
  }
  if (!cfg.triggers.empty()) {
    std::string list;
    for (const auto& [name, t] : cfg.triggers) {
      list += (list.empty() ? "" : ", ") + name + " (" + t.action_name() + ")";
    }
    spdlog::info("triggers: {}", list);
  }
  if (!cfg.connections.empty()) {
    std::string list;
    for (const auto& [name, c] : cfg.connections) {
      list +=
          (list.empty() ? "" : ", ") + name + " (" + c.kind_name() + ", source " + c.source + ")";
    }
    spdlog::info("connections: {}, registered for {}", list, cfg.public_url);
  }
  bool public_address = !config::is_loopback_host(cfg.listen.host);
  if (command == "serve") {
    if (cfg.mcp_oauth) {
      spdlog::info("MCP over HTTP requires a bearer token: OAuth access tokens from {}{}",
                   cfg.mcp_oauth->issuer,
                   cfg.mcp_tokens.empty()
                       ? std::string()
                       : " or " + plural(cfg.mcp_tokens.size(), "static token", "static tokens"));
    } else if (!cfg.mcp_tokens.empty()) {
      spdlog::info("MCP over HTTP requires a bearer token ({} configured)",
                   plural(cfg.mcp_tokens.size(), "token", "tokens"));
    } else if (public_address) {
      spdlog::warn(
          "/mcp on {} has no bearer token (--allow-unsigned, no mcp.tokens): anyone who can "
          "reach this address can read every event. Set mcp.tokens in the config",
          cfg.listen.to_string());
    }
  }
}

void log_listening(const transport::HttpServer& server, bool mcp_over_http) {
  std::string url = server.url();
  std::string line = "listening on " + url + " (webhooks at " + url + "/hooks/{source}";
  line += mcp_over_http ? ", MCP at " + url + "/mcp)" : "; MCP on stdin/stdout)";
  // "listening on" reaches stderr whatever the log level: scripts wait for it.
  if (spdlog::should_log(spdlog::level::info)) {
    spdlog::info("{}", line);
  } else {
    std::fprintf(stderr, "%s\n", line.c_str());
  }
}

}  // namespace hookmcp::app
