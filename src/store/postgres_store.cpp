// The PostgreSQL store: the same Store as SQLite's, for several hookmcp nodes sharing one
// database server.
//
// - Writes: one writer thread per node commits queued inserts in groups (one transaction, one
//   WAL flush with synchronous_commit on, many events). Each group takes a transaction-level
//   advisory lock before it draws ids, so that ids are committed in the order they are drawn,
//   across nodes: a reader that has seen id N never later finds a new event below N.
//   Duplicates are caught by the unique index on (source, delivery_id), also when two nodes
//   store the same delivery at the same instant (the second waits on the lock, then conflicts).
// - Fan-out: each commit sends NOTIFY hookmcp_events (no payload that matters). Every node
//   LISTENs, and on a notification (or every second, should one be lost, or its connection
//   drop) reads the events above the last one it told its listeners of, by id. Its own commits
//   are told the same way, straight from the writer; either way each event is told once.
// - Reads: a small pool of connections. Full text: a tsvector per event of its source, type,
//   action and body, split into runs of letters and digits and lowercased (the 'simple'
//   configuration, no stemming: SQLite's tokenizer does the same), a GIN index, and the same
//   query language (words, "phrases", word*, OR) turned into a tsquery.
// - Outbound delivery: each subscription is held by one node at a time. A node claims the ones
//   nobody holds (FOR UPDATE SKIP LOCKED) for a lease it renews every second; a holder whose
//   connections are gone from pg_stat_activity (its process died) or whose lease lapsed (it
//   cannot reach the server) holds nothing, so another node takes over. A node that lost a
//   subscription cannot save its progress any more: the new holder's position stands.
// - Schema: versioned in hookmcp_schema, migrated under an advisory lock, so that nodes starting
//   together migrate once.
#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include <spdlog/spdlog.h>
#include <sys/select.h>

#include "hookmcp/core/random.hpp"
#include "hookmcp/core/text.hpp"
#include "hookmcp/store/store.hpp"
#include "pg.hpp"
#include "search_query.hpp"

namespace hookmcp::store {

namespace {

using pg::Param;
using pg::Rows;

// Advisory lock keys (any two 64-bit numbers no other program uses): schema migrations, the
// order of inserts, and retention.
constexpr int64_t kMigrateLock = 0x686f6f6b6d637001;
constexpr int64_t kInsertLock = 0x686f6f6b6d637002;
constexpr int64_t kRetentionLock = 0x686f6f6b6d637003;

// Bytes of a body's text that go into its full-text entry (a tsvector holds at most 1 MB).
constexpr int kIndexedBytes = 512 * 1024;
// Reader connections: kept idle at most, open at once at most, and how long a read waits for
// one before it is refused (kOverloaded) rather than pile up on a slow server.
constexpr size_t kPoolSize = 8;
constexpr int kMaxReaders = 16;
constexpr auto kReaderWait = std::chrono::seconds(5);
// How often the writer tries to connect again while the server is down.
constexpr auto kReconnectEvery = std::chrono::milliseconds(250);
// How long a claim on a subscription lasts unless renewed (hold_subscriptions, every second
// while delivering): the longest a node cut off from the server keeps another from taking over.
constexpr int64_t kHoldForMs = 30'000;

const std::vector<const char*>& steps() {
  static const std::vector<const char*> kSteps = {
      R"sql(
        CREATE FUNCTION hookmcp_text(b bytea) RETURNS text LANGUAGE plpgsql IMMUTABLE AS $$
        BEGIN
          RETURN convert_from(b, 'UTF8');
        EXCEPTION WHEN OTHERS THEN
          RETURN '';
        END $$;
        CREATE TABLE events (
          id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
          source text NOT NULL,
          provider text NOT NULL,
          type text NOT NULL DEFAULT '',
          action text NOT NULL DEFAULT '',
          delivery_id text NOT NULL,
          received_at bigint NOT NULL,
          verified boolean NOT NULL,
          headers text NOT NULL,
          content_type text NOT NULL DEFAULT '',
          body bytea NOT NULL,
          size bigint NOT NULL,
          acked_at bigint,
          ack_note text,
          words tsvector NOT NULL
        );
        CREATE UNIQUE INDEX events_by_delivery ON events(source, delivery_id);
        CREATE INDEX events_by_source ON events(source, id);
        CREATE INDEX events_by_type ON events(type, id);
        CREATE INDEX events_words ON events USING gin(words);
        CREATE TABLE meta (key text PRIMARY KEY, value text NOT NULL);
        CREATE TABLE source_stats (
          source text PRIMARY KEY,
          provider text NOT NULL,
          events bigint NOT NULL,
          pending bigint NOT NULL,
          last_received_at bigint NOT NULL
        );
        CREATE TABLE source_types (
          source text NOT NULL,
          type text NOT NULL,
          events bigint NOT NULL,
          PRIMARY KEY (source, type)
        );
        CREATE TABLE subscriptions (
          id text PRIMARY KEY,
          kind text NOT NULL,
          principal text NOT NULL,
          name text NOT NULL,
          arguments text NOT NULL,
          url text NOT NULL,
          secret text NOT NULL,
          created_at bigint NOT NULL,
          expires_at bigint NOT NULL,
          position bigint NOT NULL,
          delivered bigint NOT NULL,
          last_delivery_at bigint NOT NULL,
          failures bigint NOT NULL,
          failing_since bigint NOT NULL,
          next_attempt_at bigint NOT NULL,
          last_error text NOT NULL,
          ended boolean NOT NULL,
          end_reason text NOT NULL
        );
        INSERT INTO meta VALUES
          ('database_id', md5(random()::text || clock_timestamp()::text)),
          ('pruned_through', '0');
      )sql",
      // 2: who delivers each subscription, and until when.
      R"sql(
        ALTER TABLE subscriptions
          ADD COLUMN held_by text NOT NULL DEFAULT '',
          ADD COLUMN held_until bigint NOT NULL DEFAULT 0;
      )sql",
      // 3: trigger runs (see the SQLite schema's step 10).
      R"sql(
        CREATE TABLE trigger_runs (
          id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
          trigger text NOT NULL,
          event_id bigint NOT NULL,
          state text NOT NULL,
          attempts bigint NOT NULL,
          first_at bigint NOT NULL,
          last_at bigint NOT NULL,
          status bigint NOT NULL,
          error text NOT NULL,
          output text NOT NULL,
          duration_ms bigint NOT NULL,
          UNIQUE (trigger, event_id)
        );
        CREATE INDEX trigger_runs_failed ON trigger_runs(id) WHERE state <> 'ok';
        CREATE INDEX trigger_runs_event ON trigger_runs(event_id);
      )sql",
      // 4: connections (see the SQLite schema's step 11).
      R"sql(
        CREATE TABLE connections (
          name text PRIMARY KEY,
          state text NOT NULL,
          updated_at bigint NOT NULL
        );
      )sql",
  };
  return kSteps;
}

