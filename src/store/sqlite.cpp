#include "sqlite.hpp"

#include <spdlog/spdlog.h>

namespace hookmcp::store::sqlite {

void Statement::check_bind(int i, int rc) {
  if (rc == SQLITE_OK || bind_rc_ != SQLITE_OK) return;
  bind_rc_ = rc;
  bind_error_ = "cannot bind parameter " + std::to_string(i) + ": " + sqlite3_errstr(rc);
}

int Statement::step() {
  if (bind_rc_ == SQLITE_OK) {
    bind_failing_ = false;
    return sqlite3_step(stmt_);
  }
  // A statement run with a value missing would store or find the wrong thing: refuse it. The
  // caller gets the error; the log names the SQL, once for a run of refusals of this statement
  // (a cached one is retried by the writer's upkeep every second).
  if (bind_failures_) bind_failures_->inc();
  if (!bind_failing_) {
    const char* sql = sqlite3_sql(stmt_);
    spdlog::error("store: {} in: {}", bind_error_, sql ? sql : "");
  }
  bind_failing_ = true;
  return bind_rc_;
}

Result<std::unique_ptr<Connection>> Connection::open(const std::string& path, bool create,
                                                     Metrics* metrics) {
  sqlite3* db = nullptr;
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (create ? SQLITE_OPEN_CREATE : 0);
  int rc = sqlite3_open_v2(path.c_str(), &db, flags, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close(db);
    return make_error(ErrorCode::kIo, "cannot open database " + path + ": " + msg);
  }
  sqlite3_extended_result_codes(db, 1);
  // Readers and a second process wait for the writer's short transactions instead of failing.
  sqlite3_busy_timeout(db, 5000);
  return std::unique_ptr<Connection>(
      new Connection(db, metrics ? &metrics->store_bind_failures : nullptr));
}

Connection::~Connection() {
  cache_.clear();  // statements must be finalized before the connection closes
  sqlite3_close(db_);
}

Status Connection::exec(const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : errmsg();
    sqlite3_free(err);
    return make_error(ErrorCode::kUnavailable, msg);
  }
  return {};
}

Result<Statement*> Connection::cached(const char* sql) {
  auto it = cache_.find(sql);
  if (it != cache_.end()) return it->second.get();
  auto stmt = prepare(sql);
  if (!stmt) return stmt.error();
  Statement* raw = stmt->get();
  cache_.emplace(sql, std::move(*stmt));
  return raw;
}

Result<std::unique_ptr<Statement>> Connection::prepare(const std::string& sql) {
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v3(db_, sql.c_str(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT,
                         &stmt, nullptr) != SQLITE_OK) {
    return make_error(ErrorCode::kInternal, "prepare failed: " + errmsg() + " in: " + sql);
  }
  return std::make_unique<Statement>(db_, stmt, bind_failures_);
}

}  // namespace hookmcp::store::sqlite
