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

// Writes the request and reads the answer on a connected (and, for TLS, handshaken) stream.
// The deadline was set on the lowest layer before connecting and covers the whole exchange.
using Outcome = std::variant<ClientResponse, Failed>;

template <typename Stream>
awaitable<Outcome> exchange(Stream& stream, const Url& url, const ClientRequest& r) {
  auto req = build(url, r);
  auto [wec, written] = co_await http::async_write(stream, req, asio::as_tuple(use_awaitable));
  if (wec) co_return io_error(Failure::kExchange, "sending the request", wec);
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(r.max_response_bytes);
  auto [rec, read] =
      co_await http::async_read(stream, buffer, parser, asio::as_tuple(use_awaitable));
  if (rec) co_return io_error(Failure::kExchange, "reading the response", rec);
  co_return to_response(parser.release());
}

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

awaitable<Outcome> connect_and_exchange(const Url& url, const ClientRequest& r) {
  auto ex = co_await asio::this_coro::executor;
  tcp::resolver resolver(ex);
  auto [ec, found] = co_await resolver.async_resolve(url.host, std::to_string(url.port),
                                                     asio::as_tuple(use_awaitable));
  if (ec) co_return io_error(Failure::kResolve, "resolving " + url.host, ec);
  auto endpoints = vetted(found, url.host, r);
  if (auto* refused = std::get_if<Failed>(&endpoints)) co_return std::move(*refused);
  const auto& allowed = std::get<std::vector<tcp::endpoint>>(endpoints);
  std::string where = url.host + ":" + std::to_string(url.port);

  if (url.scheme == "http") {
    beast::tcp_stream stream(ex);
    stream.expires_after(r.timeout);
    auto [cec, ep] = co_await stream.async_connect(allowed, asio::as_tuple(use_awaitable));
    if (cec) co_return io_error(Failure::kConnect, "connecting to " + where, cec);
    auto result = co_await exchange(stream, url, r);
    beast::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
    co_return result;
  }

  ssl::context ctx(ssl::context::tls_client);
  ctx.set_default_verify_paths();
  ctx.set_verify_mode(ssl::verify_peer);
  ctx.set_verify_callback(ssl::host_name_verification(url.host));
  beast::ssl_stream<beast::tcp_stream> stream(ex, ctx);
  // Server Name Indication, so that a host serving several names presents the right one.
  if (SSL_set_tlsext_host_name(stream.native_handle(), url.host.c_str()) != 1) {
    co_return Failed{Failure::kTls,
                     make_error(ErrorCode::kIo, "cannot set the TLS server name " + url.host)};
  }
  beast::get_lowest_layer(stream).expires_after(r.timeout);
  auto [cec, ep] = co_await beast::get_lowest_layer(stream).async_connect(
      allowed, asio::as_tuple(use_awaitable));
  if (cec) co_return io_error(Failure::kConnect, "connecting to " + where, cec);
  auto [hec] =
      co_await stream.async_handshake(ssl::stream_base::client, asio::as_tuple(use_awaitable));
  if (hec) co_return io_error(Failure::kTls, "TLS handshake with " + where, hec);
  auto result = co_await exchange(stream, url, r);
  // The answer is complete: a server that never returns close_notify gets a second to do so,
  // not the rest of the timeout.
  beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(1));
  co_await stream.async_shutdown(asio::as_tuple(use_awaitable));
  co_return result;
}

// co_spawn needs a default-constructible result; Result has none, so it lands in `out`.
awaitable<void> run(const Url& url, const ClientRequest& r, std::optional<Outcome>& out) {
  out.emplace(co_await connect_and_exchange(url, r));
}

}  // namespace

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

Result<ClientResponse> http_request(const ClientRequest& request, Failure* failure) {
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
  asio::io_context ioc;
  uint64_t attached = 0;
  if (request.cancellation && !request.cancellation->attach(&attached, [&ioc] { ioc.stop(); })) {
    kind = Failure::kExchange;
    return make_error(ErrorCode::kClosed, "cancelled");
  }
  std::optional<Outcome> out;
  // Errors come back as values; only an allocation failure could throw, and it ends here.
  asio::co_spawn(ioc, run(*url, request, out), [&out](const std::exception_ptr& failure) {
    if (failure && !out) {
      out.emplace(
          Failed{Failure::kExchange, make_error(ErrorCode::kInternal, "HTTP client failed")});
    }
  });
  ioc.run();
  if (request.cancellation) request.cancellation->detach(attached);
  if (!out) {
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

}  // namespace hookmcp::net
