#include "hookmcp/transport/http_server.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <type_traits>
#include <variant>
#include <vector>

#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "hookmcp/core/json.hpp"
#include "http_framing.hpp"
#include "sse.hpp"

namespace hookmcp::transport {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using asio::awaitable;
using asio::use_awaitable;
using nlohmann::json;

namespace {

constexpr std::string_view kHooksPrefix = "/hooks/";
constexpr size_t kReadBufferBytes = size_t{8} * 1024;
// How long and how much a refused request's remaining bytes are read and dropped for.
constexpr auto kLingerTime = std::chrono::seconds(2);
constexpr size_t kLingerBytes = size_t{4} << 20;

using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;

Response make_response(const Request& req, unsigned status, std::string body,
                       std::string_view content_type = "application/json") {
  Response res{static_cast<http::status>(status), req.version()};
  res.set(http::field::server, "hookmcp");
  res.set(http::field::content_type, content_type);
  res.keep_alive(req.keep_alive());
  res.body() = std::move(body);
  res.prepare_payload();
  return res;
}

Response from_intake(const Request& req, intake::Response r) {
  Response res =
      make_response(req, static_cast<unsigned>(r.status), std::move(r.body), r.content_type);
  if (r.retry_after_s) res.set(http::field::retry_after, std::to_string(*r.retry_after_s));
  return res;
}

Response error(const Request& req, unsigned status, const std::string& message) {
  return from_intake(req, intake::Intake::error_response(static_cast<int>(status), message));
}

// A JSON-RPC error answered over HTTP before any session sees the message.
Response rpc_error(const Request& req, unsigned status, int code, const std::string& message) {
  json body = {
      {"jsonrpc", "2.0"}, {"id", nullptr}, {"error", {{"code", code}, {"message", message}}}};
  return make_response(req, status, body.dump());
}

std::string_view path_of(const Request& req) {
  std::string_view target = req.target();
  return target.substr(0, target.find('?'));
}

// The value of `name` in the target's query string ("" when absent).
std::string query_param(const Request& req, std::string_view name) {
  std::string_view target = req.target();
  auto q = target.find('?');
  if (q == std::string_view::npos) return {};
  std::string_view query = target.substr(q + 1);
  while (!query.empty()) {
    auto amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    auto eq = pair.find('=');
    if (pair.substr(0, eq) == name) {
      return eq == std::string_view::npos ? std::string() : std::string(pair.substr(eq + 1));
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return {};
}

std::optional<std::string_view> header(const Request& req, http::field field) {
  auto it = req.find(field);
  if (it == req.end()) return std::nullopt;
  return std::string_view(it->value());
}

std::optional<std::string_view> header(const Request& req, std::string_view name) {
  auto it = req.find(name);
  if (it == req.end()) return std::nullopt;
  return std::string_view(it->value());
}

bool accepts(const Request& req, std::string_view type) {
  auto accept = header(req, http::field::accept);
  return accept && (accept->find(type) != std::string_view::npos ||
                    accept->find("*/*") != std::string_view::npos);
}

bool is_initialize(const json& body) {
  auto one = [](const json& m) {
    return m.is_object() && m.contains("id") && m.value("method", "") == "initialize";
  };
  if (body.is_array()) return std::any_of(body.begin(), body.end(), one);
  return one(body);
}

template <typename Stream>
beast::tcp_stream& lowest(Stream& s) {
  return beast::get_lowest_layer(s);
}

// Hands a delivery to intake and resumes the calling coroutine, on its own executor, once the
// answer is ready (which for a stored event is after its commit, on the writer thread).
template <typename Token>
auto async_intake(intake::Intake& intake, intake::Request request, Token&& token) {
  return asio::async_initiate<Token, void(intake::Response)>(
      [&intake](auto handler, intake::Request&& request) {
        using Handler = decltype(handler);
        struct State {
          Handler handler;
          asio::executor_work_guard<asio::associated_executor_t<Handler>> work;
        };
        auto ex = asio::get_associated_executor(handler);
        auto state = std::make_shared<State>(State{std::move(handler), asio::make_work_guard(ex)});
        intake.handle(std::move(request), [state](intake::Response response) {
          auto ex = state->work.get_executor();
          asio::post(ex, [state, response = std::move(response)]() mutable {
            std::move(state->handler)(std::move(response));
            state->work.reset();
          });
        });
      },
      token, std::move(request));
}

// Bytes of request bodies being read, held for one request; released when it is answered.
class BodyReservation {
 public:
  BodyReservation(std::atomic<uint64_t>& counter, uint64_t bytes, uint64_t limit)
      : counter_(counter), bytes_(bytes) {
    uint64_t before = counter_.fetch_add(bytes_);
    if (before + bytes_ > limit) {
      counter_.fetch_sub(bytes_);
      bytes_ = 0;
      ok_ = false;
    }
  }
  ~BodyReservation() { counter_.fetch_sub(bytes_); }
  BodyReservation(const BodyReservation&) = delete;
  BodyReservation& operator=(const BodyReservation&) = delete;
  explicit operator bool() const { return ok_; }

 private:
  std::atomic<uint64_t>& counter_;
  uint64_t bytes_;
  bool ok_ = true;
};

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

// A connection that stop() may need to interrupt. Touched only on the connection's executor.
struct Connection {
  beast::tcp_stream* stream = nullptr;
};

class Server final : public HttpServer {
 public:
  Server(const HttpOptions& options, intake::Intake& intake, store::Store& store, Metrics& metrics)
      : options_(options),
        intake_(intake),
        store_(store),
        metrics_(metrics),
        acceptor_(asio::make_strand(ioc_)) {
    if (options_.mcp) {
      sessions_ = std::make_unique<HttpSessions>(*options_.mcp, metrics_, options_.max_mcp_sessions,
                                                 options_.mcp_session_idle_timeout);
    }
    metrics_.set_limit("max_json_depth", static_cast<double>(kMaxJsonDepth));
    metrics_.set_limit("mcp_resume_grace_seconds",
                       static_cast<double>(options_.resume_grace.count()));
    metrics_.set_limit("max_header_bytes", static_cast<double>(options_.max_header_bytes));
    metrics_.set_limit("max_header_fields", static_cast<double>(kMaxHeaderFields));
  }

  Status listen() {
    if (auto s = setup_tls(); !s) return s;
    beast::error_code ec;
    auto address = asio::ip::make_address(options_.listen.host, ec);
    if (ec) {
      // A name such as "localhost": resolve it.
      tcp::resolver resolver(ioc_);
      auto results =
          resolver.resolve(options_.listen.host, std::to_string(options_.listen.port), ec);
      if (ec || results.empty()) {
        return make_error(ErrorCode::kInvalidArgument,
                          "cannot resolve listen host " + options_.listen.host);
      }
      address = results.begin()->endpoint().address();
    }
    tcp::endpoint endpoint(address, options_.listen.port);
    acceptor_.open(endpoint.protocol(), ec);
    if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(endpoint, ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
      // stdio tells "another process has the address" apart from other failures: it follows.
      return make_error(ec == asio::error::address_in_use ? ErrorCode::kInUse : ErrorCode::kIo,
                        "cannot listen on " + options_.listen.to_string() + ": " + ec.message());
    }
    bound_ = acceptor_.local_endpoint();
    asio::co_spawn(acceptor_.get_executor(), accept_loop(), asio::detached);
    if (sessions_) asio::co_spawn(acceptor_.get_executor(), expire_sessions(), asio::detached);
    int io_threads = options_.io_threads;
    if (io_threads <= 0) io_threads = static_cast<int>(std::thread::hardware_concurrency()) - 1;
    io_threads = std::max(1, io_threads);
    one_io_thread_ = io_threads == 1;
    for (int i = 0; i < io_threads; ++i) {
      threads_.emplace_back([this] { ioc_.run(); });
    }
    threads_.emplace_back([this] { streams_ioc_.run(); });
    return {};
  }

  config::Endpoint local_endpoint() const override {
    return {bound_.address().to_string(), bound_.port()};
  }

  std::string url() const override {
    std::string host = bound_.address().to_string();
    if (bound_.address().is_v6()) host = "[" + host + "]";
    return (tls_ ? "https://" : "http://") + host + ":" + std::to_string(bound_.port());
  }

  void stop(std::chrono::milliseconds grace) override {
    asio::post(acceptor_.get_executor(), [this] {
      beast::error_code ec;
      acceptor_.close(ec);
    });
    stopping_.store(true);
    // Streams end once their queues are written; reads waiting for a request are interrupted;
    // requests waiting for a commit keep going.
    if (sessions_) sessions_->close_all();
    cancel_reads();
    auto deadline = std::chrono::steady_clock::now() + grace;
    while (in_flight_.load() > 0 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    ioc_.stop();
    streams_ioc_.stop();
    for (auto& t : threads_) t.join();
    threads_.clear();
  }

  ~Server() override {
    if (!threads_.empty()) stop(std::chrono::milliseconds(0));
  }

 private:
  Status setup_tls() {
    if (options_.tls_cert_file.empty() && options_.tls_key_file.empty()) return {};
    tls_.emplace(ssl::context::tls_server);
    tls_->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                      ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
    beast::error_code ec;
    tls_->use_certificate_chain_file(options_.tls_cert_file, ec);
    if (ec) {
      return make_error(
          ErrorCode::kInvalidArgument,
          "tls.cert_file: cannot load " + options_.tls_cert_file + ": " + ec.message());
    }
    tls_->use_private_key_file(options_.tls_key_file, ssl::context::pem, ec);
    if (ec) {
      return make_error(ErrorCode::kInvalidArgument,
                        "tls.key_file: cannot load " + options_.tls_key_file + ": " + ec.message());
    }
    return {};
  }

  awaitable<void> accept_loop() {
    for (;;) {
      auto [ec, socket] =
          co_await acceptor_.async_accept(connection_executor(), asio::as_tuple(use_awaitable));
      if (ec == asio::error::operation_aborted || !acceptor_.is_open()) co_return;
      if (ec) {
        // Out of descriptors and the like: log, pause, keep accepting.
        spdlog::warn("accept failed: {}", ec.message());
        asio::steady_timer t(acceptor_.get_executor(), std::chrono::milliseconds(50));
        co_await t.async_wait(asio::as_tuple(use_awaitable));
        continue;
      }
      // SSE events are small writes that must leave at once, not wait for Nagle's delayed ACK.
      beast::error_code nodelay_ec;
      socket.set_option(tcp::no_delay(true), nodelay_ec);
      auto ex = socket.get_executor();
      asio::co_spawn(ex, connection(std::move(socket)), asio::detached);
    }
  }

  // Where a connection runs: a strand of its own when several threads run ioc_. With one thread
  // its handlers never run at once anyway, and a strand only costs a lock and a reference count
  // on every step of every request (about 5% of the I/O thread).
  asio::any_io_executor connection_executor() {
    if (one_io_thread_) return ioc_.get_executor();
    return asio::make_strand(ioc_);
  }

  awaitable<void> expire_sessions() {
    asio::steady_timer timer(acceptor_.get_executor());
    while (!stopping_.load()) {
      timer.expires_after(std::chrono::seconds(30));
      auto [ec] = co_await timer.async_wait(asio::as_tuple(use_awaitable));
      if (ec || !acceptor_.is_open()) co_return;
      sessions_->expire_idle();
    }
  }

  void cancel_reads() {
    std::lock_guard lock(connections_mu_);
    for (const auto& c : connections_) {
      asio::post(c.second, [c = c.first] {
        if (c->stream) c->stream->socket().cancel();
      });
    }
  }

  awaitable<void> connection(tcp::socket socket) {
    auto self = std::make_shared<Connection>();
    auto ex = socket.get_executor();
    size_t open = open_connections_.fetch_add(1) + 1;
    {
      std::lock_guard lock(connections_mu_);
      connections_.emplace(self, ex);
    }
    if (tls_) {
      beast::ssl_stream<beast::tcp_stream> stream(beast::tcp_stream(std::move(socket)), *tls_);
      self->stream = &lowest(stream);
      lowest(stream).expires_after(options_.header_timeout);
      auto [ec] =
          co_await stream.async_handshake(ssl::stream_base::server, asio::as_tuple(use_awaitable));
      if (!ec) {
        co_await run(stream, open);
        lowest(stream).expires_after(std::chrono::seconds(2));
        co_await stream.async_shutdown(asio::as_tuple(use_awaitable));
      }
      self->stream = nullptr;
    } else {
      beast::tcp_stream stream(std::move(socket));
      self->stream = &stream;
      co_await run(stream, open);
      beast::error_code ec;
      stream.socket().shutdown(tcp::socket::shutdown_send, ec);
      self->stream = nullptr;
    }
    {
      std::lock_guard lock(connections_mu_);
      connections_.erase(self);
    }
    open_connections_.fetch_sub(1);
  }

  template <typename Stream>
  awaitable<void> run(Stream& stream, size_t open) {
    if (open > options_.max_connections) {
      co_await reject_connection(stream);
    } else {
      co_await serve(stream);
    }
  }

  template <typename Stream>
  awaitable<void> reject_connection(Stream& stream) {
    metrics_.reject(RejectReason::kOverloaded);
    Request req;
    req.version(11);
    Response res = error(req, 503, "too many connections, retry later");
    res.set(http::field::retry_after, "1");
    res.keep_alive(false);
    lowest(stream).expires_after(std::chrono::seconds(5));
    co_await http::async_write(stream, res, asio::as_tuple(use_awaitable));
  }

  template <typename Stream>
  awaitable<void> serve(Stream& stream) {
    beast::flat_buffer buffer;
    // Room for a typical delivery, headers and body, in one read: a buffer that starts empty
    // grows from 512 bytes and takes five reads for a 2 KB webhook.
    buffer.reserve(kReadBufferBytes);
    const FramingLimits limits{options_.max_header_bytes, options_.max_body_bytes};
    while (!stopping_.load()) {
      http::request_parser<http::string_body> parser;
      parser.header_limit(limits.max_header_bytes);
      parser.body_limit(limits.max_body_bytes);

      lowest(stream).expires_after(options_.header_timeout);
      auto [ec, n] =
          co_await http::async_read_header(stream, buffer, parser, asio::as_tuple(use_awaitable));
      if (ec) {
        // end_of_stream, timeouts and cancellation are ordinary endings; a malformed request
        // is answered.
        if (auto refusal = refusal_for_read_error(ec, unparsed(buffer), limits)) {
          co_await refuse(stream, parser.get(), *refusal);
        }
        co_return;
      }
      // Refused before any byte of the body is read: what follows the head cannot be framed.
      if (auto refusal = admit_head(parser.get())) {
        co_await refuse(stream, parser.get(), *refusal);
        co_return;
      }
      in_flight_.fetch_add(1);
      bool keep_alive = co_await serve_request(stream, buffer, parser, limits);
      in_flight_.fetch_sub(1);
      if (!keep_alive) co_return;
    }
  }

  static std::string_view unparsed(const beast::flat_buffer& buffer) {
    auto data = buffer.data();
    return {static_cast<const char*>(data.data()), data.size()};
  }

  // Answers a request the listener does not serve (see http_framing.hpp), counts it, and ends
  // the connection.
  template <typename Stream>
  awaitable<void> refuse(Stream& stream, const Request& req, const Refusal& refusal) {
    if (refusal.status == 413) {
      metrics_.webhooks_received.inc();
      metrics_.reject(RejectReason::kTooLarge);
    } else {
      metrics_.reject(RejectReason::kBadRequest);
    }
    Response res = error(req, refusal.status, refusal.message);
    res.keep_alive(false);
    res.set(http::field::connection, "close");
    lowest(stream).expires_after(std::chrono::seconds(5));
    auto [ec, n] = co_await http::async_write(stream, res, asio::as_tuple(use_awaitable));
    if (!ec) co_await linger(stream);
  }

  // After an answer that ends a connection early, what the client still sends is read and
  // dropped for a moment (RFC 9112 9.6): closing with unread bytes resets the connection, and
  // a client still writing its request would lose the answer. TLS connections end with their
  // close_notify instead.
  template <typename Stream>
  awaitable<void> linger(Stream& stream) {
    if constexpr (std::is_same_v<Stream, beast::tcp_stream>) {
      beast::error_code ec;
      stream.socket().shutdown(tcp::socket::shutdown_send, ec);
      if (ec || stopping_.load()) co_return;
      lowest(stream).expires_after(kLingerTime);
      std::array<char, 16 * 1024> sink;
      for (size_t dropped = 0; dropped < kLingerBytes;) {
        auto [rec, n] =
            co_await stream.async_read_some(asio::buffer(sink), asio::as_tuple(use_awaitable));
        if (rec) break;
        dropped += n;
      }
    }
  }

  template <typename Stream>
  awaitable<bool> write(Stream& stream, Response res) {
    if (stopping_.load()) res.keep_alive(false);
    lowest(stream).expires_after(options_.header_timeout);
    auto [ec, n] = co_await http::async_write(stream, res, asio::as_tuple(use_awaitable));
    co_return !ec && res.keep_alive();
  }

  // Reads the body, answers, and returns whether the connection stays open.
  template <typename Stream>
  awaitable<bool> serve_request(Stream& stream, beast::flat_buffer& buffer,
                                http::request_parser<http::string_body>& parser,
                                const FramingLimits& limits) {
    const auto& head = parser.get();
    // Bodies being read count against a budget too, so that many large uploads at once are
    // refused quickly instead of filling memory. A chunked body is charged a nominal 1 MiB; a
    // request with neither Content-Length nor chunked encoding has no body (RFC 9112 6.3) and
    // is charged nothing, so that under an upload burst /healthz, /metrics and the long-lived
    // GET /mcp streams are still served and never hold the budget.
    uint64_t reserve = parser.chunked() ? uint64_t{1} << 20 : parser.content_length().value_or(0);
    BodyReservation reservation(reading_bytes_, reserve, options_.max_reading_bytes);
    if (!reservation) {
      metrics_.webhooks_received.inc();
      metrics_.reject(RejectReason::kOverloaded);
      Response res = error(parser.get(), 503, "overloaded, retry later");
      res.set(http::field::retry_after, "1");
      res.keep_alive(false);
      co_return co_await write(stream, std::move(res));
    }
    if (head[http::field::expect] == "100-continue") {
      http::response<http::empty_body> cont{http::status::continue_, head.version()};
      auto [ec, n] = co_await http::async_write(stream, cont, asio::as_tuple(use_awaitable));
      if (ec) co_return false;
    }
    lowest(stream).expires_after(options_.body_timeout);
    auto [ec, n] = co_await http::async_read(stream, buffer, parser, asio::as_tuple(use_awaitable));
    if (ec) {
      if (auto refusal = refusal_for_read_error(ec, unparsed(buffer), limits)) {
        co_await refuse(stream, parser.get(), *refusal);
      }
      co_return false;
    }

    Request req = parser.release();
    std::string_view path = path_of(req);
    if (path == "/mcp" || path == "/sse" || path == "/messages") {
      co_return co_await serve_mcp(stream, req);
    }
    co_return co_await write(stream, co_await route(req));
  }

  awaitable<Response> route(Request& req) {
    std::string_view path = path_of(req);
    if (path.substr(0, kHooksPrefix.size()) == kHooksPrefix) {
      if (req.method() != http::verb::post) {
        Response res = error(req, 405, "webhooks are delivered with POST");
        res.set(http::field::allow, "POST");
        co_return res;
      }
      intake::Request ir;
      ir.source = std::string(path.substr(kHooksPrefix.size()));
      // What the MCP routes refuse, so may an unsigned source: any web page the user visits
      // can post to it from the user's browser otherwise.
      if (auto denial = check_host_and_origin(options_.mcp_access, header(req, http::field::host),
                                              header(req, http::field::origin))) {
        ir.origin_denied = std::move(denial->message);
      }
      for (const auto& field : req) {
        ir.headers.add(std::string(field.name_string()), std::string(field.value()));
      }
      ir.body = std::move(req.body());
      intake::Response r = co_await async_intake(intake_, std::move(ir), use_awaitable);
      co_return from_intake(req, std::move(r));
    }
    if (path == "/healthz") {
      if (store_.healthy()) co_return make_response(req, 200, R"({"status":"ok"})");
      Response res = error(req, 503, "storage cannot commit");
      res.set(http::field::retry_after, "5");
      co_return res;
    }
    if (path == "/metrics") {
      co_return make_response(req, 200, metrics_.render_prometheus(), "text/plain; version=0.0.4");
    }
    co_return error(req, 404, "no route for " + std::string(path));
  }

  // --- MCP over HTTP -------------------------------------------------------------------------

  template <typename Stream>
  awaitable<bool> serve_mcp(Stream& stream, Request& req) {
    if (!sessions_) co_return co_await write(stream, error(req, 404, "MCP is not served here"));
    auto denial =
        check_mcp_access(options_.mcp_access, header(req, http::field::host),
                         header(req, http::field::origin), header(req, http::field::authorization));
    if (denial) {
      Response res = error(req, static_cast<unsigned>(denial->status), denial->message);
      if (denial->status == 401) res.set(http::field::www_authenticate, kBearerChallenge);
      co_return co_await write(stream, std::move(res));
    }
    std::string_view path = path_of(req);
    if (path == "/mcp") {
      switch (req.method()) {
        case http::verb::post:
          co_return co_await mcp_post(stream, req);
        case http::verb::get:
          co_return co_await mcp_get(stream, req);
        case http::verb::delete_:
          co_return co_await mcp_delete(stream, req);
        default:
          break;
      }
      Response res = error(req, 405, "use POST, GET or DELETE on /mcp");
      res.set(http::field::allow, "GET, POST, DELETE");
      co_return co_await write(stream, std::move(res));
    }
    if (path == "/sse" && req.method() == http::verb::get)
      co_return co_await legacy_get(stream, req);
    if (path == "/messages" && req.method() == http::verb::post) {
      co_return co_await legacy_post(stream, req);
    }
    Response res = error(req, 405, path == "/sse" ? "use GET on /sse" : "use POST on /messages");
    res.set(http::field::allow, path == "/sse" ? "GET" : "POST");
    co_return co_await write(stream, std::move(res));
  }

  // Streamable HTTP, POST: one message or a batch; requests are answered on an SSE stream (or
  // as JSON when the client does not accept SSE), everything else with 202.
  template <typename Stream>
  awaitable<bool> mcp_post(Stream& stream, Request& req) {
    if (auto version = header(req, "MCP-Protocol-Version");
        version && !supported_version(*version)) {
      co_return co_await write(
          stream, error(req, 400, "unsupported MCP-Protocol-Version " + std::string(*version)));
    }
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
    std::shared_ptr<HttpSession> session;
    if (auto id = header(req, "Mcp-Session-Id")) {
      session = sessions_->find(std::string(*id));
      if (!session)
        co_return co_await write(
            stream, error(req, 404, "unknown or expired Mcp-Session-Id; initialize again"));
    } else if (is_initialize(body)) {
      session = sessions_->create(/*legacy=*/false);
      if (!session) {
        Response res = error(req, 503, "too many MCP sessions");
        res.set(http::field::retry_after, "5");
        co_return co_await write(stream, std::move(res));
      }
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

  // A POST's client left before its answers were all sent. It may resume the stream with
  // Last-Event-ID (MCP: a disconnection is not a cancellation); if none has by the end of the
  // grace period, the requests are cancelled, which frees what they hold (a wait_for_event's
  // slot, a search's worker).
  void abandon_unless_resumed(std::shared_ptr<HttpSession> session,
                              std::shared_ptr<SseStream> answers) {
    if (!answers->unattended()) return;
    auto timer = std::make_shared<asio::steady_timer>(ioc_, options_.resume_grace);
    timer->async_wait([this, timer, session = std::move(session),
                       answers = std::move(answers)](beast::error_code) {
      if (answers->unattended()) metrics_.mcp_requests_abandoned.inc(session->abandon(answers));
    });
  }

  // The body of an MCP POST as JSON, or the 400 that says why it is not.
  static std::variant<json, Response> parse_body(const Request& req) {
    auto parsed = parse_json(req.body());
    if (parsed.ok()) return std::move(parsed.value);
    return rpc_error(req, 400, -32700,
                     parsed.too_deep ? "Parse error: the body nests deeper than " +
                                           std::to_string(kMaxJsonDepth) + " levels"
                                     : std::string("Parse error: body is not JSON"));
  }

  // Streamable HTTP, GET: the standalone stream, or the stream an event id belongs to when the
  // client resumes with Last-Event-ID.
  template <typename Stream>
  awaitable<bool> mcp_get(Stream& stream, Request& req) {
    if (!accepts(req, "text/event-stream")) {
      co_return co_await write(stream, error(req, 406, "GET /mcp serves text/event-stream"));
    }
    auto id = header(req, "Mcp-Session-Id");
    if (!id) co_return co_await write(stream, error(req, 400, "Mcp-Session-Id header is required"));
    auto session = sessions_->find(std::string(*id));
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
  awaitable<bool> mcp_delete(Stream& stream, Request& req) {
    auto id = header(req, "Mcp-Session-Id");
    if (!id) co_return co_await write(stream, error(req, 400, "Mcp-Session-Id header is required"));
    if (!sessions_->find(std::string(*id))) {
      co_return co_await write(stream, error(req, 404, "unknown or expired Mcp-Session-Id"));
    }
    sessions_->erase(std::string(*id));
    co_return co_await write(stream, make_response(req, 200, R"({"deleted":true})"));
  }

  // Legacy HTTP+SSE (2024-11-05): GET /sse opens a session whose every message goes to this
  // stream; its first event names the endpoint for POSTs.
  template <typename Stream>
  awaitable<bool> legacy_get(Stream& stream, Request& req) {
    auto session = sessions_->create(/*legacy=*/true);
    if (!session) {
      Response res = error(req, 503, "too many MCP sessions");
      res.set(http::field::retry_after, "5");
      co_return co_await write(stream, std::move(res));
    }
    auto target = session->standalone();
    target->push(std::make_shared<const std::string>("/messages?sessionId=" + session->id()),
                 "endpoint");
    // The legacy session lives as long as its stream.
    auto end_session = [this, id = session->id()] { sessions_->erase(id); };
    co_return co_await stream_events(stream, req, std::move(target), std::move(session),
                                     uint64_t{0}, /*prime=*/false, std::move(end_session));
  }

  template <typename Stream>
  awaitable<bool> legacy_post(Stream& stream, Request& req) {
    auto session = sessions_->find(query_param(req, "sessionId"));
    if (!session || !session->legacy()) {
      co_return co_await write(stream, error(req, 404, "unknown sessionId; open GET /sse first"));
    }
    auto parsed = parse_body(req);
    if (auto* refusal = std::get_if<Response>(&parsed)) {
      co_return co_await write(stream, std::move(*refusal));
    }
    session->receive(std::get<json>(parsed));
    co_return co_await write(stream, make_response(req, 202, ""));
  }

  static bool supported_version(std::string_view v) {
    return std::any_of(std::begin(mcp::kProtocolVersions), std::end(mcp::kProtocolVersions),
                       [&](const char* known) { return v == known; });
  }

  // A long-lived stream (GET /mcp, GET /sse). Over plain TCP its socket moves to the streams'
  // own thread, so that a webhook never queues behind notification writes to a thousand
  // sessions; the connection closes when the stream ends. A TLS stream stays where it is: its
  // session is bound to the socket. `ended` runs once the stream has ended.
  template <typename Stream>
  awaitable<bool> stream_events(Stream& stream, Request& req, std::shared_ptr<SseStream> sse,
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
  std::optional<tcp::socket> move_to_streams(tcp::socket& socket) {
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

  awaitable<void> moved_stream(tcp::socket socket, Request req, std::shared_ptr<SseStream> sse,
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
  awaitable<bool> write_sse(Stream& stream, const Request& req, std::shared_ptr<SseStream> sse,
                            std::shared_ptr<HttpSession> session, std::optional<uint64_t> last_seq,
                            bool prime) {
    auto ex = co_await asio::this_coro::executor;
    auto timer = std::make_shared<asio::steady_timer>(ex);
    std::weak_ptr<asio::steady_timer> weak_timer = timer;
    // Wakes this coroutine from any thread: the cancel runs on the connection's strand.
    auto wake = [ex, weak_timer] {
      asio::post(ex, [weak_timer] {
        if (auto t = weak_timer.lock()) t->cancel();
      });
    };
    auto token = sse->attach(wake, last_seq);
    if (!token) {
      co_return co_await write(
          stream, error(req, 409, "this stream is already open on another connection"));
    }
    ClientWatch client(lowest(stream).socket(), wake);

    http::response<http::empty_body> res{http::status::ok, req.version()};
    res.set(http::field::server, "hookmcp");
    res.set(http::field::content_type, "text/event-stream");
    res.set(http::field::cache_control, "no-cache, no-transform");
    res.set("Mcp-Session-Id", session->id());
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
  awaitable<bool> write_chunk(Stream& stream, const std::string& bytes) {
    lowest(stream).expires_after(std::chrono::seconds(30));
    auto [ec, n] = co_await asio::async_write(stream, http::make_chunk(asio::buffer(bytes)),
                                              asio::as_tuple(use_awaitable));
    co_return !ec;
  }

  // The answers to a POST as one JSON document, for clients that do not take SSE.
  // `batch`: the POST carried an array, which is answered with an array (JSON-RPC 2.0, 6).
  template <typename Stream>
  awaitable<bool> write_json(Stream& stream, const Request& req, std::shared_ptr<SseStream> answers,
                             std::shared_ptr<HttpSession> session, bool batch) {
    auto ex = co_await asio::this_coro::executor;
    auto timer = std::make_shared<asio::steady_timer>(ex);
    std::weak_ptr<asio::steady_timer> weak_timer = timer;
    auto wake = [ex, weak_timer] {
      asio::post(ex, [weak_timer] {
        if (auto t = weak_timer.lock()) t->cancel();
      });
    };
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
    res.set("Mcp-Session-Id", session->id());
    co_return co_await write(stream, std::move(res));
  }

  HttpOptions options_;
  intake::Intake& intake_;
  store::Store& store_;
  Metrics& metrics_;
  std::unique_ptr<HttpSessions> sessions_;  // null when MCP is off

  asio::io_context ioc_;
  // Long-lived event streams over plain TCP (see stream_events), on a thread of their own.
  asio::io_context streams_ioc_;
  asio::executor_work_guard<asio::io_context::executor_type> streams_work_ =
      asio::make_work_guard(streams_ioc_);
  std::optional<ssl::context> tls_;
  tcp::acceptor acceptor_;
  tcp::endpoint bound_;
  std::vector<std::thread> threads_;
  bool one_io_thread_ = true;  // set by listen(), before any connection

  std::atomic<bool> stopping_{false};
  std::atomic<size_t> open_connections_{0};
  std::atomic<int> in_flight_{0};           // requests read and not yet answered
  std::atomic<uint64_t> reading_bytes_{0};  // see BodyReservation
  std::mutex connections_mu_;
  // Each open connection and the strand it runs on.
  std::map<std::shared_ptr<Connection>, asio::any_io_executor>
      connections_;  // guarded by connections_mu_
};

}  // namespace

Result<std::unique_ptr<HttpServer>> HttpServer::start(const HttpOptions& options,
                                                      intake::Intake& intake, store::Store& store,
                                                      Metrics& metrics) {
  auto server = std::make_unique<Server>(options, intake, store, metrics);
  if (auto s = server->listen(); !s) return s.error();
  return std::unique_ptr<HttpServer>(std::move(server));
}

}  // namespace hookmcp::transport
