// The reference for the intake benchmark: a plain program inserting the same rows into SQLite
// with the same durability (WAL, synchronous=FULL) and the same group commit (BATCH rows per
// transaction) and the same page size, one thread, no network. hookmcp's intake rate is reported
// as a ratio of this.
//
// Usage: sqlite_ceiling DB_PATH SECONDS BATCH BODY_BYTES [PAGE_SIZE]   (SQLite's default: 4096)
#include <sqlite3.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace {

void check(int rc, sqlite3* db, const char* what) {
  if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW) {
    std::fprintf(stderr, "%s: %s\n", what, sqlite3_errmsg(db));
    std::exit(1);
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 5 && argc != 6) {
    std::fprintf(stderr, "usage: %s DB_PATH SECONDS BATCH BODY_BYTES [PAGE_SIZE]\n", argv[0]);
    return 2;
  }
  const char* path = argv[1];
  const double seconds = std::atof(argv[2]);
  const int batch = std::atoi(argv[3]);
  const std::string body(static_cast<size_t>(std::atoi(argv[4])), 'x');
  const int page_size = argc == 6 ? std::atoi(argv[5]) : 4096;
  const std::string headers =
      R"({"Content-Type":"application/json","X-GitHub-Event":"push","X-Hub-Signature-256":"sha256=0000000000000000000000000000000000000000000000000000000000000000"})";

  sqlite3* db = nullptr;
  check(sqlite3_open(path, &db), db, "open");
  const std::string pragmas = "PRAGMA page_size=" + std::to_string(page_size) +
                              "; PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;";
  check(sqlite3_exec(db, pragmas.c_str(), nullptr, nullptr, nullptr), db, "pragma");
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
  sqlite3_stmt* find = nullptr;
  sqlite3_stmt* insert = nullptr;
  check(sqlite3_prepare_v2(db, "SELECT id FROM events WHERE source = ? AND delivery_id = ?", -1,
                           &find, nullptr),
        db, "prepare");
  check(sqlite3_prepare_v2(
            db,
            "INSERT INTO events(source, provider, type, action, delivery_id, received_at, "
            "verified, headers, content_type, body, size) VALUES(?,?,?,?,?,?,?,?,?,?,?)",
            -1, &insert, nullptr),
        db, "prepare");

  long rows = 0;
  auto start = std::chrono::steady_clock::now();
  auto deadline = start + std::chrono::duration<double>(seconds);
  while (std::chrono::steady_clock::now() < deadline) {
    check(sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), db, "begin");
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
      check(sqlite3_step(insert), db, "insert");
      sqlite3_reset(insert);
    }
    check(sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr), db, "commit");
  }
  double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("RESULT rows_per_s=%.1f rows=%ld batch=%d page_size=%d\n", rows / elapsed, rows,
              batch, page_size);
  sqlite3_finalize(find);
  sqlite3_finalize(insert);
  sqlite3_close(db);
  return 0;
}