Status migrate(pg::Connection& db) {
  if (auto s = db.exec("CREATE TABLE IF NOT EXISTS hookmcp_schema (version integer NOT NULL)");
      !s) {
    // Two nodes creating it at once: one fails on the catalog's unique index; the table is
    // there for both after it.
    if (s.error().protocol_data != "23505" && s.error().protocol_data != "42P07") return s;
  }
  if (auto s = db.exec("BEGIN"); !s) return s;
  auto fail = [&](Error e) {
    (void)db.exec("ROLLBACK");
    return Status(std::move(e));
  };
  if (auto r = db.query("SELECT pg_advisory_xact_lock($1)", {Param::integer(kMigrateLock)}); !r) {
    return fail(r.error());
  }
  auto v = db.query("SELECT coalesce(max(version), 0) FROM hookmcp_schema");
  if (!v) return fail(v.error());
  int version = static_cast<int>(v->int64(0, 0));
  int target = static_cast<int>(steps().size());
  if (version > target) {
    return fail(make_error(ErrorCode::kInvalidArgument,
                           "database schema version " + std::to_string(version) +
                               " is newer than this hookmcp understands (" +
                               std::to_string(target) + "); upgrade hookmcp"));
  }
  for (; version < target; ++version) {
    if (auto s = db.exec(steps()[static_cast<size_t>(version)]); !s) {
      return fail(make_error(ErrorCode::kIo, "migration to schema version " +
                                                 std::to_string(version + 1) +
                                                 " failed: " + s.error().message));
    }
  }
  if (auto s = db.exec("DELETE FROM hookmcp_schema; INSERT INTO hookmcp_schema VALUES (" +
                       std::to_string(target) + ")");
      !s) {
    return fail(s.error());
  }
  return db.exec("COMMIT");
}

constexpr const char* kSummaryColumns =
    "id, source, provider, type, action, delivery_id, received_at, verified, size, acked_at, "
    "ack_note";

Event summary_of(const Rows& r, int row) {
  Event e;
  e.id = r.int64(row, 0);
  e.source = r.text(row, 1);
  e.provider = r.text(row, 2);
  e.type = r.text(row, 3);
  e.action = r.text(row, 4);
  e.delivery_id = r.text(row, 5);
  e.received_at_ms = r.int64(row, 6);
  e.verified = r.boolean(row, 7);
  e.size = r.int64(row, 8);
  if (!r.null(row, 9)) e.acked_at_ms = r.int64(row, 9);
  if (!r.null(row, 10)) e.ack_note = r.text(row, 10);
  return e;
}

// The WHERE clause of an EventFilter and its parameters, numbered from `first`.
struct Where {
  std::string clause;  // "" or " AND ..." pieces joined
  std::vector<Param> params;
};
Where where(const EventFilter& f, int first) {
  Where w;
  auto add = [&](const std::string& condition, Param p) {
    w.params.push_back(std::move(p));
    std::string n = "$" + std::to_string(first + static_cast<int>(w.params.size()) - 1);
    std::string c = condition;
    c.replace(c.find('?'), 1, n);
    w.clause += " AND " + c;
  };
  if (f.source) add("source = ?", Param::text(*f.source));
  if (f.type) add("type = ?", Param::text(*f.type));
  if (f.action) add("action = ?", Param::text(*f.action));
  if (f.since_ms) add("received_at >= ?", Param::integer(*f.since_ms));
  if (f.until_ms) add("received_at < ?", Param::integer(*f.until_ms));
  if (f.before_id) add("id < ?", Param::integer(*f.before_id));
  if (f.after_id) add("id > ?", Param::integer(*f.after_id));
  if (f.status == AckFilter::kPending) w.clause += " AND acked_at IS NULL";
  if (f.status == AckFilter::kAcked) w.clause += " AND acked_at IS NOT NULL";
  return w;
}

bool word_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || (static_cast<unsigned char>(c) & 0x80);
}

// The words of `text` as the 'simple' configuration sees them, lowercased, each quoted for a
// tsquery.
std::vector<std::string> lexemes(const std::string& text) {
  std::vector<std::string> out;
  std::string word;
  auto flush = [&] {
    if (!word.empty()) out.push_back("'" + word + "'");
    word.clear();
  };
  for (char c : text) {
    if (word_char(c)) {
      word += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    } else {
      flush();
    }
  }
  flush();
  return out;
}

// The user's query as a tsquery: each word or "phrase" (its words <->-adjacent), `word*` a
// prefix, OR between alternatives, & between the rest. Empty when there is no word.
std::string ts_query(const std::string& query) {
  std::string out;
  for (const SearchTerm& term : parse_search(query)) {
    auto words = lexemes(term.text);
    if (words.empty()) continue;
    std::string piece;
    for (size_t k = 0; k < words.size(); ++k) piece += (k ? " <-> " : "") + words[k];
    if (term.prefix) piece += ":*";
    if (words.size() > 1) piece = "(" + piece + ")";
    if (!out.empty()) out += term.or_before ? " | " : " & ";
    out += piece;
  }
  return out;
}

constexpr const char* kSubscriptionColumns =
    "id, kind, principal, name, arguments, url, secret, created_at, expires_at, position, "
    "delivered, last_delivery_at, failures, failing_since, next_attempt_at, last_error, ended, "
    "end_reason";

// `columns` (a comma-separated list) with each name qualified by `prefix`.
std::string prefixed(const std::string& prefix, std::string_view columns) {
  std::string out;
  for (size_t start = 0; start < columns.size();) {
    size_t comma = columns.find(',', start);
    if (comma == std::string_view::npos) comma = columns.size();
    std::string_view name = columns.substr(start, comma - start);
    while (!name.empty() && name.front() == ' ') name.remove_prefix(1);
    if (!out.empty()) out += ", ";
    out += prefix;
    out += name;
    start = comma + 1;
  }
  return out;
}

// Rows of kSubscriptionColumns.
constexpr const char* kRunColumns =
    "id, trigger, event_id, state, attempts, first_at, last_at, status, error, output, "
    "duration_ms";

std::vector<TriggerRun> runs_of(const Rows& r) {
  std::vector<TriggerRun> out;
  for (int i = 0; i < r.size(); ++i) {
    TriggerRun run;
    run.id = r.int64(i, 0);
    run.trigger = std::string(r.text(i, 1));
    run.event_id = r.int64(i, 2);
    run.state = std::string(r.text(i, 3));
    run.attempts = r.int64(i, 4);
    run.first_at_ms = r.int64(i, 5);
    run.last_at_ms = r.int64(i, 6);
    run.status = r.int64(i, 7);
    run.error = std::string(r.text(i, 8));
    run.output = std::string(r.text(i, 9));
    run.duration_ms = r.int64(i, 10);
    out.push_back(std::move(run));
  }
  return out;
}

std::vector<Subscription> subscriptions_of(const Rows& r) {
  std::vector<Subscription> out;
  for (int i = 0; i < r.size(); ++i) {
    Subscription s;
    s.id = r.text(i, 0);
    s.kind = r.text(i, 1);
    s.principal = r.text(i, 2);
    s.name = r.text(i, 3);
    s.arguments = r.text(i, 4);
    s.url = r.text(i, 5);
    s.secret = r.text(i, 6);
    s.created_at_ms = r.int64(i, 7);
    s.expires_at_ms = r.int64(i, 8);
    s.position = r.int64(i, 9);
    s.delivered = r.int64(i, 10);
    s.last_delivery_at_ms = r.int64(i, 11);
    s.failures = r.int64(i, 12);
    s.failing_since_ms = r.int64(i, 13);
    s.next_attempt_at_ms = r.int64(i, 14);
    s.last_error = r.text(i, 15);
    s.ended = r.boolean(i, 16);
    s.end_reason = r.text(i, 17);
    out.push_back(std::move(s));
  }
  return out;
}

