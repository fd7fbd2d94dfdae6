// Subscriptions and their delivery positions, in the table of the same name.
#include "subscriptions.hpp"

namespace hookmcp::store {

namespace {

using sqlite::Connection;
using sqlite::ScopedReset;
using sqlite::Statement;
using sqlite::Transaction;

#define HOOKMCP_SUBSCRIPTION_COLUMNS                                                           \
  "id, kind, principal, name, arguments, url, secret, created_at, expires_at, position, "      \
  "delivered, last_delivery_at, failures, failing_since, next_attempt_at, last_error, ended, " \
  "end_reason"
constexpr const char* kSelectSql =
    "SELECT " HOOKMCP_SUBSCRIPTION_COLUMNS " FROM subscriptions ORDER BY id";
constexpr const char* kUpsertSql =
    "INSERT OR REPLACE INTO subscriptions (" HOOKMCP_SUBSCRIPTION_COLUMNS
    ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
#undef HOOKMCP_SUBSCRIPTION_COLUMNS

constexpr const char* kDeleteSql = "DELETE FROM subscriptions WHERE id = ?";
constexpr const char* kProgressSql =
    "UPDATE subscriptions SET position = ?, delivered = ?, last_delivery_at = ?, failures = ?, "
    "failing_since = ?, next_attempt_at = ?, last_error = ?, ended = ?, end_reason = ? "
    "WHERE id = ?";
#define HOOKMCP_RUN_COLUMNS \
  "id, trigger, event_id, state, attempts, first_at, last_at, status, error, output, duration_ms"
constexpr const char* kRunUpsertSql =
    "INSERT INTO trigger_runs (trigger, event_id, state, attempts, first_at, last_at, status, "
    "error, output, duration_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (trigger, event_id) DO UPDATE SET state = excluded.state, "
    "attempts = excluded.attempts, last_at = excluded.last_at, status = excluded.status, "
    "error = excluded.error, output = excluded.output, duration_ms = excluded.duration_ms";
constexpr const char* kRunSelectSql =
    "SELECT " HOOKMCP_RUN_COLUMNS
    " FROM trigger_runs WHERE (?1 IS NULL OR trigger = ?1) AND id < ?2 ORDER BY id DESC LIMIT ?3";
// The failed runs alone: `state <> 'ok'` as written in the partial index trigger_runs_failed,
// so that the index is used and the runs that succeeded are never read.
constexpr const char* kFailedRunSelectSql =
    "SELECT " HOOKMCP_RUN_COLUMNS
    " FROM trigger_runs WHERE state <> 'ok' AND (?1 IS NULL OR trigger = ?1) AND id < ?2 "
    "AND (?4 IS NULL OR state = ?4) ORDER BY id DESC LIMIT ?3";
constexpr const char* kRetrySql =
    "UPDATE trigger_runs SET state = 'retry' WHERE state = 'dead' AND "
    "((?1 = '[]' AND (?2 = '' OR trigger = ?2)) OR id IN (SELECT value FROM json_each(?1))) "
    "RETURNING " HOOKMCP_RUN_COLUMNS;
#undef HOOKMCP_RUN_COLUMNS

constexpr const char* kPrunedSql =
    "SELECT coalesce((SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'pruned_through'), 0)";

Subscription row(const Statement& s) {
  Subscription out;
  out.id = s.text(0);
  out.kind = s.text(1);
  out.principal = s.text(2);
  out.name = s.text(3);
  out.arguments = s.text(4);
  out.url = s.text(5);
  out.secret = s.text(6);
  out.created_at_ms = s.int64(7);
  out.expires_at_ms = s.int64(8);
  out.position = s.int64(9);
  out.delivered = s.int64(10);
  out.last_delivery_at_ms = s.int64(11);
  out.failures = s.int64(12);
  out.failing_since_ms = s.int64(13);
  out.next_attempt_at_ms = s.int64(14);
  out.last_error = s.text(15);
  out.ended = s.int64(16) != 0;
  out.end_reason = s.text(17);
  return out;
}

TriggerRun run_row(const Statement& s) {
  TriggerRun r;
  r.id = s.int64(0);
  r.trigger = s.text(1);
  r.event_id = s.int64(2);
  r.state = s.text(3);
  r.attempts = s.int64(4);
  r.first_at_ms = s.int64(5);
  r.last_at_ms = s.int64(6);
  r.status = s.int64(7);
  r.error = s.text(8);
  r.output = s.text(9);
  r.duration_ms = s.int64(10);
  return r;
}

// Runs `write` between BEGIN IMMEDIATE and COMMIT.
template <typename Write>
Status in_transaction(Connection& db, Write&& write) {
  Transaction tx(db);
  if (auto s = tx.begin(); !s) return s;
  if (auto s = write(); !s) return s;
  return tx.commit();
}

}  // namespace

Result<std::vector<Subscription>> read_subscriptions(Connection& db) {
  auto stmt = db.cached(kSelectSql);
  if (!stmt) return stmt.error();
  Statement& s = **stmt;
  ScopedReset reset(s);
  std::vector<Subscription> out;
  int rc;
  while ((rc = s.step()) == SQLITE_ROW) out.push_back(row(s));
  if (rc != SQLITE_DONE) return s.error("subscriptions");
  return out;
}

Result<int64_t> read_pruned_through(Connection& db) {
  auto stmt = db.cached(kPrunedSql);
  if (!stmt) return stmt.error();
  Statement& s = **stmt;
  ScopedReset reset(s);
  if (s.step() != SQLITE_ROW) return s.error("pruned_through");
  return s.int64(0);
}

Status write_subscription(Connection& db, const Subscription& sub) {
  auto stmt = db.cached(kUpsertSql);
  if (!stmt) return stmt.error();
  return in_transaction(db, [&]() -> Status {
    Statement& s = **stmt;
    ScopedReset reset(s);
    s.bind(1, std::string_view(sub.id));
    s.bind(2, std::string_view(sub.kind));
    s.bind(3, std::string_view(sub.principal));
    s.bind(4, std::string_view(sub.name));
    s.bind(5, std::string_view(sub.arguments));
    s.bind(6, std::string_view(sub.url));
    s.bind(7, std::string_view(sub.secret));
    s.bind(8, sub.created_at_ms);
    s.bind(9, sub.expires_at_ms);
    s.bind(10, sub.position);
    s.bind(11, sub.delivered);
    s.bind(12, sub.last_delivery_at_ms);
    s.bind(13, sub.failures);
    s.bind(14, sub.failing_since_ms);
    s.bind(15, sub.next_attempt_at_ms);
    s.bind(16, std::string_view(sub.last_error));
    s.bind(17, int64_t{sub.ended ? 1 : 0});
    s.bind(18, std::string_view(sub.end_reason));
    if (s.step() != SQLITE_DONE) return s.error("save subscription");
    return {};
  });
}

Status erase_subscription(Connection& db, const std::string& id) {
  auto stmt = db.cached(kDeleteSql);
  if (!stmt) return stmt.error();
  return in_transaction(db, [&]() -> Status {
    Statement& s = **stmt;
    ScopedReset reset(s);
    s.bind(1, std::string_view(id));
    if (s.step() != SQLITE_DONE) return s.error("delete subscription");
    return {};
  });
}

Status write_progress(Connection& db, const std::vector<TriggerRun>& runs,
                      const std::vector<SubscriptionProgress>& progress) {
  auto stmt = db.cached(kProgressSql);
  if (!stmt) return stmt.error();
  auto run_stmt = db.cached(kRunUpsertSql);
  if (!run_stmt) return run_stmt.error();
  return in_transaction(db, [&]() -> Status {
    for (const auto& r : runs) {
      Statement& s = **run_stmt;
      ScopedReset reset(s);
      s.bind(1, std::string_view(r.trigger));
      s.bind(2, r.event_id);
      s.bind(3, std::string_view(r.state));
      s.bind(4, r.attempts);
      s.bind(5, r.first_at_ms);
      s.bind(6, r.last_at_ms);
      s.bind(7, r.status);
      s.bind(8, std::string_view(r.error));
      s.bind(9, std::string_view(r.output));
      s.bind(10, r.duration_ms);
      if (s.step() != SQLITE_DONE) return s.error("save trigger run");
    }
    for (const auto& p : progress) {
      Statement& s = **stmt;
      ScopedReset reset(s);
      s.bind(1, p.position);
      s.bind(2, p.delivered);
      s.bind(3, p.last_delivery_at_ms);
      s.bind(4, p.failures);
      s.bind(5, p.failing_since_ms);
      s.bind(6, p.next_attempt_at_ms);
      s.bind(7, std::string_view(p.last_error));
      s.bind(8, int64_t{p.ended ? 1 : 0});
      s.bind(9, std::string_view(p.end_reason));
      s.bind(10, std::string_view(p.id));
      if (s.step() != SQLITE_DONE) return s.error("save delivery progress");
    }
    return {};
  });
}

Result<std::vector<TriggerRun>> read_runs(Connection& db, const RunFilter& filter) {
  const bool failed = filter.failed_only || filter.state;
  auto stmt = db.cached(failed ? kFailedRunSelectSql : kRunSelectSql);
  if (!stmt) return stmt.error();
  Statement& s = **stmt;
  ScopedReset reset(s);
  auto bind_optional = [&s](int i, const std::optional<std::string>& v) {
    if (v) {
      s.bind(i, std::string_view(*v));
    } else {
      s.bind_null(i);
    }
  };
  bind_optional(1, filter.trigger);
  s.bind(2, filter.before_id.value_or(INT64_MAX));
  s.bind(3, int64_t{filter.limit});
  if (failed) bind_optional(4, filter.state);
  std::vector<TriggerRun> out;
  int rc = 0;
  while ((rc = s.step()) == SQLITE_ROW) out.push_back(run_row(s));
  if (rc != SQLITE_DONE) return s.error("read trigger runs");
  return out;
}

Result<std::vector<TriggerRun>> mark_for_retry(Connection& db, const std::vector<int64_t>& ids,
                                               const std::string& trigger) {
  auto stmt = db.cached(kRetrySql);
  if (!stmt) return stmt.error();
  std::string id_list = "[";
  for (int64_t id : ids) id_list += (id_list.size() > 1 ? "," : "") + std::to_string(id);
  id_list += "]";
  std::vector<TriggerRun> out;
  auto s = in_transaction(db, [&]() -> Status {
    Statement& st = **stmt;
    ScopedReset reset(st);
    st.bind(1, std::string_view(id_list));
    st.bind(2, std::string_view(trigger));
    int rc = 0;
    while ((rc = st.step()) == SQLITE_ROW) out.push_back(run_row(st));
    if (rc != SQLITE_DONE) return st.error("ask for retries");
    return {};
  });
  if (!s) return s.error();
  return out;
}

Result<std::map<std::string, std::string>> read_connection_states(Connection& db) {
  auto stmt = db.cached("SELECT name, state FROM connections ORDER BY name");
  if (!stmt) return stmt.error();
  Statement& st = **stmt;
  ScopedReset reset(st);
  std::map<std::string, std::string> out;
  int rc = 0;
  while ((rc = st.step()) == SQLITE_ROW) out.emplace(st.text(0), st.text(1));
  if (rc != SQLITE_DONE) return st.error("read connections");
  return out;
}

Result<std::string> write_connection_state(Connection& db, const std::string& name,
                                           const std::string& state, bool only_if_absent,
                                           int64_t now_ms) {
  const char* sql = state.empty() ? "DELETE FROM connections WHERE name = ?1"
                    : only_if_absent
                        ? "INSERT INTO connections (name, state, updated_at) VALUES (?1, ?2, ?3) "
                          "ON CONFLICT (name) DO NOTHING"
                        : "INSERT INTO connections (name, state, updated_at) VALUES (?1, ?2, ?3) "
                          "ON CONFLICT (name) DO UPDATE SET state = excluded.state, "
                          "updated_at = excluded.updated_at";
  auto write = db.cached(sql);
  if (!write) return write.error();
  auto read = db.cached("SELECT state FROM connections WHERE name = ?1");
  if (!read) return read.error();
  std::string stored;
  auto s = in_transaction(db, [&]() -> Status {
    {
      Statement& st = **write;
      ScopedReset reset(st);
      st.bind(1, std::string_view(name));
      if (!state.empty()) {
        st.bind(2, std::string_view(state));
        st.bind(3, now_ms);
      }
      if (st.step() != SQLITE_DONE) return st.error("save connection");
    }
    Statement& st = **read;
    ScopedReset reset(st);
    st.bind(1, std::string_view(name));
    if (st.step() == SQLITE_ROW) stored = st.text(0);
    return {};
  });
  if (!s) return s.error();
  return stored;
}

}  // namespace hookmcp::store
