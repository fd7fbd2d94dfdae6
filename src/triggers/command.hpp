// Private to triggers: one command run as a `run` trigger runs it, without a shell.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "hookmcp/net/http_client.hpp"

namespace hookmcp::triggers {

struct Command {
  std::vector<std::string> argv;  // argv[0]: a path, or a name looked up on PATH
  std::vector<std::string> env;   // NAME=value, added to this process's environment
  std::string input;              // written to its stdin, which is then closed
  std::chrono::milliseconds timeout{30000};
  const net::Cancellation* cancellation = nullptr;  // stops it as a timeout does
  size_t keep_output = 4096;                        // the tail of stdout and stderr kept
};

struct CommandResult {
  bool started = false;
  std::string error;  // why it did not start
  int exit_status = 0;
  int signal = 0;  // the signal that ended it, 0 when it exited
  bool timed_out = false;
  bool cancelled = false;
  std::string output;         // the last keep_output bytes of stdout and stderr, interleaved
  uint64_t output_bytes = 0;  // how many it wrote in all
};

// Runs the command in a process group of its own, reading its output as it comes so that a
// command that writes a lot never blocks and never grows this process. Past the timeout (or
// once cancelled) the group gets SIGTERM, and SIGKILL a second later. Blocking.
CommandResult run_command(const Command& command);

}  // namespace hookmcp::triggers