// The writer's statements are prepared once and run for the life of its connection, from an
// empty table to millions of rows: a plan cached while the table was empty would stay (the
// duplicate check scanning every event of its source rather than looking up the unique index).
// Planned each time, with the values at hand, they keep to the indexes.
Status plan_each_time(pg::Connection& db) {
  return db.exec("SET plan_cache_mode = force_custom_plan");
}

class PostgresStore final : public Store {
 public:
  explicit PostgresStore(const Options& options) : options_(options) {}
  ~PostgresStore() override { close(); }
  PostgresStore(const PostgresStore&) = delete;
  PostgresStore& operator=(const PostgresStore&) = delete;

  Status open() {
    // This process's name on the server: its claims on subscriptions hold while a connection
    // of that name is there.
    auto holder = random_hex(8);
    if (!holder) return holder.error();
    holder_ = *holder;
    application_name_ = "hookmcp/" + holder_;
    auto db = pg::Connection::open(options_.path, 10, application_name_);
    if (!db) return db.error();
    if (auto s = migrate(**db); !s) return s;
    auto id = (*db)->query("SELECT value FROM meta WHERE key = 'database_id'");
    if (!id) return id.error();
    if (id->size() != 1) return make_error(ErrorCode::kIo, "the database has no identity");
    identity_ = std::string(id->text(0, 0));
    auto top = (*db)->query("SELECT coalesce(max(id), 0) FROM events");
    if (!top) return top.error();
    told_through_ = top->int64(0, 0);
    if (auto s = plan_each_time(**db); !s) return s;
    writer_db_ = std::move(*db);
    writer_ = std::thread([this] { write_loop(); });
    listener_ = std::thread([this] { listen_loop(); });
    return {};
  }

  void insert(NewEvent event, InsertCallback done) override {
    uint64_t cost = event.body.size() + event.headers_json.size() + 256;
    Error refused;
    {
      std::unique_lock lock(mu_);
      if (!closing_ && pending_bytes_ + cost <= options_.max_pending_bytes) {
        pending_bytes_ += cost;
        queue_.push_back({std::move(event), std::move(done), cost});
        lock.unlock();
        cv_.notify_one();
        return;
      }
      refused =
          closing_ ? make_error(ErrorCode::kClosed, "the store is closed")
                   : make_error(ErrorCode::kOverloaded, "too many events are waiting to be stored");
    }
    done(std::move(refused));
  }

  Result<std::optional<Event>> get(int64_t id) override {
    return with_reader([&](pg::Connection& db) -> Result<std::optional<Event>> {
      auto r = db.run_prepared("get",
                               std::string("SELECT ") + kSummaryColumns +
                                   ", headers, content_type, body FROM events WHERE id = $1",
                               {Param::integer(id)});
      if (!r) return r.error();
      if (r->size() == 0) return std::optional<Event>();
      Event e = summary_of(*r, 0);
      e.headers_json = r->text(0, 11);
      e.content_type = r->text(0, 12);
      e.body = r->bytes(0, 13);
      return std::optional<Event>(std::move(e));
    });
  }

  Result<std::vector<Event>> list(const EventFilter& f) override {
    Where w = where(f, 1);
    w.params.push_back(Param::integer(f.limit));
    std::string sql = std::string("SELECT ") + kSummaryColumns +
                      ", content_type FROM events WHERE true" + w.clause +
                      (f.oldest_first ? " ORDER BY id ASC" : " ORDER BY id DESC") + " LIMIT $" +
                      std::to_string(w.params.size());
    return with_reader([&](pg::Connection& db) -> Result<std::vector<Event>> {
      auto r = db.query(sql, w.params);
      if (!r) return r.error();
      std::vector<Event> out;
      for (int i = 0; i < r->size(); ++i) {
        out.push_back(summary_of(*r, i));
        out.back().content_type = r->text(i, 11);
      }
      return out;
    });
  }

  Result<std::vector<SourceStats>> sources() override {
    return with_reader([&](pg::Connection& db) -> Result<std::vector<SourceStats>> {
      auto r = db.query(
          "SELECT source, provider, events, pending, last_received_at FROM source_stats "
          "WHERE events > 0 ORDER BY source");
      if (!r) return r.error();
      std::vector<SourceStats> out;
      out.reserve(static_cast<size_t>(r->size()));
      for (int i = 0; i < r->size(); ++i) {
        out.push_back({std::string(r->text(i, 0)), std::string(r->text(i, 1)), r->int64(i, 2),
                       r->int64(i, 3), r->int64(i, 4)});
      }
      return out;
    });
  }

  Result<int64_t> max_id() override {
    return with_reader([&](pg::Connection& db) -> Result<int64_t> {
      auto r = db.query("SELECT coalesce(max(id), 0) FROM events");
      if (!r) return r.error();
      return r->int64(0, 0);
    });
  }

  Result<SearchPage> search(const std::string& query, const EventFilter& f, int offset,
                            const SearchCancel& cancel) override {
    std::string q = ts_query(query);
    if (q.empty()) {
      return make_error(ErrorCode::kInvalidArgument, "the search query holds no word to look for");
    }
    if (cancel && cancel->load()) return make_error(ErrorCode::kClosed, "the search was cancelled");
    Where w = where(f, 2);
    std::vector<Param> params = {Param::text(q)};
    params.insert(params.end(), w.params.begin(), w.params.end());
    std::string matches = "SELECT id FROM events WHERE words @@ to_tsquery('simple', $1)" +
                          w.clause + " ORDER BY id DESC";
    int block = std::max(1, options_.search_block);
    auto timeout_ms = std::to_string(options_.search_deadline.count());
    return with_reader([&](pg::Connection& db) -> Result<SearchPage> {
      if (auto s = db.exec("BEGIN; SET LOCAL statement_timeout = " + timeout_ms); !s)
        return s.error();
      auto end = [&db] { (void)db.exec("COMMIT"); };
      // The block: the newest `block` matches; one more says an older block exists.
      std::vector<Param> bp = params;
      bp.push_back(Param::integer(block + 1));
      auto ids = db.query(matches + " LIMIT $" + std::to_string(bp.size()), bp);
      if (!ids) {
        end();
        if (ids.error().protocol_data == "57014") {
          return make_error(ErrorCode::kOverloaded,
                            "the search took too long; narrow it with filters (source, type, "
                            "since) or more words");
        }
        return ids.error();
      }
      SearchPage page;
      int n = std::min(ids->size(), block);
      if (ids->size() > block) page.older_than = ids->int64(n - 1, 0);
      if (n == 0) {
        end();
        return page;
      }
      int64_t lowest = ids->int64(n - 1, 0);
      int64_t highest = ids->int64(0, 0);
      std::vector<Param> hp = {Param::text(q), Param::integer(lowest), Param::integer(highest),
                               Param::integer(offset), Param::integer(f.limit)};
      std::string filters = where(f, 6).clause;
      hp.insert(hp.end(), w.params.begin(), w.params.end());
      auto hits = db.query(
          std::string("SELECT ") + kSummaryColumns +
              ", content_type, ts_headline('simple', left(hookmcp_text(body), 65536), "
              "to_tsquery('simple', $1), 'StartSel=«, StopSel=», MaxWords=16, MinWords=6, "
              "ShortWord=0, MaxFragments=1, FragmentDelimiter=…') FROM events "
              "WHERE words @@ to_tsquery('simple', $1) AND id >= $2 AND id <= $3" +
              filters +
              " ORDER BY ts_rank(words, to_tsquery('simple', $1)) DESC, id DESC OFFSET $4 LIMIT $5",
          hp);
      end();
      if (!hits) return hits.error();
      for (int i = 0; i < hits->size(); ++i) {
        SearchHit h{summary_of(*hits, i), std::string(hits->text(i, 12))};
        h.event.content_type = hits->text(i, 11);
        page.hits.push_back(std::move(h));
      }
      return page;
    });
  }

