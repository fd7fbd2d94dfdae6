#include "hookmcp/net/http_client.hpp"

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <charconv>
#include <optional>
#include <variant>
#include <vector>

#include <openssl/ssl.h>

namespace hookmcp::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using asio::awaitable;
using asio::use_awaitable;

namespace {

// The failure of one request, kept beside its error.
struct Failed {
  Failure kind;
  Error error;
};

Failed io_error(Failure kind, const std::string& what, const beast::error_code& ec) {
  if (ec == beast::error::timeout) kind = Failure::kTimeout;
  if (ec == http::error::body_limit) {
    return {Failure::kExchange,
            make_error(ErrorCode::kTooLarge, what + ": the answer is too large")};
  }
  return {kind, make_error(ErrorCode::kIo, what + ": " + ec.message())};
}

Error invalid_url(std::string_view text, const std::string& why) {
  return make_error(ErrorCode::kInvalidArgument,
                    "invalid URL \"" + std::string(text) + "\": " + why);
}

http::request<http::string_body> build(const Url& url, const ClientRequest& r) {
  http::request<http::string_body> req;
  req.method_string(r.method);
  req.target(url.target);
  req.version(11);
  bool default_port =
      (url.scheme == "http" && url.port == 80) || (url.scheme == "https" && url.port == 443);
  std::string host = url.host.find(':') != std::string::npos ? "[" + url.host + "]" : url.host;
  if (!r.headers.contains("Host")) {
    req.set(http::field::host, default_port ? host : host + ":" + std::to_string(url.port));
  }
  if (!r.headers.contains("User-Agent")) req.set(http::field::user_agent, "hookmcp");
  for (const auto& [name, value] : r.headers.fields()) req.insert(name, value);
  req.body() = r.body;
  req.prepare_payload();
  return req;
}

ClientResponse to_response(http::response<http::string_body>&& res) {
  ClientResponse out;
  out.status = static_cast<int>(res.result_int());
  out.reason = std::string(res.reason());
  out.version = static_cast<int>(res.version());
  for (const auto& field : res) {
    out.headers.add(std::string(field.name_string()), std::string(field.value()));
  }
  out.body = std::move(res.body());
  return out;
}

using Outcome = std::variant<ClientResponse, Failed>;

// The resolved addresses `r` lets the request connect to; a refusal when it lets none.
std::variant<std::vector<tcp::endpoint>, Failed> vetted(const tcp::resolver::results_type& found,
                                                        const std::string& host,
                                                        const ClientRequest& r) {
  std::vector<tcp::endpoint> out;
  std::string refused;
  for (const auto& entry : found) {
    std::string address = entry.endpoint().address().to_string();
    if (r.vet_address) {
      if (auto why = r.vet_address(address)) {
        refused = host + " resolves to " + address + " (" + *why + ")";
        continue;
      }
    }
    out.push_back(entry.endpoint());
  }
  if (out.empty()) {
    return Failed{
        Failure::kRefusedAddress,
        make_error(ErrorCode::kInvalidArgument,
                   refused.empty() ? host + " resolves to no address" : "refused: " + refused)};
  }
  return out;
}

// The TLS settings every client shares: the system's CAs, loaded once (a context holds them all,
// about a megabyte), and peers verified. Thread-safe once made: each connection makes its own
// SSL from it.
ssl::context& tls_context() {
  static ssl::context ctx = [] {
    ssl::context c(ssl::context::tls_client);
    c.set_default_verify_paths();
    c.set_verify_mode(ssl::verify_peer);
    return c;
  }();
  return ctx;
}

}  // namespace

// One connection, kept open between requests to the same scheme, host and port while the
// server keeps it alive. Everything runs on the calling thread: each request runs the
// io_context until its coroutine is done.
struct Client::Impl {
  asio::io_context ioc;
  std::optional<beast::tcp_stream> plain;
  std::optional<beast::ssl_stream<beast::tcp_stream>> tls;
  beast::flat_buffer buffer;
  std::string key;  // scheme://host:port of the open connection; empty when none

  void drop() {
    beast::error_code ignored;
    if (plain) plain->socket().shutdown(tcp::socket::shutdown_both, ignored);
    plain.reset();
    tls.reset();  // no close_notify: the peer sees the TCP close
    buffer.clear();
    key.clear();
  }

  beast::tcp_stream& lowest() { return plain ? *plain : beast::get_lowest_layer(*tls); }

