// Private to the transport: the MCP sessions of the HTTP transports, each with its SSE streams.
// Nothing here includes Beast.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "hookmcp/core/metrics.hpp"
#include "hookmcp/core/result.hpp"
#include "hookmcp/mcp/server.hpp"
#include "sse_stream.hpp"

namespace hookmcp::transport {

// One MCP session over HTTP (an Mcp-Session-Id, or one legacy /sse connection): the
// mcp::Session and the streams its outgoing messages go to. Thread-safe.
//
// Routing (Streamable HTTP): each POST is one rpc::Exchange with a stream of its own. Every
// answer to it goes there, and so does every message sent on behalf of one of its requests
// (progress, a tool's log messages, a request to the client made while a tool call runs),
// whatever ids the client chose; the stream finishes once the exchange is over. Everything
// else (resource updates, channel pushes, log messages) goes to the standalone stream that GET
// opens, which keeps it for replay even while no GET is attached.
class HttpSession : public std::enable_shared_from_this<HttpSession> {
 public:
  HttpSession(std::string id, bool legacy, Metrics& metrics, SseStream::Limits limits)
      : id_(std::move(id)), legacy_(legacy), metrics_(metrics), limits_(std::move(limits)) {}

  // Opens the mcp::Session; its sink routes into this object's streams.
  void open(mcp::Server& server, std::string principal);
  const std::string& id() const { return id_; }
  // Who opened it; only requests from the same principal may use it.
  const std::string& principal() const { return principal_; }
  bool legacy() const { return legacy_; }
  // Hands a POST's message (or batch) to the mcp::Session, one POST at a time: POSTs of one
  // session may arrive on several connections at once. Returns the stream its answers go to,
  // which finishes once every one is sent (or its request cancelled); nullptr when nothing in
  // it is answered (notifications and responses only).
  std::shared_ptr<SseStream> receive_post(const nlohmann::json& messages);
  // The legacy transport: every answer goes to the standalone stream.
  void receive(const nlohmann::json& message) {
    std::lock_guard lock(receive_mu_);
    mcp_->receive_json(message);
  }
  // Nobody will read the answers of this POST's stream (its client left and did not resume):
  // its requests still running are cancelled, which frees what they hold. Returns how many.
  size_t abandon(const std::shared_ptr<SseStream>& answers);
  // The standalone stream (GET /mcp, or the legacy /sse stream).
  std::shared_ptr<SseStream> standalone();
  // The stream an event id belongs to (for Last-Event-ID), and the sequence number in it.
  std::optional<std::pair<std::shared_ptr<SseStream>, uint64_t>> find_event(
      const std::string& event_id);

  void touch() { last_used_ = std::chrono::steady_clock::now(); }
  std::chrono::steady_clock::time_point last_used() const { return last_used_; }
  void close();

 private:
  // `text`: the message already serialized, when the sender has it (see mcp::ExchangeSink).
  void route(const nlohmann::json& message, rpc::Exchange exchange,
             std::shared_ptr<const std::string> text);
  // The exchange is over: its stream finishes.
  void end_exchange(rpc::Exchange exchange);
  // Drops the oldest finished POST streams past kFinishedStreamsKept; with mu_ held.
  void prune_finished_streams();

  const std::string id_;
  const bool legacy_;
  std::string principal_;  // set by open(), before the session is shared
  Metrics& metrics_;
  const SseStream::Limits limits_;
  std::shared_ptr<mcp::Session> mcp_;
  std::mutex receive_mu_;
  std::atomic<std::chrono::steady_clock::time_point> last_used_{std::chrono::steady_clock::now()};

  std::mutex mu_;
  uint64_t next_stream_ = 1;                                   // guarded by mu_
  rpc::Exchange next_exchange_ = 1;                            // guarded by mu_
  std::shared_ptr<SseStream> standalone_;                      // guarded by mu_
  std::map<std::string, std::shared_ptr<SseStream>> streams_;  // guarded by mu_; by id
  // The POSTs whose answers are still to come, and their streams.
  std::map<rpc::Exchange, std::shared_ptr<SseStream>> open_exchanges_;  // guarded by mu_
};

// Every HTTP session of the listener, by id. Thread-safe.
class HttpSessions {
 public:
  HttpSessions(mcp::Server& server, Metrics& metrics, size_t max_sessions,
               std::chrono::seconds idle_timeout)
      : server_(server),
        metrics_(metrics),
        max_sessions_(max_sessions),
        idle_timeout_(idle_timeout) {}

  // A new session with a fresh cryptographically random id. kOverloaded past max_sessions;
  // kUnavailable, opening nothing, when no random id can be drawn.
  Result<std::shared_ptr<HttpSession>> create(bool legacy, std::string principal);
  // A session for one request of MCP 2026-07-28: no id, not kept here, closed by its caller
  // once the request's answers are sent (or its client has gone).
  std::shared_ptr<HttpSession> stateless(std::string principal);
  mcp::Server& server() { return server_; }
  // The session `id` if `principal` opened it (a session is bound to its principal: another
  // one's token does not reach it), else nullptr.
  std::shared_ptr<HttpSession> find(const std::string& id, const std::string& principal);
  void erase(const std::string& id);
  // Closes sessions unused for longer than the idle timeout.
  void expire_idle();
  void close_all();

 private:
  mcp::Server& server_;
  Metrics& metrics_;
  const size_t max_sessions_;
  const std::chrono::seconds idle_timeout_;
  // What every session's streams may queue together, where 4 MiB each alone allowed 4 MiB times
  // max_sessions. The benchmark's 1,000 sessions, 140 ms behind at 1,000 events/s, peaked at
  // 165 MB of RSS in all (bench/sessions.mjs).
  const std::shared_ptr<QueueBudget> queue_budget_ =
      std::make_shared<QueueBudget>(size_t{256} << 20);
  std::mutex mu_;
  std::map<std::string, std::shared_ptr<HttpSession>> sessions_;  // guarded by mu_
  // The stateless ones still serving, so that stopping ends them too (a subscriptions/listen
  // lasts until then); expired entries are dropped as the list grows.
  std::vector<std::weak_ptr<HttpSession>> stateless_;  // guarded by mu_
  size_t prune_stateless_at_ = 64;                     // guarded by mu_
};

}  // namespace hookmcp::transport