  Result<std::vector<std::string>> types(const std::optional<std::string>& source,
                                         const std::string& prefix, int limit) override {
    return with_reader([&](pg::Connection& db) -> Result<std::vector<std::string>> {
      auto r = db.query(
          "SELECT type FROM source_types WHERE events > 0 AND ($1::text IS NULL OR source = $1) "
          "AND starts_with(type, $2) GROUP BY type ORDER BY type LIMIT $3",
          {source ? Param::text(*source) : Param::null(), Param::text(prefix),
           Param::integer(limit)});
      if (!r) return r.error();
      std::vector<std::string> out;
      out.reserve(static_cast<size_t>(r->size()));
      for (int i = 0; i < r->size(); ++i) out.emplace_back(r->text(i, 0));
      return out;
    });
  }

  Result<AckOutcome> ack(const std::vector<int64_t>& ids, const std::string& note) override {
    return run_on_writer<AckOutcome>([&](pg::Connection& db) -> Result<AckOutcome> {
      AckOutcome out;
      if (auto s = db.exec("BEGIN"); !s) return s.error();
      for (int64_t id : ids) {
        auto r = db.run_prepared(
            "ack",
            "WITH a AS (UPDATE events SET acked_at = coalesce(acked_at, $2), ack_note = $3 "
            "WHERE id = $1 RETURNING source, (SELECT acked_at IS NULL FROM events WHERE id = $1) "
            "AS was_pending) UPDATE source_stats s SET pending = pending - "
            "(SELECT count(*) FROM a WHERE was_pending) FROM a WHERE s.source = a.source "
            "RETURNING 1",
            {Param::integer(id), Param::integer(options_.clock->now_ms()), Param::text(note)});
        if (!r) {
          (void)db.exec("ROLLBACK");
          return r.error();
        }
        (r->size() > 0 ? out.acked : out.not_found).push_back(id);
      }
      if (auto s = db.exec("COMMIT"); !s) return s.error();
      return out;
    });
  }

  Result<int64_t> pruned_through() override {
    return with_reader([&](pg::Connection& db) -> Result<int64_t> {
      auto r = db.query("SELECT value::bigint FROM meta WHERE key = 'pruned_through'");
      if (!r) return r.error();
      return r->size() ? r->int64(0, 0) : 0;
    });
  }

  Result<std::vector<Subscription>> subscriptions() override {
    return with_reader([&](pg::Connection& db) -> Result<std::vector<Subscription>> {
      auto r = db.query(std::string("SELECT ") + kSubscriptionColumns +
                        " FROM subscriptions ORDER BY created_at, id");
      if (!r) return r.error();
      return subscriptions_of(*r);
    });
  }

  Result<std::vector<Subscription>> hold_subscriptions() override {
    return run_on_writer<std::vector<Subscription>>([&](pg::Connection& db)
                                                        -> Result<std::vector<Subscription>> {
      // The server's clock for every lease, whichever node's clock is off.
      static const std::string kHold =
          std::string(
              "WITH now AS (SELECT (extract(epoch FROM clock_timestamp()) * "
              "1000)::bigint AS ms), free AS (SELECT s.id FROM subscriptions s "
              "WHERE NOT s.ended AND (s.held_by IN ('', $1) OR s.held_until < "
              "(SELECT ms FROM now) OR NOT EXISTS (SELECT 1 FROM pg_stat_activity a "
              "WHERE a.application_name = 'hookmcp/' || s.held_by)) FOR UPDATE OF s "
              "SKIP LOCKED) UPDATE subscriptions s SET held_by = $1, held_until = "
              "(SELECT ms FROM now) + $2 FROM free WHERE s.id = free.id RETURNING ") +
          prefixed("s.", kSubscriptionColumns);
      auto r = db.run_prepared("hold", kHold, {Param::text(holder_), Param::integer(kHoldForMs)});
      if (!r) return r.error();
      auto held = subscriptions_of(*r);
      std::sort(held.begin(), held.end(), [](const Subscription& a, const Subscription& b) {
        return std::tie(a.created_at_ms, a.id) < std::tie(b.created_at_ms, b.id);
      });
      return held;
    });
  }

  void release_subscriptions() override {
    // After the progress queued before it: the next holder starts where this one stopped.
    auto r = run_on_writer<bool>([&](pg::Connection& db) -> Result<bool> {
      auto q = db.query("UPDATE subscriptions SET held_by = '', held_until = 0 WHERE held_by = $1",
                        {Param::text(holder_)});
      if (!q) return q.error();
      return true;
    });
    if (!r) spdlog::warn("PostgreSQL: letting go of subscriptions: {}", r.error().message);
  }

  Status save_subscription(const Subscription& s) override {
    auto r = run_on_writer<bool>([&](pg::Connection& db) -> Result<bool> {
      auto q = db.query(
          std::string("INSERT INTO subscriptions (") + kSubscriptionColumns +
              ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, "
              "$17, $18) ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, "
              "principal = excluded.principal, name = excluded.name, arguments = "
              "excluded.arguments, "
              "url = excluded.url, secret = excluded.secret, created_at = excluded.created_at, "
              "expires_at = excluded.expires_at, position = excluded.position, delivered = "
              "excluded.delivered, last_delivery_at = excluded.last_delivery_at, failures = "
              "excluded.failures, failing_since = excluded.failing_since, next_attempt_at = "
              "excluded.next_attempt_at, last_error = excluded.last_error, ended = excluded.ended, "
              "end_reason = excluded.end_reason",
          {Param::text(s.id), Param::text(s.kind), Param::text(s.principal), Param::text(s.name),
           Param::text(s.arguments), Param::text(s.url), Param::text(s.secret),
           Param::integer(s.created_at_ms), Param::integer(s.expires_at_ms),
           Param::integer(s.position), Param::integer(s.delivered),
           Param::integer(s.last_delivery_at_ms), Param::integer(s.failures),
           Param::integer(s.failing_since_ms), Param::integer(s.next_attempt_at_ms),
           Param::text(s.last_error), Param::text(s.ended ? "true" : "false"),
           Param::text(s.end_reason)});
      if (!q) return q.error();
      return true;
    });
    if (!r) return r.error();
    return {};
  }

  Status delete_subscription(const std::string& id) override {
    auto r = run_on_writer<bool>([&](pg::Connection& db) -> Result<bool> {
      auto q = db.query("DELETE FROM subscriptions WHERE id = $1", {Param::text(id)});
      if (!q) return q.error();
      return true;
    });
    if (!r) return r.error();
    return {};
  }

  void save_progress(SubscriptionProgress progress) override {
    {
      std::lock_guard lock(mu_);
      progress_[progress.id] = std::move(progress);
    }
    cv_.notify_one();
  }

