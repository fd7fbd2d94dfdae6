// The reference for the intake benchmark: a plain program inserting the same rows into SQLite
// with the same durability (WAL, synchronous=FULL) and the same group commit (BATCH rows per
// transaction) and the same page size, one thread, no network. hookmcp's intake rate is reported
// as a ratio of this.
//
// Usage: sqlite_ceiling DB_PATH SECONDS BATCH BODY [PAGE_SIZE [SCHEMA]]
//   BODY        a number of bytes (a body of 'x'), or @FILE (the body the server was sent)
//   PAGE_SIZE   SQLite's default: 4096
//   SCHEMA      events (the default): the events table and its indexes only.
//               full: hookmcp's own schema, made by its store, and every row the server writes
//               for an event: the event, its full-text index entries, the per-source counts,
//               all in the group's one transaction.
//               deferred: the same rows, with the index entries written as hookmcp's writer
//               does: after the group's commit, once 64 events wait, in a transaction of their
//               own without an fsync.
#include <sqlite3.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "hookmcp/core/clock.hpp"
#include "hookmcp/store/store.hpp"
#include "read_body.hpp"

namespace {

void check(int rc, sqlite3* db, const char* what) {
  if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW) {
    std::fprintf(stderr, "%s: %s\n", what, sqlite3_errmsg(db));
    std::exit(1);
  }
}

// Gives the file, made with its page size, hookmcp's schema, by the store itself.
void make_hookmcp_schema(const char* path) {
  hookmcp::SystemClock clock;
  hookmcp::store::Options options;
  options.path = path;
  options.clock = &clock;
  auto store = hookmcp::store::open_sqlite(options);
  if (!store) {
    std::fprintf(stderr, "cannot make the schema: %s\n", store.error().message.c_str());
    std::exit(1);
  }
  (*store)->close();
}

sqlite3_stmt* prepare(sqlite3* db, const char* sql) {
  sqlite3_stmt* stmt = nullptr;
  check(sqlite3_prepare_v2(db, sql, -1, &stmt, nullptr), db, "prepare");
  return stmt;
}

