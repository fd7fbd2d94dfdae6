#include "hookmcp/core/os.hpp"

#include <fcntl.h>
#include <unistd.h>
#if defined(__linux__)
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#endif

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string_view>

namespace hookmcp {

void lower_this_thread_priority(int steps) {
#if defined(__linux__)
  // On Linux a thread has its own nice value, set through its thread id.
  auto tid = static_cast<id_t>(syscall(SYS_gettid));
  int now = getpriority(PRIO_PROCESS, tid);
  (void)setpriority(PRIO_PROCESS, tid, now + steps);
#else
  (void)steps;
#endif
}

std::string executable_path(const std::string& argv0) {
  namespace fs = std::filesystem;
  std::error_code ec;
#if defined(__linux__)
  fs::path self = fs::read_symlink("/proc/self/exe", ec);
  if (!ec && self.is_absolute()) return self.string();
#endif
  if (argv0.find('/') != std::string::npos) {
    fs::path made = fs::absolute(argv0, ec);
    return ec ? argv0 : made.lexically_normal().string();
  }
  // A bare name was found on the PATH: the first entry that holds it.
  const char* path = std::getenv("PATH");
  std::string_view dirs = path == nullptr ? "" : path;
  while (!argv0.empty() && !dirs.empty()) {
    size_t colon = dirs.find(':');
    fs::path candidate = fs::path(std::string(dirs.substr(0, colon))) / argv0;
    if (candidate.is_absolute() && ::access(candidate.c_str(), X_OK) == 0) {
      return candidate.lexically_normal().string();
    }
    dirs.remove_prefix(colon == std::string_view::npos ? dirs.size() : colon + 1);
  }
  return argv0;
}

bool open_pipe(int fds[2]) {
#if defined(__linux__)
  return ::pipe2(fds, O_CLOEXEC) == 0;
#else
  if (::pipe(fds) != 0) return false;
  for (int i = 0; i < 2; ++i) (void)::fcntl(fds[i], F_SETFD, FD_CLOEXEC);
  return true;
#endif
}

#if defined(__linux__)

Result<std::unique_ptr<DirectoryWatch>> DirectoryWatch::open(const std::string& directory,
                                                             std::vector<std::string> names) {
  int inotify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (inotify_fd < 0) {
    return make_error(ErrorCode::kIo, std::string("inotify: ") + std::strerror(errno));
  }
  if (inotify_add_watch(inotify_fd, directory.c_str(), IN_MODIFY | IN_CREATE | IN_MOVED_TO) < 0) {
    int error = errno;
    ::close(inotify_fd);
    return make_error(ErrorCode::kIo, "cannot watch " + directory + ": " + std::strerror(error));
  }
  int wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake_fd < 0) {
    int error = errno;
    ::close(inotify_fd);
    return make_error(ErrorCode::kIo, std::string("eventfd: ") + std::strerror(error));
  }
  return std::unique_ptr<DirectoryWatch>(new DirectoryWatch(inotify_fd, wake_fd, std::move(names)));
}

DirectoryWatch::DirectoryWatch(int inotify_fd, int wake_fd, std::vector<std::string> names)
    : inotify_fd_(inotify_fd), wake_fd_(wake_fd), names_(std::move(names)) {}

DirectoryWatch::~DirectoryWatch() {
  ::close(inotify_fd_);
  ::close(wake_fd_);
}

bool DirectoryWatch::wait(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    pollfd fds[2] = {{inotify_fd_, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    int n = ::poll(fds, 2, static_cast<int>(std::max<int64_t>(left.count(), 0)));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    if (fds[1].revents != 0) {
      uint64_t count = 0;
      (void)::read(wake_fd_, &count, sizeof count);
      return false;
    }
    // Drain every queued event; any of them naming a watched file is the answer.
    bool written = false;
    alignas(inotify_event) char buffer[4096];
    for (;;) {
      ssize_t got = ::read(inotify_fd_, buffer, sizeof buffer);
      if (got <= 0) break;
      for (ssize_t at = 0; at < got;) {
        const auto* event = reinterpret_cast<const inotify_event*>(buffer + at);
        // The queue overflowed: something may have been written.
        if ((event->mask & IN_Q_OVERFLOW) != 0) written = true;
        if (event->len > 0) {
          std::string_view name(event->name);
          for (const auto& watched : names_) written = written || name == watched;
        }
        at += static_cast<ssize_t>(sizeof(inotify_event) + event->len);
      }
    }
    if (written) return true;
  }
}

void DirectoryWatch::interrupt() {
  uint64_t one = 1;
  (void)::write(wake_fd_, &one, sizeof one);
}

#else

Result<std::unique_ptr<DirectoryWatch>> DirectoryWatch::open(const std::string& /*directory*/,
                                                             std::vector<std::string> /*names*/) {
  return make_error(ErrorCode::kIo, "directory watches need Linux (inotify)");
}
DirectoryWatch::DirectoryWatch(int inotify_fd, int wake_fd, std::vector<std::string> names)
    : inotify_fd_(inotify_fd), wake_fd_(wake_fd), names_(std::move(names)) {}
DirectoryWatch::~DirectoryWatch() = default;
bool DirectoryWatch::wait(std::chrono::milliseconds /*timeout*/) { return false; }
void DirectoryWatch::interrupt() {}

#endif

}  // namespace hookmcp