  void save_run(TriggerRun run) override {
    {
      std::lock_guard lock(mu_);
      auto key = std::make_pair(run.trigger, run.event_id);
      runs_[std::move(key)] = std::move(run);
    }
    cv_.notify_one();
  }

  Result<std::vector<TriggerRun>> runs(const RunFilter& f) override {
    return with_reader([&](pg::Connection& db) -> Result<std::vector<TriggerRun>> {
      // `state <> 'ok'` as written in the partial index, for the planner to use it.
      const bool failed = f.failed_only || f.state;
      auto r = db.query(std::string("SELECT ") + kRunColumns + " FROM trigger_runs WHERE " +
                            (failed ? "state <> 'ok' AND " : "") +
                            "($1::text IS NULL OR trigger = $1) AND ($2::text IS NULL OR state = "
                            "$2) AND id < $3 ORDER BY id DESC LIMIT $4",
                        {f.trigger ? Param::text(*f.trigger) : Param::null(),
                         f.state ? Param::text(*f.state) : Param::null(),
                         Param::integer(f.before_id.value_or(INT64_MAX)), Param::integer(f.limit)});
      if (!r) return r.error();
      return runs_of(*r);
    });
  }

  Result<std::map<std::string, std::string>> connection_states() override {
    return with_reader([&](pg::Connection& db) -> Result<std::map<std::string, std::string>> {
      auto r = db.query("SELECT name, state FROM connections ORDER BY name", {});
      if (!r) return r.error();
      std::map<std::string, std::string> out;
      for (int i = 0; i < r->size(); ++i) out.emplace(r->text(i, 0), r->text(i, 1));
      return out;
    });
  }

  Result<std::string> save_connection_state(const std::string& name, const std::string& state,
                                            bool only_if_absent) override {
    return run_on_writer<std::string>([&](pg::Connection& db) -> Result<std::string> {
      if (state.empty()) {
        auto r = db.query("DELETE FROM connections WHERE name = $1", {Param::text(name)});
        if (!r) return r.error();
        return std::string();
      }
      // One statement: the row as it is after it, whether this one wrote it or another's stays.
      auto r = db.query(
          std::string("WITH w AS (INSERT INTO connections (name, state, updated_at) VALUES ($1, "
                      "$2, (extract(epoch from clock_timestamp()) * 1000)::bigint) ON CONFLICT "
                      "(name) DO ") +
              (only_if_absent ? "NOTHING"
                              : "UPDATE SET state = excluded.state, updated_at = "
                                "excluded.updated_at") +
              " RETURNING state) SELECT state FROM w UNION ALL SELECT state FROM connections "
              "WHERE name = $1 AND NOT EXISTS (SELECT 1 FROM w)",
          {Param::text(name), Param::text(state)});
      if (!r) return r.error();
      if (r->size() == 0) return std::string();
      return std::string(r->text(0, 0));
    });
  }

  Result<std::vector<TriggerRun>> ask_retry(const std::vector<int64_t>& ids,
                                            const std::string& trigger) override {
    std::string id_list = "{";
    for (int64_t id : ids) id_list += (id_list.size() > 1 ? "," : "") + std::to_string(id);
    id_list += "}";
    return run_on_writer<std::vector<TriggerRun>>(
        [&](pg::Connection& db) -> Result<std::vector<TriggerRun>> {
          std::map<std::pair<std::string, int64_t>, TriggerRun> queued;
          {
            std::lock_guard lock(mu_);
            queued.swap(runs_);
          }
          save_runs_now(db, queued);  // the runs' latest states first
          auto r = db.query(std::string("UPDATE trigger_runs SET state = 'retry' WHERE state = "
                                        "'dead' AND ((cardinality($1::bigint[]) = 0 AND ($2 = '' "
                                        "OR trigger = $2)) OR id = ANY($1::bigint[])) RETURNING ") +
                                kRunColumns,
                            {Param::text(id_list), Param::text(trigger)});
          if (!r) return r.error();
          return runs_of(*r);
        });
  }

  bool healthy() const override { return healthy_.load(); }
  std::string unhealthy_reason() const override {
    if (healthy_.load()) return {};
    std::lock_guard lock(problem_mu_);
    return problem_;
  }

  Result<int64_t> import_events(const std::vector<Event>& events) override {
    return run_on_writer<int64_t>([&](pg::Connection& db) -> Result<int64_t> {
      if (auto s = db.exec("BEGIN"); !s) return s.error();
      auto fail = [&](Error e) {
        (void)db.exec("ROLLBACK");
        return Result<int64_t>(std::move(e));
      };
      if (auto r = db.query("SELECT pg_advisory_xact_lock($1)", {Param::integer(kInsertLock)});
          !r) {
        return fail(r.error());
      }
      int64_t added = 0;
      for (const auto& e : events) {
        auto r = db.run_prepared(
            "import",
            "WITH i AS (INSERT INTO events (id, source, provider, type, action, delivery_id, "
            "received_at, verified, headers, content_type, body, size, acked_at, ack_note, "
            "words) OVERRIDING SYSTEM VALUE VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, "
            "$11, $12, $13, $14, to_tsvector('simple', regexp_replace($2 || ' ' || $4 || ' ' || "
            "$5 || ' ' || left(hookmcp_text($11), " +
                std::to_string(kIndexedBytes) +
                "), '[^[:alnum:]]+', ' ', 'g'))) ON CONFLICT DO NOTHING RETURNING source, "
                "provider, type, received_at, acked_at IS NULL AS pending), "
                "s AS (INSERT INTO source_stats SELECT source, provider, 1, pending::int, "
                "received_at FROM i ON CONFLICT (source) DO UPDATE SET provider = "
                "excluded.provider, events = source_stats.events + 1, pending = "
                "source_stats.pending + excluded.pending, last_received_at = "
                "greatest(source_stats.last_received_at, excluded.last_received_at)) "
                "INSERT INTO source_types SELECT source, type, 1 FROM i ON CONFLICT (source, "
                "type) DO UPDATE SET events = source_types.events + 1 RETURNING 1",
            {Param::integer(e.id), Param::text(e.source), Param::text(e.provider),
             Param::text(e.type), Param::text(e.action), Param::text(e.delivery_id),
             Param::integer(e.received_at_ms), Param::text(e.verified ? "true" : "false"),
             Param::text(e.headers_json), Param::text(e.content_type), Param::bytes(e.body),
             Param::integer(static_cast<int64_t>(e.body.size())),
             e.acked_at_ms ? Param::integer(*e.acked_at_ms) : Param::null(),
             e.acked_at_ms ? Param::text(e.ack_note) : Param::null()});
        if (!r) return fail(r.error());
        added += r->size();
      }
      // New ids are drawn above what was imported.
      if (auto r = db.query("SELECT setval(pg_get_serial_sequence('events', 'id'), "
                            "greatest((SELECT max(id) FROM events), 1))");
          !r) {
        return fail(r.error());
      }
      if (auto s = db.exec("COMMIT"); !s) return s.error();
      return added;
    });
  }
  const std::string& identity() const override { return identity_; }

  void add_commit_listener(CommitListener listener) override {
    std::lock_guard lock(tell_mu_);
    listeners_.push_back(std::move(listener));
  }

