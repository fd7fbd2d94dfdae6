#include <algorithm>
#include <array>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <type_traits>

#include <spdlog/spdlog.h>

#include "console_route.hpp"
#include "hookmcp/console/console.hpp"
#include "hookmcp/core/json.hpp"
#include "http_sessions.hpp"
#include "listener.hpp"
#include "webhook_route.hpp"

namespace hookmcp::transport {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using asio::use_awaitable;

namespace {

constexpr size_t kReadBufferBytes = size_t{8} * 1024;
// How long and how much a refused request's remaining bytes are read and dropped for.
constexpr auto kLingerTime = std::chrono::seconds(2);
constexpr size_t kLingerBytes = size_t{4} << 20;

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

std::string_view unparsed(const beast::flat_buffer& buffer) {
  auto data = buffer.data();
  return {static_cast<const char*>(data.data()), data.size()};
}

}  // namespace

Listener::Listener(const HttpOptions& options, intake::Intake& intake,
                   std::function<std::string()> unhealthy_reason, Metrics& metrics)
    : options_(options),
      intake_(intake),
      unhealthy_reason_(std::move(unhealthy_reason)),
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

Status Listener::listen() {
  if (auto s = setup_tls(); !s) return s;
  beast::error_code ec;
  auto address = asio::ip::make_address(options_.listen.host, ec);
  if (ec) {
    // A name such as "localhost": resolve it.
    tcp::resolver resolver(ioc_);
    auto results = resolver.resolve(options_.listen.host, std::to_string(options_.listen.port), ec);
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

config::Endpoint Listener::local_endpoint() const {
  return {bound_.address().to_string(), bound_.port()};
}

std::string Listener::url() const {
  std::string host = bound_.address().to_string();
  if (bound_.address().is_v6()) host = "[" + host + "]";
  return (tls_ ? "https://" : "http://") + host + ":" + std::to_string(bound_.port());
}

void Listener::stop(std::chrono::milliseconds grace) {
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

Listener::~Listener() {
  if (!threads_.empty()) stop(std::chrono::milliseconds(0));
}

Status Listener::setup_tls() {
  if (options_.tls_cert_file.empty() && options_.tls_key_file.empty()) return {};
  tls_.emplace(ssl::context::tls_server);
  tls_->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                    ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
  beast::error_code ec;
  tls_->use_certificate_chain_file(options_.tls_cert_file, ec);
  if (ec) {
    return make_error(ErrorCode::kInvalidArgument,
                      "tls.cert_file: cannot load " + options_.tls_cert_file + ": " + ec.message());
  }
  tls_->use_private_key_file(options_.tls_key_file, ssl::context::pem, ec);
  if (ec) {
    return make_error(ErrorCode::kInvalidArgument,
                      "tls.key_file: cannot load " + options_.tls_key_file + ": " + ec.message());
  }
  return {};
}

awaitable<void> Listener::accept_loop() {
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
asio::any_io_executor Listener::connection_executor() {
  if (one_io_thread_) return ioc_.get_executor();
  return asio::make_strand(ioc_);
}

void Listener::cancel_reads() {
  std::lock_guard lock(connections_mu_);
  for (const auto& c : connections_) {
    asio::post(c.second, [c = c.first] {
      if (c->stream) c->stream->socket().cancel();
    });
  }
}

awaitable<void> Listener::connection(tcp::socket socket) {
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
awaitable<void> Listener::run(Stream& stream, size_t open) {
  if (open > options_.max_connections) {
    co_await reject_connection(stream);
  } else {
    co_await serve(stream);
  }
}

template <typename Stream>
awaitable<void> Listener::reject_connection(Stream& stream) {
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
awaitable<void> Listener::serve(Stream& stream) {
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

// Answers a request the listener does not serve (see http_framing.hpp), counts it, and ends
// the connection.
template <typename Stream>
awaitable<void> Listener::refuse(Stream& stream, const Request& req, const Refusal& refusal) {
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
awaitable<void> Listener::linger(Stream& stream) {
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
awaitable<bool> Listener::write(Stream& stream, Response res) {
  if (stopping_.load()) res.keep_alive(false);
  lowest(stream).expires_after(options_.header_timeout);
  auto [ec, n] = co_await http::async_write(stream, res, asio::as_tuple(use_awaitable));
  co_return !ec && res.keep_alive();
}

// Reads the body, answers, and returns whether the connection stays open.
template <typename Stream>
awaitable<bool> Listener::serve_request(Stream& stream, beast::flat_buffer& buffer,
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

awaitable<Response> Listener::route(Request& req) {
  std::string_view path = path_of(req);
  if (is_webhook_path(path))
    co_return co_await handle_webhook(req, intake_, options_.mcp_access, blocking_pool_);
  if (path == "/healthz") {
    const std::string problem = unhealthy_reason_();
    const bool healthy = problem.empty();
    nlohmann::json body = {{"status", healthy ? "ok" : "unavailable"},
                           {"service", "hookmcp"},
                           {"version", options_.version},
                           {"database", options_.database_identity}};
    if (!healthy) body["error"] = problem;
    Response res = make_response(req, healthy ? 200 : 503, body.dump());
    if (!healthy) res.set(http::field::retry_after, "5");
    co_return res;
  }
  if (path == "/metrics") {
    co_return make_response(req, 200, metrics_.render_prometheus(), "text/plain; version=0.0.4");
  }
  if (console::is_console_path(path)) co_return handle_console(req, options_.mcp_access);
  // RFC 9728 3: the metadata at the well-known path, and at it followed by the resource's path
  // (/mcp), where MCP clients look first.
  constexpr std::string_view kResourceMetadata = "/.well-known/oauth-protected-resource";
  if (options_.mcp_access.oauth && path.substr(0, kResourceMetadata.size()) == kResourceMetadata) {
    auto rest = path.substr(kResourceMetadata.size());
    // The resource's own path too: behind a proxy that serves /mcp under a prefix.
    if (rest.empty() || rest == "/mcp" || rest == "/sse" ||
        path == options_.mcp_access.oauth->metadata_path()) {
      if (req.method() != http::verb::get) {
        Response res = error(req, 405, "use GET");
        res.set(http::field::allow, "GET");
        co_return res;
      }
      Response res = make_response(req, 200, options_.mcp_access.oauth->metadata().dump());
      // Public, and fetched by clients that run in a browser.
      res.set(http::field::access_control_allow_origin, "*");
      res.set(http::field::cache_control, "max-age=3600");
      co_return res;
    }
  }
  co_return error(req, 404, "no route for " + std::string(path));
}

// The member templates the other roles' files call, for both streams.
template awaitable<bool> Listener::write(TcpStream&, Response);
template awaitable<bool> Listener::write(TlsStream&, Response);

Result<std::unique_ptr<HttpServer>> HttpServer::start(const HttpOptions& options,
                                                      intake::Intake& intake,
                                                      std::function<std::string()> unhealthy_reason,
                                                      Metrics& metrics) {
  auto server = std::make_unique<Listener>(options, intake, std::move(unhealthy_reason), metrics);
  if (auto s = server->listen(); !s) return s.error();
  return std::unique_ptr<HttpServer>(std::move(server));
}

}  // namespace hookmcp::transport
