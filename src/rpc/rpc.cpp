#include "hookmcp/rpc/rpc.hpp"

#include <exception>
#include <vector>

#include "hookmcp/core/json.hpp"

namespace hookmcp::rpc {

namespace {

constexpr const char* kVersion = "2.0";

// MCP and JSON-RPC both allow string and integer ids; a null id is never accepted, since the
// answer could not be told apart from an answer to a message whose id was unreadable.
bool valid_id(const json& id) { return id.is_string() || id.is_number_integer(); }

}  // namespace

Error protocol_error(ErrorCode category, int code, std::string message, const json& data) {
  Error error{category, std::move(message)};
  error.protocol_code = code;
  if (!data.is_null()) error.protocol_data = data.dump();
  return error;
}

ErrorObject to_error_object(const Error& error) {
  if (error.protocol_code != 0) {
    ErrorObject out{error.protocol_code, error.message, nullptr};
    if (!error.protocol_data.empty()) {
      out.data = json::parse(error.protocol_data, nullptr, /*allow_exceptions=*/false);
    }
    return out;
  }
  switch (error.code) {
    case ErrorCode::kInvalidArgument:
      return {kInvalidParams, error.message};
    case ErrorCode::kNotFound:
      return {kResourceNotFound, error.message};
    default:
      return {kInternalError, error.message};
  }
}

void CallContext::on_cancel(std::function<void()> hook) {
  {
    std::lock_guard lock(mu_);
    if (!cancelled_.load()) {
      hook_ = std::move(hook);
      return;
    }
  }
  hook();
}

bool CallContext::cancel() {
  std::function<void()> hook;
  {
    std::lock_guard lock(mu_);
    if (cancelled_.exchange(true)) return false;
    hook.swap(hook_);
  }
  if (hook) hook();
  return true;
}

std::shared_ptr<Connection> Connection::create(const Dispatcher& dispatcher, Send send) {
  return create(
      dispatcher, [send = std::move(send)](const json& message, Exchange) { send(message); },
      [](Exchange) {});
}

std::shared_ptr<Connection> Connection::create(const Dispatcher& dispatcher, ExchangeSend send,
                                               ExchangeDone done) {
  return std::shared_ptr<Connection>(new Connection(dispatcher, std::move(send), std::move(done)));
}

bool Connection::receive(std::string_view text, Exchange exchange) {
  auto message = parse_json(text);
  if (!message.ok()) {
    send_error(std::nullopt,
               {kParseError, message.too_deep ? "parse error: the message nests deeper than " +
                                                    std::to_string(kMaxJsonDepth) + " levels"
                                              : "parse error: the message is not valid JSON"},
               exchange);
    if (exchange != kNoExchange) done_(exchange);
    return true;
  }
  return receive_json(message.value, exchange);
}

bool Connection::receive_json(const json& message, Exchange exchange) {
  // Held open while the messages are dispatched, so that an answer given meanwhile does not
  // end the exchange before the rest of a batch is read.
  open_exchange(exchange);
  bool answered = false;
  if (!message.is_array()) {
    answered = dispatch(message, exchange);
  } else if (message.empty()) {
    send_error(std::nullopt, {kInvalidRequest, "invalid request: empty batch"}, exchange);
    answered = true;
  } else {
    // Each member is answered on its own, as it completes.
    for (const auto& m : message) answered = dispatch(m, exchange) || answered;
  }
  settle_exchange(exchange);
  return answered;
}

bool Connection::dispatch(const json& m, Exchange exchange) {
  if (!m.is_object()) {
    send_error(std::nullopt, {kInvalidRequest, "invalid request: a message is a JSON object"},
               exchange);
    return true;
  }
  std::optional<json> id;
  if (auto it = m.find("id"); it != m.end()) {
    if (!valid_id(*it)) {
      // A response with an unreadable id answers nothing of ours: drop it, as any response
      // we did not ask for.
      if (!m.contains("method") && (m.contains("result") || m.contains("error"))) return false;
      send_error(std::nullopt,
                 {kInvalidRequest, "invalid request: id must be a string or an integer"}, exchange);
      return true;
    }
    id = *it;
  }
  auto version = m.find("jsonrpc");
  if (version == m.end() || *version != kVersion) {
    send_error(id, {kInvalidRequest, "invalid request: jsonrpc must be \"2.0\""}, exchange);
    return true;
  }
  auto method = m.find("method");
  if (method == m.end()) {
    if (id && (m.contains("result") || m.contains("error"))) {
      on_response(*id, m);
      return false;
    }
    send_error(id, {kInvalidRequest, "invalid request: method is missing"}, exchange);
    return true;
  }
  if (!method->is_string()) {
    send_error(id, {kInvalidRequest, "invalid request: method must be a string"}, exchange);
    return true;
  }
  json params = json::object();
  if (auto p = m.find("params"); p != m.end()) {
    if (!p->is_object() && !p->is_array()) {
      send_error(id, {kInvalidRequest, "invalid request: params must be an object or an array"},
                 exchange);
      return true;
    }
    params = *p;
  }
  const std::string& name = method->get_ref<const std::string&>();
  const Dispatcher::Entry* entry = dispatcher_.find(name);
  if (entry == nullptr) {
    // Notifications are never answered, not even with an error.
    if (id) send_error(id, {kMethodNotFound, "method not found: " + name}, exchange);
    return id.has_value();
  }
  if (id && entry->notification_only) {
    send_error(
        id,
        {kInvalidRequest, "invalid request: " + name + " is a notification: send it without an id"},
        exchange);
    return true;
  }
  auto call = std::make_shared<CallContext>(id, name, exchange);
  if (id) {
    std::lock_guard lock(mu_);
    if (in_flight_.count(id->dump()) != 0) {
      send_error(id,
                 {kInvalidRequest, "invalid request: id " + id->dump() +
                                       " is already used by a request in flight; give each "
                                       "request its own id"},
                 exchange);
      return true;
    }
    in_flight_.emplace(id->dump(), call);
    ++active_;
    if (exchange != kNoExchange) ++open_exchanges_[exchange];
  }
  std::weak_ptr<Connection> weak = weak_from_this();
  Reply reply = [weak, call](Result<json> result) {
    if (auto self = weak.lock()) self->finish(call, std::move(result));
  };
  try {
    entry->handler(call, std::move(params), reply);
  } catch (const std::exception& e) {
    // Handlers report failures as values; this is the last line for a bug, not a code path.
    reply(make_error(ErrorCode::kInternal, std::string("internal error: ") + e.what()));
  }
  return id.has_value();
}

void Connection::open_exchange(Exchange exchange) {
  if (exchange == kNoExchange) return;
  std::lock_guard lock(mu_);
  ++open_exchanges_[exchange];
}

void Connection::settle_exchange(Exchange exchange) {
  if (exchange == kNoExchange) return;
  {
    std::lock_guard lock(mu_);
    auto it = open_exchanges_.find(exchange);
    if (it == open_exchanges_.end() || --it->second > 0) return;
    open_exchanges_.erase(it);
  }
  done_(exchange);
}

Exchange Connection::exchange_of(const json* id) const {
  if (id == nullptr) return kNoExchange;
  std::lock_guard lock(mu_);
  auto it = in_flight_.find(id->dump());
  return it == in_flight_.end() ? kNoExchange : it->second->exchange();
}

void Connection::on_response(const json& id, const json& message) {
  ResponseHandler handler;
  {
    std::lock_guard lock(mu_);
    auto it = outgoing_.find(id.dump());
    // Not ours, or answered already: a peer's mistake, with nobody to tell.
    if (it == outgoing_.end()) return;
    handler = std::move(it->second);
    outgoing_.erase(it);
  }
  if (auto result = message.find("result"); result != message.end()) {
    handler(*result);
    return;
  }
  const json& error = message["error"];
  std::string text = "the peer answered with an error";
  if (error.is_object()) {
    if (auto code = error.find("code"); code != error.end() && code->is_number_integer()) {
      text += " " + code->dump();
    }
    if (auto msg = error.find("message"); msg != error.end() && msg->is_string()) {
      text += ": " + msg->get<std::string>();
    }
  }
  handler(make_error(ErrorCode::kInternal, std::move(text)));
}

void Connection::request(const std::string& method, json params, ResponseHandler handler,
                         const json* related) {
  std::unique_lock lock(mu_);
  if (closed_.load()) {
    lock.unlock();
    handler(make_error(ErrorCode::kClosed, "the connection is closed"));
    return;
  }
  json id = next_request_id_++;
  outgoing_.emplace(id.dump(), std::move(handler));
  lock.unlock();
  json out = {{"jsonrpc", kVersion}, {"id", id}, {"method", method}};
  if (!params.is_null()) out["params"] = std::move(params);
  send_(out, exchange_of(related));
}

void Connection::finish(const std::shared_ptr<CallContext>& call, Result<json> result) {
  if (!call->is_request()) return;
  {
    std::lock_guard lock(mu_);
    auto it = in_flight_.find(call->id()->dump());
    // Already answered, or cancelled (then the entry is gone or belongs to a newer request).
    if (it == in_flight_.end() || it->second != call) return;
    in_flight_.erase(it);
  }
  if (call->cancelled() || closed_.load()) {
    settle_exchange(call->exchange());
    release(1);
    return;
  }
  if (!result) {
    send_error(call->id(), to_error_object(result.error()), call->exchange());
  } else {
    send_(json{{"jsonrpc", kVersion}, {"id", *call->id()}, {"result", std::move(*result)}},
          call->exchange());
  }
  settle_exchange(call->exchange());
  release(1);
}

void Connection::release(size_t n) {
  {
    std::lock_guard lock(mu_);
    active_ -= n;
    if (active_ != 0) return;
  }
  idle_cv_.notify_all();
}

bool Connection::wait_idle(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  return idle_cv_.wait_for(lock, timeout, [this] { return active_ == 0; });
}

void Connection::send_error(const std::optional<json>& id, const ErrorObject& error,
                            Exchange exchange) {
  if (closed_.load()) return;
  // An error about a message whose id could not be read carries a null id (JSON-RPC 2.0, 5).
  json out = {{"jsonrpc", kVersion},
              {"id", id ? *id : json(nullptr)},
              {"error", {{"code", error.code}, {"message", error.message}}}};
  if (!error.data.is_null() && !error.data.is_discarded()) out["error"]["data"] = error.data;
  send_(out, exchange);
}

void Connection::cancel(const json& id) {
  std::shared_ptr<CallContext> call;
  {
    std::lock_guard lock(mu_);
    auto it = in_flight_.find(id.dump());
    if (it == in_flight_.end()) return;  // finished already, or never known: nothing to do
    call = std::move(it->second);
    in_flight_.erase(it);
  }
  call->cancel();
  settle_exchange(call->exchange());
  release(1);
}

size_t Connection::cancel_exchange(Exchange exchange) {
  if (exchange == kNoExchange) return 0;
  std::vector<std::shared_ptr<CallContext>> calls;
  {
    std::lock_guard lock(mu_);
    for (auto it = in_flight_.begin(); it != in_flight_.end();) {
      if (it->second->exchange() == exchange) {
        calls.push_back(std::move(it->second));
        it = in_flight_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (auto& call : calls) {
    call->cancel();
    settle_exchange(exchange);
  }
  release(calls.size());
  return calls.size();
}

void Connection::close() {
  std::map<std::string, std::shared_ptr<CallContext>> calls;
  std::map<std::string, ResponseHandler> outgoing;
  {
    std::lock_guard lock(mu_);
    // Under the lock, so that request() either registers before this or sees closed_.
    closed_.store(true);
    calls.swap(in_flight_);
    outgoing.swap(outgoing_);
  }
  for (auto& [key, call] : calls) {
    call->cancel();
    settle_exchange(call->exchange());
  }
  release(calls.size());
  for (auto& [key, handler] : outgoing) {
    handler(make_error(ErrorCode::kClosed, "the connection closed before the answer came"));
  }
}

void Connection::notify(const std::string& method, json params, const json* related) {
  if (closed_.load()) return;
  json out = {{"jsonrpc", kVersion}, {"method", method}};
  if (!params.is_null()) out["params"] = std::move(params);
  send_(out, exchange_of(related));
}

size_t Connection::in_flight() const {
  std::lock_guard lock(mu_);
  return in_flight_.size();
}

}  // namespace hookmcp::rpc
