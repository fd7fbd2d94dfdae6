// What serve and stdio tell a person as they start, and once the listener is up: which settings
// and database they use, which sources check signatures, where webhooks and MCP are, and the
// warnings a first-time user must not miss (unsigned webhooks accepted, /mcp open to anyone).
#pragma once

#include <string>

#include "hookmcp/config/config.hpp"
#include "hookmcp/transport/http_server.hpp"

namespace hookmcp::app {

// `command` is "serve" or "stdio"; `mcp_over_http` whether /mcp is on the listener.
void log_startup(const config::Config& cfg, const std::string& command);

// The listener is up (at start, or after a take-over): where to send webhooks, and where MCP is.
// The first line holds "listening on URL", which scripts and tests look for.
void log_listening(const transport::HttpServer& server, bool mcp_over_http);

}  // namespace hookmcp::app
