// The Model Context Protocol server: lifecycle, tools, resources, prompts, completions,
// logging and live notifications. JSON in, JSON out; knows no transport.
//
// One Server per process holds what sessions share (the store, the new-event bus, a worker
// pool for database reads, a timer thread). A transport opens one Session per client (stdio:
// one per process; HTTP: one per Mcp-Session-Id), hands it each incoming message, and gives it
// a Sink for the outgoing ones.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "hookmcp/bus/bus.hpp"
#include "hookmcp/core/metrics.hpp"
#include "hookmcp/store/store.hpp"

namespace hookmcp::mcp {

// Newest first; initialize answers with the client's version when it is one of these, else
// with the first.
inline constexpr const char* kProtocolVersions[] = {"2025-11-25", "2025-06-18", "2025-03-26",
                                                    "2024-11-05"};

struct ServerOptions {
  std::string version = "0.0.0";  // serverInfo.version
  // Configured sources, name -> provider: listed before their first event arrives.
  std::map<std::string, std::string> configured_sources;
  // Sources whose new events are pushed as notifications/claude/channel; unset: all.
  std::optional<std::vector<std::string>> channel_sources;
  int worker_threads = 4;
  size_t max_waits_per_session = 64;
  // Bytes of a payload a tool returns when the call does not say (get_event max_bytes).
  int64_t default_max_bytes = 65536;
};

// Takes one outgoing message (a response or a notification). Called from any thread, possibly
// several at once; it must queue the message and return, never block on the client.
using Sink = std::function<void(const nlohmann::json& message)>;

class Session {
 public:
  virtual ~Session() = default;
  // One incoming message, as text or parsed. One thread at a time (the transport's reader);
  // a request that may take long (a tool call, wait_for_event) is answered later from a
  // worker, so the next message is read at once.
  virtual void receive(std::string_view text) = 0;
  virtual void receive_json(const nlohmann::json& message) = 0;
  // Waits until every request received so far has been answered, up to `timeout`; true when
  // none is left. A transport ending cleanly (EOF on stdin, SIGTERM) calls it before close().
  virtual bool wait_idle(std::chrono::milliseconds timeout) = 0;
  // The client is gone: cancels what is in flight and sends nothing more. Idempotent.
  virtual void close() = 0;
  // Whether initialize has been answered, and the protocol version it agreed on.
  virtual bool initialized() const = 0;
  virtual std::string protocol_version() const = 0;
};

class Server {
 public:
  // `store`, `bus` and `metrics` must outlive the Server. Reads the known sources from the
  // store (blocking), then starts the worker and timer threads and subscribes to the bus.
  Server(store::Store& store, std::shared_ptr<bus::Bus> bus, Metrics& metrics,
         ServerOptions options);
  // Closes every session, unsubscribes, joins the threads. Work still queued is dropped.
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Thread-safe. The session lives until the transport drops it and the Server is gone or the
  // session closed, whichever comes first.
  std::shared_ptr<Session> open_session(Sink sink);

  size_t session_count() const;

  struct State;  // shared with the sessions; defined in src/mcp

 private:
  std::shared_ptr<State> state_;
};

}  // namespace hookmcp::mcp
