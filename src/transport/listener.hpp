// Private to the transport: the HttpServer itself. Its parts live in one file per role:
// listener.cpp (accepting, TLS, reading and framing requests, /healthz and /metrics, stopping),
// webhook_route.cpp (/hooks) and mcp_http.cpp (Streamable HTTP and legacy SSE at /mcp, /sse and
// /messages). The member templates over the stream type are defined in the file of their role
// and instantiated there for both streams, TcpStream and TlsStream, so that Beast's templates
// are compiled in those files only.
//
// Thread contract: the public members are called as HttpServer says. Each connection is one
// coroutine on its own executor (a strand when several I/O threads run); the atomics and
// connections_mu_ below are what those coroutines and stop() share.
#pragma once

#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "hookmcp/transport/http_server.hpp"
#include "http_framing.hpp"
#include "http_response.hpp"

namespace hookmcp::transport {

class HttpSession;
class HttpSessions;
class SseStream;

using boost::asio::awaitable;
using tcp = boost::asio::ip::tcp;
using TcpStream = boost::beast::tcp_stream;
using TlsStream = boost::beast::ssl_stream<boost::beast::tcp_stream>;
using RequestParser = boost::beast::http::request_parser<boost::beast::http::string_body>;

template <typename Stream>
boost::beast::tcp_stream& lowest(Stream& s) {
  return boost::beast::get_lowest_layer(s);
}

class Listener final : public HttpServer {
 public:
  Listener(const HttpOptions& options, intake::Intake& intake,
           std::function<std::string()> unhealthy_reason, Metrics& metrics);
  ~Listener() override;

  Status listen();
  config::Endpoint local_endpoint() const override;
  std::string url() const override;
  void stop(std::chrono::milliseconds grace) override;

 private:
  // A connection that stop() may need to interrupt. Touched only on the connection's executor.
  struct Connection {
    boost::beast::tcp_stream* stream = nullptr;
  };

  // --- listener.cpp: accepting and serving connections --------------------------------------
  Status setup_tls();
  awaitable<void> accept_loop();
  boost::asio::any_io_executor connection_executor();
  void cancel_reads();
  awaitable<void> connection(tcp::socket socket);
  template <typename Stream>
  awaitable<void> run(Stream& stream, size_t open);
  template <typename Stream>
  awaitable<void> reject_connection(Stream& stream);
  template <typename Stream>
  awaitable<void> serve(Stream& stream);
  template <typename Stream>
  awaitable<void> refuse(Stream& stream, const Request& req, const Refusal& refusal);
  template <typename Stream>
  awaitable<void> linger(Stream& stream);
  // Writes `res`; whether the connection stays open. Instantiated for both streams.
  template <typename Stream>
  awaitable<bool> write(Stream& stream, Response res);
  template <typename Stream>
  awaitable<bool> serve_request(Stream& stream, boost::beast::flat_buffer& buffer,
                                RequestParser& parser, const FramingLimits& limits);
  // /hooks, /healthz, /metrics, or 404.
  awaitable<Response> route(Request& req);

  // --- mcp_http.cpp: MCP over HTTP ------------------------------------------------------------
  // Serves /mcp, /sse and /messages. Instantiated for both streams.
  template <typename Stream>
  awaitable<bool> serve_mcp(Stream& stream, Request& req);
  template <typename Stream>
  awaitable<bool> mcp_post(Stream& stream, Request& req, const Caller& caller);
  // One request of MCP 2026-07-28, served by a session that lives as long as it.
  template <typename Stream>
  awaitable<bool> mcp_stateless_post(Stream& stream, Request& req, const nlohmann::json& body,
                                     const Caller& caller);
  template <typename Stream>
  awaitable<bool> mcp_get(Stream& stream, Request& req, const Caller& caller);
  template <typename Stream>
  awaitable<bool> mcp_delete(Stream& stream, Request& req, const Caller& caller);
  template <typename Stream>
  awaitable<bool> legacy_get(Stream& stream, Request& req, const Caller& caller);
  template <typename Stream>
  awaitable<bool> legacy_post(Stream& stream, Request& req, const Caller& caller);
  template <typename Stream>
  awaitable<bool> stream_events(Stream& stream, Request& req, std::shared_ptr<SseStream> sse,
                                std::shared_ptr<HttpSession> session,
                                std::optional<uint64_t> last_seq, bool prime,
                                std::function<void()> ended);
  template <typename Stream>
  awaitable<bool> write_sse(Stream& stream, const Request& req, std::shared_ptr<SseStream> sse,
                            std::shared_ptr<HttpSession> session, std::optional<uint64_t> last_seq,
                            bool prime);
  template <typename Stream>
  awaitable<bool> write_chunk(Stream& stream, const std::string& bytes);
  template <typename Stream>
  awaitable<bool> write_json(Stream& stream, const Request& req, std::shared_ptr<SseStream> answers,
                             std::shared_ptr<HttpSession> session, bool batch);
  void abandon_unless_resumed(std::shared_ptr<HttpSession> session,
                              std::shared_ptr<SseStream> answers);
  // 403 when a message in `body` calls a tool that changes events and the caller may not
  // (an OAuth token without events:write).
  std::optional<Denial> check_scope(const Caller& caller, const nlohmann::json& body) const;
  // The answer to a request refused by check_host_and_origin, authenticate or check_scope.
  Response denied(const Request& req, const Denial& denial) const;
  std::optional<tcp::socket> move_to_streams(tcp::socket& socket);
  awaitable<void> moved_stream(tcp::socket socket, Request req, std::shared_ptr<SseStream> sse,
                               std::shared_ptr<HttpSession> session,
                               std::optional<uint64_t> last_seq, bool prime,
                               std::function<void()> ended);
  awaitable<void> expire_sessions();

  HttpOptions options_;
  intake::Intake& intake_;
  const std::function<std::string()> unhealthy_reason_;
  Metrics& metrics_;
  std::unique_ptr<HttpSessions> sessions_;  // null when MCP is off

  boost::asio::io_context ioc_;
  // Long-lived event streams over plain TCP (see stream_events), on a thread of their own.
  boost::asio::io_context streams_ioc_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> streams_work_ =
      boost::asio::make_work_guard(streams_ioc_);
  std::optional<boost::asio::ssl::context> tls_;
  tcp::acceptor acceptor_;
  tcp::endpoint bound_;
  std::vector<std::thread> threads_;
  // Where work that waits on the network goes, off the I/O threads: an OAuth token or a
  // webhook checked when its issuer's keys must be fetched first, a subscription confirmed.
  boost::asio::thread_pool blocking_pool_{2};
  bool one_io_thread_ = true;  // set by listen(), before any connection

  std::atomic<bool> stopping_{false};
  std::atomic<size_t> open_connections_{0};
  std::atomic<int> in_flight_{0};           // requests read and not yet answered
  std::atomic<uint64_t> reading_bytes_{0};  // see BodyReservation
  std::mutex connections_mu_;
  // Each open connection and the strand it runs on.
  std::map<std::shared_ptr<Connection>, boost::asio::any_io_executor>
      connections_;  // guarded by connections_mu_
};

}  // namespace hookmcp::transport
