// Starts the real hookmcp binary for integration tests and watches its stderr.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace hookmcp::testing {

// The binary under test: $HOOKMCP_BINARY (set by CTest), else ./hookmcp.
std::string hookmcp_binary();

// A fresh directory under the system temp dir, removed with the object.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

class Process {
 public:
  // Runs `binary args...` with `env` added to this process's environment. stdout and stderr
  // are captured; stdin is /dev/null.
  Process(const std::string& binary, const std::vector<std::string>& args,
          const std::map<std::string, std::string>& env = {});
  ~Process();  // kills the child if it still runs
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  // Waits until stderr contains `text`; false at the deadline or when the process exits first.
  bool wait_for_stderr(const std::string& text, std::chrono::milliseconds timeout);
  // The same for stdout, for commands that stream their output (`events tail`).
  bool wait_for_stdout(const std::string& text, std::chrono::milliseconds timeout);
  // The port from the "listening on http://HOST:PORT" line, waiting for it.
  std::optional<int> wait_for_port(std::chrono::milliseconds timeout = std::chrono::seconds(10));

  // Waits until the child has closed stdout and stderr and both were read.
  bool wait_output_closed(std::chrono::milliseconds timeout);

  void signal(int sig);
  // The exit code (or 128 + signal), or nullopt if still running at the deadline.
  std::optional<int> wait_exit(std::chrono::milliseconds timeout);

  std::string stderr_text();
  std::string stdout_text();
  pid_t pid() const { return pid_; }

 private:
  void read_loop(int fd, std::string& sink);

  pid_t pid_ = -1;
  std::optional<int> exit_code_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::string stderr_;
  std::string stdout_;
  int open_pipes_ = 2;
  std::thread stderr_reader_;
  std::thread stdout_reader_;
};

// Runs a command to completion; returns exit code, stdout and stderr.
struct RunResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};
RunResult run(const std::string& binary, const std::vector<std::string>& args,
              const std::map<std::string, std::string>& env = {},
              std::chrono::milliseconds timeout = std::chrono::seconds(30));

}  // namespace hookmcp::testing
