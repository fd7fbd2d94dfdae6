// SSE streams and event ids: apart from the sessions, so that they build and are tested
// without the MCP server behind them.
#include <charconv>

#include "sse_stream.hpp"

namespace hookmcp::transport {

std::optional<EventId> parse_event_id(std::string_view text) {
  auto dash = text.rfind('-');
  if (dash == std::string_view::npos) return std::nullopt;
  EventId id{text.substr(0, dash)};
  const char* begin = text.data() + dash + 1;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(begin, end, id.seq);
  if (ec != std::errc() || ptr != end) return std::nullopt;
  return id;
}

bool QueueBudget::take(size_t bytes) {
  size_t used = used_.load();
  do {
    if (used + bytes > max_bytes_) return false;
  } while (!used_.compare_exchange_weak(used, used + bytes));
  return true;
}

SseStream::~SseStream() { clear_queue(); }

void SseStream::append_formatted(std::string& out, uint64_t seq, const std::string& data,
                                 const char* event) const {
  out.append("id: ").append(id_).append("-").append(std::to_string(seq)).append("\n");
  if (event) out.append("event: ").append(event).append("\n");
  // One data line: JSON text as we serialise it holds no raw newline.
  out.append("data: ").append(data).append("\n\n");
}

void SseStream::push(std::shared_ptr<const std::string> data, const char* event) {
  std::function<void()> wake;
  {
    std::lock_guard lock(mu_);
    if (finished_) return;
    uint64_t seq = next_seq_++;
    if (wake_ && !overflowed_) {
      bool was_empty = queued_bytes_ == 0;
      if (queued_bytes_ + data->size() > limits_.max_queued_bytes || !queue(seq, data, event)) {
        overflowed_ = true;
        metrics_.notifications_dropped.inc();
        wake = wake_;  // to cut the connection off
      } else if (was_empty) {
        wake = wake_;  // the connection drains the whole queue once woken: one wake per empty queue
      }
    }
    replay_.push_back({seq, std::move(data), event});
    if (replay_.size() > limits_.max_replay_events) replay_.pop_front();
  }
  if (wake) wake();
}

std::shared_ptr<const std::string> SseStream::sole_message() {
  std::lock_guard lock(mu_);
  if (!finished_ || next_seq_ != 2 || replay_.size() != 1) return nullptr;
  return replay_.front().data;
}

void SseStream::finish() {
  std::function<void()> wake;
  {
    std::lock_guard lock(mu_);
    finished_ = true;
    wake = wake_;
  }
  if (wake) wake();
}

bool SseStream::queue(uint64_t seq, const std::shared_ptr<const std::string>& data,
                      const char* event) {
  if (limits_.budget && !limits_.budget->take(data->size())) return false;
  if (takes_ == Takes::kMessages) {
    queued_messages_.push_back(data);
  } else {
    append_formatted(queued_, seq, *data, event);
  }
  queued_bytes_ += data->size();
  return true;
}

void SseStream::clear_queue() {
  queued_.clear();
  queued_messages_.clear();
  if (limits_.budget) limits_.budget->give_back(queued_bytes_);
  queued_bytes_ = 0;
}

std::optional<uint64_t> SseStream::attach(std::function<void()> wake,
                                          std::optional<uint64_t> last_seq, Takes takes) {
  std::function<void()> superseded;
  std::optional<uint64_t> token;
  {
    std::lock_guard lock(mu_);
    // A client resuming with Last-Event-ID has given up its earlier connection, which may not
    // have noticed yet: the new one takes over. Without an id, the stream stays taken.
    if (wake_ && !last_seq) return std::nullopt;
    if (!keeps_after(last_seq)) return std::nullopt;
    takes_ = takes;
    requeue(last_seq);
    superseded = std::move(wake_);
    token = ++connection_;
    wake_ = std::move(wake);
  }
  if (superseded) superseded();  // it finds out in take() and ends
  return token;
}

bool SseStream::keeps_after(std::optional<uint64_t> last_seq) const {
  return !last_seq || *last_seq + 1 >= next_seq_ ||
         (!replay_.empty() && replay_.front().seq <= *last_seq + 1);
}

void SseStream::requeue(std::optional<uint64_t> last_seq) {
  clear_queue();
  overflowed_ = false;
  if (last_seq) {
    for (const auto& kept : replay_) {
      if (kept.seq > *last_seq && !queue(kept.seq, kept.data, kept.event)) {
        overflowed_ = true;  // no room in the budget: this connection ends at once too
        break;
      }
    }
  }
}

bool SseStream::unattended() {
  std::lock_guard lock(mu_);
  return !finished_ && !wake_;
}

void SseStream::detach(uint64_t token) {
  std::lock_guard lock(mu_);
  if (token == connection_) wake_ = nullptr;
}

SseStream::Batch SseStream::take(uint64_t token) {
  std::lock_guard lock(mu_);
  Batch b;
  if (token != connection_) {
    b.superseded = true;
    return b;
  }
  b.bytes.swap(queued_);
  b.messages.swap(queued_messages_);
  if (limits_.budget) b.charged = BudgetHold(limits_.budget, queued_bytes_);
  queued_bytes_ = 0;
  // What one batch held, the next is likely to: grow once rather than event by event.
  queued_.reserve(b.bytes.capacity());
  queued_messages_.reserve(b.messages.capacity());
  b.overflowed = overflowed_;
  b.finished = finished_;
  return b;
}

}  // namespace hookmcp::transport
