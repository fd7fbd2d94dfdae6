// hookmcp stdio: MCP over stdin/stdout for clients that launch their servers, plus the webhook
// intake on the configured listener. When another hookmcp already listens there, this process
// follows the database instead, so its client still hears of every event the other stores, and
// takes the listener over when the other lets it go.
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <iostream>
#include <mutex>
#include <thread>

#include <spdlog/spdlog.h>

#include "cli.hpp"
#include "commands.hpp"
#include "hookmcp/bus/bus.hpp"
#include "hookmcp/intake/intake.hpp"
#include "hookmcp/mcp/server.hpp"
#include "hookmcp/store/follower.hpp"
#include "hookmcp/transport/stdio.hpp"
#include "runtime.hpp"

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

// How often a follower looks for events the other process stored.
constexpr std::chrono::milliseconds kFollowInterval{25};
// How often a follower tries to take the listener over.
constexpr std::chrono::milliseconds kTakeOverInterval{500};

// A follower's attempts to take the listener over, on a thread of their own, until one
// succeeds or stop(). The store::Follower keeps publishing every stored event, its own
// commits included, so that nothing the other process stored while letting go is missed and
// nothing is told twice.
class TakeOver {
 public:
  TakeOver(const config::Config& cfg, intake::Intake& intake, store::Store& store, Metrics& metrics)
      : thread_([this, &cfg, &intake, &store, &metrics] { run(cfg, intake, store, metrics); }) {}
  ~TakeOver() { stop(); }
  TakeOver(const TakeOver&) = delete;
  TakeOver& operator=(const TakeOver&) = delete;

  // Ends the attempts; returns the listener when one succeeded.
  std::unique_ptr<transport::HttpServer> stop() {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
    std::lock_guard lock(mu_);
    return std::move(http_);
  }

 private:
  void run(const config::Config& cfg, intake::Intake& intake, store::Store& store,
           Metrics& metrics) {
    for (;;) {
      {
        std::unique_lock lock(mu_);
        if (cv_.wait_for(lock, kTakeOverInterval, [&] { return stopping_; })) return;
      }
      auto started = transport::HttpServer::start(
          http_options(cfg), intake, [&store] { return store.healthy(); }, metrics);
      if (!started) continue;  // still held, or not yet free to bind
      spdlog::warn("{} was let go by the other hookmcp: receiving webhooks here now",
                   cfg.listen.to_string());
      announce(**started);
      std::lock_guard lock(mu_);
      http_ = std::move(*started);
      return;
    }
  }

  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;                        // guarded by mu_
  std::unique_ptr<transport::HttpServer> http_;  // guarded by mu_
  std::thread thread_;                           // last: it uses the members above
};

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
  // The process holding the listener tells its sessions of its own commits as they happen. A
  // follower's store::Follower tells them of every stored event instead, its own commits after a
  // take-over included.
  auto leading = std::make_shared<std::atomic<bool>>(true);
  (*store)->add_commit_listener([bus, leading](const std::vector<Event>& events) {
    if (leading->load()) bus->publish(events);
  });

  intake::Intake intake(cfg, **store, clock, metrics);
  std::unique_ptr<transport::HttpServer> http;
  std::unique_ptr<store::Follower> follower;
  std::unique_ptr<TakeOver> take_over;
  auto started = transport::HttpServer::start(
      http_options(cfg), intake, [&s = **store] { return s.healthy(); }, metrics);
  if (started) {
    http = std::move(*started);
    announce(*http);
  } else if (started.error().code == ErrorCode::kInUse) {
    leading->store(false);
    spdlog::warn(
        "{} is already in use, by another hookmcp on this database: following {} for "
        "the events it stores instead of receiving webhooks here",
        cfg.listen.to_string(), cfg.database);
    store::FollowOptions follow;
    follow.interval = kFollowInterval;
    auto following = store::Follower::start(
        **store, follow, [bus](const std::vector<Event>& events) { bus->publish(events); });
    if (!following) {
      spdlog::error("cannot follow the database: {}", following.error().message);
      (*store)->close();
      return kExitFailure;
    }
    follower = std::move(*following);
    take_over = std::make_unique<TakeOver>(cfg, intake, **store, metrics);
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
  if (take_over) http = take_over->stop();
  if (http) http->stop(std::chrono::milliseconds(3000));
  if (follower) follower->stop();
  (*store)->close();
  server.reset();
  // What the session had queued still reaches the client when it is reading.
  channel.stop(std::chrono::milliseconds(500));
  spdlog::info("stopped");
  return kExitOk;
}

}  // namespace hookmcp::app
