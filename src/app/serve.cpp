#include <iostream>

#include <spdlog/spdlog.h>

#include "cli.hpp"
#include "commands.hpp"
#include "hookmcp/bus/bus.hpp"
#include "hookmcp/intake/intake.hpp"
#include "hookmcp/mcp/server.hpp"
#include "hookmcp/store/store.hpp"
#include "hookmcp/transport/http_server.hpp"
#include "runtime.hpp"

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

}  // namespace

int run_serve(const std::vector<std::string>& argv) {
  auto loaded = load_server_config(argv, "serve", kServeHelp);
  if (auto* code = std::get_if<int>(&loaded)) return *code;
  auto cfg = &std::get<config::Config>(loaded);

  // Before any thread starts, so that only the sigwait below sees the stop signals.
  sigset_t stop_signals = block_stop_signals();

  SystemClock clock;
  Metrics metrics;
  auto store = open_store(*cfg, clock, metrics);
  if (!store) {
    spdlog::error("{}", store.error().message);
    return kExitFailure;
  }

  // New events fan out to the MCP sessions from the store's writer, right after each commit.
  auto bus = std::make_shared<bus::Bus>();
  (*store)->add_commit_listener([bus](const std::vector<Event>& events) { bus->publish(events); });
  auto mcp_server = std::make_unique<mcp::Server>(**store, bus, metrics, mcp_options(*cfg));

  intake::Intake intake(*cfg, **store, clock, metrics);
  transport::HttpOptions http = http_options(*cfg);
  http.mcp = mcp_server.get();
  auto server = transport::HttpServer::start(
      http, intake, [&s = **store] { return s.healthy(); }, metrics);
  if (!server) {
    spdlog::error("{}", server.error().message);
    (*store)->close();
    return server.error().code == ErrorCode::kInvalidArgument ? kExitUsage : kExitFailure;
  }
  announce(**server);

  wait_for_stop_signal(stop_signals);
  // Answer what is in flight, then commit what is queued; together well within 5 s.
  (*server)->stop(std::chrono::milliseconds(3000));
  (*store)->close();
  // The listener's MCP sessions refer to the MCP server: the listener goes first.
  server->reset();
  mcp_server.reset();
  spdlog::info("stopped");
  return kExitOk;
}

}  // namespace hookmcp::app
