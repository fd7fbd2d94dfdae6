#include "http_framing.hpp"

#include <algorithm>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/field.hpp>
#include <vector>

#include "hookmcp/core/headers.hpp"
#include "hookmcp/transport/mcp_access.hpp"

namespace hookmcp::transport {

namespace http = boost::beast::http;

namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// The elements of a comma-separated list (RFC 9110 5.6.1), empty ones skipped.
void append_list(std::string_view value, std::vector<std::string_view>& out) {
  while (true) {
    auto comma = value.find(',');
    std::string_view element = trim(value.substr(0, comma));
    if (!element.empty()) out.push_back(element);
    if (comma == std::string_view::npos) return;
    value.remove_prefix(comma + 1);
  }
}

Refusal bad_request(std::string message) { return Refusal{400, std::move(message)}; }

// A request line whose version Beast refused: 505 when it names a version other than 1.0 and
// 1.1 ("HTTP/9.9", "HTTP/2.0"), 400 when it is not a request line at all.
Refusal version_refusal(std::string_view unparsed) {
  std::string_view line = unparsed.substr(0, unparsed.find('\n'));
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  std::string_view version = line.substr(line.rfind(' ') + 1);
  if (version.size() == 8 && version.substr(0, 5) == "HTTP/" && is_digit(version[5]) &&
      version[6] == '.' && is_digit(version[7]) && version != "HTTP/1.0" && version != "HTTP/1.1") {
    return Refusal{
        505, "HTTP version " + std::string(version.substr(5)) + " is not supported; use HTTP/1.1"};
  }
  return bad_request("malformed request line");
}

// RFC 9112 6.1 and 6.3: the only coding implemented is chunked, once and last.
std::optional<Refusal> check_transfer_encoding(const std::vector<std::string_view>& codings,
                                               unsigned version, size_t content_lengths) {
  if (version < 11) return bad_request("Transfer-Encoding in an HTTP/1.0 request");
  if (content_lengths > 0) return bad_request("Transfer-Encoding together with Content-Length");
  if (codings.empty()) return bad_request("empty Transfer-Encoding");
  if (!iequals(codings.back(), "chunked")) {
    return bad_request("the final transfer coding is not chunked, so the body's length is unknown");
  }
  for (size_t i = 0; i + 1 < codings.size(); ++i) {
    std::string_view name = trim(codings[i].substr(0, codings[i].find(';')));
    if (iequals(name, "chunked")) return bad_request("chunked is applied more than once");
  }
  if (codings.size() > 1) {
    // Framed, but in a coding we cannot undo (RFC 9112 6.1: 501).
    return Refusal{501,
                   "no transfer coding but chunked is supported; send the body chunked alone or "
                   "with Content-Length"};
  }
  return std::nullopt;
}

// RFC 9112 3.2.2: an absolute-form target's authority stands for Host. nullopt when `head`
// now has an origin-form target and that Host.
std::optional<Refusal> rewrite_absolute_form(http::request_header<>& head) {
  std::string_view target = head.target();
  auto scheme_end = target.find("://");
  if (scheme_end == std::string_view::npos || !(iequals(target.substr(0, scheme_end), "http") ||
                                                iequals(target.substr(0, scheme_end), "https"))) {
    return bad_request("the request target is neither a path nor an http(s) URI");
  }
  std::string_view rest = target.substr(scheme_end + 3);
  std::string_view authority = rest.substr(0, rest.find_first_of("/?#"));
  if (authority.find('@') != std::string_view::npos) {
    return bad_request("the request target has userinfo");
  }
  if (!parse_authority(authority)) return bad_request("the request target's host is malformed");
  std::string path(rest.substr(authority.size()));
  if (path.empty() || path.front() != '/') path.insert(0, "/");
  std::string host(authority);
  head.target(path);
  head.set(http::field::host, host);
  return std::nullopt;
}

}  // namespace

std::optional<Refusal> refusal_for_read_error(const boost::system::error_code& ec,
                                              std::string_view unparsed,
                                              const FramingLimits& limits) {
  if (ec.category() != http::make_error_code(http::error::end_of_stream).category()) {
    return std::nullopt;  // the socket's own errors: reset, timeout, cancelled
  }
  switch (static_cast<http::error>(ec.value())) {
    case http::error::end_of_stream:
    case http::error::partial_message:
    case http::error::need_more:
    case http::error::short_read:
      return std::nullopt;  // the peer closed
    case http::error::header_limit:
    case http::error::buffer_overflow:
      return Refusal{431, "the request's header section exceeds " +
                              std::to_string(limits.max_header_bytes) + " bytes"};
    case http::error::body_limit:
      return Refusal{
          413, "body exceeds the limit of " + std::to_string(limits.max_body_bytes) + " bytes"};
    case http::error::bad_version:
      return version_refusal(unparsed);
    case http::error::bad_method:
      return bad_request("malformed request line: bad method");
    case http::error::bad_target:
      return bad_request("malformed request line: bad request target");
    case http::error::bad_line_ending:
      return bad_request("malformed line ending");
    case http::error::bad_field:
    case http::error::bad_value:
    case http::error::bad_obs_fold:
      return bad_request("malformed header field");
    case http::error::bad_content_length:
      return bad_request("Content-Length is not a number, or comes with Transfer-Encoding");
    case http::error::multiple_content_length:
      return bad_request("more than one Content-Length");
    case http::error::bad_transfer_encoding:
      return bad_request("Transfer-Encoding repeated or together with Content-Length");
    case http::error::bad_chunk:
    case http::error::bad_chunk_extension:
      return bad_request("malformed chunked body");
    default:
      return bad_request("malformed request");
  }
}

std::optional<Refusal> admit_head(http::request_header<>& head) {
  size_t fields = 0;
  size_t hosts = 0;
  size_t content_lengths = 0;
  bool transfer_encoding = false;
  std::vector<std::string_view> codings;
  std::string_view host;
  std::string_view content_length;
  for (const auto& f : head) {
    ++fields;
    switch (f.name()) {
      case http::field::host:
        ++hosts;
        host = f.value();
        break;
      case http::field::content_length:
        ++content_lengths;
        content_length = f.value();
        break;
      case http::field::transfer_encoding:
        transfer_encoding = true;
        append_list(f.value(), codings);
        break;
      default:
        break;
    }
  }
  if (fields > kMaxHeaderFields) {
    return Refusal{431, "more than " + std::to_string(kMaxHeaderFields) + " header fields"};
  }
  if (transfer_encoding) {
    if (auto refusal = check_transfer_encoding(codings, head.version(), content_lengths)) {
      return refusal;
    }
  }
  // Beast takes "5, 5" and two equal fields as one length; a proxy in front may not.
  if (content_lengths > 1) return bad_request("more than one Content-Length");
  if (content_lengths == 1 &&
      (content_length.empty() ||
       !std::all_of(content_length.begin(), content_length.end(), is_digit))) {
    return bad_request("Content-Length is not a number");
  }
  // RFC 9112 3.2.
  if (hosts > 1) return bad_request("more than one Host header");
  if (hosts == 0 && head.version() >= 11) return bad_request("an HTTP/1.1 request needs Host");
  if (!host.empty() && !parse_authority(host)) return bad_request("Host is not host[:port]");
  std::string_view target = head.target();
  if (target.empty()) return bad_request("empty request target");
  if (target.front() != '/' && target != "*") return rewrite_absolute_form(head);
  return std::nullopt;
}

}  // namespace hookmcp::transport
