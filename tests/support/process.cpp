#include "support/process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <regex>
#include <stdexcept>

extern char** environ;

namespace hookmcp::testing {

std::string hookmcp_binary() {
  const char* b = std::getenv("HOOKMCP_BINARY");
  return b ? b : "./hookmcp";
}

TempDir::TempDir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "hookmcp-test-XXXXXX").string();
  if (mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

Process::Process(const std::string& binary, const std::vector<std::string>& args,
                 const std::map<std::string, std::string>& env) {
  int err_pipe[2];
  int out_pipe[2];
  if (pipe2(err_pipe, O_CLOEXEC) != 0 || pipe2(out_pipe, O_CLOEXEC) != 0) {
    throw std::runtime_error("pipe failed");
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, out_pipe[1], 1);
  posix_spawn_file_actions_adddup2(&actions, err_pipe[1], 2);

  std::vector<std::string> env_strings;
  for (char** e = environ; *e; ++e) {
    std::string kv = *e;
    if (env.count(kv.substr(0, kv.find('='))) == 0) env_strings.push_back(kv);
  }
  for (const auto& [k, v] : env) env_strings.push_back(k + "=" + v);
  std::vector<char*> envp;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);

  std::vector<std::string> argv_strings = {binary};
  argv_strings.insert(argv_strings.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& s : argv_strings) argv.push_back(s.data());
  argv.push_back(nullptr);

  int rc = posix_spawn(&pid_, binary.c_str(), &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  close(err_pipe[1]);
  close(out_pipe[1]);
  if (rc != 0) {
    close(err_pipe[0]);
    close(out_pipe[0]);
    throw std::runtime_error("cannot start " + binary);
  }
  stderr_reader_ = std::thread([this, fd = err_pipe[0]] { read_loop(fd, stderr_); });
  stdout_reader_ = std::thread([this, fd = out_pipe[0]] { read_loop(fd, stdout_); });
}

Process::~Process() {
  if (!exit_code_) {
    ::kill(pid_, SIGKILL);
    (void)wait_exit(std::chrono::seconds(10));
  }
  if (stderr_reader_.joinable()) stderr_reader_.join();
  if (stdout_reader_.joinable()) stdout_reader_.join();
}

void Process::read_loop(int fd, std::string& sink) {
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) break;
    std::lock_guard lock(mu_);
    sink.append(buf, static_cast<size_t>(n));
    cv_.notify_all();
  }
  close(fd);
  std::lock_guard lock(mu_);
  --open_pipes_;
  cv_.notify_all();
}

bool Process::wait_for_stderr(const std::string& text, std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, timeout, [&] {
    return stderr_.find(text) != std::string::npos || open_pipes_ == 0;
  }) && stderr_.find(text) != std::string::npos;
}

bool Process::wait_for_stdout(const std::string& text, std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, timeout, [&] {
    return stdout_.find(text) != std::string::npos || open_pipes_ == 0;
  }) && stdout_.find(text) != std::string::npos;
}

std::optional<int> Process::wait_for_port(std::chrono::milliseconds timeout) {
  static const std::regex kLine(R"(listening on https?://\S*:(\d+)\s)");
  std::unique_lock lock(mu_);
  std::smatch m;
  // The whole line, up to its newline, so that the port's digits are complete.
  bool found = cv_.wait_for(
      lock, timeout, [&] { return std::regex_search(stderr_, m, kLine) || open_pipes_ == 0; });
  if (!found || !std::regex_search(stderr_, m, kLine)) return std::nullopt;
  return std::stoi(m[1].str());
}

bool Process::wait_output_closed(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, timeout, [&] { return open_pipes_ == 0; });
}

void Process::signal(int sig) {
  if (!exit_code_) ::kill(pid_, sig);
}

std::optional<int> Process::wait_exit(std::chrono::milliseconds timeout) {
  if (exit_code_) return exit_code_;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    int status = 0;
    pid_t r = waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      return exit_code_;
    }
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

std::string Process::stderr_text() {
  std::lock_guard lock(mu_);
  return stderr_;
}

std::string Process::stdout_text() {
  std::lock_guard lock(mu_);
  return stdout_;
}

RunResult run(const std::string& binary, const std::vector<std::string>& args,
              const std::map<std::string, std::string>& env, std::chrono::milliseconds timeout) {
  Process p(binary, args, env);
  RunResult r;
  auto code = p.wait_exit(timeout);
  r.exit_code = code.value_or(-1);
  p.wait_output_closed(std::chrono::seconds(5));
  r.out = p.stdout_text();
  r.err = p.stderr_text();
  return r;
}

}  // namespace hookmcp::testing
