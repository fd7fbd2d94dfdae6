// The trailing full-text indexer, and the waits of a search for it.
#include "fts_index.hpp"

#include <algorithm>
#include <optional>
#include <thread>

namespace hookmcp::store {

namespace {

using sqlite::Connection;
using sqlite::ScopedReset;
using sqlite::Statement;
using sqlite::Transaction;

constexpr const char* kFtsThroughSql =
    "SELECT coalesce((SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'fts_through'), 0)";
constexpr const char* kFtsNextSql =
    "SELECT max(id) FROM (SELECT id FROM events WHERE id > ? ORDER BY id LIMIT ?)";
constexpr const char* kFtsIndexSql =
    "INSERT INTO events_fts(rowid, source, type, action, body) "
    "SELECT id, source, type, action, body FROM events WHERE id > ? AND id <= ?";
constexpr const char* kFtsSetThroughSql =
    "INSERT OR REPLACE INTO meta(key, value) VALUES('fts_through', CAST(? AS TEXT))";

// The full-text index trails the commits. A transaction per few events would write a small FTS5
// segment each time, and FTS5 would merge those over and over: the writer catches up once
// kIndexBatch events wait, kIndexDelay after the first of them was committed, once no commit has
// come for kIndexQuiet, or at once when a search waits for it. Under load it indexes about as
// many events as it has just committed before it takes the next batch, because every webhook
// waiting for a commit waits for that too. 1,024 events at a time stalled the writer for 8-16 ms
// (tens of ms for payloads of varied words; the intake's p99 was 52 ms) while the I/O thread and
// the senders idled; 64 take about half a millisecond, while the I/O thread answers the batch
// just committed. Idle, it catches up kIndexCatchUp events at a time.
constexpr int64_t kIndexBatch = 64;
constexpr std::chrono::milliseconds kIndexDelay{100};
constexpr std::chrono::milliseconds kIndexQuiet{10};
constexpr int64_t kIndexStep = 256;  // per transaction
constexpr int64_t kIndexPerRound = 256;
constexpr int64_t kIndexCatchUp = 4096;
// How long search waits for the writer to index what this process has committed.
constexpr std::chrono::seconds kIndexWait{2};

}  // namespace

void FtsIndexer::committed(int64_t through) {
  last_commit_at_ = std::chrono::steady_clock::now();
  if (!lags()) due_at_ = last_commit_at_ + kIndexDelay;
  committed_through_.store(through);
}

bool FtsIndexer::due() {
  // After a failure only catch_up() tries again, once a second, rather than every round.
  if (report_.failing()) return false;
  std::lock_guard lock(mu_);
  int64_t lag = committed_through_.load() - indexed_through_;
  return lag > 0 && (searches_waiting_ > 0 || lag >= kIndexBatch ||
                     std::chrono::steady_clock::now() >= deadline_locked());
}

std::chrono::steady_clock::time_point FtsIndexer::deadline() {
  if (report_.failing()) return std::chrono::steady_clock::time_point::max();
  std::lock_guard lock(mu_);
  return indexed_through_ < committed_through_.load()
             ? deadline_locked()
             : std::chrono::steady_clock::time_point::max();
}

void FtsIndexer::after_round(Connection& db, size_t batch) {
  if (!due()) return;
  // At least what was just committed, so that the index keeps up with any intake.
  step(db, batch == 0 ? kIndexCatchUp : std::max(kIndexPerRound, static_cast<int64_t>(batch)));
}

void FtsIndexer::catch_up(Connection& db) { step(db, kIndexCatchUp); }

// kIndexStep per transaction. The transactions skip their fsync: the index can always be
// rebuilt from the events, and the next durable commit syncs the WAL frames before it anyway.
void FtsIndexer::step(Connection& db, int64_t budget) {
  bool lowered = false;
  Status status;
  while (budget > 0) {
    auto more = index_some(db, std::min(budget, kIndexStep), lowered);
    if (!more) {
      status = more.error();
      break;
    }
    if (!*more) break;
    budget -= kIndexStep;
  }
  if (lowered) {
    if (auto s = db.exec("PRAGMA synchronous = FULL"); !s && status.ok()) {
      status = make_error(ErrorCode::kUnavailable,
                          "cannot set synchronous = FULL again: " + s.error().message);
    }
  }
  if (status.ok()) {
    report_.succeeded();
  } else {
    report_.failed("full-text indexing failed: " + status.error().message +
                   "; searches miss the events stored since, until it works again");
  }
}

Result<bool> FtsIndexer::index_some(Connection& db, int64_t count, bool& lowered) {
  auto through_stmt = db.cached(kFtsThroughSql);
  if (!through_stmt) return through_stmt.error();
  auto next_stmt = db.cached(kFtsNextSql);
  if (!next_stmt) return next_stmt.error();
  auto index_stmt = db.cached(kFtsIndexSql);
  if (!index_stmt) return index_stmt.error();
  auto set_stmt = db.cached(kFtsSetThroughSql);
  if (!set_stmt) return set_stmt.error();
  if (!lowered && fsync_each_commit_) lowered = db.exec("PRAGMA synchronous = NORMAL").ok();
  Transaction tx(db);
  if (auto s = tx.begin(); !s) return s.error();
  // Read inside the transaction: another process on the file may have indexed meanwhile.
  int64_t through = 0;
  {
    Statement& s = **through_stmt;
    ScopedReset reset(s);
    if (s.step() != SQLITE_ROW) return s.error("index position");
    through = s.int64(0);
  }
  int64_t next = 0;
  {
    Statement& s = **next_stmt;
    ScopedReset reset(s);
    s.bind(1, through);
    s.bind(2, count);
    if (s.step() != SQLITE_ROW) return s.error("events to index");
    if (s.is_null(0)) {
      publish_indexed(through);
      return false;  // nothing left; the transaction rolls back, having written nothing
    }
    next = s.int64(0);
  }
  {
    Statement& s = **index_stmt;
    ScopedReset reset(s);
    s.bind(1, through);
    s.bind(2, next);
    if (s.step() != SQLITE_DONE) return s.error("index");
  }
  {
    Statement& s = **set_stmt;
    ScopedReset reset(s);
    s.bind(1, next);
    if (s.step() != SQLITE_DONE) return s.error("index position");
  }
  if (auto s = tx.commit(); !s) return s.error();
  publish_indexed(next);
  return true;
}

bool FtsIndexer::lags() {
  std::lock_guard lock(mu_);
  return indexed_through_ < committed_through_.load();
}

std::chrono::steady_clock::time_point FtsIndexer::deadline_locked() const {
  return std::min(due_at_, last_commit_at_ + kIndexQuiet);
}

void FtsIndexer::publish_indexed(int64_t through) {
  {
    std::lock_guard lock(mu_);
    if (through <= indexed_through_) return;
    indexed_through_ = through;
  }
  cv_.notify_all();
}

void FtsIndexer::wait_for(int64_t id, const std::function<void()>& wake) {
  if (id == 0) return;
  {
    std::lock_guard lock(mu_);
    if (indexed_through_ >= id) return;
    ++searches_waiting_;
  }
  wake();
  std::unique_lock lock(mu_);
  cv_.wait_for(lock, kIndexWait, [&] { return indexed_through_ >= id; });
  --searches_waiting_;
}

void wait_for_other_writers_index(Queries& queries) {
  auto deadline = std::chrono::steady_clock::now() + kIndexWait;
  std::optional<int64_t> committed;
  for (;;) {
    auto state = queries.index_state();
    if (!state) return;
    if (!committed) committed = state->second;
    if (state->first >= *committed || std::chrono::steady_clock::now() >= deadline) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

}  // namespace hookmcp::store
