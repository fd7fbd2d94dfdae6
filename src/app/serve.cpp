#include <iostream>

#include <spdlog/spdlog.h>

#include "cli.hpp"
#include "commands.hpp"
#include "hookmcp/app/node.hpp"
#include "runtime.hpp"
#include "summary.hpp"

namespace hookmcp::app {

namespace {

constexpr const char* kServeHelp = R"(Usage: hookmcp serve [OPTIONS]

Runs the daemon: webhook intake at POST /hooks/{source}, GET /healthz and GET /metrics on one
listener. Every delivery is committed to the database before it is answered with 2xx.

With no config, any /hooks/{source} accepts unsigned webhooks from loopback. On a non-loopback
address hookmcp refuses to start unless every source has a secret and /mcp needs a bearer token
(mcp.tokens, or OAuth access tokens with mcp.oauth), clients then sending `Authorization: Bearer
TOKEN`; --allow-unsigned lifts both.

The config is checked as `hookmcp check-config` checks it: every error is printed and serve
exits 2; a field that has no effect is logged as a warning.

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

  log_startup(*cfg, "serve");
  auto node = Node::start(node_options(*cfg, /*mcp_over_http=*/true));
  if (!node) {
    spdlog::error("{}", node.error().message);
    return node.error().code == ErrorCode::kInvalidArgument ? kExitUsage : kExitFailure;
  }

  wait_for_stop_signal(stop_signals, [&] { reload_on_hangup(**node, argv, "serve"); });
  // Answer what is in flight, then commit what is queued; together well within 5 s.
  (*node)->stop(std::chrono::milliseconds(3000));
  spdlog::info("stopped");
  return kExitOk;
}

}  // namespace hookmcp::app
