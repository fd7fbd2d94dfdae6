#include "http_sessions.hpp"

#include <algorithm>
#include <set>
#include <vector>

#include "hookmcp/core/random.hpp"

namespace hookmcp::transport {

using nlohmann::json;

namespace {

// 128 random bits: unguessable, so that a session id works as a capability.
constexpr size_t kSessionIdBytes = 16;

// How many finished POST streams a session keeps for a client that resumes one.
constexpr size_t kFinishedStreamsKept = 16;

}  // namespace

void HttpSession::open(mcp::Server& server, std::string principal) {
  principal_ = principal;
  std::weak_ptr<HttpSession> weak = weak_from_this();
  mcp_ = server.open_session(
      [weak](const json& message, rpc::Exchange exchange,
             const std::shared_ptr<const std::string>& text) {
        if (auto self = weak.lock()) self->route(message, exchange, text);
      },
      [weak](rpc::Exchange exchange) {
        if (auto self = weak.lock()) self->end_exchange(exchange);
      },
      std::move(principal));
}

std::shared_ptr<SseStream> HttpSession::standalone() {
  std::lock_guard lock(mu_);
  if (!standalone_) {
    standalone_ = std::make_shared<SseStream>(std::to_string(next_stream_++), limits_, metrics_);
    streams_[standalone_->id()] = standalone_;
  }
  return standalone_;
}

std::shared_ptr<SseStream> HttpSession::receive_post(const json& messages) {
  std::shared_ptr<SseStream> stream;
  rpc::Exchange exchange;
  {
    std::lock_guard lock(mu_);
    exchange = next_exchange_++;
    stream = std::make_shared<SseStream>(std::to_string(next_stream_++), limits_, metrics_);
    open_exchanges_[exchange] = stream;
  }
  bool answered;
  {
    std::lock_guard lock(receive_mu_);
    answered = mcp_->receive_json(messages, exchange);
  }
  std::lock_guard lock(mu_);
  if (!answered) return nullptr;  // the exchange ended within receive_json
  streams_[stream->id()] = stream;
  prune_finished_streams();
  return stream;
}

void HttpSession::prune_finished_streams() {
  std::set<const SseStream*> open;
  for (const auto& [exchange, stream] : open_exchanges_) open.insert(stream.get());
  auto finished = [&](const std::shared_ptr<SseStream>& s) {
    return s != standalone_ && open.count(s.get()) == 0;
  };
  size_t count = static_cast<size_t>(std::count_if(
      streams_.begin(), streams_.end(), [&](const auto& e) { return finished(e.second); }));
  // Stream ids are numbers: erase the oldest first.
  std::vector<std::pair<uint64_t, std::string>> oldest;
  for (const auto& [id, stream] : streams_) {
    if (finished(stream)) oldest.emplace_back(std::stoull(id), id);
  }
  std::sort(oldest.begin(), oldest.end());
  for (size_t i = 0; count > kFinishedStreamsKept && i < oldest.size(); ++i, --count) {
    streams_.erase(oldest[i].second);
  }
}

size_t HttpSession::abandon(const std::shared_ptr<SseStream>& answers) {
  std::optional<rpc::Exchange> exchange;
  {
    std::lock_guard lock(mu_);
    for (const auto& [e, stream] : open_exchanges_) {
      if (stream == answers) exchange = e;
    }
  }
  return exchange ? mcp_->cancel_exchange(*exchange) : 0;
}

void HttpSession::end_exchange(rpc::Exchange exchange) {
  std::shared_ptr<SseStream> stream;
  {
    std::lock_guard lock(mu_);
    auto it = open_exchanges_.find(exchange);
    if (it == open_exchanges_.end()) return;
    stream = std::move(it->second);
    open_exchanges_.erase(it);
  }
  stream->finish();
}

void HttpSession::route(const json& message, rpc::Exchange exchange,
                        std::shared_ptr<const std::string> text) {
  if (text && exchange == rpc::kNoExchange && !legacy_) {
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
  if (exchange != rpc::kNoExchange) {
    std::lock_guard lock(mu_);
    if (auto it = open_exchanges_.find(exchange); it != open_exchanges_.end()) target = it->second;
  }
  // A message on behalf of a request answered meanwhile has no stream left: the GET one.
  if (!target) target = standalone();
  target->push(std::move(data));
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

Result<std::shared_ptr<HttpSession>> HttpSessions::create(bool legacy, std::string principal) {
  std::lock_guard lock(mu_);
  if (sessions_.size() >= max_sessions_) {
    return make_error(ErrorCode::kOverloaded, "too many MCP sessions");
  }
  auto id = random_hex(kSessionIdBytes);
  if (!id) return id.error();
  SseStream::Limits limits;
  limits.budget = queue_budget_;
  auto session = std::make_shared<HttpSession>(std::move(*id), legacy, metrics_, limits);
  session->open(server_, std::move(principal));
  sessions_[session->id()] = session;
  return session;
}

std::shared_ptr<HttpSession> HttpSessions::stateless(std::string principal) {
  SseStream::Limits limits;
  limits.budget = queue_budget_;
  auto session = std::make_shared<HttpSession>(std::string(), /*legacy=*/false, metrics_, limits);
  session->open(server_, std::move(principal));
  std::lock_guard lock(mu_);
  if (stateless_.size() >= prune_stateless_at_) {
    std::erase_if(stateless_, [](const auto& w) { return w.expired(); });
    prune_stateless_at_ = std::max<size_t>(64, 2 * stateless_.size());
  }
  stateless_.push_back(session);
  return session;
}

std::shared_ptr<HttpSession> HttpSessions::find(const std::string& id,
                                                const std::string& principal) {
  std::lock_guard lock(mu_);
  auto it = sessions_.find(id);
  if (it == sessions_.end() || it->second->principal() != principal) return nullptr;
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
  }
  for (auto& s : expired) s->close();
}

void HttpSessions::close_all() {
  std::map<std::string, std::shared_ptr<HttpSession>> all;
  std::vector<std::weak_ptr<HttpSession>> stateless;
  {
    std::lock_guard lock(mu_);
    all.swap(sessions_);
    stateless.swap(stateless_);
  }
  for (auto& [id, s] : all) s->close();
  for (auto& w : stateless) {
    if (auto s = w.lock()) s->close();
  }
}

}  // namespace hookmcp::transport
