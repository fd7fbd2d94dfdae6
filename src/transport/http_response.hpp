// Private to the transport: building answers and reading requests, shared by the listener, the
// webhook route and MCP over HTTP. Every error body here is the transport's own
// {"error": message}, the shape intake answers with too.
#pragma once

#include <boost/beast/http/field.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace hookmcp::transport {

using Request = boost::beast::http::request<boost::beast::http::string_body>;
using Response = boost::beast::http::response<boost::beast::http::string_body>;

inline Response make_response(const Request& req, unsigned status, std::string body,
                              std::string_view content_type = "application/json") {
  Response res{static_cast<boost::beast::http::status>(status), req.version()};
  res.set(boost::beast::http::field::server, "hookmcp");
  res.set(boost::beast::http::field::content_type, content_type);
  // A browser takes each answer as the type it says: an echoed token (Graph's validation) or a
  // payload is never sniffed into HTML.
  res.set("X-Content-Type-Options", "nosniff");
  res.keep_alive(req.keep_alive());
  res.body() = std::move(body);
  res.prepare_payload();
  return res;
}

// {"error": message}; bytes of `message` that are not UTF-8 are replaced, never thrown on.
inline Response error(const Request& req, unsigned status, const std::string& message) {
  nlohmann::json body = {{"error", message}};
  return make_response(req, status,
                       body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

// A JSON-RPC error answered over HTTP before any session sees the message.
inline Response rpc_error(const Request& req, unsigned status, int code,
                          const std::string& message) {
  nlohmann::json body = {
      {"jsonrpc", "2.0"}, {"id", nullptr}, {"error", {{"code", code}, {"message", message}}}};
  return make_response(req, status, body.dump());
}

inline std::string_view path_of(const Request& req) {
  std::string_view target = req.target();
  return target.substr(0, target.find('?'));
}

// The value of `name` in the target's query string ("" when absent).
inline std::string query_param(const Request& req, std::string_view name) {
  std::string_view target = req.target();
  auto q = target.find('?');
  if (q == std::string_view::npos) return {};
  std::string_view query = target.substr(q + 1);
  while (!query.empty()) {
    auto amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    auto eq = pair.find('=');
    if (pair.substr(0, eq) == name) {
      return eq == std::string_view::npos ? std::string() : std::string(pair.substr(eq + 1));
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return {};
}

inline std::optional<std::string_view> header(const Request& req, boost::beast::http::field field) {
  auto it = req.find(field);
  if (it == req.end()) return std::nullopt;
  return std::string_view(it->value());
}

inline std::optional<std::string_view> header(const Request& req, std::string_view name) {
  auto it = req.find(name);
  if (it == req.end()) return std::nullopt;
  return std::string_view(it->value());
}

inline bool accepts(const Request& req, std::string_view type) {
  auto accept = header(req, boost::beast::http::field::accept);
  return accept && (accept->find(type) != std::string_view::npos ||
                    accept->find("*/*") != std::string_view::npos);
}

}  // namespace hookmcp::transport
