// MCP 2026-07-28: era selection, the checks before a stateless request is served, and what the
// era adds to every result (resultType, caching hints) and to server/discover.
#include "hookmcp/mcp/stateless.hpp"

#include <algorithm>
#include <array>

#include "internal.hpp"

namespace hookmcp::mcp {

namespace {

// The methods of the stateless era. The session-only ones (initialize, ping, logging/setLevel,
// resources/subscribe, resources/unsubscribe) are answered "method not found" there.
constexpr std::array<std::string_view, 16> kStatelessMethods = {"server/discover",
                                                                "subscriptions/listen",
                                                                "tools/list",
                                                                "tools/call",
                                                                "resources/list",
                                                                "resources/templates/list",
                                                                "resources/read",
                                                                "prompts/list",
                                                                "prompts/get",
                                                                "completion/complete",
                                                                "notifications/cancelled",
                                                                "events/list",
                                                                "events/poll",
                                                                "events/stream",
                                                                "events/subscribe",
                                                                "events/unsubscribe"};

// How long a client may reuse a list or read result, and with whom (SEP-2549). Tools, prompts
// and templates change only with the binary; sources and events change with every webhook, and
// are the user's own.
struct CacheHint {
  std::string_view method;
  int64_t ttl_ms;
  std::string_view scope;
};
constexpr std::array<CacheHint, 7> kCacheHints = {{{"server/discover", 300'000, "public"},
                                                   {"events/list", 300'000, "public"},
                                                   {"tools/list", 300'000, "public"},
                                                   {"prompts/list", 300'000, "public"},
                                                   {"resources/templates/list", 300'000, "public"},
                                                   {"resources/list", 0, "private"},
                                                   {"resources/read", 0, "private"}}};

json error_response(const json& message, int code, std::string text, json data = nullptr) {
  json error = {{"code", code}, {"message", std::move(text)}};
  if (!data.is_null()) error["data"] = std::move(data);
  json id = message.is_object() ? message.value("id", json(nullptr)) : json(nullptr);
  return {{"jsonrpc", "2.0"}, {"id", std::move(id)}, {"error", std::move(error)}};
}

StatelessRefusal refuse(const json& message, int status, int code, std::string text,
                        json data = nullptr) {
  return {status, error_response(message, code, std::move(text), std::move(data))};
}

json supported_versions() {
  return json(
      std::vector<std::string>(std::begin(kStatelessVersions), std::end(kStatelessVersions)));
}

// The name a request's Mcp-Name header carries: a tool's or prompt's name, a resource's URI.
std::optional<std::string> request_name(std::string_view method, const json& params) {
  const char* key = method == "resources/read"                          ? "uri"
                    : method == "tools/call" || method == "prompts/get" ? "name"
                                                                        : nullptr;
  if (key == nullptr) return std::nullopt;
  auto it = params.find(key);
  if (it == params.end() || !it->is_string()) return std::string();
  return it->get<std::string>();
}

}  // namespace

bool is_stateless_version(std::string_view version) {
  return std::any_of(std::begin(kStatelessVersions), std::end(kStatelessVersions),
                     [&](const char* v) { return version == v; });
}

bool is_stateless_message(const json& message) {
  if (!message.is_object()) return false;
  auto method = message.find("method");
  if (method == message.end() || !method->is_string()) return false;
  if (*method == "server/discover") return true;
  auto params = message.find("params");
  if (params == message.end() || !params->is_object()) return false;
  auto meta = params->find("_meta");
  return meta != params->end() && meta->is_object() && meta->contains(kMetaProtocolVersion);
}

std::optional<StatelessRefusal> check_stateless_request(const json& message,
                                                        const StatelessHeaders* http) {
  if (!message.is_object() || !message.contains("id")) return std::nullopt;
  auto m = message.find("method");
  if (m == message.end() || !m->is_string()) {
    return refuse(message, 400, rpc::kInvalidRequest, "Invalid Request: method must be a string");
  }
  const std::string& method = m->get_ref<const std::string&>();
  if (http && !http->protocol_version) {
    return refuse(message, 400, kHeaderMismatch, "the MCP-Protocol-Version header is required");
  }
  const json* meta = nullptr;
  if (auto params = message.find("params"); params != message.end() && params->is_object()) {
    if (auto m = params->find("_meta"); m != params->end() && m->is_object()) meta = &*m;
  }
  if (meta == nullptr) {
    return refuse(message, 400, rpc::kInvalidParams,
                  "Invalid params: a request of MCP 2026-07-28 carries params._meta with " +
                      std::string(kMetaProtocolVersion) + " and " + kMetaClientCapabilities);
  }
  auto version = meta->find(kMetaProtocolVersion);
  if (version == meta->end() || !version->is_string()) {
    return refuse(
        message, 400, rpc::kInvalidParams,
        "Invalid params: params._meta needs " + std::string(kMetaProtocolVersion) + " (a string)");
  }
  auto capabilities = meta->find(kMetaClientCapabilities);
  if (capabilities == meta->end() || !capabilities->is_object()) {
    return refuse(message, 400, rpc::kInvalidParams,
                  "Invalid params: params._meta needs " + std::string(kMetaClientCapabilities) +
                      " (an object; empty when the client supports no optional capability)");
  }
  const auto& requested = version->get_ref<const std::string&>();
  if (http) {
    if (*http->protocol_version != requested) {
      return refuse(message, 400, kHeaderMismatch,
                    "the MCP-Protocol-Version header (" + std::string(*http->protocol_version) +
                        ") does not match params._meta's protocol version (" + requested + ")");
    }
    if (!http->method || *http->method != method) {
      return refuse(message, 400, kHeaderMismatch,
                    http->method ? "the Mcp-Method header (" + std::string(*http->method) +
                                       ") does not match the body's method (" + method + ")"
                                 : std::string("the Mcp-Method header is required"));
    }
    auto name = request_name(method, message.value("params", json::object()));
    if (name && (!http->name || *http->name != *name)) {
      return refuse(message, 400, kHeaderMismatch,
                    http->name
                        ? "the Mcp-Name header (" + std::string(*http->name) +
                              ") does not match the body's " +
                              (method == "resources/read" ? "uri" : "name") + " (" + *name + ")"
                        : "the Mcp-Name header is required for " + method);
    }
  }
  if (!is_stateless_version(requested)) {
    return refuse(message, 400, kUnsupportedProtocolVersion,
                  "Unsupported protocol version " + requested +
                      "; this server speaks 2026-07-28 per request, and 2025-11-25, 2025-06-18, "
                      "2025-03-26 and 2024-11-05 through initialize",
                  {{"supported", supported_versions()}, {"requested", requested}});
  }
  if (std::find(kStatelessMethods.begin(), kStatelessMethods.end(), method) ==
      kStatelessMethods.end()) {
    bool session_only = method == "initialize" || method == "ping" ||
                        method == "logging/setLevel" || method == "resources/subscribe" ||
                        method == "resources/unsubscribe";
    return refuse(message, 404, rpc::kMethodNotFound,
                  "Method not found: " + method +
                      (session_only ? " belongs to the session-based revisions (open one with "
                                      "initialize); in 2026-07-28 see server/discover"
                                    : std::string()));
  }
  return std::nullopt;
}

namespace {

// What a Mcp-Param-* header carries: its value, decoded from =?base64?...?= when so wrapped;
// nullopt when the wrapped part is not base64.
std::optional<std::string> header_value(std::string_view raw) {
  constexpr std::string_view kOpen = "=?base64?";
  constexpr std::string_view kClose = "?=";
  if (raw.size() < kOpen.size() + kClose.size() || !raw.starts_with(kOpen) ||
      !raw.ends_with(kClose)) {
    return std::string(raw);
  }
  std::string_view encoded = raw.substr(kOpen.size(), raw.size() - kOpen.size() - kClose.size());
  // Padded, as RFC 4648 writes it: a length of whole quanta, '=' only at the end.
  size_t padding = encoded.size() - std::min(encoded.size(), encoded.find_last_not_of('=') + 1);
  if (encoded.size() % 4 != 0 || padding > 2) return std::nullopt;
  return base64_decode(encoded);
}

// Whether the header's text stands for the argument `value` of JSON type `type`.
bool header_agrees(const std::string& text, const json& value) {
  if (value.is_string()) return text == value.get_ref<const std::string&>();
  if (value.is_boolean()) return text == (value.get<bool>() ? "true" : "false");
  if (value.is_number_integer() || value.is_number_float()) {
    // Integers compare as numbers: "42" agrees with 42 and with 42.0.
    json parsed = json::parse(text, nullptr, false);
    return parsed.is_number() && parsed.get<double>() == value.get<double>();
  }
  return false;
}

}  // namespace

std::optional<StatelessRefusal> check_param_headers(
    const json& message, const json& input_schema,
    const std::function<std::optional<std::string_view>(const std::string& name)>& header) {
  if (!message.is_object() || !input_schema.is_object()) return std::nullopt;
  auto properties = input_schema.find("properties");
  if (properties == input_schema.end() || !properties->is_object()) return std::nullopt;
  json arguments = json::object();
  if (auto params = message.find("params"); params != message.end() && params->is_object()) {
    if (auto a = params->find("arguments"); a != params->end() && a->is_object()) arguments = *a;
  }
  for (const auto& [property, schema] : properties->items()) {
    if (!schema.is_object()) continue;
    auto name = schema.find("x-mcp-header");
    if (name == schema.end() || !name->is_string() || name->get_ref<const std::string&>().empty()) {
      continue;
    }
    auto value = arguments.find(property);
    if (value == arguments.end() || value->is_null()) continue;
    const auto& header_name = name->get_ref<const std::string&>();
    auto raw = header(header_name);
    if (!raw) {
      return refuse(message, 400, kHeaderMismatch,
                    "the Mcp-Param-" + header_name + " header is required: argument " + property +
                        " is in the body");
    }
    auto text = header_value(*raw);
    if (!text) {
      return refuse(message, 400, kHeaderMismatch,
                    "the Mcp-Param-" + header_name + " header is not valid =?base64?...?=");
    }
    if (!header_agrees(*text, *value)) {
      return refuse(message, 400, kHeaderMismatch,
                    "the Mcp-Param-" + header_name + " header does not match argument " + property);
    }
  }
  return std::nullopt;
}

// --- What the Session uses (internal.hpp).

std::optional<RequestEra> stateless_era(const json& params) {
  auto meta = params.find("_meta");
  if (meta == params.end() || !meta->is_object()) return std::nullopt;
  auto version = meta->find(kMetaProtocolVersion);
  if (version == meta->end() || !version->is_string()) return std::nullopt;
  RequestEra era;
  era.version = version->get<std::string>();
  if (auto caps = meta->find(kMetaClientCapabilities); caps != meta->end() && caps->is_object()) {
    era.client_capabilities = *caps;
  }
  if (auto level = meta->find(kMetaLogLevel); level != meta->end() && level->is_string()) {
    era.log_level = log_level_index(level->get_ref<const std::string&>());
  }
  return era;
}

json stateless_result(std::string_view method, json result) {
  if (!result.is_object()) return result;
  if (!result.contains("resultType")) result["resultType"] = "complete";
  for (const auto& hint : kCacheHints) {
    if (hint.method != method) continue;
    if (!result.contains("ttlMs")) result["ttlMs"] = hint.ttl_ms;
    if (!result.contains("cacheScope")) result["cacheScope"] = std::string(hint.scope);
  }
  return result;
}

json discover_result(const ServerOptions& options, json capabilities, std::string instructions) {
  return {{"supportedVersions", supported_versions()},
          {"capabilities", std::move(capabilities)},
          {"instructions", std::move(instructions)},
          {"_meta",
           {{kMetaServerInfo,
             {{"name", "hookmcp"},
              {"title", "hookmcp: webhooks for assistants"},
              {"version", options.version}}}}}};
}

}  // namespace hookmcp::mcp
