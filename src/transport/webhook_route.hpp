// Private to the transport: the webhook route, POST /hooks/{source}. A free handler in the way
// of Beast's handle_request: it takes the request and answers it, and owns no connection.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/thread_pool.hpp>
#include <string_view>

#include "hookmcp/intake/intake.hpp"
#include "hookmcp/transport/mcp_access.hpp"
#include "http_response.hpp"

namespace hookmcp::transport {

inline constexpr std::string_view kHooksPrefix = "/hooks/";

inline bool is_webhook_path(std::string_view path) {
  return path.substr(0, kHooksPrefix.size()) == kHooksPrefix;
}

// Hands the delivery in `req` (its path under /hooks/) to intake and answers with what intake
// says, once that is known: for a stored event, after its commit. Resumes on the calling
// coroutine's executor. `req`'s body is moved out. `access` decides whether the request came
// from somewhere the MCP routes would refuse, which an unsigned source refuses too.
// Verification that may wait on the network (a sender's keys to fetch), and the confirmation of
// a subscription, run on `blocking`.
boost::asio::awaitable<Response> handle_webhook(Request& req, intake::Intake& intake,
                                                const McpAccess& access,
                                                boost::asio::thread_pool& blocking);

}  // namespace hookmcp::transport
