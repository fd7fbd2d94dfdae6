// JSON-RPC 2.0 (https://www.jsonrpc.org/specification): message checks, dispatch through one
// table of method handlers, and the one place where a failure becomes an error object.
//
// Knows nothing of MCP. A Connection is one peer's conversation; its transport hands it each
// incoming message and gives it a Send for the outgoing ones.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "hookmcp/core/result.hpp"

namespace hookmcp::rpc {

using nlohmann::json;

inline constexpr int kParseError = -32700;
inline constexpr int kInvalidRequest = -32600;
inline constexpr int kMethodNotFound = -32601;
inline constexpr int kInvalidParams = -32602;
inline constexpr int kInternalError = -32603;
inline constexpr int kResourceNotFound = -32002;

struct ErrorObject {
  int code = kInternalError;
  std::string message;
  json data;  // null: none
};

// The one mapping from a failure to its JSON-RPC error: kInvalidArgument is -32602, kNotFound
// -32002, everything else -32603; a protocol_error keeps its own code and data.
ErrorObject to_error_object(const Error& error);

// A failure answered with this JSON-RPC code and data (`category` is what it means to code that
// does not speak JSON-RPC).
Error protocol_error(ErrorCode category, int code, std::string message, const json& data = nullptr);

// The transport's tag for one received message or batch (over HTTP: one POST). Every answer to
// it, and every message sent on behalf of its requests while they run, carries the tag, so that
// the transport routes by the exchange that came in, never by the ids the peer chose (which may
// repeat, or be unreadable). kNoExchange: the transport has a single channel (stdio).
using Exchange = uint64_t;
inline constexpr Exchange kNoExchange = 0;

// The state of one incoming request or notification, shared by the Connection and the handler.
// Thread-safe.
class CallContext {
 public:
  CallContext(std::optional<json> id, std::string method, Exchange exchange = kNoExchange)
      : id_(std::move(id)), method_(std::move(method)), exchange_(exchange) {}

  // A notification has no id and is never answered.
  bool is_request() const { return id_.has_value(); }
  const std::optional<json>& id() const { return id_; }
  const std::string& method() const { return method_; }
  bool cancelled() const { return cancelled_.load(); }
  Exchange exchange() const { return exchange_; }

  // Runs `hook` once when the call is cancelled, at once if it already is. One hook per call;
  // a later one replaces an earlier one that has not run.
  void on_cancel(std::function<void()> hook);

 private:
  friend class Connection;
  // Marks the call cancelled and runs the hook (outside the lock). False if it already was.
  bool cancel();

  const std::optional<json> id_;
  const std::string method_;
  const Exchange exchange_;
  std::atomic<bool> cancelled_{false};
  std::mutex mu_;
  std::function<void()> hook_;  // guarded by mu_
};

// The answer to a request: its result, or the failure that to_error_object maps. Call it
// exactly once, from any thread; calls after the first, after a cancellation, or for a
// notification send nothing.
using Reply = std::function<void(Result<json>)>;
using Handler = std::function<void(const std::shared_ptr<CallContext>& call, json params, Reply)>;

// The table from method name to handler. Built before the Connection starts; read-only after.
class Dispatcher {
 public:
  struct Entry {
    Handler handler;
    // Only ever sent as a notification: a request for it (one with an id) is refused with an
    // error, so that it is still answered.
    bool notification_only = false;
  };
  void add(std::string method, Handler handler) {
    handlers_.insert_or_assign(std::move(method), Entry{std::move(handler), false});
  }
  void add_notification(std::string method, Handler handler) {
    handlers_.insert_or_assign(std::move(method), Entry{std::move(handler), true});
  }
  const Entry* find(std::string_view method) const {
    auto it = handlers_.find(method);
    return it == handlers_.end() ? nullptr : &it->second;
  }

