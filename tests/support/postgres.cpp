#include "support/postgres.hpp"

#include <netinet/in.h>
#include <pwd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <mutex>

namespace hookmcp::testing {

namespace {

constexpr const char* kBin = "/usr/lib/postgresql/15/bin/";

int free_port() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  int port = ntohs(addr.sin_port);
  ::close(fd);
  return port;
}

// `command` as the user PostgreSQL runs as: `postgres` under root, else this user.
int run_as_server_user(const std::string& command) {
  std::string line = geteuid() == 0 ? "runuser -u postgres -- " + command : command;
  return std::system(line.c_str());
}

}  // namespace

TempPostgres* TempPostgres::shared(std::string* why) {
  static std::once_flag once;
  static std::unique_ptr<TempPostgres> server;
  static std::string failure;
  std::call_once(once, [] {
    if (!std::filesystem::exists(std::string(kBin) + "initdb")) {
      failure = "PostgreSQL 15 is not installed (scripts/setup.sh installs postgresql-15)";
      return;
    }
    std::unique_ptr<TempPostgres> s(new TempPostgres());
    char templ[] = "/tmp/hookmcp-pg-XXXXXX";
    if (mkdtemp(templ) == nullptr) {
      failure = "cannot make a temporary directory";
      return;
    }
    s->dir_ = templ;
    if (geteuid() == 0) {
      passwd* pw = getpwnam("postgres");
      if (pw == nullptr || chown(s->dir_.c_str(), pw->pw_uid, pw->pw_gid) != 0) {
        failure = "cannot hand " + s->dir_ + " to the postgres user";
        return;
      }
    }
    std::string init = std::string(kBin) + "initdb -D " + s->dir_ +
                       "/data -U hookmcp --auth=trust -E UTF8 --no-sync > " + s->dir_ +
                       "/initdb.log 2>&1";
    if (run_as_server_user(init) != 0) {
      failure = "initdb failed; see " + s->dir_ + "/initdb.log";
      return;
    }
    s->port_ = free_port();
    if (!s->start()) {
      failure = "the server did not start; see " + s->dir_ + "/server.log";
      return;
    }
    server = std::move(s);
  });
  if (!server && why) *why = failure;
  return server.get();
}

bool TempPostgres::start() {
  std::string cmd = std::string(kBin) + "pg_ctl -D " + dir_ + "/data -w -t 30 -l " + dir_ +
                    "/server.log -o \"-c listen_addresses=127.0.0.1 -p " + std::to_string(port_) +
                    " -k " + dir_ + " -c fsync=off -c max_connections=200\" start > /dev/null";
  return run_as_server_user(cmd) == 0;
}

bool TempPostgres::stop() {
  std::string cmd =
      std::string(kBin) + "pg_ctl -D " + dir_ + "/data -w -t 30 -m fast stop > /dev/null";
  return run_as_server_user(cmd) == 0;
}

TempPostgres::~TempPostgres() {
  stop();
  std::filesystem::remove_all(dir_);
}

std::string TempPostgres::fresh_database() {
  std::string name = "t" + std::to_string(getpid()) + "_" + std::to_string(++next_);
  std::string cmd = std::string(kBin) + "createdb -h 127.0.0.1 -p " + std::to_string(port_) +
                    " -U hookmcp " + name;
  if (std::system(cmd.c_str()) != 0) return std::string();
  return "postgres://hookmcp@127.0.0.1:" + std::to_string(port_) + "/" + name;
}

}  // namespace hookmcp::testing
