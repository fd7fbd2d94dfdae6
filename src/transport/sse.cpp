#include "sse.hpp"

#include <openssl/rand.h>

#include <charconv>

namespace hookmcp::transport {

using nlohmann::json;

namespace {

// 128 random bits, hex: unguessable, so that a session id works as a capability.
std::string random_session_id() {
  unsigned char bytes[16];
  RAND_bytes(bytes, sizeof bytes);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char b : bytes) {
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 0xf]);
  }
  return out;
}

bool is_response(const json& m) {
  return m.is_object() && m.contains("id") && (m.contains("result") || m.contains("error")) &&
         !m.contains("method");
}

const json* progress_token(const json& m) {
  if (!m.is_object()) return nullptr;
  auto params = m.find("params");
  if (params == m.end() || !params->is_object()) return nullptr;
  if (auto t = params->find("progressToken"); t != params->end()) return &*t;
  auto meta = params->find("_meta");
  if (meta == params->end() || !meta->is_object()) return nullptr;
  auto t = meta->find("progressToken");
  return t == meta->end() ? nullptr : &*t;
}

// How many finished POST streams a session keeps for a client that resumes one.
constexpr size_t kFinishedStreamsKept = 16;

}  // namespace

std::string SseStream::format(uint64_t seq, const std::string& data, const char* event) const {
  std::string out = "id: " + id_ + "-" + std::to_string(seq) + "\n";
  if (event) out.append("event: ").append(event).append("\n");
  // One data line: JSON text as we serialise it holds no raw newline.
  out.append("data: ").append(data).append("\n\n");
  return out;
}

