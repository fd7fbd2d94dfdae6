// Private to the transport: SSE streams, their event ids and the queue budget they share.
// Nothing here includes Beast or the MCP server: the listener attaches a connection to a stream
// and drains it; the sessions (http_sessions.hpp) push to it.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "hookmcp/core/metrics.hpp"

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

  // The one message of a stream that has finished with just that one (a request answered at
  // once), else null.
  std::shared_ptr<const std::string> sole_message();

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

}  // namespace hookmcp::transport
