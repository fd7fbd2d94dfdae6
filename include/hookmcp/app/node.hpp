// One hookmcp node: the composition root that builds the parts in order and stops them in the
// reverse order. `hookmcp serve`, `hookmcp stdio` and examples/conformance_server all run one.
//
// Built in this order: clock and metrics, the store, the bus fed by the store's commits, the
// outbound deliverer of MCP Events webhook subscriptions, the MCP server, the intake, the
// listener and then the deliverer's workers (or, when another process holds its address, a
// follower of the database and attempts to take the listener over). Stopped in the reverse order
// by stop().
#pragma once

#include <chrono>
#include <functional>
#include <memory>

#include "hookmcp/config/config.hpp"
#include "hookmcp/core/clock.hpp"
#include "hookmcp/core/metrics.hpp"
#include "hookmcp/core/result.hpp"
#include "hookmcp/mcp/server.hpp"
#include "hookmcp/store/store.hpp"
#include "hookmcp/transport/http_server.hpp"

namespace hookmcp::app {

struct NodeOptions {
  config::Config config;  // the sources the intake verifies; the listener's address
  store::Options store;   // clock and metrics are the node's own
  mcp::ServerOptions mcp;
  transport::HttpOptions http;  // mcp is set by the node when mcp_over_http
  // Serve /mcp and /sse on the listener (serve); stdio answers MCP on stdin/stdout only.
  bool mcp_over_http = true;
  // When the listener's address is held by another process (kInUse): fail to start (serve), or
  // follow the database for the events that process stores, and take the listener over once it
  // is let go (stdio).
  bool follow_when_held = false;
  std::chrono::milliseconds follow_interval{25};
  std::chrono::milliseconds take_over_interval{500};
  // Told of the listener once it serves, at start or after a take-over (on the take-over's
  // thread): where it is, for a person and the tests.
  std::function<void(const transport::HttpServer&)> on_listening;
};

// Thread-safe accessors; start() and stop() from one thread (the main one).
class Node {
 public:
  // kInUse when the address is held and follow_when_held is false; kInvalidArgument for a
  // listener that cannot be set up (bad TLS files); the store's error when it cannot open.
  static Result<std::unique_ptr<Node>> start(NodeOptions options);
  ~Node();
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  mcp::Server& mcp();
  Metrics& metrics();
  const Clock& clock() const;

  // Applies a config loaded again (SIGHUP): the intake verifies with its sources from now on
  // (secrets rotated, sources added or removed). What needs a restart to change (the address,
  // the database, TLS, MCP tokens and the rest) is logged as such and left as it was. From the
  // thread that called start().
  void reload(const config::Config& config);

  // Stops the take-over attempts, then the listener (answering what is in flight, up to
  // `grace`), the follower, the store (committing what is queued), and the MCP server, in this
  // order. Sessions opened on the MCP server must be closed first. Idempotent.
  void stop(std::chrono::milliseconds grace);

 private:
  struct Parts;
  explicit Node(std::unique_ptr<Parts> parts);
  std::unique_ptr<Parts> parts_;
};

}  // namespace hookmcp::app
