// The listener's request framing: bytes from a connection go through Beast's parser as the
// listener drives it (the head, then the body), with its decisions from http_framing.hpp. Every
// request is either refused with one of the listener's statuses, or admitted with a framing
// nothing can read two ways: one Host (on HTTP/1.1), a path target, and a body delimited by one
// plain Content-Length or by chunked alone. Up to four requests follow on one connection, as a
// client (or a proxy sharing the connection) pipelines them.
#include <boost/asio/buffer.hpp>
#include <boost/beast/http.hpp>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

#include "hookmcp/transport/mcp_access.hpp"
#include "http_framing.hpp"

namespace {

namespace http = boost::beast::http;
using hookmcp::transport::admit_head;
using hookmcp::transport::FramingLimits;
using hookmcp::transport::kMaxHeaderFields;
using hookmcp::transport::Refusal;
using hookmcp::transport::refusal_for_read_error;

// Small, so that the limits are reached.
constexpr FramingLimits kLimits{512, 2048};

using Parser = http::request_parser<http::string_body>;

void check_refusal(const std::optional<Refusal>& refusal) {
  if (!refusal) return;
  switch (refusal->status) {
    case 400:
    case 413:
    case 431:
    case 501:
    case 505:
      break;
    default:
      std::abort();
  }
  if (refusal->message.empty() || refusal->message.size() > 200) std::abort();
}

// Feeds `input` to the parser until `done`, as the listener's reads do; the input's end is the
// peer closing. Returns the parse error, if any.
template <typename Done>
boost::system::error_code feed(Parser& parser, std::string_view& input, Done done) {
  boost::system::error_code ec;
  while (!done()) {
    size_t used = 0;
    if (!input.empty()) {
      used = parser.put(boost::asio::buffer(input.data(), input.size()), ec);
      input.remove_prefix(used);
      if (ec && ec != http::error::need_more) return ec;
    }
    if (used > 0) continue;
    // Nothing more to parse in what is left: the peer has closed.
    if (!parser.got_some()) return http::error::end_of_stream;
    parser.put_eof(ec);
    return ec ? ec : make_error_code(http::error::partial_message);
  }
  return {};
}

// What the listener answers to a failed read: a refusal for every malformed request.
void check_read_error(const boost::system::error_code& ec, std::string_view unparsed) {
  auto refusal = refusal_for_read_error(ec, unparsed, kLimits);
  check_refusal(refusal);
  bool peer_closed = ec == http::error::end_of_stream || ec == http::error::partial_message;
  if (!peer_closed && !refusal) std::abort();
}

// A list field's non-empty elements, lowercase, each followed by '|'.
std::string list_elements(std::string_view value) {
  std::string out;
  std::string element;
  auto flush = [&] {
    while (!element.empty() && (element.back() == ' ' || element.back() == '\t')) {
      element.pop_back();
    }
    if (!element.empty()) out += element + "|";
    element.clear();
  };
  for (char c : value) {
    if (c == ',') {
      flush();
    } else if (!element.empty() || (c != ' ' && c != '\t')) {
      element += static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    }
  }
  flush();
  return out;
}

// The invariants of an admitted head.
void check_admitted(const Parser& parser) {
  const auto& head = parser.get();
  size_t fields = 0;
  size_t hosts = 0;
  size_t lengths = 0;
  size_t encodings = 0;
  std::string_view length;
  std::string encoding;  // every Transfer-Encoding line, as one list (RFC 9110 5.3)
  std::string_view host;
  for (const auto& f : head) {
    ++fields;
    if (f.name() == http::field::host) {
      ++hosts;
      host = f.value();
    } else if (f.name() == http::field::content_length) {
      ++lengths;
      length = f.value();
    } else if (f.name() == http::field::transfer_encoding) {
      ++encodings;
      encoding.append(",").append(f.value());
    }
  }
  if (fields > kMaxHeaderFields) std::abort();
  if (hosts > 1 || (head.version() >= 11 && hosts != 1)) std::abort();
  if (!host.empty() && !hookmcp::transport::parse_authority(host)) std::abort();
  std::string_view target = head.target();
  if (target.empty() || (target.front() != '/' && target != "*")) std::abort();
  if (encodings > 0) {
    // chunked alone (empty list elements aside, RFC 9110 5.6.1), and the parser reads the body
    // as chunked
    if (lengths != 0 || list_elements(encoding) != "chunked|") std::abort();
    if (!parser.chunked() || head.version() < 11) std::abort();
  } else {
    if (parser.chunked()) std::abort();
  }
  if (lengths > 1) std::abort();
  if (lengths == 1) {
    uint64_t value = 0;
    for (char c : length) {
      if (c < '0' || c > '9') std::abort();
      value = value * 10 + static_cast<uint64_t>(c - '0');
    }
    if (!parser.content_length() || *parser.content_length() != value) std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  for (int request = 0; request < 4 && !input.empty(); ++request) {
    Parser parser;
    parser.header_limit(kLimits.max_header_bytes);
    parser.body_limit(kLimits.max_body_bytes);
    auto ec = feed(parser, input, [&] { return parser.is_header_done(); });
    if (ec) {
      check_read_error(ec, input);
      return 0;
    }
    auto refusal = admit_head(parser.get());
    check_refusal(refusal);
    if (refusal) return 0;
    check_admitted(parser);
    ec = feed(parser, input, [&] { return parser.is_done(); });
    if (ec) {
      check_read_error(ec, input);
      return 0;
    }
    if (parser.get().body().size() > kLimits.max_body_bytes) std::abort();
  }
  return 0;
}
