// posix_spawn with the child's stdin and output on pipes, polled until it exits.
#include "command.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

extern char** environ;

namespace hookmcp::triggers {

namespace {

using Clock = std::chrono::steady_clock;

struct Pipe {
  int fd[2] = {-1, -1};
  ~Pipe() { close_both(); }
  void close_end(int i) {
    if (fd[i] >= 0) ::close(fd[i]);
    fd[i] = -1;
  }
  void close_both() {
    close_end(0);
    close_end(1);
  }
};

void keep_tail(std::string& tail, const char* data, size_t n, size_t keep) {
  tail.append(data, n);
  if (tail.size() > keep) tail.erase(0, tail.size() - keep);
}

}  // namespace

CommandResult run_command(const Command& c) {
  CommandResult out;
  if (c.argv.empty()) {
    out.error = "no command";
    return out;
  }
  Pipe in;
  Pipe output;
  if (::pipe2(in.fd, O_CLOEXEC) != 0 || ::pipe2(output.fd, O_CLOEXEC) != 0) {
    out.error = std::string("pipe: ") + std::strerror(errno);
    return out;
  }
  std::vector<char*> argv;
  for (const auto& a : c.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (char** e = environ; e && *e; ++e) {
    std::string_view entry(*e);
    bool replaced = false;
    for (const auto& add : c.env) {
      if (entry.substr(0, entry.find('=') + 1) ==
          std::string_view(add).substr(0, add.find('=') + 1)) {
        replaced = true;
      }
    }
    if (!replaced) envp.push_back(*e);
  }
  for (const auto& add : c.env) envp.push_back(const_cast<char*>(add.c_str()));
  envp.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in.fd[0], 0);
  posix_spawn_file_actions_adddup2(&actions, output.fd[1], 1);
  posix_spawn_file_actions_adddup2(&actions, output.fd[1], 2);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  // A group of its own, to stop it with whatever it started; the signals as a new program
  // expects them (this process ignores SIGPIPE and may block others).
  sigset_t none;
  sigset_t all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setflags(&attr,
                           POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  pid_t pid = 0;
  int rc = ::posix_spawnp(&pid, argv[0], &actions, &attr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) {
    out.error = "cannot run " + c.argv[0] + ": " + std::strerror(rc);
    return out;
  }
  out.started = true;
  in.close_end(0);
  output.close_end(1);
  ::fcntl(in.fd[1], F_SETFL, O_NONBLOCK);
  ::fcntl(output.fd[0], F_SETFL, O_NONBLOCK);
  // A write to a command that stopped reading gives EPIPE, not SIGPIPE, on this thread.
  sigset_t pipe_signal;
  sigemptyset(&pipe_signal);
  sigaddset(&pipe_signal, SIGPIPE);
  sigset_t was;
  pthread_sigmask(SIG_BLOCK, &pipe_signal, &was);

  size_t written = 0;
  if (c.input.empty()) in.close_end(1);
  const auto deadline = Clock::now() + c.timeout;
  Clock::time_point killed_at{};
  int status = 0;
  bool exited = false;
  char buf[16384];
  while (!exited) {
    pollfd fds[2];
    nfds_t n = 0;
    fds[n++] = {output.fd[0], POLLIN, 0};
    if (in.fd[1] >= 0) fds[n++] = {in.fd[1], POLLOUT, 0};
    if (output.fd[0] < 0) n = 0;  // output closed: only the exit is awaited
    ::poll(n ? fds : nullptr, n, 50);
    if (output.fd[0] >= 0) {
      for (;;) {
        ssize_t got = ::read(output.fd[0], buf, sizeof buf);
        if (got > 0) {
          out.output_bytes += static_cast<uint64_t>(got);
          keep_tail(out.output, buf, static_cast<size_t>(got), c.keep_output);
          continue;
        }
        if (got == 0) output.close_end(0);
        break;
      }
    }
    if (in.fd[1] >= 0) {
      ssize_t put = ::write(in.fd[1], c.input.data() + written, c.input.size() - written);
      if (put > 0) written += static_cast<size_t>(put);
      if ((put < 0 && errno != EAGAIN) || written == c.input.size()) in.close_end(1);
    }
    pid_t done = ::waitpid(pid, &status, WNOHANG);
    if (done == pid) {
      exited = true;
      break;
    }
    const bool cancelled = c.cancellation && c.cancellation->cancelled();
    if (killed_at == Clock::time_point{} && (Clock::now() >= deadline || cancelled)) {
      out.timed_out = !cancelled;
      out.cancelled = cancelled;
      ::kill(-pid, SIGTERM);
      killed_at = Clock::now();
    } else if (killed_at != Clock::time_point{} &&
               Clock::now() - killed_at >= std::chrono::seconds(1)) {
      ::kill(-pid, SIGKILL);
    }
  }
  // What it wrote just before it exited; a child it left running keeps its copy of the pipe,
  // so this reads only what is there now.
  if (output.fd[0] >= 0) {
    ssize_t got = 0;
    while ((got = ::read(output.fd[0], buf, sizeof buf)) > 0) {
      out.output_bytes += static_cast<uint64_t>(got);
      keep_tail(out.output, buf, static_cast<size_t>(got), c.keep_output);
    }
  }
  in.close_both();
  output.close_both();
  timespec zero{};
  while (sigtimedwait(&pipe_signal, nullptr, &zero) == SIGPIPE) {
  }
  pthread_sigmask(SIG_SETMASK, &was, nullptr);
  if (WIFEXITED(status)) out.exit_status = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) {
    out.signal = WTERMSIG(status);
    out.exit_status = 128 + out.signal;
  }
  return out;
}

}  // namespace hookmcp::triggers