void run(sqlite3_stmt* stmt, sqlite3* db, const char* what) {
  check(sqlite3_step(stmt), db, what);
  sqlite3_reset(stmt);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 5 || argc > 7) {
    std::fprintf(stderr,
                 "usage: %s DB_PATH SECONDS BATCH BODY [PAGE_SIZE [events|full|deferred]]\n",
                 argv[0]);
    return 2;
  }
  const char* path = argv[1];
  const double seconds = std::atof(argv[2]);
  const int batch = std::atoi(argv[3]);
  const std::string body = read_body(argv[4]);
  const int page_size = argc >= 6 ? std::atoi(argv[5]) : 4096;
  const std::string schema = argc == 7 ? argv[6] : "events";
  const bool deferred = schema == "deferred";
  const bool full = schema == "full" || deferred;
  const std::string headers =
      R"({"Content-Type":"application/json","X-GitHub-Event":"push","X-Hub-Signature-256":"sha256=0000000000000000000000000000000000000000000000000000000000000000"})";

  sqlite3* db = nullptr;
  check(sqlite3_open(path, &db), db, "open");
  // The page size first: it is fixed once the file has its first page.
  const std::string pragmas = "PRAGMA page_size=" + std::to_string(page_size) +
                              "; PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;";
  check(sqlite3_exec(db, pragmas.c_str(), nullptr, nullptr, nullptr), db, "pragma");
  if (full) {
    make_hookmcp_schema(path);
  } else {
    // The same table and indexes as hookmcp's schema.
    check(sqlite3_exec(db, R"sql(
    CREATE TABLE IF NOT EXISTS events (id INTEGER PRIMARY KEY AUTOINCREMENT, source TEXT NOT NULL,
      provider TEXT NOT NULL, type TEXT NOT NULL DEFAULT '', action TEXT NOT NULL DEFAULT '',
      delivery_id TEXT NOT NULL, received_at INTEGER NOT NULL, verified INTEGER NOT NULL,
      headers TEXT NOT NULL, content_type TEXT NOT NULL DEFAULT '', body BLOB NOT NULL,
      size INTEGER NOT NULL, acked_at INTEGER, ack_note TEXT);
    CREATE UNIQUE INDEX IF NOT EXISTS events_by_delivery ON events(source, delivery_id);
    CREATE INDEX IF NOT EXISTS events_by_source ON events(source, id);
    CREATE INDEX IF NOT EXISTS events_by_type ON events(type, id);)sql",
                       nullptr, nullptr, nullptr),
          db, "schema");
  }
  sqlite3_stmt* find = prepare(db, "SELECT id FROM events WHERE source = ? AND delivery_id = ?");
  sqlite3_stmt* insert =
      prepare(db,
              "INSERT INTO events(source, provider, type, action, delivery_id, received_at, "
              "verified, headers, content_type, body, size) VALUES(?,?,?,?,?,?,?,?,?,?,?)");
  // The schema's other rows for a group: its counts, its index entries, how far the index goes.
  sqlite3_stmt* count_source = nullptr;
  sqlite3_stmt* count_type = nullptr;
  sqlite3_stmt* index = nullptr;
  sqlite3_stmt* indexed = nullptr;
  if (full) {
    count_source = prepare(
        db,
        "INSERT INTO source_stats VALUES ('github', 'github', ?1, ?1, ?2) ON CONFLICT(source) "
        "DO UPDATE SET events = events + excluded.events, pending = pending + excluded.pending, "
        "last_received_at = max(last_received_at, excluded.last_received_at)");
    count_type =
        prepare(db,
                "INSERT INTO source_types VALUES ('github', 'push', ?) ON CONFLICT(source, "
                "type) DO UPDATE SET events = events + excluded.events");
    index = prepare(db,
                    "INSERT INTO events_fts(rowid, source, type, action, body) "
                    "SELECT id, source, type, action, body FROM events WHERE id > ? AND id <= ?");
    indexed = prepare(db, "UPDATE meta SET value = CAST(? AS TEXT) WHERE key = 'fts_through'");
  }

  long rows = 0;
  sqlite3_int64 indexed_through = 0;
  auto start = std::chrono::steady_clock::now();
  auto deadline = start + std::chrono::duration<double>(seconds);
  while (std::chrono::steady_clock::now() < deadline) {
    check(sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), db, "begin");
    sqlite3_int64 first_id = 0;
    for (int i = 0; i < batch; ++i, ++rows) {
      std::string delivery = "ceiling-" + std::to_string(rows);
      sqlite3_bind_text(find, 1, "github", -1, SQLITE_STATIC);
      sqlite3_bind_text(find, 2, delivery.c_str(), -1, SQLITE_STATIC);
      check(sqlite3_step(find), db, "find");
      sqlite3_reset(find);
      sqlite3_bind_text(insert, 1, "github", -1, SQLITE_STATIC);
      sqlite3_bind_text(insert, 2, "github", -1, SQLITE_STATIC);
      sqlite3_bind_text(insert, 3, "push", -1, SQLITE_STATIC);
      sqlite3_bind_text(insert, 4, "", -1, SQLITE_STATIC);
      sqlite3_bind_text(insert, 5, delivery.c_str(), -1, SQLITE_STATIC);
      sqlite3_bind_int64(insert, 6, 1'795'936'000'000 + rows);
      sqlite3_bind_int64(insert, 7, 1);
      sqlite3_bind_text(insert, 8, headers.c_str(), -1, SQLITE_STATIC);
      sqlite3_bind_text(insert, 9, "application/json", -1, SQLITE_STATIC);
      sqlite3_bind_blob(insert, 10, body.data(), static_cast<int>(body.size()), SQLITE_STATIC);
      sqlite3_bind_int64(insert, 11, static_cast<sqlite3_int64>(body.size()));
      run(insert, db, "insert");
      if (i == 0) first_id = sqlite3_last_insert_rowid(db);
    }
    const sqlite3_int64 last_id = sqlite3_last_insert_rowid(db);
    if (full) {
      sqlite3_bind_int64(count_source, 1, batch);
      sqlite3_bind_int64(count_source, 2, 1'795'936'000'000 + rows);
      run(count_source, db, "source counts");
      sqlite3_bind_int64(count_type, 1, batch);
      run(count_type, db, "type counts");
      if (!deferred) {
        sqlite3_bind_int64(index, 1, first_id - 1);
        sqlite3_bind_int64(index, 2, last_id);
        run(index, db, "index");
        sqlite3_bind_int64(indexed, 1, last_id);
        run(indexed, db, "index through");
      }
    }
    check(sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr), db, "commit");
    if (deferred && last_id - indexed_through >= 64) {
      check(
          sqlite3_exec(db, "PRAGMA synchronous=NORMAL; BEGIN IMMEDIATE", nullptr, nullptr, nullptr),
          db, "begin index");
      sqlite3_bind_int64(index, 1, indexed_through);
      sqlite3_bind_int64(index, 2, last_id);
      run(index, db, "index");
      sqlite3_bind_int64(indexed, 1, last_id);
      run(indexed, db, "index through");
      check(sqlite3_exec(db, "COMMIT; PRAGMA synchronous=FULL", nullptr, nullptr, nullptr), db,
            "commit index");
      indexed_through = last_id;
    }
  }
  double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("RESULT rows_per_s=%.1f rows=%ld batch=%d page_size=%d schema=%s\n", rows / elapsed,
              rows, batch, page_size, schema.c_str());
  for (sqlite3_stmt* stmt : {find, insert, count_source, count_type, index, indexed}) {
    sqlite3_finalize(stmt);
  }
  sqlite3_close(db);
  return 0;
}
