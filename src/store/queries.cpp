// The SQL of the reads, over a pool of read-only connections.
#include "queries.hpp"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>

#include "fts_rank.hpp"
#include "fts_snippet.hpp"
#include "search_query.hpp"
#include "subscriptions.hpp"

namespace hookmcp::store {

namespace {

using sqlite::Connection;
using sqlite::ScopedReset;
using sqlite::Statement;

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
constexpr const char* kIndexStateSql =
    "SELECT coalesce((SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'fts_through'), 0), "
    "(SELECT coalesce(max(id), 0) FROM events)";

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

// Why `watch` stopped a search, counted in the metrics.
Error stopped(const SearchWatch& watch, Metrics* metrics, std::chrono::milliseconds deadline) {
  if (watch.stop == SearchWatch::Stop::kCancelled) {
    if (metrics) metrics->searches_cancelled.inc();
    return make_error(ErrorCode::kClosed, "the search was cancelled");
  }
  if (metrics) metrics->search_timeouts.inc();
  return make_error(ErrorCode::kOverloaded,
                    "the search took longer than " + describe(deadline) +
                        "; narrow it with source, type or since filters, or more words");
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
  for (const SearchTerm& term : parse_search(query)) {
    if (!out.empty()) out += term.or_before ? " OR " : " ";
    out += '"';
    for (char c : term.text) {
      if (c == '"') out += '"';
      out += c;
    }
    out += '"';
    if (term.prefix) out += '*';
  }
  return out;
}

}  // namespace

Result<std::unique_ptr<Connection>> ReaderPool::take() {
  {
    std::lock_guard lock(mu_);
    if (!free_.empty()) {
      auto db = std::move(free_.back());
      free_.pop_back();
      return db;
    }
  }
  auto db = Connection::open(path_, /*create=*/false, metrics_);
  if (!db) return db.error();
  // A reader must never write: a bug in a query fails instead of changing the file.
  if (auto s = (*db)->exec("PRAGMA query_only = 1"); !s) {
    return make_error(ErrorCode::kIo,
                      "cannot make a reader of " + path_ + " read-only: " + s.error().message);
  }
  if (auto s = sqlite::register_rank((*db)->raw()); !s) return s.error();
  Counter* bounded = metrics_ ? &metrics_->search_snippets_bounded : nullptr;
  if (auto s = sqlite::register_snippet((*db)->raw(), bounded); !s) return s.error();
  return db;
}

void ReaderPool::give_back(std::unique_ptr<Connection> db) {
  std::lock_guard lock(mu_);
  free_.push_back(std::move(db));
}

Queries::Queries(const Options& options)
    : search_block_(options.search_block),
      search_deadline_(options.search_deadline),
      metrics_(options.metrics),
      readers_(options.path, options.metrics) {
  if (metrics_) {
    // hookmcp_limit{name=...}: what a search runs into (README: Limits).
    metrics_->set_limit("search_deadline_seconds",
                        std::chrono::duration<double>(search_deadline_).count());
    metrics_->set_limit("search_snippet_matches", sqlite::kSnippetStarts);
    metrics_->set_limit("search_snippet_scan_bytes", sqlite::kSnippetScanBytes);
  }
}

Result<std::optional<Event>> Queries::get(int64_t id) {
  return readers_.with_reader([&](Connection& db) -> Result<std::optional<Event>> {
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

Result<std::vector<Event>> Queries::list(const EventFilter& f) {
  Where w = where(f, "");
  std::string sql = std::string(kSummaryColumns) + w.clause +
                    (f.oldest_first ? " ORDER BY id ASC" : " ORDER BY id DESC") + " LIMIT ?";
  return readers_.with_reader([&](Connection& db) -> Result<std::vector<Event>> {
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

Result<SearchPage> Queries::search(const std::string& query, const EventFilter& f, int offset,
                                   const SearchCancel& cancel) {
  SearchWatch watch{std::chrono::steady_clock::now() + search_deadline_, cancel.get()};
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
  return readers_.with_reader([&](Connection& db) -> Result<SearchPage> {
    WatchedBy watched(db, watch);
    // A statement stopped by the watch says "interrupted"; the watch says why.
    auto failed = [&](const Statement& s) {
      return watch.stop != SearchWatch::Stop::kNone ? stopped(watch, metrics_, search_deadline_)
                                                    : s.error("search");
    };
    SearchPage page;
    // The block: the newest search_block matches. Its oldest is the next block's bound when
    // one more match exists.
    auto bounds = db.prepare("SELECT events_fts.rowid" + from +
                             " ORDER BY events_fts.rowid DESC LIMIT 2 OFFSET ?");
    if (!bounds) return bounds.error();
    Statement& b = **bounds;
    int n = bind_from(b);
    b.bind(n + 1, static_cast<int64_t>(std::max(1, search_block_) - 1));
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
      if (watch.expired()) return stopped(watch, metrics_, search_deadline_);
      Statement& s = **hit;
      ScopedReset reset(s);
      s.bind(1, std::string_view(match));
      s.bind(2, id);
      rc = s.step();
      if (rc == SQLITE_ROW) page.hits.push_back({read_event(s), s.text(14)});
      if (rc != SQLITE_ROW && rc != SQLITE_DONE) return failed(s);
    }
    if (watch.expired()) return stopped(watch, metrics_, search_deadline_);
    return page;
  });
}

Result<std::vector<std::string>> Queries::types(const std::optional<std::string>& source,
                                                const std::string& prefix, int limit) {
  return readers_.with_reader([&](Connection& db) -> Result<std::vector<std::string>> {
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

Result<std::vector<SourceStats>> Queries::sources() {
  return readers_.with_reader([&](Connection& db) -> Result<std::vector<SourceStats>> {
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

Result<int64_t> Queries::max_id() {
  return readers_.with_reader([&](Connection& db) -> Result<int64_t> {
    auto stmt = db.cached("SELECT coalesce(max(id), 0) FROM events");
    if (!stmt) return stmt.error();
    Statement& s = **stmt;
    ScopedReset reset(s);
    if (s.step() != SQLITE_ROW) return s.error("max_id");
    return s.int64(0);
  });
}

Result<int64_t> Queries::pruned_through() {
  return readers_.with_reader([&](Connection& db) { return read_pruned_through(db); });
}

Result<std::vector<Subscription>> Queries::subscriptions() {
  return readers_.with_reader([&](Connection& db) { return read_subscriptions(db); });
}

Result<std::vector<TriggerRun>> Queries::runs(const RunFilter& filter) {
  return readers_.with_reader([&](Connection& db) { return read_runs(db, filter); });
}

Result<std::pair<int64_t, int64_t>> Queries::index_state() {
  return readers_.with_reader([&](Connection& db) -> Result<std::pair<int64_t, int64_t>> {
    auto stmt = db.cached(kIndexStateSql);
    if (!stmt) return stmt.error();
    Statement& s = **stmt;
    ScopedReset reset(s);
    if (s.step() != SQLITE_ROW) return s.error("index state");
    return std::pair{s.int64(0), s.int64(1)};
  });
}

}  // namespace hookmcp::store
