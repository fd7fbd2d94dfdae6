// Private to the transport: the web console's route, GET /ui and its files. The same Host and
// Origin checks as /mcp guard it; the page itself holds no data, so it needs no token (the
// requests it makes to /mcp do).
#pragma once

#include "hookmcp/transport/mcp_access.hpp"
#include "http_response.hpp"

namespace hookmcp::transport {

Response handle_console(const Request& req, const McpAccess& access);

}  // namespace hookmcp::transport