  void close() override {
    {
      std::lock_guard lock(mu_);
      if (closing_) return;
      closing_ = true;
    }
    cv_.notify_all();
    if (writer_.joinable()) writer_.join();
    stop_listening_ = true;
    if (listener_.joinable()) listener_.join();
  }

 private:
  struct Pending {
    NewEvent event;
    InsertCallback done;
    uint64_t cost = 0;
  };
  using Job = std::function<void(pg::Connection*)>;

  template <typename F>
  auto with_reader(F&& f) -> decltype(f(std::declval<pg::Connection&>())) {
    std::unique_ptr<pg::Connection> db;
    {
      std::unique_lock lock(pool_mu_);
      if (!pool_cv_.wait_for(lock, kReaderWait, [this] { return readers_ < kMaxReaders; })) {
        return make_error(ErrorCode::kOverloaded, "PostgreSQL: all " + std::to_string(kMaxReaders) +
                                                      " reader connections are busy; try again");
      }
      ++readers_;
      if (!pool_.empty()) {
        db = std::move(pool_.back());
        pool_.pop_back();
      }
    }
    auto release = [this](std::unique_ptr<pg::Connection> used) {
      std::lock_guard lock(pool_mu_);
      --readers_;
      if (used && used->ok() && pool_.size() < kPoolSize) pool_.push_back(std::move(used));
      pool_cv_.notify_one();
    };
    if (!db) {
      auto opened = pg::Connection::open(options_.path, 5, application_name_);
      if (!opened) {
        release(nullptr);
        return opened.error();
      }
      db = std::move(*opened);
    }
    auto result = f(*db);
    release(std::move(db));
    return result;
  }

  // Runs `f` on the writer thread with its connection and waits for its result.
  template <typename T>
  Result<T> run_on_writer(std::function<Result<T>(pg::Connection&)> f) {
    std::mutex done_mu;
    std::condition_variable done_cv;
    std::optional<Result<T>> result;
    {
      std::lock_guard lock(mu_);
      if (closing_) return make_error(ErrorCode::kClosed, "the store is closed");
      jobs_.push_back([&](pg::Connection* db) {
        Result<T> r =
            db ? f(*db)
               : Result<T>(make_error(ErrorCode::kUnavailable, "PostgreSQL cannot be reached"));
        std::lock_guard l(done_mu);
        result.emplace(std::move(r));
        done_cv.notify_one();
      });
    }
    cv_.notify_one();
    std::unique_lock l(done_mu);
    done_cv.wait(l, [&] { return result.has_value(); });
    return std::move(*result);
  }

  // The writer's connection, connected again after a failure, at most every kReconnectEvery:
  // in between, what the writer is given fails at once.
  pg::Connection* writer_db() {
    if (writer_db_ && writer_db_->ok()) return writer_db_.get();
    writer_db_.reset();
    auto now = std::chrono::steady_clock::now();
    if (now < next_connect_) return nullptr;
    next_connect_ = now + kReconnectEvery;
    auto db = pg::Connection::open(options_.path, 5, application_name_);
    if (!db) {
      unreachable_ = db.error().message;
      set_health(db.error());
      return nullptr;
    }
    if (auto s = plan_each_time(**db); !s) {
      set_health(s);
      return nullptr;
    }
    writer_db_ = std::move(*db);
    return writer_db_.get();
  }

  // Records whether the last commit (or probe) succeeded; says so in the log when that changes.
  void set_health(const Status& s) {
    const bool was = healthy_.exchange(s.ok());
    if (s.ok()) {
      if (!was) spdlog::info("PostgreSQL answers again: storing events");
      return;
    }
    {
      std::lock_guard lock(problem_mu_);
      problem_ = s.error().message;
    }
    if (was) {
      spdlog::error("cannot store events: {}; webhooks are answered 503 until it can",
                    s.error().message);
    }
  }

  void write_loop() {
    auto next_upkeep = std::chrono::steady_clock::now();
    for (;;) {
      std::vector<Pending> batch;
      std::vector<Job> jobs;
      std::map<std::string, SubscriptionProgress> progress;
      std::map<std::pair<std::string, int64_t>, TriggerRun> runs;
      bool closing = false;
      {
        std::unique_lock lock(mu_);
        cv_.wait_until(lock, next_upkeep, [&] {
          return closing_ || !queue_.empty() || !jobs_.empty() || !progress_.empty() ||
                 !runs_.empty();
        });
        closing = closing_;
        jobs.swap(jobs_);
        runs.swap(runs_);
        progress.swap(progress_);
        while (!queue_.empty() && batch.size() < options_.max_batch) {
          batch.push_back(std::move(queue_.front()));
          queue_.pop_front();
        }
      }
      pg::Connection* db = writer_db();
      // Runs before the progress queued after them (Store::save_run), in one transaction that
      // does not wait for its WAL flush: the next commit's flush covers it, and a crash before
      // then sends those deliveries again (at least once).
      if (db && (!runs.empty() || !progress.empty())) {
        bool open = db->exec("BEGIN").ok() && db->exec("SET LOCAL synchronous_commit = off").ok();
        if (!runs.empty()) save_runs_now(*db, runs);
        if (!progress.empty()) save_progress_now(*db, progress);
        if (open && !db->exec("COMMIT").ok()) (void)db->exec("ROLLBACK");
      }
      for (auto& job : jobs) job(db);
      if (!batch.empty()) commit(db, batch);
      if (std::chrono::steady_clock::now() >= next_upkeep) {
        // After a failed commit: healthy again once the database answers.
        if (db && !healthy_.load() && db->exec("SELECT 1").ok()) set_health({});
        if (db) upkeep(*db);
        next_upkeep = std::chrono::steady_clock::now() + std::chrono::seconds(1);
      }
      if (closing) {
        std::lock_guard lock(mu_);
        if (queue_.empty() && jobs_.empty() && progress_.empty() && runs_.empty()) break;
      }
    }
    std::lock_guard lock(mu_);
    for (auto& job : jobs_) job(nullptr);
    jobs_.clear();
  }

  void save_runs_now(pg::Connection& db,
                     const std::map<std::pair<std::string, int64_t>, TriggerRun>& all) {
    for (const auto& [key, run] : all) {
      auto r = db.run_prepared(
          "run",
          "INSERT INTO trigger_runs (trigger, event_id, state, attempts, first_at, last_at, "
          "status, error, output, duration_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) "
          "ON CONFLICT (trigger, event_id) DO UPDATE SET state = excluded.state, attempts = "
          "excluded.attempts, last_at = excluded.last_at, status = excluded.status, error = "
          "excluded.error, output = excluded.output, duration_ms = excluded.duration_ms",
          {Param::text(run.trigger), Param::integer(run.event_id), Param::text(run.state),
           Param::integer(run.attempts), Param::integer(run.first_at_ms),
           Param::integer(run.last_at_ms), Param::integer(run.status), Param::text(run.error),
           Param::text(run.output), Param::integer(run.duration_ms)});
      if (!r) spdlog::warn("PostgreSQL: saving a trigger run: {}", r.error().message);
    }
  }

