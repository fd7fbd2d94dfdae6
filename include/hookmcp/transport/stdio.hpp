// MCP's stdio transport: one JSON message per line, in on stdin, out on stdout.
//
// One thread reads stdin and hands each line to the handler; one thread writes the queued
// messages to stdout, so that a slow client never blocks the code that sends. Nothing else may
// write to stdout while a channel runs (logs go to stderr).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <utility>

#include "hookmcp/core/metrics.hpp"

namespace hookmcp::transport {

struct StdioOptions {
  int in_fd = 0;
  int out_fd = 1;
  // Notifications waiting to be written beyond which new ones are dropped (and counted);
  // responses are never dropped.
  size_t max_queued_notifications = 10000;
  size_t max_line_bytes = size_t{64} << 20;
};

class StdioChannel {
 public:
  // Called on the reader thread for each non-empty line.
  using LineHandler = std::function<void(std::string_view line)>;
  // Called once, on the reader or writer thread, when stdin reaches EOF or stdout is closed.
  using ClosedHandler = std::function<void()>;

  StdioChannel(StdioOptions options, Metrics* metrics);
  ~StdioChannel();
  StdioChannel(const StdioChannel&) = delete;
  StdioChannel& operator=(const StdioChannel&) = delete;

  // Starts the reader and writer threads. Call once.
  void start(LineHandler on_line, ClosedHandler on_closed);

  // Thread-safe: queues one message (without its newline). A droppable one (a notification)
  // is dropped when too many are waiting.
  void send(std::string message, bool droppable);

  // Stops reading; writes what is queued for up to `grace`, then joins the threads. From a
  // thread other than the channel's own. Idempotent.
  void stop(std::chrono::milliseconds grace);

 private:
  void read_loop();
  void write_loop();
  void closed();

  const StdioOptions options_;
  Metrics* metrics_;
  LineHandler on_line_;
  ClosedHandler on_closed_;
  int wake_[2] = {-1, -1};  // a pipe that interrupts the reader's poll

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::pair<std::string, bool>> queue_;        // message, droppable; guarded by mu_
  size_t queued_droppable_ = 0;                           // guarded by mu_
  bool stopping_ = false;                                 // guarded by mu_
  bool output_gone_ = false;                              // guarded by mu_
  bool closed_called_ = false;                            // guarded by mu_
  std::chrono::steady_clock::time_point flush_deadline_;  // guarded by mu_

  std::thread reader_;
  std::thread writer_;
};

}  // namespace hookmcp::transport
