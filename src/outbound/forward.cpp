// A stored event sent on to another URL (`hookmcp forward`, `hookmcp events replay`): as the
// request its sender made, or re-signed as Standard Webhooks.
#include <array>

#include "hookmcp/core/headers.hpp"
#include "hookmcp/core/json.hpp"
#include "hookmcp/outbound/outbound.hpp"

namespace hookmcp::outbound {

namespace {

// Headers that describe one connection or one hop, not the delivery: the client sets its own.
constexpr std::array<std::string_view, 13> kHopHeaders = {"host",
                                                          "content-length",
                                                          "transfer-encoding",
                                                          "connection",
                                                          "keep-alive",
                                                          "upgrade",
                                                          "te",
                                                          "trailer",
                                                          "expect",
                                                          "proxy-connection",
                                                          "user-agent",
                                                          "proxy-authorization",
                                                          "accept-encoding"};

bool hop_header(std::string_view name) {
  for (std::string_view hop : kHopHeaders) {
    if (iequals(name, hop)) return true;
  }
  return iequals(name.substr(0, 12), "x-forwarded-") || iequals(name, "forwarded") ||
         iequals(name, "x-real-ip");
}

}  // namespace

Result<net::ClientRequest> forward_request(const Event& event, const std::string& url,
                                           const std::string& secret, int64_t now_s) {
  net::ClientRequest request;
  request.method = "POST";
  request.url = url;
  request.body = event.body;
  if (secret.empty()) {
    auto stored = parse_json(event.headers_json);
    if (stored.ok() && stored.value.is_object()) {
      for (const auto& [name, value] : stored.value.items()) {
        // A credential hookmcp redacted (Authorization, a token) cannot be sent on.
        if (!value.is_string() || value == "[redacted]" || hop_header(name)) continue;
        request.headers.add(name, value.get<std::string>());
      }
    }
    if (!request.headers.contains("Content-Type") && !event.content_type.empty()) {
      request.headers.add("Content-Type", event.content_type);
    }
  } else {
    auto headers =
        signed_headers(secret, "hookmcp_" + std::to_string(event.id), event.body, now_s, "");
    if (!headers) return headers.error();
    for (const auto& [name, value] : headers->fields()) {
      if (!iequals(name, "X-MCP-Subscription-Id") && !iequals(name, "Content-Type")) {
        request.headers.add(name, value);
      }
    }
    request.headers.add("Content-Type",
                        event.content_type.empty() ? "application/json" : event.content_type);
  }
  request.headers.add("User-Agent", "hookmcp");
  request.headers.add("X-Hookmcp-Event-Id", std::to_string(event.id));
  request.headers.add("X-Hookmcp-Source", event.source);
  return request;
}

}  // namespace hookmcp::outbound
