// Private to the store: RAII over sqlite3 connections and statements.
// A Connection and its Statements belong to one thread at a time.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "hookmcp/core/metrics.hpp"
#include "hookmcp/core/result.hpp"

namespace hookmcp::store::sqlite {

class Statement {
 public:
  // `bind_failures`, optional, counts the steps refused because a binding failed.
  Statement(sqlite3* db, sqlite3_stmt* stmt, Counter* bind_failures = nullptr)
      : db_(db), stmt_(stmt), bind_failures_(bind_failures) {}
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  // Parameters are 1-based, as in SQLite. A binding that fails (a parameter out of range, a
  // value too big) makes the next step() fail with its code, and error() say which it was.
  void bind(int i, int64_t v) { check_bind(i, sqlite3_bind_int64(stmt_, i, v)); }
  void bind(int i, std::string_view v) {
    check_bind(i, sqlite3_bind_text64(stmt_, i, v.data(), v.size(), SQLITE_STATIC, SQLITE_UTF8));
  }
  void bind_blob(int i, std::string_view v) {
    check_bind(i, sqlite3_bind_blob64(stmt_, i, v.data(), v.size(), SQLITE_STATIC));
  }
  void bind_null(int i) { check_bind(i, sqlite3_bind_null(stmt_, i)); }

  // SQLITE_ROW, SQLITE_DONE, or an error code: a failed binding's, without running the
  // statement, or the statement's own.
  int step();
  // Ready for the next use: bindings cleared.
  void reset() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
    bind_rc_ = SQLITE_OK;
    bind_error_.clear();
  }

  int64_t int64(int col) const { return sqlite3_column_int64(stmt_, col); }
  bool is_null(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }
  std::string text(int col) const {
    const auto* p = sqlite3_column_blob(stmt_, col);
    int n = sqlite3_column_bytes(stmt_, col);
    return p ? std::string(static_cast<const char*>(p), static_cast<size_t>(n)) : std::string();
  }

  Error error(std::string_view what) const {
    return make_error(ErrorCode::kUnavailable,
                      std::string(what) + ": " +
                          (bind_error_.empty() ? sqlite3_errmsg(db_) : bind_error_.c_str()));
  }

 private:
  void check_bind(int i, int rc);

  sqlite3* db_;
  sqlite3_stmt* stmt_;
  Counter* bind_failures_;
  int bind_rc_ = SQLITE_OK;    // the first failed binding's code since the last reset
  std::string bind_error_;     // and what it was
  bool bind_failing_ = false;  // the last step was refused for a binding: logged
};

// Resets a statement when the scope ends, so that a reused statement never holds a read lock.
class ScopedReset {
 public:
  explicit ScopedReset(Statement& s) : s_(s) {}
  ~ScopedReset() { s_.reset(); }
  ScopedReset(const ScopedReset&) = delete;
  ScopedReset& operator=(const ScopedReset&) = delete;

 private:
  Statement& s_;
};

class Connection {
 public:
  // `metrics`, optional, counts its statements' failed bindings.
  static Result<std::unique_ptr<Connection>> open(const std::string& path, bool create,
                                                  Metrics* metrics = nullptr);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  Status exec(const char* sql);
  // A statement prepared once and kept for the connection's lifetime; `sql` must be a literal.
  Result<Statement*> cached(const char* sql);
  // A statement for one use.
  Result<std::unique_ptr<Statement>> prepare(const std::string& sql);
  sqlite3* raw() { return db_; }
  std::string errmsg() const { return sqlite3_errmsg(db_); }
  // Rows changed by the last INSERT, UPDATE or DELETE on this connection.
  int64_t changes() const { return sqlite3_changes64(db_); }
  // The rowid of the last successful INSERT on this connection.
  int64_t last_insert_rowid() const { return sqlite3_last_insert_rowid(db_); }

 private:
  Connection(sqlite3* db, Counter* bind_failures) : db_(db), bind_failures_(bind_failures) {}
  sqlite3* db_;
  Counter* bind_failures_;
  std::map<const char*, std::unique_ptr<Statement>> cache_;
};

// BEGIN IMMEDIATE ... COMMIT; rolls back in its destructor unless committed.
class Transaction {
 public:
  explicit Transaction(Connection& c) : c_(c) {}
  ~Transaction() {
    if (open_) (void)c_.exec("ROLLBACK");
  }
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;

  Status begin() {
    Status s = c_.exec("BEGIN IMMEDIATE");
    open_ = s.ok();
    return s;
  }
  Status commit() {
    Status s = c_.exec("COMMIT");
    if (s.ok()) open_ = false;
    return s;
  }

 private:
  Connection& c_;
  bool open_ = false;
};

}  // namespace hookmcp::store::sqlite
