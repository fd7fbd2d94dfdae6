// hookmcp stdio: MCP over stdin/stdout for clients that launch their servers, plus the webhook
// intake on the configured listener. When another hookmcp already listens there, this process
// follows the database instead, so its client still hears of every event the other stores, and
// takes the listener over when the other lets it go.
#include <signal.h>
#include <unistd.h>

#include <iostream>

#include <spdlog/spdlog.h>

#include "cli.hpp"
#include "commands.hpp"
#include "hookmcp/app/node.hpp"
#include "hookmcp/transport/stdio.hpp"
#include "runtime.hpp"
#include "summary.hpp"

namespace hookmcp::app {

namespace {

constexpr const char* kStdioHelp = R"(Usage: hookmcp stdio [OPTIONS]

Serves MCP over stdin/stdout (one JSON message per line; logs go to stderr) for clients that
launch their servers: Claude Code, Claude Desktop, Cursor, VS Code. It also runs the webhook
intake on the configured listener. When that address is already held by another hookmcp (a
`hookmcp serve`, or another client's `hookmcp stdio`) on the same database, it says so on
stderr and follows the database instead, still delivering live notifications; once the other
lets the address go, it takes the intake over.

Register it with a client:
  claude mcp add hookmcp -- hookmcp stdio
  claude mcp add hookmcp -- hookmcp stdio --config /etc/hookmcp.json

Examples:
  hookmcp stdio
  hookmcp stdio --listen 127.0.0.1:0 --db /tmp/events.db

Options:
)";

}  // namespace

int run_stdio(const std::vector<std::string>& argv) {
  auto loaded = load_server_config(argv, "stdio", kStdioHelp);
  if (auto* code = std::get_if<int>(&loaded)) return *code;
  const config::Config& cfg = std::get<config::Config>(loaded);

  // Before any thread starts, so that only the sigwait below sees the stop signals.
  sigset_t stop_signals = block_stop_signals();

  log_startup(cfg, "stdio");
  // MCP is answered on stdin/stdout; the listener takes webhooks. When another hookmcp holds its
  // address, this process follows the database for the events it stores, so that its client
  // still hears of every one, and takes the listener over once the other lets it go.
  NodeOptions options = node_options(cfg, /*mcp_over_http=*/false);
  options.follow_when_held = true;
  auto node = Node::start(std::move(options));
  if (!node) {
    spdlog::error("{}", node.error().message);
    return kExitFailure;
  }

  transport::StdioChannel channel(transport::StdioOptions{}, &(*node)->metrics());
  auto session = (*node)->mcp().open_session([&channel](const nlohmann::json& message) {
    // Notifications may be dropped when the client stops reading; responses never are.
    bool notification = !message.contains("id");
    channel.send(message.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace),
                 notification);
  });
  channel.start([&session](std::string_view line) { session->receive(line); },
                // The client closed stdin (or stdout): end as if asked to, exit code 0.
                [] { ::kill(::getpid(), SIGTERM); });

  wait_for_stop_signal(stop_signals, [&] { reload_on_hangup(**node, argv, "stdio"); });
  // Answer what the client asked before it closed stdin (a wait_for_event still waiting at
  // the deadline is cancelled), then let go of the session.
  (void)session->wait_idle(std::chrono::milliseconds(1500));
  session->close();
  (*node)->stop(std::chrono::milliseconds(3000));
  // What the session had queued still reaches the client when it is reading.
  channel.stop(std::chrono::milliseconds(500));
  spdlog::info("stopped");
  return kExitOk;
}

}  // namespace hookmcp::app