  void save_progress_now(pg::Connection& db,
                         const std::map<std::string, SubscriptionProgress>& all) {
    for (const auto& [id, p] : all) {
      auto r = db.run_prepared(
          "progress",
          "UPDATE subscriptions SET position = $2, delivered = $3, last_delivery_at = $4, "
          "failures = $5, failing_since = $6, next_attempt_at = $7, last_error = $8, ended = $9, "
          "end_reason = $10 WHERE id = $1 AND held_by IN ('', $11)",
          {Param::text(id), Param::integer(p.position), Param::integer(p.delivered),
           Param::integer(p.last_delivery_at_ms), Param::integer(p.failures),
           Param::integer(p.failing_since_ms), Param::integer(p.next_attempt_at_ms),
           Param::text(p.last_error), Param::text(p.ended ? "true" : "false"),
           Param::text(p.end_reason), Param::text(holder_)});
      if (!r) spdlog::warn("PostgreSQL: saving a subscription's progress: {}", r.error().message);
    }
  }

  // One group: every insert in one transaction, ids drawn under the insert lock.
  void commit(pg::Connection* db, std::vector<Pending>& batch) {
    std::vector<InsertOutcome> outcomes(batch.size());
    std::vector<Event> added;
    Status s = db ? write_batch(*db, batch, outcomes, added)
                  : Status(make_error(ErrorCode::kUnavailable, unreachable_));
    set_health(s);
    if (options_.metrics && s.ok()) {
      options_.metrics->commit_batch_size.observe(static_cast<double>(batch.size()));
    }
    uint64_t freed = 0;
    for (const auto& p : batch) freed += p.cost;
    {
      std::lock_guard lock(mu_);
      pending_bytes_ -= freed;
    }
    if (!s) {
      spdlog::debug("PostgreSQL: a group of {} events was not stored: {}", batch.size(),
                    s.error().message);
      for (auto& p : batch) p.done(make_error(ErrorCode::kUnavailable, s.error().message));
      return;
    }
    if (!added.empty()) tell(added.back().id, &added);
    for (size_t i = 0; i < batch.size(); ++i) batch[i].done(outcomes[i]);
  }

  Status write_batch(pg::Connection& db, const std::vector<Pending>& batch,
                     std::vector<InsertOutcome>& outcomes, std::vector<Event>& added) {
    if (auto s = db.exec("BEGIN"); !s) return s;
    auto fail = [&](Error e) {
      (void)db.exec("ROLLBACK");
      added.clear();
      return Status(std::move(e));
    };
    if (auto r = db.query("SELECT pg_advisory_xact_lock($1)", {Param::integer(kInsertLock)}); !r) {
      return fail(r.error());
    }
    struct Count {
      std::string provider;
      int64_t events = 0;
      int64_t last = 0;
    };
    std::map<std::string, Count> by_source;
    std::map<std::pair<std::string, std::string>, int64_t> by_type;
    // Duplicates are looked for first, the whole group in one query, so that they draw no id:
    // ids stay 1, 2, 3, ... as with SQLite. Under the insert lock no other node can store one
    // meanwhile. Ids by (source, delivery id), of those stored before and by this group.
    std::map<std::pair<std::string, std::string>, int64_t> stored;
    {
      std::vector<std::string> sources;
      std::vector<std::string> deliveries;
      for (const auto& p : batch) {
        sources.push_back(p.event.source);
        deliveries.push_back(p.event.delivery_id);
      }
      auto dups = db.run_prepared(
          "duplicates",
          "SELECT e.source, e.delivery_id, e.id FROM unnest($1::text[], $2::text[]) AS "
          "k(source, delivery_id) JOIN events e ON e.source = k.source AND e.delivery_id = "
          "k.delivery_id",
          {Param::text(pg::array_literal(sources)), Param::text(pg::array_literal(deliveries))});
      if (!dups) return fail(dups.error());
      for (int r = 0; r < dups->size(); ++r) {
        stored[{std::string(dups->text(r, 0)), std::string(dups->text(r, 1))}] = dups->int64(r, 2);
      }
    }
    for (size_t i = 0; i < batch.size(); ++i) {
      const NewEvent& e = batch[i].event;
      if (auto it = stored.find({e.source, e.delivery_id}); it != stored.end()) {
        outcomes[i] = {it->second, true};
        continue;
      }
      auto r = db.run_prepared(
          "insert",
          "INSERT INTO events (source, provider, type, action, delivery_id, received_at, "
          "verified, headers, content_type, body, size, words) VALUES ($1, $2, $3, $4, $5, $6, "
          "$7, $8, $9, $10, $11, to_tsvector('simple', regexp_replace($1 || ' ' || $3 || ' ' || "
          "$4 || ' ' || left(hookmcp_text($10), " +
              std::to_string(kIndexedBytes) +
              "), '[^[:alnum:]]+', ' ', 'g'))) ON CONFLICT (source, delivery_id) DO NOTHING "
              "RETURNING id",
          {Param::text(e.source), Param::text(e.provider), Param::text(e.type),
           Param::text(e.action), Param::text(e.delivery_id), Param::integer(e.received_at_ms),
           Param::text(e.verified ? "true" : "false"), Param::text(e.headers_json),
           Param::text(e.content_type), Param::bytes(e.body),
           Param::integer(static_cast<int64_t>(e.body.size()))});
      if (!r) return fail(r.error());
      if (r->size() == 1) {
        outcomes[i] = {r->int64(0, 0), false};
        stored[{e.source, e.delivery_id}] = outcomes[i].id;
        Event ev;
        ev.id = outcomes[i].id;
        ev.source = e.source;
        ev.provider = e.provider;
        ev.type = e.type;
        ev.action = e.action;
        ev.delivery_id = e.delivery_id;
        ev.received_at_ms = e.received_at_ms;
        ev.verified = e.verified;
        ev.content_type = e.content_type;
        ev.size = static_cast<int64_t>(e.body.size());
        added.push_back(std::move(ev));
        Count& c = by_source[e.source];
        c.provider = e.provider;
        c.events++;
        c.last = std::max(c.last, e.received_at_ms);
        by_type[{e.source, e.type}]++;
        continue;
      }
      return fail(make_error(ErrorCode::kIo, "a delivery conflicted outside the insert lock"));
    }
    for (const auto& [source, c] : by_source) {
      auto r = db.run_prepared(
          "stats",
          "INSERT INTO source_stats VALUES ($1, $2, $3, $3, $4) ON CONFLICT (source) DO UPDATE "
          "SET provider = excluded.provider, events = source_stats.events + excluded.events, "
          "pending = source_stats.pending + excluded.pending, last_received_at = "
          "greatest(source_stats.last_received_at, excluded.last_received_at)",
          {Param::text(source), Param::text(c.provider), Param::integer(c.events),
           Param::integer(c.last)});
      if (!r) return fail(r.error());
    }
    for (const auto& [key, n] : by_type) {
      auto r = db.run_prepared(
          "types",
          "INSERT INTO source_types VALUES ($1, $2, $3) ON CONFLICT (source, type) DO UPDATE "
          "SET events = source_types.events + excluded.events",
          {Param::text(key.first), Param::text(key.second), Param::integer(n)});
      if (!r) return fail(r.error());
    }
    if (!added.empty()) {
      if (auto s = db.exec("NOTIFY hookmcp_events"); !s) return fail(s.error());
    }
    if (auto s = db.exec("COMMIT"); !s) return fail(s.error());
    return {};
  }

