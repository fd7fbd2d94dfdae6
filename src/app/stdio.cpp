// hookmcp stdio: MCP over stdin/stdout for clients that launch their servers, plus the webhook
// intake on the configured listener. When another hookmcp already listens there, this process
// follows the database instead, so its client still hears of every event the other stores.
#include <signal.h>
#include <unistd.h>

#include <iostream>

#include <spdlog/spdlog.h>

#include "cli.hpp"
#include "commands.hpp"
#include "hookmcp/bus/bus.hpp"
#include "hookmcp/intake/intake.hpp"
#include "hookmcp/mcp/server.hpp"
#include "hookmcp/transport/stdio.hpp"
#include "runtime.hpp"

namespace hookmcp::app {

namespace {

constexpr const char* kStdioHelp = R"(Usage: hookmcp stdio [OPTIONS]

Serves MCP over stdin/stdout (one JSON message per line; logs go to stderr) for clients that
launch their servers: Claude Code, Claude Desktop, Cursor, VS Code. It also runs the webhook
intake on the configured listener. When that address is already held by another hookmcp (a
`hookmcp serve`, or another client's `hookmcp stdio`) on the same database, it says so on
stderr and follows the database instead, still delivering live notifications.

Register it with a client:
  claude mcp add hookmcp -- hookmcp stdio
  claude mcp add hookmcp -- hookmcp stdio --config /etc/hookmcp.json

Examples:
  hookmcp stdio
  hookmcp stdio --listen 127.0.0.1:0 --db /tmp/events.db

Options:
)";

// How often a follower looks for events the other process stored.
constexpr std::chrono::milliseconds kFollowInterval{25};

}  // namespace

int run_stdio(const std::vector<std::string>& argv) {
  auto loaded = load_server_config(argv, "stdio", kStdioHelp);
  if (auto* code = std::get_if<int>(&loaded)) return *code;
  const config::Config& cfg = std::get<config::Config>(loaded);

  // Before any thread starts, so that only the sigwait below sees the stop signals.
  sigset_t stop_signals = block_stop_signals();

  SystemClock clock;
  Metrics metrics;
  auto store = open_store(cfg, clock, metrics);
  if (!store) {
    spdlog::error("{}", store.error().message);
    return kExitFailure;
  }
  auto bus = std::make_shared<bus::Bus>();
  (*store)->add_commit_listener([bus](const std::vector<Event>& events) { bus->publish(events); });

  intake::Intake intake(cfg, **store, clock, metrics);
  std::unique_ptr<transport::HttpServer> http;
  std::unique_ptr<bus::Poller> poller;
  auto started = transport::HttpServer::start(http_options(cfg), intake, **store, metrics);
  if (started) {
    http = std::move(*started);
    announce(*http);
  } else if (started.error().code == ErrorCode::kInUse) {
    spdlog::warn(
        "{} is already in use, by another hookmcp on this database: following {} for "
        "the events it stores instead of receiving webhooks here",
        cfg.listen.to_string(), cfg.database);
    auto following = bus::Poller::start(**store, bus, kFollowInterval);
    if (!following) {
      spdlog::error("cannot follow the database: {}", following.error().message);
      (*store)->close();
      return kExitFailure;
    }
    poller = std::move(*following);
  } else {
    spdlog::error("{}", started.error().message);
    (*store)->close();
    return kExitFailure;
  }

  auto server = std::make_unique<mcp::Server>(**store, bus, metrics, mcp_options(cfg));

  transport::StdioChannel channel(transport::StdioOptions{}, &metrics);
  auto session = server->open_session([&channel](const nlohmann::json& message) {
    // Notifications may be dropped when the client stops reading; responses never are.
    bool notification = !message.contains("id");
    channel.send(message.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace),
                 notification);
  });
  channel.start([&session](std::string_view line) { session->receive(line); },
                // The client closed stdin (or stdout): end as if asked to, exit code 0.
                [] { ::kill(::getpid(), SIGTERM); });

  wait_for_stop_signal(stop_signals);
  // Answer what the client asked before it closed stdin (a wait_for_event still waiting at
  // the deadline is cancelled), then let go of the session.
  (void)session->wait_idle(std::chrono::milliseconds(1500));
  session->close();
  if (http) http->stop(std::chrono::milliseconds(3000));
  if (poller) poller->stop();
  (*store)->close();
  server.reset();
  // What the session had queued still reaches the client when it is reading.
  channel.stop(std::chrono::milliseconds(500));
  spdlog::info("stopped");
  return kExitOk;
}

}  // namespace hookmcp::app
