// Plain POSIX: the stdio channel needs no Asio.
#include "hookmcp/transport/stdio.hpp"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <spdlog/spdlog.h>

#include "hookmcp/core/os.hpp"

namespace hookmcp::transport {

namespace {

// Writes all of `data`; false when the reader is gone (EPIPE) or another error occurs.
bool write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) {
        pollfd p{fd, POLLOUT, 0};
        (void)::poll(&p, 1, 100);
        continue;
      }
      return false;
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

}  // namespace

StdioChannel::StdioChannel(StdioOptions options, Metrics* metrics)
    : options_(options), metrics_(metrics) {
  if (!open_pipe(wake_)) wake_[0] = wake_[1] = -1;
}

StdioChannel::~StdioChannel() {
  stop(std::chrono::milliseconds(0));
  for (int fd : wake_) {
    if (fd >= 0) ::close(fd);
  }
}

void StdioChannel::start(LineHandler on_line, ClosedHandler on_closed) {
  on_line_ = std::move(on_line);
  on_closed_ = std::move(on_closed);
  writer_ = std::thread([this] { write_loop(); });
  reader_ = std::thread([this] { read_loop(); });
}

void StdioChannel::send(std::string message, bool droppable) {
  {
    std::lock_guard lock(mu_);
    if (output_gone_) return;
    if (droppable) {
      if (queued_droppable_ >= options_.max_queued_notifications) {
        if (metrics_) metrics_->notifications_dropped.inc();
        return;
      }
      ++queued_droppable_;
    }
    queue_.emplace_back(std::move(message), droppable);
  }
  cv_.notify_one();
}

void StdioChannel::stop(std::chrono::milliseconds grace) {
  {
    std::lock_guard lock(mu_);
    if (!stopping_) {
      stopping_ = true;
      flush_deadline_ = std::chrono::steady_clock::now() + grace;
    }
  }
  cv_.notify_all();
  if (wake_[1] >= 0) {
    char c = 0;
    (void)!::write(wake_[1], &c, 1);
  }
  if (reader_.joinable()) reader_.join();
  if (writer_.joinable()) writer_.join();
}

void StdioChannel::closed() {
  {
    std::lock_guard lock(mu_);
    if (closed_called_) return;
    closed_called_ = true;
  }
  if (on_closed_) on_closed_();
}

void StdioChannel::read_loop() {
  std::string buffer;
  char chunk[65536];
  bool discarding = false;  // inside a line longer than max_line_bytes
  for (;;) {
    pollfd fds[2] = {{options_.in_fd, POLLIN, 0}, {wake_[0], POLLIN, 0}};
    int n = ::poll(fds, wake_[0] >= 0 ? 2 : 1, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      spdlog::error("stdin: poll failed: {}", std::strerror(errno));
      break;
    }
    if (fds[1].revents != 0) return;  // stop() woke us: not a client's EOF
    if (fds[0].revents == 0) continue;
    ssize_t got = ::read(options_.in_fd, chunk, sizeof chunk);
    if (got < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      spdlog::error("stdin: read failed: {}", std::strerror(errno));
      break;
    }
    if (got == 0) {
      if (!discarding && !buffer.empty()) on_line_(buffer);
      spdlog::info("stdin closed");
      break;
    }
    buffer.append(chunk, static_cast<size_t>(got));
    size_t start = 0;
    for (size_t nl; (nl = buffer.find('\n', start)) != std::string::npos; start = nl + 1) {
      std::string_view line(buffer.data() + start, nl - start);
      if (discarding) {
        discarding = false;
        continue;
      }
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      if (!line.empty()) on_line_(line);
    }
    buffer.erase(0, start);
    if (buffer.size() > options_.max_line_bytes) {
      spdlog::warn("stdin: a message over {} bytes was dropped", options_.max_line_bytes);
      buffer.clear();
      discarding = true;
    }
  }
  closed();
}

void StdioChannel::write_loop() {
  std::unique_lock lock(mu_);
  for (;;) {
    cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    if (queue_.empty() || (stopping_ && std::chrono::steady_clock::now() > flush_deadline_)) {
      if (stopping_) return;
      continue;
    }
    auto [message, droppable] = std::move(queue_.front());
    queue_.pop_front();
    if (droppable) --queued_droppable_;
    lock.unlock();
    message += '\n';
    bool ok = write_all(options_.out_fd, message);
    lock.lock();
    if (!ok) {
      output_gone_ = true;
      queue_.clear();
      lock.unlock();
      spdlog::info("stdout closed");
      closed();
      lock.lock();
      cv_.wait(lock, [this] { return stopping_; });
      return;
    }
  }
}

}  // namespace hookmcp::transport
