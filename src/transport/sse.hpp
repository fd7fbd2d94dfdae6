// Private to the transport: the MCP sessions of the HTTP transports and their SSE streams.
// Nothing here includes Beast: the listener attaches a connection to a stream and drains it.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "hookmcp/core/metrics.hpp"
#include "hookmcp/mcp/server.hpp"

namespace hookmcp::transport {

// An SSE event id as we write them, "<stream id>-<sequence number>": the stream id and the
// number, or nullopt when the text is not one (a client's Last-Event-ID is untrusted input).
struct EventId {
  std::string_view stream;
  uint64_t seq = 0;
};
std::optional<EventId> parse_event_id(std::string_view text);

// Bytes queued for attached connections across many streams together. Each stream may queue
// its own max_queued_bytes, but with thousands of sessions that alone bounds nothing: past this
// budget the stream whose event would cross it is cut off, as if it had overflowed on its own
// (its client resumes with Last-Event-ID from the replay log). Thread-safe.
class QueueBudget {
 public:
  explicit QueueBudget(size_t max_bytes) : max_bytes_(max_bytes) {}
  // Takes `bytes` from the budget; false, taking nothing, when they do not fit.
  bool take(size_t bytes);
  void give_back(size_t bytes) { used_.fetch_sub(bytes); }
  size_t used() const { return used_.load(); }

 private:
  const size_t max_bytes_;
  std::atomic<size_t> used_{0};
};

// Bytes taken from a QueueBudget, given back when this is destroyed: a batch stays charged
// until the connection has written it and let it go.
class BudgetHold {
 public:
  BudgetHold() = default;
  BudgetHold(std::shared_ptr<QueueBudget> budget, size_t bytes)
      : budget_(std::move(budget)), bytes_(bytes) {}
  BudgetHold(BudgetHold&& other) noexcept
      : budget_(std::move(other.budget_)), bytes_(std::exchange(other.bytes_, 0)) {}
  BudgetHold& operator=(BudgetHold&& other) noexcept {
    if (this != &other) {
      release();
      budget_ = std::move(other.budget_);
      bytes_ = std::exchange(other.bytes_, 0);
    }
    return *this;
  }
  BudgetHold(const BudgetHold&) = delete;
  BudgetHold& operator=(const BudgetHold&) = delete;
  ~BudgetHold() { release(); }

 private:
  void release() {
    if (budget_) budget_->give_back(bytes_);
    budget_.reset();
    bytes_ = 0;
  }
  std::shared_ptr<QueueBudget> budget_;
  size_t bytes_ = 0;
};

// One logical SSE stream: its events, each with an id, kept for replay after a reconnect
// (Last-Event-ID), and a queue for the connection currently attached, if any.
// Thread-safe: the session's sink pushes from any thread, one connection drains it.
class SseStream {
 public:
  struct Limits {
    size_t max_queued_bytes = 4 << 20;    // past it the attached connection is cut off
    size_t max_replay_events = 1024;      // kept for Last-Event-ID, oldest dropped first
    std::shared_ptr<QueueBudget> budget;  // shared with other streams; none: no shared bound
  };

  SseStream(std::string id, Limits limits, Metrics& metrics)
      : id_(std::move(id)), limits_(std::move(limits)), metrics_(metrics) {}
  ~SseStream();
  SseStream(const SseStream&) = delete;
  SseStream& operator=(const SseStream&) = delete;

  const std::string& id() const { return id_; }

  // Appends one event carrying `data` (a JSON-RPC message) and wakes the connection if it
  // had nothing left to send. `event` names the SSE event type (legacy transport: "endpoint",
  // "message"). A notification sent to every session is one string they all share.
  void push(std::shared_ptr<const std::string> data, const char* event = nullptr);
  // No more events will come: the connection ends the response once it has sent them all.
  void finish();

  // What an attached connection takes: SSE text to write, or the messages themselves (for a
  // plain JSON answer).
  enum class Takes { kSseText, kMessages };

  // Attaches a connection, replaying the events after `last_seq` (nullopt: only new ones).
  // `wake` is called, from any thread, whenever there is something to send. Returns the
  // connection's token for take() and detach(); nullopt if another connection is attached and
  // this one does not resume (a resuming one takes over), or if events after `last_seq` are no
  // longer kept.
  std::optional<uint64_t> attach(std::function<void()> wake, std::optional<uint64_t> last_seq,
                                 Takes takes = Takes::kSseText);
  void detach(uint64_t token);
  // Whether nothing will read what is still to come: the stream is not finished and no
  // connection is attached (its client left and has not resumed).
  bool unattended();

  struct Batch {
    std::string bytes;  // Takes::kSseText: SSE-formatted events, ready to write
    std::vector<std::shared_ptr<const std::string>> messages;  // Takes::kMessages
    bool finished = false;    // the stream is over and everything is in this batch
    bool overflowed = false;  // the client fell too far behind: cut it off
    bool superseded = false;  // a newer connection took the stream over: end
    BudgetHold charged;       // the shared budget is given its bytes back with the batch
  };
  Batch take(uint64_t token);

  // The SSE text of a comment line, for keep-alives.
  static std::string keep_alive() { return ": keep-alive\n\n"; }

 private:
  void append_formatted(std::string& out, uint64_t seq, const std::string& data,
                        const char* event) const;
  // Whether every event after `last_seq` is still kept (nullopt: none is asked for).
  bool keeps_after(std::optional<uint64_t> last_seq) const;  // with mu_ held
  // Empties the queue, then queues the kept events after `last_seq`; with mu_ held.
  void requeue(std::optional<uint64_t> last_seq);
  // Queues one event the way the attached connection takes it, with mu_ held; false, queuing
  // nothing, when the shared budget has no room for it.
  bool queue(uint64_t seq, const std::shared_ptr<const std::string>& data, const char* event);
  // Empties the queue and gives its bytes back to the budget; with mu_ held.
  void clear_queue();

  const std::string id_;
  const Limits limits_;
  Metrics& metrics_;
  std::mutex mu_;
  uint64_t next_seq_ = 1;  // guarded by mu_
  struct Kept {
    uint64_t seq;
    std::shared_ptr<const std::string> data;
    const char* event;
  };
  std::deque<Kept> replay_;                                          // guarded by mu_
  std::string queued_;                                               // guarded by mu_
  std::vector<std::shared_ptr<const std::string>> queued_messages_;  // guarded by mu_
  size_t queued_bytes_ = 0;                                          // guarded by mu_
  Takes takes_ = Takes::kSseText;                                    // guarded by mu_
  bool overflowed_ = false;                                          // guarded by mu_
  bool finished_ = false;                                            // guarded by mu_
  std::function<void()> wake_;  // guarded by mu_; set while attached
  uint64_t connection_ = 0;     // guarded by mu_; the attached one's token
};

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
  void open(mcp::Server& server);
  const std::string& id() const { return id_; }
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

  // A new session with a fresh cryptographically random id; nullptr past max_sessions.
  std::shared_ptr<HttpSession> create(bool legacy);
  std::shared_ptr<HttpSession> find(const std::string& id);
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
};

}  // namespace hookmcp::transport
