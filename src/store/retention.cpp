// The writer's upkeep: retention, the probe commit, the index's catch-up.
#include "retention.hpp"

#include <algorithm>
#include <string>

namespace hookmcp::store {

namespace {

using sqlite::Connection;
using sqlite::ScopedReset;
using sqlite::Statement;
using sqlite::Transaction;

constexpr const char* kProbeSql = "INSERT OR REPLACE INTO meta(key, value) VALUES('probe', ?)";
constexpr const char* kOldestSql = "SELECT id, received_at FROM events ORDER BY id LIMIT ?";
constexpr const char* kDeleteThroughSql = "DELETE FROM events WHERE id <= ?";
constexpr const char* kDeleteRunsSql = "DELETE FROM trigger_runs WHERE event_id <= ?";
constexpr const char* kPrunedThroughSql =
    "INSERT OR REPLACE INTO meta(key, value) VALUES('pruned_through', CAST(? AS TEXT))";

// Rows deleted per retention step, so that pruning never holds the writer for long.
constexpr int64_t kPruneStep = 1000;

}  // namespace

bool Retention::maintain(Connection& db, std::atomic<bool>& healthy) {
  if (!healthy.load(std::memory_order_relaxed)) {
    if (auto s = probe(db); s) {
      probe_report_.succeeded();
      healthy.store(true, std::memory_order_relaxed);
    } else {
      probe_report_.failed("the database still cannot commit: " + s.error().message +
                           "; webhooks are answered 503 until it can");
    }
  }
  indexer_.catch_up(db);  // what a crash between a commit and its indexing left
  auto more = prune_step(db);
  if (!more) {
    prune_report_.failed("retention failed: " + more.error().message +
                         "; events past the retention limits stay until it works again");
    return false;
  }
  prune_report_.succeeded();
  return *more;
}

Status Retention::probe(Connection& db) {
  auto stmt = db.cached(kProbeSql);
  if (!stmt) return stmt.error();
  Transaction tx(db);
  if (auto s = tx.begin(); !s) return s;
  Statement& s = **stmt;
  ScopedReset reset(s);
  std::string now = std::to_string(options_.clock->now_ms());
  s.bind(1, std::string_view(now));
  if (s.step() != SQLITE_DONE) return s.error("probe");
  return tx.commit();
}

// Ids grow with arrival time, so the expired events are a prefix of the id order.
Result<bool> Retention::prune_step(Connection& db) {
  int64_t over_count = options_.retention_max_events > 0
                           ? std::max<int64_t>(0, event_count_ - options_.retention_max_events)
                           : 0;
  int64_t cutoff_ms =
      options_.retention_max_age_days > 0
          ? options_.clock->now_ms() - int64_t{options_.retention_max_age_days} * 86'400'000
          : INT64_MIN;
  if (over_count == 0 && cutoff_ms == INT64_MIN) return false;  // no limit
  auto oldest = db.cached(kOldestSql);
  if (!oldest) return oldest.error();
  auto del = db.cached(kDeleteThroughSql);
  if (!del) return del.error();
  auto mark = db.cached(kPrunedThroughSql);
  if (!mark) return mark.error();
  int64_t last_id = 0;
  int64_t rows = 0;
  {
    Statement& s = **oldest;
    ScopedReset reset(s);
    s.bind(1, kPruneStep);
    int rc;
    while ((rc = s.step()) == SQLITE_ROW) {
      bool too_many = rows < over_count;
      bool too_old = s.int64(1) < cutoff_ms;
      if (!too_many && !too_old) break;
      last_id = s.int64(0);
      ++rows;
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) return s.error("oldest events");
  }
  if (rows == 0) return false;
  Transaction tx(db);
  if (auto s = tx.begin(); !s) return s.error();
  Statement& d = **del;
  ScopedReset reset(d);
  d.bind(1, last_id);
  if (d.step() != SQLITE_DONE) return d.error("delete");
  int64_t deleted = db.changes();
  {
    auto runs = db.cached(kDeleteRunsSql);
    if (!runs) return runs.error();
    Statement& r = **runs;
    ScopedReset runs_reset(r);
    r.bind(1, last_id);
    if (r.step() != SQLITE_DONE) return r.error("delete trigger runs");
  }
  {
    Statement& m = **mark;
    ScopedReset mark_reset(m);
    m.bind(1, last_id);
    if (m.step() != SQLITE_DONE) return m.error("pruned_through");
  }
  if (auto s = tx.commit(); !s) return s.error();
  event_count_ -= deleted;
  return rows == kPruneStep;
}

}  // namespace hookmcp::store
