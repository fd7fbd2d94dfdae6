// SQLite store: WAL mode, one writer thread with group commit, a pool of reader connections.
#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <future>
#include <mutex>
#include <optional>
#include <thread>

#include "fts_rank.hpp"
#include "fts_snippet.hpp"
#include "hookmcp/store/store.hpp"
#include "schema.hpp"
#include "sqlite.hpp"

namespace hookmcp::store {

namespace {

using sqlite::Connection;
using sqlite::ScopedReset;
using sqlite::Statement;
using sqlite::Transaction;

constexpr const char* kInsertSql =
    "INSERT INTO events(source, provider, type, action, delivery_id, received_at, verified, "
    "headers, content_type, body, size) VALUES(?,?,?,?,?,?,?,?,?,?,?)";
constexpr const char* kFindDeliverySql =
    "SELECT id FROM events WHERE source = ? AND delivery_id = ?";
// The writer adds a batch's new events to the per-source counts once per source and type, not
// once per event as a trigger would (schema step 6); deletes and acks keep their triggers.
constexpr const char* kAddSourceStatsSql =
    "INSERT INTO source_stats VALUES (?, ?, ?, ?, ?) ON CONFLICT(source) DO UPDATE SET "
    "provider = excluded.provider, events = events + excluded.events, "
    "pending = pending + excluded.pending, "
    "last_received_at = max(last_received_at, excluded.last_received_at)";
constexpr const char* kAddSourceTypesSql =
    "INSERT INTO source_types VALUES (?, ?, ?) ON CONFLICT(source, type) DO UPDATE SET "
    "events = events + excluded.events";
constexpr const char* kGetSql =
    "SELECT id, source, provider, type, action, delivery_id, received_at, verified, headers, "
    "content_type, body, size, acked_at, ack_note FROM events WHERE id = ?";
constexpr const char* kSummaryColumns =
    "SELECT id, source, provider, type, action, delivery_id, received_at, verified, '', "
    "content_type, '', size, acked_at, ack_note FROM events";
// Events matching an FTS5 query. CROSS JOIN: the index drives, each match looks up its event.
constexpr const char* kSearchFrom =
    " FROM events_fts CROSS JOIN events e ON e.id = events_fts.rowid WHERE events_fts MATCH ?";
// The summary columns of read_event, then the snippet (fts_snippet.hpp), for one match.
constexpr const char* kSearchHitSql =
    "SELECT e.id, e.source, e.provider, e.type, e.action, e.delivery_id, e.received_at, "
    "e.verified, '', e.content_type, '', e.size, e.acked_at, e.ack_note, "
    "hookmcp_snippet(events_fts) "
    "FROM events_fts CROSS JOIN events e ON e.id = events_fts.rowid "
    "WHERE events_fts MATCH ? AND events_fts.rowid = ?";
constexpr const char* kFtsThroughSql =
    "SELECT coalesce((SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'fts_through'), 0)";
// How far the full-text index has come, and how far the events go.
constexpr const char* kIndexStateSql =
    "SELECT coalesce((SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'fts_through'), 0), "
    "(SELECT coalesce(max(id), 0) FROM events)";
constexpr const char* kFtsNextSql =
    "SELECT max(id) FROM (SELECT id FROM events WHERE id > ? ORDER BY id LIMIT ?)";
constexpr const char* kFtsIndexSql =
    "INSERT INTO events_fts(rowid, source, type, action, body) "
    "SELECT id, source, type, action, body FROM events WHERE id > ? AND id <= ?";
constexpr const char* kFtsSetThroughSql =
    "INSERT OR REPLACE INTO meta(key, value) VALUES('fts_through', CAST(? AS TEXT))";
constexpr const char* kProbeSql = "INSERT OR REPLACE INTO meta(key, value) VALUES('probe', ?)";
constexpr const char* kOldestSql = "SELECT id, received_at FROM events ORDER BY id LIMIT ?";
constexpr const char* kDeleteThroughSql = "DELETE FROM events WHERE id <= ?";
constexpr const char* kCountSql = "SELECT coalesce(sum(events), 0) FROM source_stats";

// Rows deleted per retention step, so that pruning never holds the writer for long.
constexpr int64_t kPruneStep = 1000;
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

// How often SQLite asks a search's watch whether to stop: every this many of its virtual
// machine's steps, a small fraction of a millisecond.
constexpr int kWatchSteps = 1000;

// What stops a search: its deadline passing, or its caller cancelling it. Asked by SQLite's
// progress handler, and between statements, on the searching thread only.
struct SearchWatch {
  enum class Stop { kNone, kDeadline, kCancelled };
  std::chrono::steady_clock::time_point deadline;
  const std::atomic<bool>* cancel = nullptr;
  Stop stop = Stop::kNone;

  bool expired() {
    if (stop == Stop::kNone) {
      if (cancel != nullptr && cancel->load(std::memory_order_relaxed)) {
        stop = Stop::kCancelled;
      } else if (std::chrono::steady_clock::now() >= deadline) {
        stop = Stop::kDeadline;
      }
    }
    return stop != Stop::kNone;
  }
};

// Keeps `watch` as the connection's progress handler for a scope: a statement it stops fails
// with SQLITE_INTERRUPT.
class WatchedBy {
 public:
  WatchedBy(Connection& db, SearchWatch& watch) : db_(db) {
    sqlite3_progress_handler(
        db_.raw(), kWatchSteps,
        [](void* w) { return static_cast<SearchWatch*>(w)->expired() ? 1 : 0; }, &watch);
  }
  ~WatchedBy() { sqlite3_progress_handler(db_.raw(), 0, nullptr, nullptr); }
  WatchedBy(const WatchedBy&) = delete;
  WatchedBy& operator=(const WatchedBy&) = delete;

