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

Status write_progress(Connection& db, const std::vector<SubscriptionProgress>& progress) {
  auto stmt = db.cached(kProgressSql);
  if (!stmt) return stmt.error();
  return in_transaction(db, [&]() -> Status {
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

}  // namespace hookmcp::store
