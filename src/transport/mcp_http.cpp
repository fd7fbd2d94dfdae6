// MCP over HTTP: Streamable HTTP at /mcp (POST, GET, DELETE) and the legacy HTTP+SSE pair, GET
// /sse and POST /messages. The sessions and their streams are in http_sessions.cpp and
// sse_stream.cpp; this file moves their bytes on the connection.
#include <algorithm>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <type_traits>
#include <variant>

#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "hookmcp/core/json.hpp"
#include "hookmcp/mcp/stateless.hpp"
#include "http_sessions.hpp"
#include "listener.hpp"

namespace hookmcp::transport {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::use_awaitable;
using nlohmann::json;

namespace {

// A message's method, "" when it has none or one that is not a string (the peer's input:
// json::value would throw on it).
std::string_view method_of(const json& m) {
  if (!m.is_object()) return {};
  auto method = m.find("method");
  return method != m.end() && method->is_string()
             ? std::string_view(method->get_ref<const std::string&>())
             : std::string_view();
}

bool is_initialize(const json& body) {
  auto one = [](const json& m) { return m.contains("id") && method_of(m) == "initialize"; };
  if (body.is_array()) return std::any_of(body.begin(), body.end(), one);
  return one(body);
}

// The body of an MCP POST as JSON, or the 400 that says why it is not.
std::variant<json, Response> parse_body(const Request& req) {
  auto parsed = parse_json(req.body());
  if (parsed.ok()) return std::move(parsed.value);
  return rpc_error(req, 400, -32700,
                   parsed.too_deep ? "Parse error: the body nests deeper than " +
                                         std::to_string(kMaxJsonDepth) + " levels"
                                   : std::string("Parse error: body is not JSON"));
}

// The answer to a request that would open a session when none could be opened: past the
// session limit, retry later; without an id (no random bytes), a server error, logged, and no
// session at all rather than one whose id could be guessed.
Response session_refused(const Request& req, const Error& why) {
  if (why.code == ErrorCode::kOverloaded) {
    Response res = error(req, 503, "too many MCP sessions");
    res.set(http::field::retry_after, "5");
    return res;
  }
  spdlog::error("MCP session not opened: {}", why.message);
  return rpc_error(req, 500, -32603, "Internal error: no MCP session could be opened");
}

bool supported_version(std::string_view v) {
  return std::any_of(std::begin(mcp::kProtocolVersions), std::end(mcp::kProtocolVersions),
                     [&](const char* known) { return v == known; });
}

// The HTTP status of a stateless request's answer: 400 for the errors MCP 2026-07-28 gives
// one (-32020, -32021, -32022), 200 for anything else.
unsigned stateless_error_status(const std::string& message) {
  json m = json::parse(message, nullptr, false);
  if (!m.is_object() || !m.contains("error") || !m["error"].is_object()) return 200;
  auto code = m["error"].find("code");
  if (code == m["error"].end() || !code->is_number_integer()) return 200;
  int c = code->get<int>();
  return c == mcp::kHeaderMismatch || c == mcp::kMissingClientCapability ||
                 c == mcp::kUnsupportedProtocolVersion
             ? 400
             : 200;
}

// GET and DELETE on /mcp are the session-based revisions' (the standalone stream, ending a
// session): a client of MCP 2026-07-28 gets 405, and listens with subscriptions/listen instead.
std::optional<Response> stateless_refusal(const Request& req) {
  auto version = header(req, "MCP-Protocol-Version");
  if (!version || !mcp::is_stateless_version(*version)) return std::nullopt;
  Response res = error(req, 405,
                       "MCP " + std::string(*version) +
                           " has no sessions: POST each request, and subscriptions/listen for "
                           "notifications");
  res.set(http::field::allow, "POST");
  return res;
}

// Watches the socket of a client that waits for an answer, so that one that hangs up is noticed
// at once rather than when a write fails (or a wait_for_event times out, minutes later). It
// waits for the socket to turn readable and peeks: end of stream or an error means the client
// is gone, and `wake` runs; bytes (a pipelined request) end the watch and stay unread for the
// next request. Lives on the connection's executor, within one coroutine's frame.
class ClientWatch {
 public:
  ClientWatch(tcp::socket& socket, std::function<void()> wake) : state_(std::make_shared<State>()) {
    state_->wake = std::move(wake);
    socket.async_wait(
        tcp::socket::wait_read,
        asio::bind_cancellation_slot(
            state_->stop.slot(), [state = state_, &socket](const beast::error_code& ec) {
              // The watch ended (or was cancelled) before this ran: `socket` may be gone.
              if (!state->watching || ec == asio::error::operation_aborted) return;
              state->watching = false;
              char byte;
              ssize_t n = ::recv(socket.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
              bool closed = ec || n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
              if (!closed) return;
              state->gone = true;
              state->wake();
            }));
  }
  ~ClientWatch() {
    if (!state_->watching) return;
    state_->watching = false;
    state_->stop.emit(asio::cancellation_type::all);
  }
  ClientWatch(const ClientWatch&) = delete;
  ClientWatch& operator=(const ClientWatch&) = delete;

  bool gone() const { return state_->gone; }

 private:
  struct State {
    asio::cancellation_signal stop;
    std::function<void()> wake;
    bool watching = true;
    bool gone = false;
  };
  std::shared_ptr<State> state_;
};

// Wakes a coroutine waiting on `timer` from any thread: the cancel runs on the connection's
// executor `ex` (its strand), and does nothing once the coroutine has let the timer go.
template <typename Executor>
auto waker(Executor ex, const std::weak_ptr<asio::steady_timer>& timer) {
  return [ex, timer] {
    asio::post(ex, [timer] {
      if (auto t = timer.lock()) t->cancel();
    });
  };
}

}  // namespace

awaitable<void> Listener::expire_sessions() {
  asio::steady_timer timer(acceptor_.get_executor());
  while (!stopping_.load()) {
    timer.expires_after(std::chrono::seconds(30));
    auto [ec] = co_await timer.async_wait(asio::as_tuple(use_awaitable));
    if (ec || !acceptor_.is_open()) co_return;
    sessions_->expire_idle();
  }
}

template <typename Stream>
awaitable<bool> Listener::serve_mcp(Stream& stream, Request& req) {
  if (!sessions_) co_return co_await write(stream, error(req, 404, "MCP is not served here"));
  if (auto denial = check_host_and_origin(options_.mcp_access, header(req, http::field::host),
                                          header(req, http::field::origin))) {
    co_return co_await write(stream, denied(req, *denial));
  }
  auto authorization = header(req, http::field::authorization);
  std::variant<Caller, Denial> who;
  if (may_block(options_.mcp_access, authorization)) {
    // The issuer's keys must be fetched first: not on an I/O thread. The check is a named
    // object, not a temporary of the co_await expression: GCC 12 destroys such temporaries
    // twice (PR 100611).
    auto check =
        [this, token = std::string(*authorization)]() -> awaitable<std::variant<Caller, Denial>> {
      co_return authenticate(options_.mcp_access, token, mcp::kLocalPrincipal);
    };
    who = co_await asio::co_spawn(blocking_pool_, std::move(check), use_awaitable);
  } else {
    who = authenticate(options_.mcp_access, authorization, mcp::kLocalPrincipal);
  }
  if (auto* denial = std::get_if<Denial>(&who)) {
    spdlog::info("MCP {} {}: {}", denial->status, path_of(req), denial->message);
    co_return co_await write(stream, denied(req, *denial));
  }
  const Caller& caller = std::get<Caller>(who);
  if (!caller.may_read) {
    co_return co_await write(
        stream, denied(req, insufficient_scope(options_.mcp_access, auth::kReadScope)));
  }
  std::string_view path = path_of(req);
  if (path == "/mcp") {
    switch (req.method()) {
      case http::verb::post:
        co_return co_await mcp_post(stream, req, caller);
      case http::verb::get:
        co_return co_await mcp_get(stream, req, caller);
      case http::verb::delete_:
        co_return co_await mcp_delete(stream, req, caller);
      default:
        break;
    }
    Response res = error(req, 405, "use POST, GET or DELETE on /mcp");
    res.set(http::field::allow, "GET, POST, DELETE");
    co_return co_await write(stream, std::move(res));
  }
  if (path == "/sse" && req.method() == http::verb::get) {
    co_return co_await legacy_get(stream, req, caller);
  }
  if (path == "/messages" && req.method() == http::verb::post) {
    co_return co_await legacy_post(stream, req, caller);
  }
  Response res = error(req, 405, path == "/sse" ? "use GET on /sse" : "use POST on /messages");
  res.set(http::field::allow, path == "/sse" ? "GET" : "POST");
  co_return co_await write(stream, std::move(res));
}

// Streamable HTTP, POST: one message or a batch; requests are answered on an SSE stream (or
// as JSON when the client does not accept SSE), everything else with 202.
template <typename Stream>
awaitable<bool> Listener::mcp_post(Stream& stream, Request& req, const Caller& caller) {
  auto parsed = parse_body(req);
  if (auto* refusal = std::get_if<Response>(&parsed)) {
    co_return co_await write(stream, std::move(*refusal));
  }
  const json& body = std::get<json>(parsed);
  if (!body.is_object() && (!body.is_array() || body.empty())) {
    co_return co_await write(
        stream, rpc_error(req, 400, -32600,
                          "Invalid Request: a POST carries one JSON-RPC message (an object) or "
                          "a batch of them (a non-empty array)"));
  }
  if (auto denial = check_scope(caller, body))
    co_return co_await write(stream, denied(req, *denial));
  auto version = header(req, "MCP-Protocol-Version");
  // MCP 2026-07-28: a request that says so in its _meta, or one sent with that version and no
  // session, is served on its own; an Mcp-Session-Id it carries is ignored.
  if (mcp::is_stateless_message(body) ||
      (body.is_object() && !header(req, "Mcp-Session-Id") && version &&
       mcp::is_stateless_version(*version) && !is_initialize(body))) {
    co_return co_await mcp_stateless_post(stream, req, body, caller);
  }
  if (version && !supported_version(*version)) {
    co_return co_await write(
        stream, error(req, 400, "unsupported MCP-Protocol-Version " + std::string(*version)));
  }
  std::shared_ptr<HttpSession> session;
  if (auto id = header(req, "Mcp-Session-Id")) {
    session = sessions_->find(std::string(*id), caller.principal);
    if (!session)
      co_return co_await write(
          stream, error(req, 404, "unknown or expired Mcp-Session-Id; initialize again"));
  } else if (is_initialize(body)) {
    auto created = sessions_->create(/*legacy=*/false, caller.principal);
    if (!created) co_return co_await write(stream, session_refused(req, created.error()));
    session = std::move(*created);
  } else {
    co_return co_await write(
        stream, rpc_error(req, 400, -32600, "Bad Request: Mcp-Session-Id header is required"));
  }

  auto answers = session->receive_post(body);
  if (!answers) {
    Response res = make_response(req, 202, "");
    res.set("Mcp-Session-Id", session->id());
    co_return co_await write(stream, std::move(res));
  }
  // From sequence 0: answers given while receive_post() ran are already in the stream.
  bool keep = accepts(req, "text/event-stream")
                  ? co_await write_sse(stream, req, answers, session, uint64_t{0}, /*prime=*/true)
                  : co_await write_json(stream, req, answers, session, /*batch=*/body.is_array());
  abandon_unless_resumed(std::move(session), std::move(answers));
  co_return keep;
}

// A request of MCP 2026-07-28: checked (headers against the body, _meta, version, method),
// then served by a session of its own that ends with it. Its answer, and what is sent on its
// behalf (progress, log messages at the level it asked for), go on this POST's stream; a client
// that leaves cancels it, since nothing could resume it.
template <typename Stream>
awaitable<bool> Listener::mcp_stateless_post(Stream& stream, Request& req, const json& body,
                                             const Caller& caller) {
  mcp::StatelessHeaders headers{header(req, "MCP-Protocol-Version"), header(req, "Mcp-Method"),
                                header(req, "Mcp-Name")};
  auto refusal = mcp::check_stateless_request(body, &headers);
  if (!refusal && method_of(body) == "tools/call") {
    // Arguments the tool asks clients to mirror in Mcp-Param-* headers must agree with them.
    json params = body.value("params", json::object());
    if (auto name = params.find("name"); name != params.end() && name->is_string()) {
      if (auto schema = sessions_->server().tool_input_schema(name->get<std::string>())) {
        refusal = mcp::check_param_headers(body, *schema, [&req](const std::string& header_name) {
          return header(req, "Mcp-Param-" + header_name);
        });
      }
    }
  }
  if (refusal) {
    co_return co_await write(
        stream,
        make_response(req, static_cast<unsigned>(refusal->http_status),
                      refusal->response.dump(-1, ' ', false, json::error_handler_t::replace)));
  }
  auto session = sessions_->stateless(caller.principal);
  auto answers = session->receive_post(body);
  if (!answers) {
    session->close();
    co_return co_await write(stream, make_response(req, 202, ""));
  }
  // Refused at once, before anything ran (a client capability the tool needs and the request
  // did not declare): the era's errors have their HTTP status, so the answer is plain JSON.
  if (auto only = answers->sole_message()) {
    if (unsigned status = stateless_error_status(*only); status != 200) {
      session->close();
      co_return co_await write(stream, make_response(req, status, *only));
    }
  }
  bool keep = accepts(req, "text/event-stream")
                  ? co_await write_sse(stream, req, answers, session, uint64_t{0}, /*prime=*/false)
                  : co_await write_json(stream, req, answers, session, /*batch=*/false);
  session->close();
  co_return keep;
}

// A POST's client left before its answers were all sent. It may resume the stream with
// Last-Event-ID (MCP: a disconnection is not a cancellation); if none has by the end of the
// grace period, the requests are cancelled, which frees what they hold (a wait_for_event's
// slot, a search's worker).
void Listener::abandon_unless_resumed(std::shared_ptr<HttpSession> session,
                                      std::shared_ptr<SseStream> answers) {
  if (!answers->unattended()) return;
  auto timer = std::make_shared<asio::steady_timer>(ioc_, options_.resume_grace);
  timer->async_wait(
      [this, timer, session = std::move(session), answers = std::move(answers)](beast::error_code) {
        if (answers->unattended()) metrics_.mcp_requests_abandoned.inc(session->abandon(answers));
      });
}

// Streamable HTTP, GET: the standalone stream, or the stream an event id belongs to when the
// client resumes with Last-Event-ID.
template <typename Stream>
awaitable<bool> Listener::mcp_get(Stream& stream, Request& req, const Caller& caller) {
  if (auto stateless = stateless_refusal(req))
    co_return co_await write(stream, std::move(*stateless));
  if (!accepts(req, "text/event-stream")) {
    co_return co_await write(stream, error(req, 406, "GET /mcp serves text/event-stream"));
  }
  auto id = header(req, "Mcp-Session-Id");
  if (!id) co_return co_await write(stream, error(req, 400, "Mcp-Session-Id header is required"));
  auto session = sessions_->find(std::string(*id), caller.principal);
  if (!session)
    co_return co_await write(stream, error(req, 404, "unknown or expired Mcp-Session-Id"));
  std::shared_ptr<SseStream> target = session->standalone();
  std::optional<uint64_t> last_seq;
  if (auto last = header(req, "Last-Event-ID")) {
    if (auto found = session->find_event(std::string(*last))) {
      target = found->first;
      last_seq = found->second;
    }
  }
  co_return co_await stream_events(stream, req, std::move(target), std::move(session), last_seq,
                                   /*prime=*/!last_seq, {});
}

template <typename Stream>
awaitable<bool> Listener::mcp_delete(Stream& stream, Request& req, const Caller& caller) {
  if (auto stateless = stateless_refusal(req))
    co_return co_await write(stream, std::move(*stateless));
  auto id = header(req, "Mcp-Session-Id");
  if (!id) co_return co_await write(stream, error(req, 400, "Mcp-Session-Id header is required"));
  if (!sessions_->find(std::string(*id), caller.principal)) {
    co_return co_await write(stream, error(req, 404, "unknown or expired Mcp-Session-Id"));
  }
  sessions_->erase(std::string(*id));
  co_return co_await write(stream, make_response(req, 200, R"({"deleted":true})"));
}

// Legacy HTTP+SSE (2024-11-05): GET /sse opens a session whose every message goes to this
// stream; its first event names the endpoint for POSTs.
template <typename Stream>
awaitable<bool> Listener::legacy_get(Stream& stream, Request& req, const Caller& caller) {
  auto created = sessions_->create(/*legacy=*/true, caller.principal);
  if (!created) co_return co_await write(stream, session_refused(req, created.error()));
  std::shared_ptr<HttpSession> session = std::move(*created);
  auto target = session->standalone();
  target->push(std::make_shared<const std::string>("/messages?sessionId=" + session->id()),
               "endpoint");
  // The legacy session lives as long as its stream.
  auto end_session = [this, id = session->id()] { sessions_->erase(id); };
  co_return co_await stream_events(stream, req, std::move(target), std::move(session), uint64_t{0},
                                   /*prime=*/false, std::move(end_session));
}

template <typename Stream>
awaitable<bool> Listener::legacy_post(Stream& stream, Request& req, const Caller& caller) {
  auto session = sessions_->find(query_param(req, "sessionId"), caller.principal);
  if (!session || !session->legacy()) {
    co_return co_await write(stream, error(req, 404, "unknown sessionId; open GET /sse first"));
  }
  auto parsed = parse_body(req);
  if (auto* refusal = std::get_if<Response>(&parsed)) {
    co_return co_await write(stream, std::move(*refusal));
  }
  if (auto denial = check_scope(caller, std::get<json>(parsed))) {
    co_return co_await write(stream, denied(req, *denial));
  }
  session->receive(std::get<json>(parsed));
  co_return co_await write(stream, make_response(req, 202, ""));
}

// A long-lived stream (GET /mcp, GET /sse). Over plain TCP its socket moves to the streams'
// own thread, so that a webhook never queues behind notification writes to a thousand
// sessions; the connection closes when the stream ends. A TLS stream stays where it is: its
// session is bound to the socket. `ended` runs once the stream has ended.
template <typename Stream>
awaitable<bool> Listener::stream_events(Stream& stream, Request& req,
                                        std::shared_ptr<SseStream> sse,
                                        std::shared_ptr<HttpSession> session,
                                        std::optional<uint64_t> last_seq, bool prime,
                                        std::function<void()> ended) {
  if constexpr (std::is_same_v<Stream, beast::tcp_stream>) {
    if (auto moved = move_to_streams(stream.socket())) {
      req.keep_alive(false);
      // Counted as before the move, from now on: a stopping server lets it write its queue.
      open_connections_.fetch_add(1);
      in_flight_.fetch_add(1);
      asio::co_spawn(moved->get_executor(),
                     moved_stream(std::move(*moved), std::move(req), std::move(sse),
                                  std::move(session), last_seq, prime, std::move(ended)),
                     asio::detached);
      co_return false;  // the socket is no longer this connection's
    }
  }
  bool keep = co_await write_sse(stream, req, sse, session, last_seq, prime);
  if (ended) ended();
  co_return keep;
}

// The socket, now served by streams_ioc_; nothing when it cannot move (it stays put then).
std::optional<tcp::socket> Listener::move_to_streams(tcp::socket& socket) {
  beast::error_code ec;
  auto protocol = socket.local_endpoint(ec).protocol();
  if (ec) return std::nullopt;
  tcp::socket moved(streams_ioc_.get_executor());  // one thread: no strand needed
  auto fd = socket.release(ec);
  if (ec) return std::nullopt;
  moved.assign(protocol, fd, ec);
  if (ec) {
    ::close(fd);
    return std::nullopt;
  }
  return moved;
}

awaitable<void> Listener::moved_stream(tcp::socket socket, Request req,
                                       std::shared_ptr<SseStream> sse,
                                       std::shared_ptr<HttpSession> session,
                                       std::optional<uint64_t> last_seq, bool prime,
                                       std::function<void()> ended) {
  beast::tcp_stream stream(std::move(socket));
  co_await write_sse(stream, req, sse, session, last_seq, prime);
  if (ended) ended();
  beast::error_code ec;
  stream.socket().shutdown(tcp::socket::shutdown_send, ec);
  in_flight_.fetch_sub(1);
  open_connections_.fetch_sub(1);
}

// Streams `sse` to the client as text/event-stream until it finishes (or the client falls
// too far behind, or the server stops), with keep-alive comments while idle.
template <typename Stream>
awaitable<bool> Listener::write_sse(Stream& stream, const Request& req,
                                    std::shared_ptr<SseStream> sse,
                                    std::shared_ptr<HttpSession> session,
                                    std::optional<uint64_t> last_seq, bool prime) {
  auto ex = co_await asio::this_coro::executor;
  auto timer = std::make_shared<asio::steady_timer>(ex);
  auto wake = waker(ex, timer);
  auto token = sse->attach(wake, last_seq);
  if (!token) {
    co_return co_await write(stream,
                             error(req, 409, "this stream is already open on another connection"));
  }
  ClientWatch client(lowest(stream).socket(), wake);

  http::response<http::empty_body> res{http::status::ok, req.version()};
  res.set(http::field::server, "hookmcp");
  res.set(http::field::content_type, "text/event-stream");
  res.set(http::field::cache_control, "no-cache, no-transform");
  if (!session->id().empty()) res.set("Mcp-Session-Id", session->id());
  res.keep_alive(req.keep_alive());
  res.chunked(true);
  http::response_serializer<http::empty_body> serializer{res};
  lowest(stream).expires_after(options_.header_timeout);
  auto [hec, hn] =
      co_await http::async_write_header(stream, serializer, asio::as_tuple(use_awaitable));
  bool ok = !hec;
  if (ok && prime) {
    // The priming event: an id to resume from, and how soon to reconnect.
    std::string priming = "id: " + sse->id() + "-0\nretry: 1000\ndata: \n\n";
    ok = co_await write_chunk(stream, priming);
  }
  bool finished = false;
  while (ok) {
    auto batch = sse->take(*token);
    if (batch.superseded) {
      ok = false;  // the client resumed on another connection: this one is dead
      break;
    }
    if (batch.overflowed) {
      spdlog::warn("MCP session {}: client too slow, stream cut off", session->id());
      ok = false;
      break;
    }
    if (!batch.bytes.empty()) {
      ok = co_await write_chunk(stream, batch.bytes);
      continue;
    }
    if (batch.finished) {
      finished = true;
      break;
    }
    if (stopping_.load()) break;
    if (client.gone()) {
      ok = false;
      break;
    }
    timer->expires_after(options_.sse_keep_alive);
    auto [ec] = co_await timer->async_wait(asio::as_tuple(use_awaitable));
    if (!ec) {
      session->touch();
      ok = co_await write_chunk(stream, SseStream::keep_alive());
    }
  }
  sse->detach(*token);
  if (!ok) co_return false;
  lowest(stream).expires_after(options_.header_timeout);
  auto [lec, ln] =
      co_await asio::async_write(stream, http::make_chunk_last(), asio::as_tuple(use_awaitable));
  co_return finished && !lec && res.keep_alive() && !stopping_.load();
}

template <typename Stream>
awaitable<bool> Listener::write_chunk(Stream& stream, const std::string& bytes) {
  lowest(stream).expires_after(std::chrono::seconds(30));
  auto [ec, n] = co_await asio::async_write(stream, http::make_chunk(asio::buffer(bytes)),
                                            asio::as_tuple(use_awaitable));
  co_return !ec;
}

// The answers to a POST as one JSON document, for clients that do not take SSE.
// `batch`: the POST carried an array, which is answered with an array (JSON-RPC 2.0, 6).
template <typename Stream>
awaitable<bool> Listener::write_json(Stream& stream, const Request& req,
                                     std::shared_ptr<SseStream> answers,
                                     std::shared_ptr<HttpSession> session, bool batch) {
  auto ex = co_await asio::this_coro::executor;
  auto timer = std::make_shared<asio::steady_timer>(ex);
  auto wake = waker(ex, timer);
  // A fresh stream of this POST alone: nothing else can be attached to it.
  auto token = answers->attach(wake, uint64_t{0}, SseStream::Takes::kMessages);
  ClientWatch client(lowest(stream).socket(), wake);
  std::vector<std::string> messages;
  for (;;) {
    auto taken = answers->take(token.value_or(0));
    for (auto& m : taken.messages) messages.push_back(*m);
    if (taken.finished || taken.superseded || stopping_.load()) break;
    if (client.gone()) {
      answers->detach(token.value_or(0));
      co_return false;
    }
    timer->expires_after(std::chrono::seconds(60));
    co_await timer->async_wait(asio::as_tuple(use_awaitable));
  }
  answers->detach(token.value_or(0));
  // Progress notifications have no place in a single JSON answer: keep the responses.
  std::vector<std::string> responses;
  for (auto& m : messages) {
    json parsed = json::parse(m, nullptr, false);
    if (!parsed.is_discarded() && !parsed.contains("method")) responses.push_back(std::move(m));
  }
  std::string body;
  if (responses.size() == 1 && !batch) {
    body = std::move(responses[0]);
  } else {
    body = "[";
    for (size_t i = 0; i < responses.size(); ++i) body += (i ? "," : "") + responses[i];
    body += "]";
  }
  Response res = make_response(req, 200, std::move(body));
  if (!session->id().empty()) res.set("Mcp-Session-Id", session->id());
  co_return co_await write(stream, std::move(res));
}

// Called from listener.cpp, for both streams.
template awaitable<bool> Listener::serve_mcp(TcpStream&, Request&);
template awaitable<bool> Listener::serve_mcp(TlsStream&, Request&);

std::optional<Denial> Listener::check_scope(const Caller& caller, const json& body) const {
  if (caller.may_write) return std::nullopt;
  auto writes = [this](const json& m) {
    if (method_of(m) != "tools/call") return false;
    auto params = m.find("params");
    if (params == m.end() || !params->is_object()) return false;
    auto name = params->find("name");
    return name != params->end() && name->is_string() &&
           sessions_->server().tool_writes(name->get_ref<const std::string&>());
  };
  bool any = body.is_array() ? std::any_of(body.begin(), body.end(), writes) : writes(body);
  if (!any) return std::nullopt;
  return insufficient_scope(options_.mcp_access, auth::kWriteScope);
}

Response Listener::denied(const Request& req, const Denial& denial) const {
  Response res = error(req, static_cast<unsigned>(denial.status), denial.message);
  if (!denial.www_authenticate.empty()) {
    res.set(http::field::www_authenticate, denial.www_authenticate);
  }
  if (denial.status == 503) res.set(http::field::retry_after, "10");
  return res;
}

}  // namespace hookmcp::transport
