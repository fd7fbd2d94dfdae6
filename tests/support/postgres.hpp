// A PostgreSQL server of a test's own: initdb in a fresh directory, started with pg_ctl on a
// free loopback port (as the `postgres` user when the test runs as root, which PostgreSQL
// refuses), stopped and removed with the object. Each test takes a database of its own.
#pragma once

#include <memory>
#include <string>

namespace hookmcp::testing {

class TempPostgres {
 public:
  // The server shared by the tests of this process, started on first use; nullptr (and the
  // reason in *why) when PostgreSQL is not installed or does not start.
  static TempPostgres* shared(std::string* why);

  ~TempPostgres();
  TempPostgres(const TempPostgres&) = delete;
  TempPostgres& operator=(const TempPostgres&) = delete;

  int port() const { return port_; }
  // A new, empty database; its postgres:// URL.
  std::string fresh_database();
  // Stops the server (fast shutdown) and starts it again on the same port and data.
  bool stop();
  bool start();

 private:
  TempPostgres() = default;
  std::string dir_;
  int port_ = 0;
  int next_ = 0;
};

}  // namespace hookmcp::testing