  // Tells the listeners of every event up to `through` not told yet, in id order, once each:
  // `own` are this node's (already in memory); the others are read by id.
  void tell(int64_t through, const std::vector<Event>* own) {
    std::lock_guard lock(tell_mu_);
    if (through <= told_through_) return;
    std::vector<Event> events;
    int64_t first_own = own && !own->empty() ? own->front().id : through + 1;
    if (told_through_ < first_own - 1) {
      auto missed = list_between(told_through_, std::min(through, first_own - 1));
      if (!missed) {
        spdlog::warn("PostgreSQL: reading new events: {}", missed.error().message);
        return;  // read again at the next notification or tick
      }
      events = std::move(*missed);
    }
    if (own) {
      for (const auto& e : *own) {
        if (e.id > told_through_) events.push_back(e);
      }
    }
    if (events.empty()) return;
    told_through_ = std::max(through, events.back().id);
    for (const auto& l : listeners_) l(events);
  }

  Result<std::vector<Event>> list_between(int64_t after, int64_t through) {
    std::vector<Event> out;
    for (;;) {
      EventFilter f;
      f.after_id = after;
      f.before_id = through + 1;
      f.oldest_first = true;
      f.limit = 1000;
      auto page = list(f);
      if (!page) return page.error();
      if (page->empty()) return out;
      after = page->back().id;
      for (auto& e : *page) out.push_back(std::move(e));
    }
  }

  // Other nodes' commits: woken by NOTIFY, or every second in case one is lost.
  void listen_loop() {
    std::unique_ptr<pg::Connection> db;
    while (!stop_listening_) {
      if (!db || !db->ok()) {
        db.reset();
        auto opened = pg::Connection::open(options_.path, 5, application_name_);
        if (opened && (*opened)->exec("LISTEN hookmcp_events")) db = std::move(*opened);
      }
      if (db) {
        int fd = PQsocket(db->raw());
        fd_set set;
        FD_ZERO(&set);
        FD_SET(fd, &set);
        timeval tv{0, 250'000};
        select(fd + 1, &set, nullptr, nullptr, &tv);
        PQconsumeInput(db->raw());
        while (PGnotify* n = PQnotifies(db->raw())) PQfreemem(n);
      } else {
        std::this_thread::sleep_for(std::chrono::milliseconds(250));
      }
      if (stop_listening_) break;
      auto top = max_id();
      if (top) tell(*top, nullptr);
    }
  }

  // Retention, by one node at a time, a thousand events per step.
  void upkeep(pg::Connection& db) {
    if (options_.retention_max_age_days <= 0 && options_.retention_max_events <= 0) return;
    if (auto s = db.exec("BEGIN"); !s) return;
    auto locked =
        db.query("SELECT pg_try_advisory_xact_lock($1)", {Param::integer(kRetentionLock)});
    if (!locked || locked->size() != 1 || !locked->boolean(0, 0)) {
      (void)db.exec("ROLLBACK");
      return;
    }
    int64_t cutoff_id = 0;
    if (options_.retention_max_events > 0) {
      // The newest retention_max_events stay: everything at or below the next one goes.
      auto r = db.query("SELECT id FROM events ORDER BY id DESC OFFSET $1 LIMIT 1",
                        {Param::integer(options_.retention_max_events)});
      if (r && r->size() == 1) cutoff_id = r->int64(0, 0);
    }
    int64_t cutoff_ms =
        options_.retention_max_age_days > 0
            ? options_.clock->now_ms() - int64_t{options_.retention_max_age_days} * 86'400'000
            : 0;
    auto gone = db.query(
        "WITH d AS (DELETE FROM events WHERE id IN (SELECT id FROM events WHERE id <= $1 OR "
        "received_at < $2 ORDER BY id LIMIT 1000) RETURNING id, source, type, acked_at IS NULL "
        "AS pending), s AS (UPDATE source_stats t SET events = t.events - c.n, pending = "
        "t.pending - c.p FROM (SELECT source, count(*) AS n, count(*) FILTER (WHERE pending) AS "
        "p FROM d GROUP BY source) c WHERE t.source = c.source), y AS (UPDATE source_types t "
        "SET events = t.events - c.n FROM (SELECT source, type, count(*) AS n FROM d GROUP BY "
        "source, type) c WHERE t.source = c.source AND t.type = c.type) "
        "UPDATE meta SET value = greatest(value::bigint, (SELECT coalesce(max(id), 0) FROM "
        "d))::text WHERE key = 'pruned_through' RETURNING value",
        {Param::integer(cutoff_id), Param::integer(cutoff_ms)});
    if (!gone) {
      (void)db.exec("ROLLBACK");
      spdlog::warn("PostgreSQL: retention: {}", gone.error().message);
      return;
    }
    if (auto runs = db.query("DELETE FROM trigger_runs WHERE event_id <= (SELECT value::bigint "
                             "FROM meta WHERE key = 'pruned_through')");
        !runs) {
      (void)db.exec("ROLLBACK");
      spdlog::warn("PostgreSQL: retention of trigger runs: {}", runs.error().message);
      return;
    }
    (void)db.exec("COMMIT");
  }

  const Options options_;
  std::string identity_;
  std::string holder_;            // this process's claims on subscriptions
  std::string application_name_;  // "hookmcp/" + holder_, on every connection

  std::mutex pool_mu_;
  std::condition_variable pool_cv_;
  std::vector<std::unique_ptr<pg::Connection>> pool_;  // guarded by pool_mu_: idle ones
  int readers_ = 0;                                    // guarded by pool_mu_: in use

  std::unique_ptr<pg::Connection> writer_db_;  // the writer thread's
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Pending> queue_;                                   // guarded by mu_
  std::vector<Job> jobs_;                                       // guarded by mu_
  std::map<std::string, SubscriptionProgress> progress_;        // guarded by mu_
  std::map<std::pair<std::string, int64_t>, TriggerRun> runs_;  // guarded by mu_
  uint64_t pending_bytes_ = 0;                                  // guarded by mu_
  bool closing_ = false;                                        // guarded by mu_
  std::atomic<bool> healthy_{true};
  mutable std::mutex problem_mu_;
  std::string problem_;  // guarded by problem_mu_: why the last commit failed
  // The writer's: when it may try to connect again, and why the last try failed.
  std::chrono::steady_clock::time_point next_connect_;
  std::string unreachable_ = "PostgreSQL cannot be reached";

  std::mutex tell_mu_;
  std::vector<CommitListener> listeners_;  // guarded by tell_mu_
  int64_t told_through_ = 0;               // guarded by tell_mu_

  std::atomic<bool> stop_listening_{false};
  std::thread writer_;
  std::thread listener_;
};

}  // namespace

bool is_postgres(const std::string& database) { return pg::is_postgres_url(database); }

Result<std::unique_ptr<Store>> open_store(const Options& options) {
  return is_postgres(options.path) ? open_postgres(options) : open_sqlite(options);
}

Result<std::unique_ptr<Store>> open_reader(const std::string& database, const Clock& clock) {
  if (!is_postgres(database)) return open_sqlite_reader(database);
  Options options;
  options.path = database;
  options.clock = &clock;
  return open_postgres(options);
}

Result<std::unique_ptr<Store>> open_postgres(const Options& options) {
  auto store = std::make_unique<PostgresStore>(options);
  if (auto s = store->open(); !s) return s.error();
  return std::unique_ptr<Store>(std::move(store));
}

}  // namespace hookmcp::store
