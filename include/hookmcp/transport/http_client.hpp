// A small blocking HTTP/1.1 client for one request at a time: `hookmcp send` and tools like it.
// Each call opens its own connection and io_context, so calls from different threads are
// independent. https:// URLs verify the server's certificate against the system's CAs.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "hookmcp/core/headers.hpp"
#include "hookmcp/core/result.hpp"

namespace hookmcp::transport {

struct Url {
  std::string scheme;  // "http" or "https"
  std::string host;    // without brackets for IPv6
  uint16_t port = 0;
  std::string target;  // path and query, at least "/"
};

// http://HOST[:PORT][/PATH][?QUERY] or https://...; kInvalidArgument saying what is wrong.
Result<Url> parse_url(std::string_view text);

struct ClientRequest {
  std::string method = "POST";
  std::string url;
  Headers headers;  // sent as given; Host, Content-Length and User-Agent are added if absent
  std::string body;
  std::chrono::milliseconds timeout{30000};  // for the whole exchange
  uint64_t max_response_bytes = uint64_t{16} << 20;
};

struct ClientResponse {
  int status = 0;
  std::string reason;
  int version = 11;  // 10 or 11
  Headers headers;
  std::string body;

  // "HTTP/1.1 202 Accepted"
  std::string status_line() const;
};

// Sends the request and reads the whole answer. kInvalidArgument for a bad URL, kIo when the
// server cannot be reached, the exchange fails, or it takes longer than the timeout.
Result<ClientResponse> http_request(const ClientRequest& request);

}  // namespace hookmcp::transport
