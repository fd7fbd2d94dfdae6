// What serve and stdio set up alike: stop signals, the store, the listener's announcement.
#pragma once

#include <csignal>
#include <functional>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "hookmcp/app/node.hpp"
#include "hookmcp/config/config.hpp"
#include "hookmcp/core/clock.hpp"
#include "hookmcp/core/metrics.hpp"
#include "hookmcp/mcp/server.hpp"
#include "hookmcp/store/store.hpp"
#include "hookmcp/transport/http_server.hpp"

namespace hookmcp::app {

// For a command that runs the server (serve, stdio): parses the common options and
// --allow-unsigned, loads and checks the config, and sends logs to stderr. Returns the config,
// or the exit code to end with (after --help, or an error reported on stderr).
std::variant<config::Config, int> load_server_config(const std::vector<std::string>& argv,
                                                     const std::string& command, const char* help);

// As load_server_config, again while running (SIGHUP): the same flags and environment, the
// config file as it is now.
Result<config::Config> reload_server_config(const std::vector<std::string>& argv,
                                            const std::string& command);

// Blocks SIGINT, SIGTERM and SIGHUP in the calling thread (and so in every thread started after
// it), so that only a sigwait on the returned set sees them. Call before starting any thread.
sigset_t block_stop_signals();

// Waits for SIGINT or SIGTERM, and logs which. Each SIGHUP meanwhile calls `on_hangup`.
void wait_for_stop_signal(const sigset_t& signals, const std::function<void()>& on_hangup = {});

// What a SIGHUP does to a running node: loads the config again and applies what can change
// without a restart (Node::reload); a config that no longer loads is logged and ignored.
void reload_on_hangup(Node& node, const std::vector<std::string>& argv, const std::string& command);

// The database the config names, with its durability and retention.
store::Options store_options(const config::Config& cfg);

// The listener's settings from the config.
transport::HttpOptions http_options(const config::Config& cfg);

// The MCP server's settings from the config.
mcp::ServerOptions mcp_options(const config::Config& cfg);

// A node as the config describes it: its store, MCP server and listener, announced
// (summary.hpp) with MCP on the listener when `mcp_over_http`, else on stdin/stdout.
NodeOptions node_options(const config::Config& cfg, bool mcp_over_http);

}  // namespace hookmcp::app
