#include "hookmcp/transport/http_server.hpp"

#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include <spdlog/spdlog.h>

namespace hookmcp::transport {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using asio::awaitable;
using asio::use_awaitable;

namespace {

constexpr std::string_view kHooksPrefix = "/hooks/";

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

// A connection that stop() may need to interrupt. Touched only on the connection's strand,
// except for the registry's set, which is guarded by its mutex.
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
        acceptor_(asio::make_strand(ioc_)) {}

  Status listen() {
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
    for (int i = 0; i < std::max(1, options_.io_threads); ++i) {
      threads_.emplace_back([this] { ioc_.run(); });
    }
    return {};
  }

  config::Endpoint local_endpoint() const override {
    return {bound_.address().to_string(), bound_.port()};
  }

  void stop(std::chrono::milliseconds grace) override {
    asio::post(acceptor_.get_executor(), [this] {
      beast::error_code ec;
      acceptor_.close(ec);
    });
    stopping_.store(true);
    // Interrupt connections waiting for a request; those waiting for a commit keep going.
    cancel_reads();
    auto deadline = std::chrono::steady_clock::now() + grace;
    while (in_flight_.load() > 0 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    ioc_.stop();
    for (auto& t : threads_) t.join();
    threads_.clear();
  }

  ~Server() override {
    if (!threads_.empty()) stop(std::chrono::milliseconds(0));
  }

 private:
  awaitable<void> accept_loop() {
    for (;;) {
      auto [ec, socket] =
          co_await acceptor_.async_accept(asio::make_strand(ioc_), asio::as_tuple(use_awaitable));
      if (ec == asio::error::operation_aborted || !acceptor_.is_open()) co_return;
      if (ec) {
        // Out of descriptors and the like: log, pause, keep accepting.
        spdlog::warn("accept failed: {}", ec.message());
        asio::steady_timer t(acceptor_.get_executor(), std::chrono::milliseconds(50));
        co_await t.async_wait(asio::as_tuple(use_awaitable));
        continue;
      }
      auto ex = socket.get_executor();
      asio::co_spawn(ex, session(beast::tcp_stream(std::move(socket))), asio::detached);
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

  awaitable<void> session(beast::tcp_stream stream) {
    auto self = std::make_shared<Connection>();
    self->stream = &stream;
    size_t open = open_connections_.fetch_add(1) + 1;
    {
      std::lock_guard lock(connections_mu_);
      connections_.emplace(self, stream.get_executor());
    }
    if (open > options_.max_connections) {
      co_await reject_connection(stream);
    } else {
      co_await serve(stream);
    }
    {
      std::lock_guard lock(connections_mu_);
      connections_.erase(self);
    }
    self->stream = nullptr;
    open_connections_.fetch_sub(1);
    beast::error_code ec;
    stream.socket().shutdown(tcp::socket::shutdown_send, ec);
  }

  awaitable<void> reject_connection(beast::tcp_stream& stream) {
    metrics_.reject(RejectReason::kOverloaded);
    Request req;
    req.version(11);
    Response res = error(req, 503, "too many connections, retry later");
    res.set(http::field::retry_after, "1");
    res.keep_alive(false);
    stream.expires_after(std::chrono::seconds(5));
    co_await http::async_write(stream, res, asio::as_tuple(use_awaitable));
  }

  awaitable<void> serve(beast::tcp_stream& stream) {
    beast::flat_buffer buffer;
    while (!stopping_.load()) {
      http::request_parser<http::string_body> parser;
      parser.header_limit(options_.max_header_bytes);
      parser.body_limit(options_.max_body_bytes);

      stream.expires_after(options_.header_timeout);
      auto [ec, n] =
          co_await http::async_read_header(stream, buffer, parser, asio::as_tuple(use_awaitable));
      if (ec) {
        // end_of_stream, timeouts and cancellation are ordinary endings.
        if (ec == http::error::body_limit) co_await write_too_large(stream, parser.get());
        co_return;
      }
      in_flight_.fetch_add(1);
      bool keep_alive = co_await serve_request(stream, buffer, parser);
      in_flight_.fetch_sub(1);
      if (!keep_alive) co_return;
    }
  }

  awaitable<void> write_too_large(beast::tcp_stream& stream, const Request& req) {
    metrics_.webhooks_received.inc();
    metrics_.reject(RejectReason::kTooLarge);
    Response res =
        error(req, 413,
              "body exceeds the limit of " + std::to_string(options_.max_body_bytes) + " bytes");
    res.keep_alive(false);
    stream.expires_after(std::chrono::seconds(5));
    co_await http::async_write(stream, res, asio::as_tuple(use_awaitable));
  }

  // Reads the body, answers, and returns whether the connection stays open.
  awaitable<bool> serve_request(beast::tcp_stream& stream, beast::flat_buffer& buffer,
                                http::request_parser<http::string_body>& parser) {
    const auto& header = parser.get();
    if (header[http::field::expect] == "100-continue") {
      http::response<http::empty_body> cont{http::status::continue_, header.version()};
      auto [ec, n] = co_await http::async_write(stream, cont, asio::as_tuple(use_awaitable));
      if (ec) co_return false;
    }
    stream.expires_after(options_.body_timeout);
    auto [ec, n] = co_await http::async_read(stream, buffer, parser, asio::as_tuple(use_awaitable));
    if (ec == http::error::body_limit) {
      co_await write_too_large(stream, parser.get());
      co_return false;
    }
    if (ec) co_return false;

    Request req = parser.release();
    Response res = co_await route(req);
    if (stopping_.load()) res.keep_alive(false);
    stream.expires_after(options_.header_timeout);
    auto [wec, wn] = co_await http::async_write(stream, res, asio::as_tuple(use_awaitable));
    co_return !wec && res.keep_alive();
  }

  awaitable<Response> route(Request& req) {
    std::string_view target = req.target();
    std::string_view path = target.substr(0, target.find('?'));
    if (path.substr(0, kHooksPrefix.size()) == kHooksPrefix) {
      if (req.method() != http::verb::post) {
        Response res = error(req, 405, "webhooks are delivered with POST");
        res.set(http::field::allow, "POST");
        co_return res;
      }
      intake::Request ir;
      ir.source = std::string(path.substr(kHooksPrefix.size()));
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

  HttpOptions options_;
  intake::Intake& intake_;
  store::Store& store_;
  Metrics& metrics_;

  asio::io_context ioc_;
  tcp::acceptor acceptor_;
  tcp::endpoint bound_;
  std::vector<std::thread> threads_;

  std::atomic<bool> stopping_{false};
  std::atomic<size_t> open_connections_{0};
  std::atomic<int> in_flight_{0};  // requests read and not yet answered
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
