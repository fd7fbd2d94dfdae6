#include "holder.hpp"

#include <nlohmann/json.hpp>

#include "hookmcp/net/http_client.hpp"

namespace hookmcp::app {

namespace {

// The address to ask: a listener on every address is reached on loopback.
std::string host_to_ask(const std::string& host) {
  if (host == "0.0.0.0" || host.empty()) return "127.0.0.1";
  if (host == "::") return "[::1]";
  return host.find(':') != std::string::npos ? "[" + host + "]" : host;
}

}  // namespace

Holder identify_holder(const config::Endpoint& listen, bool tls, const std::string& identity,
                       std::chrono::milliseconds timeout) {
  net::ClientRequest request;
  request.method = "GET";
  request.url = std::string(tls ? "https" : "http") + "://" + host_to_ask(listen.host) + ":" +
                std::to_string(listen.port) + "/healthz";
  request.timeout = timeout;
  request.max_response_bytes = uint64_t{64} << 10;
  Holder holder;
  net::Failure failure = net::Failure::kNone;
  auto response = net::http_request(request, &failure);
  if (!response) {
    holder.detail = response.error().message;
    // A TLS listener whose certificate this process cannot verify (self-signed) may well be a
    // hookmcp: it cannot be told.
    if (failure == net::Failure::kTls) holder.kind = Holder::Kind::kUnknownDatabase;
    return holder;
  }
  holder.detail = "GET /healthz answered HTTP " + std::to_string(response->status);
  auto body = nlohmann::json::parse(response->body, nullptr, /*allow_exceptions=*/false);
  // /healthz answers 503 while its storage cannot commit: still a hookmcp, and still says which.
  if (!body.is_object() || body.value("service", "") != "hookmcp") {
    if (body.is_object() && body.value("status", "") == "ok" && body.size() == 1) {
      // hookmcp before /healthz named itself: {"status":"ok"} and nothing else.
      holder.kind = Holder::Kind::kUnknownDatabase;
      holder.detail = "a hookmcp too old to name its database";
    }
    return holder;
  }
  holder.database = body.value("database", "");
  if (holder.database.empty()) {
    holder.kind = Holder::Kind::kUnknownDatabase;
    holder.detail = "a hookmcp that does not name its database";
  } else {
    holder.kind =
        holder.database == identity ? Holder::Kind::kSameDatabase : Holder::Kind::kOtherDatabase;
  }
  return holder;
}

}  // namespace hookmcp::app