  awaitable<std::optional<Failed>> connect(const Url& url, const ClientRequest& r) {
    drop();
    // Resolved on this thread (getaddrinfo): the client is blocking anyway, and an
    // asynchronous resolve would start a thread for each new io_context.
    tcp::resolver resolver(ioc);
    beast::error_code ec;
    auto found = resolver.resolve(url.host, std::to_string(url.port), ec);
    if (ec) co_return io_error(Failure::kResolve, "resolving " + url.host, ec);
    auto endpoints = vetted(found, url.host, r);
    if (auto* refused = std::get_if<Failed>(&endpoints)) co_return std::move(*refused);
    const auto& allowed = std::get<std::vector<tcp::endpoint>>(endpoints);
    std::string where = url.host + ":" + std::to_string(url.port);
    if (url.scheme == "http") {
      plain.emplace(ioc);
    } else {
      tls.emplace(ioc, tls_context());
      tls->set_verify_callback(ssl::host_name_verification(url.host));
      // Server Name Indication, so that a host serving several names presents the right one.
      if (SSL_set_tlsext_host_name(tls->native_handle(), url.host.c_str()) != 1) {
        co_return Failed{Failure::kTls,
                         make_error(ErrorCode::kIo, "cannot set the TLS server name " + url.host)};
      }
    }
    lowest().expires_after(r.timeout);
    auto [cec, ep] = co_await lowest().async_connect(allowed, asio::as_tuple(use_awaitable));
    if (cec) co_return io_error(Failure::kConnect, "connecting to " + where, cec);
    if (tls) {
      auto [hec] =
          co_await tls->async_handshake(ssl::stream_base::client, asio::as_tuple(use_awaitable));
      if (hec) co_return io_error(Failure::kTls, "TLS handshake with " + where, hec);
    }
    key = url.scheme + "://" + where;
    co_return std::nullopt;
  }

  template <typename Stream>
  awaitable<Outcome> exchange_on(Stream& stream, const Url& url, const ClientRequest& r) {
    auto req = build(url, r);
    auto [wec, written] = co_await http::async_write(stream, req, asio::as_tuple(use_awaitable));
    if (wec) co_return io_error(Failure::kExchange, "sending the request", wec);
    http::response_parser<http::string_body> parser;
    parser.body_limit(r.max_response_bytes);
    auto [rec, read] =
        co_await http::async_read(stream, buffer, parser, asio::as_tuple(use_awaitable));
    if (rec) co_return io_error(Failure::kExchange, "reading the response", rec);
    bool keep = parser.get().keep_alive();
    auto response = to_response(parser.release());
    if (!keep) drop();
    co_return response;
  }

  awaitable<Outcome> exchange(const Url& url, const ClientRequest& r) {
    lowest().expires_after(r.timeout);
    if (plain) co_return co_await exchange_on(*plain, url, r);
    co_return co_await exchange_on(*tls, url, r);
  }

  // The request on the open connection when it goes to the same place, else on a new one. A
  // kept-alive connection the server closed meanwhile fails before an answer: the request goes
  // once more on a new connection (a receiver drops a repeat by its id).
  awaitable<Outcome> run(const Url& url, const ClientRequest& r) {
    std::string wanted = url.scheme + "://" + url.host + ":" + std::to_string(url.port);
    bool reused = key == wanted && (plain || tls);
    if (!reused) {
      if (auto failed = co_await connect(url, r)) {
        drop();
        co_return std::move(*failed);
      }
    }
    auto outcome = co_await exchange(url, r);
    if (std::holds_alternative<Failed>(outcome)) {
      drop();
      if (reused && std::get<Failed>(outcome).kind == Failure::kExchange) {
        if (auto failed = co_await connect(url, r)) {
          drop();
          co_return std::move(*failed);
        }
        outcome = co_await exchange(url, r);
        if (std::holds_alternative<Failed>(outcome)) drop();
      }
    }
    co_return outcome;
  }
};

Client::Client() : impl_(std::make_unique<Impl>()) {}
Client::~Client() = default;

void Client::close() { impl_->drop(); }

