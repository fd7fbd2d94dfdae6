#include "sse.hpp"

#include <openssl/rand.h>

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

void HttpSession::open(mcp::Server& server) {
  std::weak_ptr<HttpSession> weak = weak_from_this();
  mcp_ = server.open_session([weak](const json& message, const json* related,
                                    const std::shared_ptr<const std::string>& text) {
    if (auto self = weak.lock()) self->route(message, related, text);
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

void HttpSession::route(const json& message, const json* related,
                        std::shared_ptr<const std::string> text) {
  if (text && related == nullptr && !legacy_) {
    // A notification serialized once for every session: never a response, nor sent on behalf
    // of a request, so it goes to the standalone stream.
    standalone()->push(std::move(text));
    return;
  }
  auto data = text ? std::move(text)
                   : std::make_shared<const std::string>(
                         message.dump(-1, ' ', false, json::error_handler_t::replace));
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
    } else if (related != nullptr) {
      // A request or notification sent on behalf of a request still in flight goes out on that
      // request's stream (MCP "Transports", Streamable HTTP: messages related to the request).
      auto it = by_request_.find(related->dump());
      if (it != by_request_.end()) target = it->second;
    } else if (const json* token = progress_token(message)) {
      auto it = by_progress_token_.find(token->dump());
      if (it != by_progress_token_.end()) target = it->second;
    }
  }
  if (!target) target = standalone();
  target->push(std::move(data));
  if (last_answer) target->finish();
}

std::optional<std::pair<std::shared_ptr<SseStream>, uint64_t>> HttpSession::find_event(
    const std::string& event_id) {
  auto parsed = parse_event_id(event_id);
  if (!parsed) return std::nullopt;
  std::lock_guard lock(mu_);
  auto it = streams_.find(std::string(parsed->stream));
  if (it == streams_.end()) return std::nullopt;
  return std::make_pair(it->second, parsed->seq);
}

void HttpSession::close() {
  if (mcp_) mcp_->close();
  std::lock_guard lock(mu_);
  for (auto& [id, stream] : streams_) stream->finish();
}

std::shared_ptr<HttpSession> HttpSessions::create(bool legacy) {
  std::lock_guard lock(mu_);
  if (sessions_.size() >= max_sessions_) return nullptr;
  SseStream::Limits limits;
  limits.budget = queue_budget_;
  auto session = std::make_shared<HttpSession>(random_session_id(), legacy, metrics_, limits);
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