 private:
  std::map<std::string, Entry, std::less<>> handlers_;
};

// Sends one outgoing message (a response, a notification or a request). Must be thread-safe.
using Send = std::function<void(const json& message)>;
// The same, told the exchange the message belongs to: the one whose request it answers or is
// sent on behalf of, else kNoExchange.
using ExchangeSend = std::function<void(const json& message, Exchange exchange)>;
// Told once an exchange is over: every answer it owed has been sent (after the last send
// returned), or will never be (its requests were cancelled, or the connection closed). Called
// for every exchange but kNoExchange, from any thread, never under a lock of the Connection.
using ExchangeDone = std::function<void(Exchange exchange)>;

// The peer's answer to a request of ours: its result, or its error as kInternal with the
// peer's code and message, or kClosed when the connection closed first.
using ResponseHandler = std::function<void(Result<json>)>;

// One peer's conversation: parses, checks and dispatches incoming messages, keeps the requests
// in flight so that they can be cancelled, and answers each request exactly once. It also
// sends requests of its own and hands each response that comes back to the request's handler.
//
// receive() is called by one thread at a time (the transport's reader); replies, notify(),
// request() and cancel() may come from any thread. A response handler runs on the thread that
// received the response (or the one calling close()), never under a lock of the Connection. A
// handler runs on the thread that called receive(), so a handler that may block hands its work to
// another thread and replies from there: a slow request never holds up the next message.
class Connection : public std::enable_shared_from_this<Connection> {
 public:
  static std::shared_ptr<Connection> create(const Dispatcher& dispatcher, Send send);
  static std::shared_ptr<Connection> create(const Dispatcher& dispatcher, ExchangeSend send,
                                            ExchangeDone done);

  // One message as text: a request, a notification, a response, or a batch of them. Returns
  // whether anything in it is (or will be) answered: false for notifications and responses
  // alone. Every request is answered, a malformed one with an error whose id is null when its
  // id cannot be read.
  bool receive(std::string_view text, Exchange exchange = kNoExchange);
  bool receive_json(const json& message, Exchange exchange = kNoExchange);

  // Cancels the request in flight with this id: its hook runs and its reply is dropped.
  void cancel(const json& id);
  // Cancels every request of `exchange` still in flight (its peer stopped listening); returns
  // how many there were.
  size_t cancel_exchange(Exchange exchange);
  // Cancels every request in flight and sends nothing more (the peer is gone).
  void close();

  // Sends a notification to the peer. Dropped after close(). `related`: see RelatedSend.
  void notify(const std::string& method, json params, const json* related = nullptr);

  // Sends a request to the peer with a fresh id; `handler` runs once with the peer's answer, or
  // with kClosed if the connection closes before it comes. `related`: see RelatedSend.
  void request(const std::string& method, json params, ResponseHandler handler,
               const json* related = nullptr);

  size_t in_flight() const;

  // Waits until every request received so far has been answered (or cancelled), up to
  // `timeout`; true when none is left. For a graceful end: answer what was asked, then close.
  bool wait_idle(std::chrono::milliseconds timeout);

 private:
  Connection(const Dispatcher& dispatcher, ExchangeSend send, ExchangeDone done)
      : dispatcher_(dispatcher), send_(std::move(send)), done_(std::move(done)) {}
  // Whether `message` is answered (now with an error, or later by its handler).
  bool dispatch(const json& message, Exchange exchange);
  void on_response(const json& id, const json& message);
  void send_error(const std::optional<json>& id, const ErrorObject& error, Exchange exchange);
  void finish(const std::shared_ptr<CallContext>& call, Result<json> result);
  void release(size_t n);
  // The exchange of the request in flight with this id, or kNoExchange.
  Exchange exchange_of(const json* id) const;
  // One more answer (or a receive() in progress) that `exchange` waits for; and one fewer,
  // which ends the exchange when none is left.
  void open_exchange(Exchange exchange);
  void settle_exchange(Exchange exchange);

  const Dispatcher& dispatcher_;
  const ExchangeSend send_;
  const ExchangeDone done_;
  std::atomic<bool> closed_{false};
  mutable std::mutex mu_;
  // Per exchange still open: the answers it waits for, plus one while receive() runs.
  std::map<Exchange, size_t> open_exchanges_;  // guarded by mu_
  // Requests in flight, by id.dump().
  std::map<std::string, std::shared_ptr<CallContext>> in_flight_;  // guarded by mu_
  // Requests in flight plus answers being sent: zero only once every answer has gone out.
  size_t active_ = 0;  // guarded by mu_
  // Our requests awaiting the peer's response, by id.dump().
  std::map<std::string, ResponseHandler> outgoing_;  // guarded by mu_
  int64_t next_request_id_ = 1;                      // guarded by mu_
  std::condition_variable idle_cv_;
};

}  // namespace hookmcp::rpc
