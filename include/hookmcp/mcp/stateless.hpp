// MCP 2026-07-28, the stateless revision, beside the session-based ones: which era a message
// belongs to, and the checks a request of the stateless era passes before it is served. Pure
// functions over JSON; the transports call them (HTTP to pick the status, stdio through the
// Session) and the Session applies the era's rules to what it answers.
//
// A request is of the stateless era when it is `server/discover` or carries
// `io.modelcontextprotocol/protocolVersion` in `params._meta`; `initialize` opens a session of
// the older revisions exactly as before. One server speaks both at once, chosen per request.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace hookmcp::mcp {

// The stateless revisions served, newest first.
inline constexpr const char* kStatelessVersions[] = {"2026-07-28"};

// The `_meta` keys of the stateless era.
inline constexpr const char* kMetaProtocolVersion = "io.modelcontextprotocol/protocolVersion";
inline constexpr const char* kMetaClientCapabilities = "io.modelcontextprotocol/clientCapabilities";
inline constexpr const char* kMetaClientInfo = "io.modelcontextprotocol/clientInfo";
inline constexpr const char* kMetaLogLevel = "io.modelcontextprotocol/logLevel";
inline constexpr const char* kMetaServerInfo = "io.modelcontextprotocol/serverInfo";
inline constexpr const char* kMetaSubscriptionId = "io.modelcontextprotocol/subscriptionId";

// JSON-RPC errors the stateless era adds.
inline constexpr int kHeaderMismatch = -32020;
inline constexpr int kMissingClientCapability = -32021;
inline constexpr int kUnsupportedProtocolVersion = -32022;

bool is_stateless_version(std::string_view version);

// Whether `message` (one JSON-RPC message, not a batch) is a request or notification of the
// stateless era.
bool is_stateless_message(const nlohmann::json& message);

// A stateless request refused before it is served: the JSON-RPC error response, and the HTTP
// status the Streamable HTTP transport answers it with.
struct StatelessRefusal {
  int http_status = 400;
  nlohmann::json response;
};

// Over Streamable HTTP a request's version, method and name travel in headers too
// (`MCP-Protocol-Version`, `Mcp-Method`, `Mcp-Name`), so that what sits in front can route
// without reading the body. Each is the header's value, nullopt when absent.
struct StatelessHeaders {
  std::optional<std::string_view> protocol_version;
  std::optional<std::string_view> method;
  std::optional<std::string_view> name;
};

// The checks of a stateless request, in order: over HTTP an `MCP-Protocol-Version` header
// (-32020); `params._meta` with a protocol version and the client's capabilities (-32602); over
// HTTP, headers that agree with the body (-32020); a version served here (-32022, listing
// them); a method the stateless era has (-32601, HTTP 404: initialize, ping, logging/setLevel
// and resources/(un)subscribe belong to sessions). nullopt when it may be served.
// Notifications are never refused, since nothing would read the answer. `http`: the headers,
// or null on stdio.
std::optional<StatelessRefusal> check_stateless_request(const nlohmann::json& message,
                                                        const StatelessHeaders* http = nullptr);

// Custom headers from tool parameters (SEP-2243): a tool's inputSchema may mark a string,
// integer or boolean property directly under `properties` with "x-mcp-header": NAME, and a
// client calling it over HTTP mirrors that argument in the header Mcp-Param-NAME, as it is or,
// when a header cannot carry it, as =?base64?...?=. Checks a tools/call `message` against the
// tool's `input_schema`: a header missing for an argument that is there, one that does not
// decode, or one that disagrees with the body is -32020. Null or absent arguments need none.
// `header(NAME)`: the request's Mcp-Param-NAME, nullopt when absent.
std::optional<StatelessRefusal> check_param_headers(
    const nlohmann::json& message, const nlohmann::json& input_schema,
    const std::function<std::optional<std::string_view>(const std::string& name)>& header);

}  // namespace hookmcp::mcp