 private:
  Connection& db_;
};

std::string describe(std::chrono::milliseconds d) {
  return d.count() % 1000 == 0 ? std::to_string(d.count() / 1000) + " s"
                               : std::to_string(d.count()) + " ms";
}

Event read_event(const Statement& s) {
  Event e;
  e.id = s.int64(0);
  e.source = s.text(1);
  e.provider = s.text(2);
  e.type = s.text(3);
  e.action = s.text(4);
  e.delivery_id = s.text(5);
  e.received_at_ms = s.int64(6);
  e.verified = s.int64(7) != 0;
  e.headers_json = s.text(8);
  e.content_type = s.text(9);
  e.body = s.text(10);
  e.size = s.int64(11);
  if (!s.is_null(12)) e.acked_at_ms = s.int64(12);
  e.ack_note = s.text(13);
  return e;
}

// A filter as SQL conditions on columns named `prefix` + name, and the values to bind.
struct Where {
  std::string clause;  // " WHERE ..." or empty
  std::vector<std::string> texts;
  std::vector<int64_t> ints;
  std::vector<bool> is_text;  // the order of the placeholders

  // Binds the values from placeholder first + 1 on; returns the last placeholder used.
  int bind(Statement& s, int first) const {
    size_t t = 0;
    size_t i = 0;
    int n = first;
    for (bool text : is_text) {
      if (text) {
        s.bind(++n, std::string_view(texts[t++]));
      } else {
        s.bind(++n, ints[i++]);
      }
    }
    return n;
  }
};

Where where(const EventFilter& f, const std::string& prefix) {
  Where w;
  auto add = [&](const std::string& condition) {
    w.clause += (w.clause.empty() ? " WHERE " : " AND ") + prefix + condition;
  };
  auto text = [&](const std::string& condition, const std::string& v) {
    add(condition);
    w.texts.push_back(v);
    w.is_text.push_back(true);
  };
  auto integer = [&](const std::string& condition, int64_t v) {
    add(condition);
    w.ints.push_back(v);
    w.is_text.push_back(false);
  };
  if (f.source) text("source = ?", *f.source);
  if (f.type) text("type = ?", *f.type);
  if (f.action) text("action = ?", *f.action);
  if (f.since_ms) integer("received_at >= ?", *f.since_ms);
  if (f.until_ms) integer("received_at < ?", *f.until_ms);
  if (f.before_id) integer("id < ?", *f.before_id);
  if (f.after_id) integer("id > ?", *f.after_id);
  if (f.status == AckFilter::kPending) add("acked_at IS NULL");
  if (f.status == AckFilter::kAcked) add("acked_at IS NOT NULL");
  return w;
}

// The user's query in FTS5 syntax: each word or "phrase" quoted, so that punctuation in it
// (dots in event types, dashes, colons) is searched for rather than parsed as an operator;
// `word*` stays a prefix search and OR stays OR. Empty when there is no word.
std::string fts_query(const std::string& query) {
  std::string out;
  bool last_was_term = false;
  size_t i = 0;
  auto quote = [](const std::string& term) {
    std::string q = "\"";
    for (char c : term) {
      if (c == '"') q += '"';
      q += c;
    }
    return q + "\"";
  };
  while (i < query.size()) {
    if (std::isspace(static_cast<unsigned char>(query[i]))) {
      ++i;
      continue;
    }
    std::string term;
    bool prefix = false;
    if (query[i] == '"') {
      size_t end = query.find('"', i + 1);
      if (end == std::string::npos) end = query.size();
      term = query.substr(i + 1, end - i - 1);
      i = end + 1;
    } else {
      size_t end = i;
      while (end < query.size() && !std::isspace(static_cast<unsigned char>(query[end]))) ++end;
      term = query.substr(i, end - i);
      i = end;
      if (term == "OR" && last_was_term) {
        out += " OR";
        last_was_term = false;
        continue;
      }
      while (!term.empty() && term.back() == '*') {
        term.pop_back();
        prefix = true;
      }
    }
    bool has_word = false;
    for (char c : term) has_word |= std::isalnum(static_cast<unsigned char>(c)) || (c & 0x80);
    if (!has_word) continue;
    if (!out.empty()) out += ' ';
    out += quote(term);
    if (prefix) out += '*';
    last_was_term = true;
  }
  if (!last_was_term && out.size() >= 3 && out.compare(out.size() - 3, 3, " OR") == 0) {
    out.resize(out.size() - 3);
  }
  return out;
}

Status apply_pragmas(Connection& db, bool fsync_each_commit) {
  // A new file gets 8 KB pages. An event's row (a 2 KB body and its headers) filled most of a
  // 4 KB page, so each event cost a page of WAL, of checkpoint and of writeback; an 8 KB page
  // holds three (bench/README.md: intake +15-20%; 16 KB pages made search 1.7 times slower).
  // An existing file keeps the page size it has: SQLite ignores this for it.
  if (auto s = db.exec("PRAGMA page_size = 8192"); !s) return s;
  if (auto s = db.exec("PRAGMA journal_mode = WAL"); !s) return s;
  // FULL: the WAL is fsynced at every commit, so a committed event survives power loss.
  // NORMAL: fsync at checkpoints only; a crash of the process still loses nothing.
  return db.exec(fsync_each_commit ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL");
}

// Refuses, before anything is written to it, a file the store could not write and a file of
// another program. SQLite opens a file this process may not write read-only, without an error:
// every commit would fail, and intake answer 503 for as long as the server runs. A file with
// tables of its own would be switched to WAL and given hookmcp's tables.
Status check_file(Connection& db, const std::string& path) {
  if (sqlite3_db_readonly(db.raw(), "main") == 1) {
    return make_error(ErrorCode::kIo, "cannot write database " + path +
                                          ": the file is read-only for this user; make it "
                                          "writable, or pass --db with another path");
  }
  auto stmt = db.prepare(
      "SELECT (SELECT user_version FROM pragma_user_version), "
      "(SELECT count(*) FROM sqlite_master), "
      "(SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN ('events', 'meta'))");
  if (!stmt || (*stmt)->step() != SQLITE_ROW) {
    return make_error(ErrorCode::kIo, "cannot read database " + path + ": " + db.errmsg());
  }
  int64_t version = (*stmt)->int64(0);
  int64_t objects = (*stmt)->int64(1);
  int64_t ours = (*stmt)->int64(2);
  if ((version == 0 && objects == 0) || ours == 2) return {};  // new, or hookmcp's
  return make_error(ErrorCode::kInvalidArgument,
                    path +
                        " is not a hookmcp database (it holds tables of another program and "
                        "no hookmcp schema); left untouched: pass --db with another path");
}

class SqliteStore final : public Store {
 public:
  SqliteStore(Options options, std::unique_ptr<Connection> writer, int64_t event_count,
              int64_t max_id = 0)
      : options_(std::move(options)),
        writer_db_(std::move(writer)),
        event_count_(event_count),
        committed_through_(max_id) {
    if (options_.metrics) {
      // hookmcp_limit{name=...}: what a search runs into (README: Limits).
      options_.metrics->set_limit("search_deadline_seconds",
                                  std::chrono::duration<double>(options_.search_deadline).count());
      options_.metrics->set_limit("search_snippet_matches", sqlite::kSnippetStarts);
      options_.metrics->set_limit("search_snippet_scan_bytes", sqlite::kSnippetScanBytes);
    }
    if (writer_db_) {
      writer_ = std::thread([this] { run_writer(); });
    } else {
      // A reader-only store (open_sqlite_reader): inserts and acks are refused from the start.
      closing_ = true;
    }
  }

  ~SqliteStore() override { close(); }

  void insert(NewEvent event, InsertCallback done) override {
    uint64_t bytes = cost(event);
    Error refused;
    {
      std::lock_guard lock(mu_);
      if (!closing_ && pending_bytes_ + bytes <= options_.max_pending_bytes) {
        pending_bytes_ += bytes;
        queue_.push_back({std::move(event), std::move(done)});
        cv_.notify_one();
        return;
      }
      refused = closing_
                    ? make_error(ErrorCode::kClosed, "store is closing")
                    : make_error(ErrorCode::kOverloaded, "too many bytes waiting to be committed");
    }
    // Outside the lock: the callback runs on the caller's thread.
    done(std::move(refused));
  }

  Result<std::optional<Event>> get(int64_t id) override {
    return with_reader([&](Connection& db) -> Result<std::optional<Event>> {
      auto stmt = db.cached(kGetSql);
      if (!stmt) return stmt.error();
      Statement& s = **stmt;
      ScopedReset reset(s);
      s.bind(1, id);
      int rc = s.step();
      if (rc == SQLITE_DONE) return std::optional<Event>();
      if (rc != SQLITE_ROW) return s.error("get");
      return std::optional<Event>(read_event(s));
    });
  }

  Result<std::vector<Event>> list(const EventFilter& f) override {
    Where w = where(f, "");
    std::string sql = std::string(kSummaryColumns) + w.clause +
                      (f.oldest_first ? " ORDER BY id ASC" : " ORDER BY id DESC") + " LIMIT ?";
    return with_reader([&](Connection& db) -> Result<std::vector<Event>> {
      auto stmt = db.prepare(sql);
      if (!stmt) return stmt.error();
      Statement& s = **stmt;
      int n = w.bind(s, 0);
      s.bind(n + 1, static_cast<int64_t>(f.limit));
      std::vector<Event> out;
      int rc;
      while ((rc = s.step()) == SQLITE_ROW) out.push_back(read_event(s));
      if (rc != SQLITE_DONE) return s.error("list");
      return out;
    });
  }

  using Store::search;
  Result<SearchPage> search(const std::string& query, const EventFilter& f, int offset,
                            const SearchCancel& cancel) override {
    SearchWatch watch{std::chrono::steady_clock::now() + options_.search_deadline, cancel.get()};
    // Read your writes: what this process has committed is searchable once indexed, which the
    // writer does right after answering the commit.
    wait_for_index(committed_through_.load());
    std::string match = fts_query(query);
    if (match.empty()) {
      return make_error(ErrorCode::kInvalidArgument, "the search query holds no word to look for");
    }
    // Id bounds go to the index scan itself; the other conditions to the joined event.
    EventFilter on_event = f;
    on_event.before_id.reset();
    on_event.after_id.reset();
    Where w = where(on_event, "e.");
    constexpr std::string_view kWhere = " WHERE ";  // kSearchFrom has its own: join with AND
    std::string from = std::string(kSearchFrom) +
                       (w.clause.empty() ? "" : " AND " + w.clause.substr(kWhere.size())) +
                       " AND events_fts.rowid < ? AND events_fts.rowid > ?";
    int64_t before = f.before_id.value_or(INT64_MAX);
    int64_t after = f.after_id.value_or(0);
    // Binds the placeholders of `from`; returns the last one used.
    auto bind_from = [&](Statement& s) {
      s.bind(1, std::string_view(match));
      int n = w.bind(s, 1);
      s.bind(n + 1, before);
      s.bind(n + 2, after);
      return n + 2;
    };
    return with_reader([&](Connection& db) -> Result<SearchPage> {
      WatchedBy watched(db, watch);
      // A statement stopped by the watch says "interrupted"; the watch says why.
      auto failed = [&](const Statement& s) {
        return watch.stop != SearchWatch::Stop::kNone ? stopped(watch) : s.error("search");
      };
      SearchPage page;
      // The block: the newest search_block matches. Its oldest is the next block's bound when
      // one more match exists.
      auto bounds = db.prepare("SELECT events_fts.rowid" + from +
                               " ORDER BY events_fts.rowid DESC LIMIT 2 OFFSET ?");
      if (!bounds) return bounds.error();
      Statement& b = **bounds;
      int n = bind_from(b);
      b.bind(n + 1, static_cast<int64_t>(std::max(1, options_.search_block) - 1));
      std::vector<int64_t> edge;
      int rc;
      while ((rc = b.step()) == SQLITE_ROW) edge.push_back(b.int64(0));
      if (rc != SQLITE_DONE) return failed(b);
      if (edge.size() == 2) {
        page.older_than = edge[0];
        after = edge[0] - 1;
      }

      auto ranked = db.prepare("SELECT events_fts.rowid" + from +
                               " ORDER BY hookmcp_rank(events_fts), events_fts.rowid DESC "
                               "LIMIT ? OFFSET ?");
      if (!ranked) return ranked.error();
      Statement& r = **ranked;
      n = bind_from(r);
      r.bind(n + 1, static_cast<int64_t>(f.limit));
      r.bind(n + 2, static_cast<int64_t>(offset));
      std::vector<int64_t> ids;
      while ((rc = r.step()) == SQLITE_ROW) ids.push_back(r.int64(0));
      if (rc != SQLITE_DONE) return failed(r);

      // Snippets only for the page: SQLite would otherwise make one for every ranked match.
      auto hit = db.cached(kSearchHitSql);
      if (!hit) return hit.error();
      for (int64_t id : ids) {
        // One match's statement may be too short for the progress handler to run in it.
        if (watch.expired()) return stopped(watch);
        Statement& s = **hit;
        ScopedReset reset(s);
        s.bind(1, std::string_view(match));
        s.bind(2, id);
        rc = s.step();
        if (rc == SQLITE_ROW) page.hits.push_back({read_event(s), s.text(14)});
        if (rc != SQLITE_ROW && rc != SQLITE_DONE) return failed(s);
      }
      if (watch.expired()) return stopped(watch);
      return page;
    });
  }

  Result<std::vector<std::string>> types(const std::optional<std::string>& source,
                                         const std::string& prefix, int limit) override {
    return with_reader([&](Connection& db) -> Result<std::vector<std::string>> {
      auto stmt = db.cached(
          "SELECT DISTINCT type FROM source_types WHERE (?1 IS NULL OR source = ?1) "
          "AND type != '' AND events > 0 AND substr(type, 1, length(?2)) = ?2 "
          "ORDER BY type LIMIT ?3");
      if (!stmt) return stmt.error();
      Statement& s = **stmt;
      ScopedReset reset(s);
      if (source) {
        s.bind(1, std::string_view(*source));
      } else {
        s.bind_null(1);
      }
      s.bind(2, std::string_view(prefix));
      s.bind(3, static_cast<int64_t>(limit));
      std::vector<std::string> out;
      int rc;
      while ((rc = s.step()) == SQLITE_ROW) out.push_back(s.text(0));
      if (rc != SQLITE_DONE) return s.error("types");
      return out;
    });
  }

  Result<std::vector<SourceStats>> sources() override {
    return with_reader([&](Connection& db) -> Result<std::vector<SourceStats>> {
      auto stmt = db.cached(
          "SELECT source, provider, events, pending, last_received_at FROM source_stats "
          "WHERE events > 0 ORDER BY source");
      if (!stmt) return stmt.error();
      Statement& s = **stmt;
      ScopedReset reset(s);
      std::vector<SourceStats> out;
      int rc;
      while ((rc = s.step()) == SQLITE_ROW) {
        out.push_back({s.text(0), s.text(1), s.int64(2), s.int64(3), s.int64(4)});
      }
      if (rc != SQLITE_DONE) return s.error("sources");
      return out;
    });
  }

  Result<int64_t> max_id() override {
    return with_reader([&](Connection& db) -> Result<int64_t> {
      auto stmt = db.cached("SELECT coalesce(max(id), 0) FROM events");
      if (!stmt) return stmt.error();
      Statement& s = **stmt;
      ScopedReset reset(s);
      if (s.step() != SQLITE_ROW) return s.error("max_id");
      return s.int64(0);
    });
  }

  Result<AckOutcome> ack(const std::vector<int64_t>& ids, const std::string& note) override {
    std::promise<Result<AckOutcome>> promise;
    auto future = promise.get_future();
    bool queued =
        run_on_writer([&](Connection& db) { promise.set_value(ack_on_writer(db, ids, note)); });
    if (!queued) return make_error(ErrorCode::kClosed, "store is closing");
    return future.get();
  }

  bool healthy() const override { return healthy_.load(std::memory_order_relaxed); }

  void add_commit_listener(CommitListener listener) override {
    std::lock_guard lock(listeners_mu_);
    listeners_.push_back(std::move(listener));
  }

  void close() override {
    {
      std::lock_guard lock(mu_);
      closing_ = true;
    }
    cv_.notify_one();
    // join_mu_ makes concurrent close() calls wait for the one that joins.
    std::lock_guard join_lock(join_mu_);
    if (writer_.joinable()) writer_.join();
  }

 private:
  struct Pending {
    NewEvent event;
    InsertCallback done;
  };
  using Job = std::function<void(Connection&)>;

  // Why `watch` stopped a search, counted in the metrics.
  Error stopped(const SearchWatch& watch) {
    if (watch.stop == SearchWatch::Stop::kCancelled) {
      if (options_.metrics) options_.metrics->searches_cancelled.inc();
      return make_error(ErrorCode::kClosed, "the search was cancelled");
    }
    if (options_.metrics) options_.metrics->search_timeouts.inc();
    return make_error(ErrorCode::kOverloaded,
                      "the search took longer than " + describe(options_.search_deadline) +
                          "; narrow it with source, type or since filters, or more words");
  }

  static uint64_t cost(const NewEvent& e) {
    return e.body.size() + e.headers_json.size() + e.source.size() + e.delivery_id.size() + 256;
  }

  bool run_on_writer(Job job) {
    {
      std::lock_guard lock(mu_);
      if (closing_) return false;
      jobs_.push_back(std::move(job));
    }
    cv_.notify_one();
    return true;
  }

  template <typename F>
  auto with_reader(F&& f) -> decltype(f(std::declval<Connection&>())) {
    std::unique_ptr<Connection> db;
    {
      std::lock_guard lock(readers_mu_);
      if (!readers_.empty()) {
        db = std::move(readers_.back());
        readers_.pop_back();
      }
    }
    if (!db) {
      auto opened = Connection::open(options_.path, /*create=*/false);
      if (!opened) return opened.error();
      db = std::move(*opened);
      (void)db->exec("PRAGMA query_only = 1");
      if (auto s = sqlite::register_rank(db->raw()); !s) return s.error();
      Counter* bounded = options_.metrics ? &options_.metrics->search_snippets_bounded : nullptr;
      if (auto s = sqlite::register_snippet(db->raw(), bounded); !s) return s.error();
    }
    auto result = f(*db);
    std::lock_guard lock(readers_mu_);
    readers_.push_back(std::move(db));
    return result;
  }

  void run_writer() {
    std::vector<Pending> batch;
    std::vector<Job> jobs;
    auto next_maintenance = std::chrono::steady_clock::now();
    for (;;) {
      auto wake_at = std::min(next_maintenance, index_deadline());
      {
        std::unique_lock lock(mu_);
        cv_.wait_until(lock, wake_at, [&] {
          return closing_ || !queue_.empty() || !jobs_.empty() || index_wanted_;
        });
        index_wanted_ = false;
        size_t take = std::min(queue_.size(), options_.max_batch);
        batch.clear();
        for (size_t i = 0; i < take; ++i) {
          batch.push_back(std::move(queue_.front()));
          queue_.pop_front();
        }
        jobs.swap(jobs_);
        if (closing_ && batch.empty() && jobs.empty()) break;
      }
      for (auto& job : jobs) job(*writer_db_);
      jobs.clear();
      if (!batch.empty()) commit(batch);
      if (index_due()) {
        // At least what was just committed, so that the index keeps up with any intake.
        index_step(batch.empty() ? kIndexCatchUp
                                 : std::max(kIndexPerRound, static_cast<int64_t>(batch.size())));
      }
      if (std::chrono::steady_clock::now() >= next_maintenance) {
        bool more = maintain();
        next_maintenance = std::chrono::steady_clock::now() +
                           (more ? std::chrono::milliseconds(10) : std::chrono::seconds(1));
      }
    }
  }

  // One transaction for the whole batch: one fsync, however many events.
  void commit(std::vector<Pending>& batch) {
    std::vector<InsertOutcome> outcomes(batch.size());
    std::vector<Event> added;
    Status status = write_batch(batch, outcomes, added);
    uint64_t bytes = 0;
    for (const auto& p : batch) bytes += cost(p.event);
    {
      std::lock_guard lock(mu_);
      pending_bytes_ -= bytes;
    }
    healthy_.store(status.ok(), std::memory_order_relaxed);
    if (options_.metrics && status.ok()) {
      options_.metrics->commit_batch_size.observe(static_cast<double>(batch.size()));
    }
    if (status.ok()) event_count_ += static_cast<int64_t>(added.size());
    if (!added.empty()) {
      last_commit_at_ = std::chrono::steady_clock::now();
      if (!index_lags()) index_due_at_ = last_commit_at_ + kIndexDelay;
      committed_through_.store(added.back().id);
    }
    // Listeners first: by the time a sender has its 2xx, the fan-out has the event.
    if (!added.empty()) {
      std::lock_guard lock(listeners_mu_);
      for (auto& listener : listeners_) listener(added);
    }
    for (size_t i = 0; i < batch.size(); ++i) {
      if (status.ok()) {
        batch[i].done(outcomes[i]);
      } else {
        batch[i].done(make_error(ErrorCode::kUnavailable, status.error().message));
      }
    }
  }

  Status write_batch(const std::vector<Pending>& batch, std::vector<InsertOutcome>& outcomes,
                     std::vector<Event>& added) {
    Connection& db = *writer_db_;
    auto insert = db.cached(kInsertSql);
    if (!insert) return insert.error();
    auto find = db.cached(kFindDeliverySql);
    if (!find) return find.error();
    Transaction tx(db);
    if (auto s = tx.begin(); !s) return s;
    for (size_t i = 0; i < batch.size(); ++i) {
      const NewEvent& e = batch[i].event;
      // Look first, then insert: an upsert would burn an AUTOINCREMENT id on every duplicate.
      // The writer holds the only write transaction, so nothing can come between the two, and
      // a duplicate from earlier in this same batch is already visible here.
      Statement& f = **find;
      ScopedReset reset_find(f);
      f.bind(1, std::string_view(e.source));
      f.bind(2, std::string_view(e.delivery_id));
      int found = f.step();
      if (found == SQLITE_ROW) {
        outcomes[i] = {f.int64(0), true};
        continue;
      }
      if (found != SQLITE_DONE) return f.error("find duplicate");

      Statement& s = **insert;
      ScopedReset reset(s);
      s.bind(1, std::string_view(e.source));
      s.bind(2, std::string_view(e.provider));
      s.bind(3, std::string_view(e.type));
      s.bind(4, std::string_view(e.action));
      s.bind(5, std::string_view(e.delivery_id));
      s.bind(6, e.received_at_ms);
      s.bind(7, int64_t{e.verified ? 1 : 0});
      s.bind(8, std::string_view(e.headers_json));
      s.bind(9, std::string_view(e.content_type));
      s.bind_blob(10, e.body);
      s.bind(11, static_cast<int64_t>(e.body.size()));
      if (s.step() != SQLITE_DONE) return s.error("insert");
      outcomes[i] = {sqlite3_last_insert_rowid(db.raw()), false};
      Event summary;
      summary.id = outcomes[i].id;
      summary.source = e.source;
      summary.provider = e.provider;
      summary.type = e.type;
      summary.action = e.action;
      summary.delivery_id = e.delivery_id;
      summary.received_at_ms = e.received_at_ms;
      summary.verified = e.verified;
      summary.content_type = e.content_type;
      summary.size = static_cast<int64_t>(e.body.size());
      added.push_back(std::move(summary));
    }
    if (auto s = add_to_counts(db, added); !s) return s;
    return tx.commit();
  }

  // Counts the new events of a batch into source_stats and source_types, inside its transaction.
  static Status add_to_counts(Connection& db, const std::vector<Event>& added) {
    struct Count {
      const Event* last;  // of its source, or of its source and type
      int64_t events = 0;
      int64_t last_received_at = 0;
    };
    std::vector<Count> sources;
    std::vector<Count> types;
    auto count = [](std::vector<Count>& counts, const Event& e, bool by_type) {
      auto same = [&](const Count& c) {
        return c.last->source == e.source && (!by_type || c.last->type == e.type);
      };
      auto it = std::find_if(counts.begin(), counts.end(), same);
      if (it == counts.end()) it = counts.insert(counts.end(), Count{&e});
      it->last = &e;
      it->events += 1;
      it->last_received_at = std::max(it->last_received_at, e.received_at_ms);
    };
    for (const Event& e : added) {
      count(sources, e, false);
      count(types, e, true);
    }
    auto add_source = db.cached(kAddSourceStatsSql);
    if (!add_source) return add_source.error();
    for (const Count& c : sources) {
      Statement& s = **add_source;
      ScopedReset reset(s);
      s.bind(1, std::string_view(c.last->source));
      s.bind(2, std::string_view(c.last->provider));
      s.bind(3, c.events);
      s.bind(4, c.events);  // pending: a new event is not acknowledged
      s.bind(5, c.last_received_at);
      if (s.step() != SQLITE_DONE) return s.error("source counts");
    }
    auto add_type = db.cached(kAddSourceTypesSql);
    if (!add_type) return add_type.error();
    for (const Count& c : types) {
      Statement& s = **add_type;
      ScopedReset reset(s);
      s.bind(1, std::string_view(c.last->source));
      s.bind(2, std::string_view(c.last->type));
      s.bind(3, c.events);
      if (s.step() != SQLITE_DONE) return s.error("type counts");
    }
    return {};
  }

  Result<AckOutcome> ack_on_writer(Connection& db, const std::vector<int64_t>& ids,
                                   const std::string& note) {
    auto stmt = db.cached("UPDATE events SET acked_at = ?, ack_note = ? WHERE id = ?");
    if (!stmt) return stmt.error();
    Transaction tx(db);
    if (auto s = tx.begin(); !s) return s.error();
    AckOutcome out;
    int64_t now = options_.clock->now_ms();
    for (int64_t id : ids) {
      Statement& s = **stmt;
      ScopedReset reset(s);
      s.bind(1, now);
      s.bind(2, std::string_view(note));
      s.bind(3, id);
      if (s.step() != SQLITE_DONE) return s.error("ack");
      (sqlite3_changes(db.raw()) > 0 ? out.acked : out.not_found).push_back(id);
    }
    if (auto s = tx.commit(); !s) return s.error();
    return out;
  }

  // Indexes up to `budget` committed events not yet in the full-text index, kIndexStep per
  // transaction. The transactions skip their fsync: the index can always be rebuilt from the
  // events, and the next durable commit syncs the WAL frames before it anyway.
  void index_step(int64_t budget) {
    Connection& db = *writer_db_;
    bool lowered = false;
    while (budget > 0) {
      auto through_stmt = db.cached(kFtsThroughSql);
      auto next_stmt = db.cached(kFtsNextSql);
      auto index_stmt = db.cached(kFtsIndexSql);
      auto set_stmt = db.cached(kFtsSetThroughSql);
      if (!through_stmt || !next_stmt || !index_stmt || !set_stmt) break;
      if (!lowered && options_.fsync_each_commit) {
        lowered = db.exec("PRAGMA synchronous = NORMAL").ok();
      }
      Transaction tx(db);
      if (!tx.begin()) break;
      // Read inside the transaction: another process on the file may have indexed meanwhile.
      int64_t through = 0;
      {
        Statement& s = **through_stmt;
        ScopedReset reset(s);
        if (s.step() != SQLITE_ROW) break;
        through = s.int64(0);
      }
      int64_t next = 0;
      {
        Statement& s = **next_stmt;
        ScopedReset reset(s);
        s.bind(1, through);
        s.bind(2, std::min(budget, kIndexStep));
        if (s.step() != SQLITE_ROW) break;
        if (s.is_null(0)) {
          publish_indexed(through);
          break;  // nothing left; the transaction rolls back, having written nothing
        }
        next = s.int64(0);
      }
      {
        Statement& s = **index_stmt;
        ScopedReset reset(s);
        s.bind(1, through);
        s.bind(2, next);
        if (s.step() != SQLITE_DONE) break;
      }
      {
        Statement& s = **set_stmt;
        ScopedReset reset(s);
        s.bind(1, next);
        if (s.step() != SQLITE_DONE) break;
      }
      if (!tx.commit()) break;
      publish_indexed(next);
      budget -= kIndexStep;
    }
    if (lowered) (void)db.exec("PRAGMA synchronous = FULL");
  }

  bool index_lags() {
    std::lock_guard lock(index_mu_);
    return indexed_through_ < committed_through_.load();
  }

  // Whether the writer indexes now, before its next batch.
  bool index_due() {
    std::lock_guard lock(index_mu_);
    int64_t lag = committed_through_.load() - indexed_through_;
    return lag > 0 && (searches_waiting_ > 0 || lag >= kIndexBatch ||
                       std::chrono::steady_clock::now() >= index_deadline_locked());
  }

  // When the writer, idle, must wake to index what trails.
  std::chrono::steady_clock::time_point index_deadline() {
    std::lock_guard lock(index_mu_);
    return indexed_through_ < committed_through_.load()
               ? index_deadline_locked()
               : std::chrono::steady_clock::time_point::max();
  }

  std::chrono::steady_clock::time_point index_deadline_locked() const {
    return std::min(index_due_at_, last_commit_at_ + kIndexQuiet);
  }

  void publish_indexed(int64_t through) {
    {
      std::lock_guard lock(index_mu_);
      if (through <= indexed_through_) return;
      indexed_through_ = through;
    }
    index_cv_.notify_all();
  }

  void wait_for_index(int64_t id) {
    if (!writer_db_) {
      wait_for_other_writers_index();
      return;
    }
    if (id == 0) return;
    {
      std::lock_guard lock(index_mu_);
      if (indexed_through_ >= id) return;
      ++searches_waiting_;
    }
    {
      std::lock_guard lock(mu_);
      index_wanted_ = true;
    }
    cv_.notify_one();
    std::unique_lock lock(index_mu_);
    index_cv_.wait_for(lock, kIndexWait, [&] { return indexed_through_ >= id; });
    --searches_waiting_;
  }

  // A reader-only store indexes nothing itself: the process writing the file does, shortly after
  // each commit. Waits, kIndexWait at most, until what was committed when the search began is
  // indexed, so that `events search` finds an event the moment after its sender had a 2xx.
  void wait_for_other_writers_index() {
    auto deadline = std::chrono::steady_clock::now() + kIndexWait;
    std::optional<int64_t> committed;
    for (;;) {
      auto state = with_reader([&](Connection& db) -> Result<std::pair<int64_t, int64_t>> {
        auto stmt = db.cached(kIndexStateSql);
        if (!stmt) return stmt.error();
        Statement& s = **stmt;
        ScopedReset reset(s);
        if (s.step() != SQLITE_ROW) return s.error("index state");
        return std::pair{s.int64(0), s.int64(1)};
      });
      if (!state) return;
      if (!committed) committed = state->second;
      if (state->first >= *committed || std::chrono::steady_clock::now() >= deadline) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }

  // Periodic work between batches: a probe commit while unhealthy, one retention step.
  // Returns true when more pruning is waiting.
  bool maintain() {
    if (!healthy_.load(std::memory_order_relaxed)) probe();
    index_step(kIndexCatchUp);  // what a crash between a commit and its indexing left
    return prune_step();
  }

  void probe() {
    Connection& db = *writer_db_;
    auto stmt = db.cached(kProbeSql);
    if (!stmt) return;
    Transaction tx(db);
    if (!tx.begin()) return;
    Statement& s = **stmt;
    ScopedReset reset(s);
    std::string now = std::to_string(options_.clock->now_ms());
    s.bind(1, std::string_view(now));
    if (s.step() != SQLITE_DONE) return;
    if (tx.commit()) healthy_.store(true, std::memory_order_relaxed);
  }

  // Deletes at most kPruneStep of the oldest events that are past the age or count limit.
  // Ids grow with arrival time, so the expired events are a prefix of the id order.
  bool prune_step() {
    int64_t over_count = options_.retention_max_events > 0
                             ? std::max<int64_t>(0, event_count_ - options_.retention_max_events)
                             : 0;
    int64_t cutoff_ms =
        options_.retention_max_age_days > 0
            ? options_.clock->now_ms() - int64_t{options_.retention_max_age_days} * 86'400'000
            : INT64_MIN;
    Connection& db = *writer_db_;
    auto oldest = db.cached(kOldestSql);
    auto del = db.cached(kDeleteThroughSql);
    if (!oldest || !del) return false;
    int64_t last_id = 0;
    int64_t rows = 0;
    {
      Statement& s = **oldest;
      ScopedReset reset(s);
      s.bind(1, kPruneStep);
      while (s.step() == SQLITE_ROW) {
        bool too_many = rows < over_count;
        bool too_old = s.int64(1) < cutoff_ms;
        if (!too_many && !too_old) break;
        last_id = s.int64(0);
        ++rows;
      }
    }
    if (rows == 0) return false;
    Transaction tx(db);
    if (!tx.begin()) return false;
    Statement& d = **del;
    ScopedReset reset(d);
    d.bind(1, last_id);
    if (d.step() != SQLITE_DONE) return false;
    int64_t deleted = sqlite3_changes(db.raw());
    if (!tx.commit()) return false;
    event_count_ -= deleted;
    return rows == kPruneStep;
  }

  const Options options_;
  std::unique_ptr<Connection> writer_db_;   // writer thread only
  int64_t event_count_;                     // writer thread only
  std::atomic<int64_t> committed_through_;  // the highest id this process committed

  std::mutex index_mu_;
  std::condition_variable index_cv_;
  int64_t indexed_through_ = 0;                           // guarded by index_mu_
  int searches_waiting_ = 0;                              // guarded by index_mu_
  std::chrono::steady_clock::time_point index_due_at_;    // writer thread only
  std::chrono::steady_clock::time_point last_commit_at_;  // writer thread only

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Pending> queue_;   // guarded by mu_
  std::vector<Job> jobs_;       // guarded by mu_
  uint64_t pending_bytes_ = 0;  // guarded by mu_
  bool closing_ = false;        // guarded by mu_
  bool index_wanted_ = false;   // guarded by mu_: a search waits for the index

  std::mutex readers_mu_;
  std::vector<std::unique_ptr<Connection>> readers_;  // guarded by readers_mu_

  std::mutex listeners_mu_;
  std::vector<CommitListener> listeners_;  // guarded by listeners_mu_

  std::atomic<bool> healthy_{true};
  std::mutex join_mu_;
  std::thread writer_;
};

}  // namespace

int sqlite_schema_version() { return sqlite::schema_version(); }

Result<std::unique_ptr<Store>> open_sqlite(const Options& options) {
  if (options.clock == nullptr) return make_error(ErrorCode::kInternal, "store needs a clock");
  std::filesystem::path path(options.path);
  if (path.has_parent_path()) {
    std::error_code ec;
    std::filesystem::create_directories(path.parent_path(), ec);
    if (ec) {
      return make_error(ErrorCode::kIo, "cannot create directory " + path.parent_path().string() +
                                            ": " + ec.message());
    }
  }
  auto db = sqlite::Connection::open(options.path, /*create=*/true);
  if (!db) return db.error();
  // Before the journal mode, the pragmas and the migrations: a file refused stays as it was.
  if (auto s = check_file(**db, options.path); !s) return s.error();
  if (auto s = apply_pragmas(**db, options.fsync_each_commit); !s) {
    return make_error(ErrorCode::kIo,
                      "cannot configure database " + options.path + ": " + s.error().message);
  }
  if (auto s = sqlite::migrate(**db); !s) return s.error();
  auto count = (*db)->prepare(kCountSql);
  if (!count) return count.error();
  if ((*count)->step() != SQLITE_ROW) return (*count)->error("count");
  int64_t events = (*count)->int64(0);
  count->reset();
  auto max = (*db)->prepare("SELECT coalesce(max(id), 0) FROM events");
  if (!max) return max.error();
  if ((*max)->step() != SQLITE_ROW) return (*max)->error("max id");
  int64_t max_id = (*max)->int64(0);
  max->reset();
  return std::unique_ptr<Store>(new SqliteStore(options, std::move(*db), events, max_id));
}

Result<std::unique_ptr<Store>> open_sqlite_reader(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    return make_error(ErrorCode::kNotFound, "no database at " + path);
  }
  // Read-write, not SQLITE_OPEN_READONLY: a WAL reader must be able to map the -shm index.
  auto db = sqlite::Connection::open(path, /*create=*/false);
  if (!db) return db.error();
  auto version = (*db)->prepare("PRAGMA user_version");
  if (!version) return make_error(ErrorCode::kIo, "cannot read database " + path);
  if ((*version)->step() != SQLITE_ROW) {
    return make_error(ErrorCode::kIo, "cannot read database " + path + ": " + (*db)->errmsg());
  }
  int64_t found = (*version)->int64(0);
  int64_t expected = sqlite::schema_version();
  if (found == 0) {
    return make_error(ErrorCode::kInvalidArgument,
                      path + " is not a hookmcp database (it has no hookmcp schema)");
  }
  if (found < expected) {
    return make_error(ErrorCode::kInvalidArgument,
                      path + " has schema version " + std::to_string(found) + ", older than " +
                          std::to_string(expected) +
                          ": start this hookmcp's `serve` on it once to migrate it");
  }
  if (found > expected) {
    return make_error(ErrorCode::kInvalidArgument,
                      path + " has schema version " + std::to_string(found) +
                          ", newer than this hookmcp understands (" + std::to_string(expected) +
                          "); upgrade hookmcp");
  }
  Options options;
  options.path = path;
  return std::unique_ptr<Store>(new SqliteStore(options, nullptr, 0));
}

}  // namespace hookmcp::store
