// The operating system's services that are not POSIX: this header and src/core/os.cpp are the
// one place that calls Linux-only interfaces (nice values per thread, inotify, /proc). Elsewhere
// each falls back to something portable, said below.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "hookmcp/core/result.hpp"

namespace hookmcp {

// Lowers the calling thread's scheduling priority by `steps` (Linux: its nice value), so that
// background work (outbound deliveries) yields the cores to intake and MCP when they are busy,
// and uses them fully when they are not. Does nothing where threads have no priority of their
// own; never fails.
void lower_this_thread_priority(int steps);

// The absolute path of the running program (Linux: /proc/self/exe); elsewhere `argv0` made
// absolute (against the working directory when it has a '/', else the PATH entry that holds
// it), else `argv0` as it is.
std::string executable_path(const std::string& argv0);

// A pipe whose two ends are closed on exec (Linux: pipe2; elsewhere pipe and fcntl). False, with
// errno set, when none could be made.
bool open_pipe(int fds[2]);

// Wakes a thread when files in one directory are written: how a process that reads a database
// another process writes hears of each commit at once instead of looking on a timer.
// Linux: inotify. Elsewhere open() fails (kIo), and the caller keeps its timer.
class DirectoryWatch {
 public:
  // Watches `directory` for writes to, and the creation of, the files named `names`.
  static Result<std::unique_ptr<DirectoryWatch>> open(const std::string& directory,
                                                      std::vector<std::string> names);
  ~DirectoryWatch();
  DirectoryWatch(const DirectoryWatch&) = delete;
  DirectoryWatch& operator=(const DirectoryWatch&) = delete;

  // Blocks until one of the files is written (true), `timeout` passes or interrupt() (false).
  // The writes since the last call count: none is missed between two calls. One thread.
  bool wait(std::chrono::milliseconds timeout);
  // Ends the wait() in progress, or the next one, at once. Thread-safe.
  void interrupt();

 private:
  DirectoryWatch(int inotify_fd, int wake_fd, std::vector<std::string> names);
  const int inotify_fd_;
  const int wake_fd_;
  const std::vector<std::string> names_;
};

}  // namespace hookmcp
