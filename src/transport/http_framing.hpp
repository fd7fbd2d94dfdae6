// How the listener frames a request (RFC 9112): the answer to each parse error, and the request
// heads it refuses before reading a body, so that no connection is left with a body taken for
// the next request. Private to the transport. Pure functions over Beast's parser results; safe
// from any thread.
#pragma once

#include <boost/beast/http/message.hpp>
#include <boost/system/error_code.hpp>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace hookmcp::transport {

// Header fields a request may carry; the header section's bytes are limited by
// FramingLimits::max_header_bytes. 100 is what Apache allows by default: providers send 10-30.
inline constexpr size_t kMaxHeaderFields = 100;

struct FramingLimits {
  uint32_t max_header_bytes = 16 * 1024;
  uint64_t max_body_bytes = uint64_t{25} << 20;
};

// A request the listener answers with an error and then closes the connection on.
struct Refusal {
  unsigned status = 400;  // 400, 413, 431, 501 or 505
  std::string message;
};

// The answer to a request whose reading failed with `ec`, or nullopt when there is none to give
// and the connection just ends (the peer closed or reset it, a timeout, the server stopping).
// `unparsed` is what the read buffer still holds: the request line when that is at fault.
std::optional<Refusal> refusal_for_read_error(const boost::system::error_code& ec,
                                              std::string_view unparsed,
                                              const FramingLimits& limits);

// Checks a head Beast parsed, before its body is read: the framing (Transfer-Encoding exactly
// `chunked`, never with Content-Length, one plain Content-Length), Host (exactly one on
// HTTP/1.1, at most one on HTTP/1.0, host[:port]), the number of fields, and the form of the
// target. An absolute-form target ("http://host:port/path") is rewritten to its path and query,
// its authority replacing Host (RFC 9112 3.2.2), so that routes and Host checks see one form.
// nullopt when the request may be read and served.
std::optional<Refusal> admit_head(boost::beast::http::request_header<>& head);

}  // namespace hookmcp::transport