void SseStream::push(const std::string& data, const char* event) {
  std::function<void()> wake;
  {
    std::lock_guard lock(mu_);
    if (finished_) return;
    std::string formatted = format(next_seq_, data, event);
    replay_.push_back({next_seq_++, formatted, data});
    if (replay_.size() > limits_.max_replay_events) replay_.pop_front();
    if (wake_ && !overflowed_) {
      if (queued_.size() + formatted.size() > limits_.max_queued_bytes) {
        overflowed_ = true;
        metrics_.notifications_dropped.inc();
      } else {
        queued_ += formatted;
        queued_messages_.push_back(data);
      }
    }
    wake = wake_;
  }
  if (wake) wake();
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

bool SseStream::attach(std::function<void()> wake, std::optional<uint64_t> last_seq) {
  std::lock_guard lock(mu_);
  if (wake_) return false;
  queued_.clear();
  queued_messages_.clear();
  overflowed_ = false;
  if (last_seq) {
    // Everything after last_seq must still be kept, else the client would miss some.
    if (*last_seq + 1 < next_seq_ && (replay_.empty() || replay_.front().seq > *last_seq + 1)) {
      return false;
    }
    for (const auto& kept : replay_) {
      if (kept.seq <= *last_seq) continue;
      queued_ += kept.formatted;
      queued_messages_.push_back(kept.data);
    }
  }
  wake_ = std::move(wake);
  return true;
}

void SseStream::detach() {
  std::lock_guard lock(mu_);
  wake_ = nullptr;
}

SseStream::Batch SseStream::take() {
  std::lock_guard lock(mu_);
  Batch b;
  b.bytes.swap(queued_);
  b.messages.swap(queued_messages_);
  b.overflowed = overflowed_;
  b.finished = finished_;
  return b;
}

void HttpSession::open(mcp::Server& server) {
  std::weak_ptr<HttpSession> weak = weak_from_this();
  mcp_ = server.open_session([weak](const json& message) {
    if (auto self = weak.lock()) self->route(message);
  });
}

std::shared_ptr<SseStream> HttpSession::standalone() {
  std::lock_guard lock(mu_);
  if (!standalone_) {
    standalone_ = std::make_shared<SseStream>(std::to_string(next_stream_++), limits_, metrics_);
    streams_[standalone_->id()] = standalone_;
  }
  return standalone_;
}

std::shared_ptr<SseStream> HttpSession::stream_for_post(const json& messages) {
  std::vector<const json*> requests;
  auto collect = [&](const json& m) {
    if (m.is_object() && m.contains("method") && m.contains("id")) requests.push_back(&m);
  };
  if (messages.is_array()) {
    for (const auto& m : messages) collect(m);
  } else {
    collect(messages);
  }
  if (requests.empty()) return nullptr;
  std::lock_guard lock(mu_);
  auto stream = std::make_shared<SseStream>(std::to_string(next_stream_++), limits_, metrics_);
  streams_[stream->id()] = stream;
  for (const json* r : requests) {
    by_request_[(*r)["id"].dump()] = stream;
    if (const json* token = progress_token(*r)) by_progress_token_[token->dump()] = stream;
  }
  unanswered_[stream.get()] = requests.size();
  // Keep only the newest finished streams for resumption.
  size_t finished = 0;
  for (auto it = streams_.rbegin(); it != streams_.rend(); ++it) {
    if (it->second != standalone_ && !unanswered_.count(it->second.get())) ++finished;
  }
  for (auto it = streams_.begin(); finished > kFinishedStreamsKept && it != streams_.end();) {
    if (it->second != standalone_ && !unanswered_.count(it->second.get())) {
      it = streams_.erase(it);
      --finished;
    } else {
      ++it;
    }
  }
  return stream;
}

void HttpSession::route(const json& message) {
  const std::string data = message.dump(-1, ' ', false, json::error_handler_t::replace);
  if (legacy_) {
    standalone()->push(data, "message");
    return;
  }
  std::shared_ptr<SseStream> target;
  bool last_answer = false;
  {
    std::lock_guard lock(mu_);
    if (is_response(message)) {
      auto it = by_request_.find(message["id"].dump());
      if (it != by_request_.end()) {
        target = it->second;
        by_request_.erase(it);
        auto left = unanswered_.find(target.get());
        if (left != unanswered_.end() && --left->second == 0) {
          unanswered_.erase(left);
          last_answer = true;
          for (auto p = by_progress_token_.begin(); p != by_progress_token_.end();) {
            p = p->second == target ? by_progress_token_.erase(p) : std::next(p);
          }
        }
      }
    } else if (const json* token = progress_token(message)) {
      auto it = by_progress_token_.find(token->dump());
      if (it != by_progress_token_.end()) target = it->second;
    }
  }
  if (!target) target = standalone();
  target->push(data);
  if (last_answer) target->finish();
}

std::optional<std::pair<std::shared_ptr<SseStream>, uint64_t>> HttpSession::find_event(
    const std::string& event_id) {
  auto dash = event_id.rfind('-');
  if (dash == std::string::npos) return std::nullopt;
  uint64_t seq = 0;
  const char* begin = event_id.data() + dash + 1;
  const char* end = event_id.data() + event_id.size();
  auto [ptr, ec] = std::from_chars(begin, end, seq);
  if (ec != std::errc() || ptr != end) return std::nullopt;
  std::lock_guard lock(mu_);
  auto it = streams_.find(event_id.substr(0, dash));
  if (it == streams_.end()) return std::nullopt;
  return std::make_pair(it->second, seq);
}

void HttpSession::close() {
  if (mcp_) mcp_->close();
  std::lock_guard lock(mu_);
  for (auto& [id, stream] : streams_) stream->finish();
}

std::shared_ptr<HttpSession> HttpSessions::create(bool legacy) {
  std::lock_guard lock(mu_);
  if (sessions_.size() >= max_sessions_) return nullptr;
  auto session =
      std::make_shared<HttpSession>(random_session_id(), legacy, metrics_, SseStream::Limits{});
  session->open(server_);
  sessions_[session->id()] = session;
  metrics_.mcp_sessions.set(static_cast<int64_t>(sessions_.size()));
  return session;
}

std::shared_ptr<HttpSession> HttpSessions::find(const std::string& id) {
  std::lock_guard lock(mu_);
  auto it = sessions_.find(id);
  if (it == sessions_.end()) return nullptr;
  it->second->touch();
  return it->second;
}

void HttpSessions::erase(const std::string& id) {
  std::shared_ptr<HttpSession> session;
  {
    std::lock_guard lock(mu_);
    auto it = sessions_.find(id);
    if (it == sessions_.end()) return;
    session = std::move(it->second);
    sessions_.erase(it);
    metrics_.mcp_sessions.set(static_cast<int64_t>(sessions_.size()));
  }
  session->close();
}

void HttpSessions::expire_idle() {
  std::vector<std::shared_ptr<HttpSession>> expired;
  auto cutoff = std::chrono::steady_clock::now() - idle_timeout_;
  {
    std::lock_guard lock(mu_);
    for (auto it = sessions_.begin(); it != sessions_.end();) {
      if (it->second->last_used() < cutoff) {
        expired.push_back(std::move(it->second));
        it = sessions_.erase(it);
      } else {
        ++it;
      }
    }
    metrics_.mcp_sessions.set(static_cast<int64_t>(sessions_.size()));
  }
  for (auto& s : expired) s->close();
}

void HttpSessions::close_all() {
  std::map<std::string, std::shared_ptr<HttpSession>> all;
  {
    std::lock_guard lock(mu_);
    all.swap(sessions_);
    metrics_.mcp_sessions.set(0);
  }
  for (auto& [id, s] : all) s->close();
}

}  // namespace hookmcp::transport