Result<ClientResponse> Client::request(const ClientRequest& request, Failure* failure) {
  Failure ignored = Failure::kNone;
  Failure& kind = failure ? *failure : ignored;
  kind = Failure::kNone;
  auto url = parse_url(request.url);
  if (!url) {
    kind = Failure::kRefusedAddress;
    return url.error();
  }
  if (auto verb = http::string_to_verb(request.method); verb == http::verb::unknown) {
    kind = Failure::kExchange;
    return make_error(ErrorCode::kInvalidArgument, "unknown HTTP method " + request.method);
  }
  Impl& c = *impl_;
  c.ioc.restart();
  uint64_t attached = 0;
  if (request.cancellation && !request.cancellation->attach(&attached, [&c] { c.ioc.stop(); })) {
    kind = Failure::kExchange;
    return make_error(ErrorCode::kClosed, "cancelled");
  }
  std::optional<Outcome> out;
  // Errors come back as values; only an allocation failure could throw, and it ends here.
  asio::co_spawn(
      c.ioc, [&]() -> awaitable<void> { out.emplace(co_await c.run(*url, request)); },
      [&out](const std::exception_ptr& thrown) {
        if (thrown && !out) {
          out.emplace(
              Failed{Failure::kExchange, make_error(ErrorCode::kInternal, "HTTP client failed")});
        }
      });
  c.ioc.run();
  if (request.cancellation) request.cancellation->detach(attached);
  if (!out) {
    // Stopped (cancelled) before it finished: the connection is in no known state.
    c.drop();
    c.ioc.restart();
    c.ioc.poll();  // lets the abandoned coroutine unwind
    kind = Failure::kExchange;
    if (request.cancellation && request.cancellation->cancelled()) {
      return make_error(ErrorCode::kClosed, "cancelled");
    }
    return make_error(ErrorCode::kInternal, "HTTP client stopped without an answer");
  }
  if (auto* failed = std::get_if<Failed>(&*out)) {
    kind = failed->kind;
    return std::move(failed->error);
  }
  return std::move(std::get<ClientResponse>(*out));
}

Result<ClientResponse> http_request(const ClientRequest& request, Failure* failure) {
  Client client;
  auto response = client.request(request, failure);
  client.close();
  return response;
}

Result<Url> parse_url(std::string_view text) {
  Url url;
  std::string_view rest = text;
  if (rest.substr(0, 7) == "http://") {
    url.scheme = "http";
    url.port = 80;
    rest.remove_prefix(7);
  } else if (rest.substr(0, 8) == "https://") {
    url.scheme = "https";
    url.port = 443;
    rest.remove_prefix(8);
  } else {
    return invalid_url(text, "expected http:// or https://");
  }
  size_t path = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, path);
  std::string_view target = path == std::string_view::npos ? "/" : rest.substr(path);
  target = target.substr(0, target.find('#'));  // a fragment is never sent
  if (target.empty() || target[0] != '/')
    url.target = "/" + std::string(target);
  else
    url.target = std::string(target);
  if (authority.find('@') != std::string_view::npos) {
    return invalid_url(text, "credentials in the URL are not supported");
  }

  std::string_view port;
  if (!authority.empty() && authority[0] == '[') {
    size_t close = authority.find(']');
    if (close == std::string_view::npos) return invalid_url(text, "unclosed '['");
    url.host = std::string(authority.substr(1, close - 1));
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after[0] != ':') return invalid_url(text, "expected ':' after ']'");
      port = after.substr(1);
      if (port.empty()) return invalid_url(text, "empty port");
    }
  } else {
    size_t colon = authority.rfind(':');
    url.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) {
      port = authority.substr(colon + 1);
      if (port.empty()) return invalid_url(text, "empty port");
    }
  }
  if (url.host.empty()) return invalid_url(text, "no host");
  if (!port.empty()) {
    unsigned value = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc() || end != port.data() + port.size() || value == 0 || value > 65535) {
      return invalid_url(text, "port must be 1 to 65535");
    }
    url.port = static_cast<uint16_t>(value);
  }
  return url;
}

std::string ClientResponse::status_line() const {
  std::string line = version == 10 ? "HTTP/1.0 " : "HTTP/1.1 ";
  line += std::to_string(status);
  if (!reason.empty()) line += " " + reason;
  return line;
}

void Cancellation::cancel() {
  std::map<uint64_t, std::function<void()>> running;
  {
    std::lock_guard lock(mu_);
    cancelled_ = true;
    running.swap(running_);
  }
  for (auto& [id, stop] : running) stop();
}

bool Cancellation::cancelled() const {
  std::lock_guard lock(mu_);
  return cancelled_;
}

bool Cancellation::attach(uint64_t* id, std::function<void()> stop) {
  std::lock_guard lock(mu_);
  if (cancelled_) return false;
  *id = next_++;
  running_.emplace(*id, std::move(stop));
  return true;
}

void Cancellation::detach(uint64_t id) {
  std::lock_guard lock(mu_);
  running_.erase(id);
}

}  // namespace hookmcp::net
