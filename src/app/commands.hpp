// The subcommands. Each takes the arguments after its name and returns the exit code.
#pragma once

#include <string>
#include <vector>

namespace hookmcp::app {

int run_serve(const std::vector<std::string>& args);
int run_check_config(const std::vector<std::string>& args);
int run_stdio(const std::vector<std::string>& args);
int run_events(const std::vector<std::string>& args);
int run_send(const std::vector<std::string>& args);
int run_forward(const std::vector<std::string>& args);
// `hookmcp events replay` (forward.cpp).
int run_replay(const std::vector<std::string>& args);
int run_triggers(const std::vector<std::string>& args);
int run_connections(const std::vector<std::string>& args);
int run_subscriptions(const std::vector<std::string>& args);
int run_migrate(const std::vector<std::string>& args);
int run_client_config(const std::vector<std::string>& args);

}  // namespace hookmcp::app
