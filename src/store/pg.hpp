// Private to the store: a thin RAII layer over libpq, the PostgreSQL client library. One
// Connection is used by one thread at a time. Parameters go as text, except those marked
// binary (bodies, as bytea); results come back as text.
#pragma once

#include <libpq-fe.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "hookmcp/core/result.hpp"

namespace hookmcp::store::pg {

// One parameter of a statement; null when absent.
struct Param {
  std::optional<std::string> value;
  bool binary = false;
  static Param text(std::string v) { return Param{std::move(v), false}; }
  static Param bytes(std::string v) { return Param{std::move(v), true}; }
  static Param integer(int64_t v) { return Param{std::to_string(v), false}; }
  static Param null() { return Param{}; }
};

class Rows {
 public:
  explicit Rows(PGresult* r) : r_(r, PQclear) {}
  int size() const { return PQntuples(r_.get()); }
  bool null(int row, int col) const { return PQgetisnull(r_.get(), row, col) == 1; }
  std::string_view text(int row, int col) const {
    return {PQgetvalue(r_.get(), row, col), static_cast<size_t>(PQgetlength(r_.get(), row, col))};
  }
  int64_t int64(int row, int col) const;
  bool boolean(int row, int col) const { return text(row, col) == "t"; }
  // A bytea column in text form (\x and hex) as its bytes.
  std::string bytes(int row, int col) const;

 private:
  std::shared_ptr<PGresult> r_;
};

class Connection {
 public:
  // Connects to `url` (postgres://...) within `timeout`; kUnavailable saying why not. The
  // connection shows as `application_name` in pg_stat_activity.
  static Result<std::unique_ptr<Connection>> open(const std::string& url, int timeout_s = 10,
                                                  const std::string& application_name = "hookmcp");
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // A statement without parameters (several may be separated by ';').
  Status exec(const std::string& sql);
  // One statement with parameters ($1, $2, ...); the rows it returns.
  Result<Rows> query(const std::string& sql, const std::vector<Param>& params = {});
  // The same, prepared once under `name` on this connection and run from then on.
  Result<Rows> run_prepared(const std::string& name, const std::string& sql,
                            const std::vector<Param>& params);
  // Whether the connection is still up (after a failure the caller drops it).
  bool ok() const { return PQstatus(conn_) == CONNECTION_OK; }
  PGconn* raw() { return conn_; }
  std::string error() const;

 private:
  explicit Connection(PGconn* conn) : conn_(conn) {}
  Result<Rows> finish(PGresult* r, const std::string& what);
  PGconn* conn_;
  std::vector<std::string> prepared_;
};

// A text[] parameter's value: {"a","b"}, each element quoted, backslashes and quotes escaped.
std::string array_literal(const std::vector<std::string>& elements);

// Whether `text` names a PostgreSQL database rather than a file: postgres:// or postgresql://.
bool is_postgres_url(std::string_view text);
// The URL with its password replaced by "***", for logs.
std::string redacted_url(std::string_view url);

}  // namespace hookmcp::store::pg
