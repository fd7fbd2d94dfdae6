// One signed POST to a receiver: the URL checks, the Standard Webhooks signature, and what the
// answer (or its absence) is called.
#include <cctype>

#include "hookmcp/outbound/outbound.hpp"
#include "hookmcp/verify/sign.hpp"

namespace hookmcp::outbound {

Result<net::Url> check_callback_url(std::string_view url, const Policy& policy) {
  auto parsed = net::parse_url(url);
  if (!parsed) return parsed.error();
  if (parsed->scheme != "https" && !policy.allow_private) {
    return make_error(ErrorCode::kInvalidArgument,
                      "the callback URL must be https:// (http:// is allowed only with "
                      "events.allow_private_callbacks, for local development)");
  }
  if (url.find('#') != std::string_view::npos) {
    return make_error(ErrorCode::kInvalidArgument, "the callback URL must not have a fragment");
  }
  for (char c : url) {
    if (std::iscntrl(static_cast<unsigned char>(c)) || c == ' ') {
      return make_error(ErrorCode::kInvalidArgument,
                        "the callback URL must not hold spaces or control characters");
    }
  }
  return parsed;
}

std::string Attempt::category() const {
  if (!reason.empty()) return reason;
  if (status >= 500) return "http_5xx";
  if (status >= 300) return "http_4xx";  // 3xx too: redirects are never followed
  switch (failure) {
    case net::Failure::kTimeout:
      return "timeout";
    case net::Failure::kTls:
      return "tls_error";
    default:
      return "connection_refused";
  }
}

Result<Headers> signed_headers(const std::string& secret, const std::string& webhook_id,
                               const std::string& body, int64_t now_s,
                               const std::string& subscription_id) {
  verify::SignRequest r;
  r.provider = "standard";
  r.secret = secret;
  r.body = body;
  r.now_s = now_s;
  r.delivery_id = webhook_id;
  auto headers = verify::sign(r);
  if (!headers) return headers.error();
  headers->add("X-MCP-Subscription-Id", subscription_id);
  return headers;
}

Attempt Deliverer::post(const std::string& url, const std::string& secret,
                        const std::string& subscription_id, const std::string& webhook_id,
                        const std::string& body) const {
  net::Client client;
  return post(client, url, secret, subscription_id, webhook_id, body);
}

Attempt Deliverer::post(net::Client& client, const std::string& url, const std::string& secret,
                        const std::string& subscription_id, const std::string& webhook_id,
                        const std::string& body) const {
  // Signed afresh for each attempt: its timestamp is now.
  auto headers = signed_headers(secret, webhook_id, body, now_ms() / 1000, subscription_id);
  if (!headers) {
    Attempt out;
    out.failure = net::Failure::kExchange;
    out.error = headers.error().message;
    return out;
  }
  net::ClientRequest request;
  request.method = "POST";
  request.url = url;
  request.headers = std::move(*headers);
  request.headers.add("User-Agent", "hookmcp");
  request.body = body;
  request.timeout = policy_.timeout;
  return exchange(client, std::move(request), /*private_ok=*/false);
}

Attempt Deliverer::exchange(net::Client& client, net::ClientRequest request,
                            bool private_ok) const {
  Attempt out;
  request.max_response_bytes = policy_.max_response_bytes;
  request.cancellation = cancellation_;
  if (!policy_.allow_private && !private_ok) {
    request.vet_address = [](const std::string& address) {
      return net::non_public_reason(address);
    };
  }
  auto response = client.request(request, &out.failure);
  if (!response) {
    if (response.error().code == ErrorCode::kTooLarge) {
      // The receiver answered, at length: its status still counts. Not knowing it, call it a
      // failure of the exchange.
      out.failure = net::Failure::kExchange;
    }
    out.error = response.error().message;
    return out;
  }
  out.status = response->status;
  out.body = std::move(response->body);
  return out;
}

}  // namespace hookmcp::outbound
