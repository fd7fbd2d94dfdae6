// The reference for the PostgreSQL intake benchmark (bench/postgres.sh): a plain libpq program
// inserting the same rows as hookmcp's PostgreSQL store, into the same tables with the same
// indexes (made by the store itself), with the same durability (the server's, synchronous_commit
// on) and the same group commit (GROUP rows per transaction), from one connection, no HTTP.
// Each group: BEGIN, one prepared INSERT per event (the event, its tsvector made by the same
// expression, deduplicated by the unique index), the per-source and per-type counts, COMMIT.
// hookmcp's rate is reported as a ratio of this.
//
// Usage: pg_ceiling URL SECONDS GROUP BODY
//   URL    postgres://... of an empty database (the schema is made here)
//   BODY   a number of bytes (a body of 'x'), or @FILE (the body the server was sent)
#include <libpq-fe.h>

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

void check(PGresult* r, PGconn* db, const char* what) {
  auto status = PQresultStatus(r);
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
    std::fprintf(stderr, "%s: %s\n", what, PQerrorMessage(db));
    std::exit(1);
  }
  PQclear(r);
}

// hookmcp's tables and indexes, made by its store.
void make_hookmcp_schema(const char* url) {
  hookmcp::SystemClock clock;
  hookmcp::store::Options options;
  options.path = url;
  options.clock = &clock;
  auto store = hookmcp::store::open_postgres(options);
  if (!store) {
    std::fprintf(stderr, "cannot make the schema: %s\n", store.error().message.c_str());
    std::exit(1);
  }
  (*store)->close();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 5) {
    std::fprintf(stderr, "usage: pg_ceiling URL SECONDS GROUP BODY\n");
    return 2;
  }
  const char* url = argv[1];
  const double seconds = std::atof(argv[2]);
  const int group = std::atoi(argv[3]);
  const std::string body = read_body(argv[4]);
  const std::string size = std::to_string(body.size());
  const std::string headers =
      R"({"Content-Type":"application/json","X-GitHub-Event":"push","X-Hub-Signature-256":"sha256=0000000000000000000000000000000000000000000000000000000000000000"})";
  make_hookmcp_schema(url);

  PGconn* db = PQconnectdb(url);
  if (PQstatus(db) != CONNECTION_OK) {
    std::fprintf(stderr, "connect: %s\n", PQerrorMessage(db));
    return 1;
  }
  check(PQprepare(db, "insert",
                  "INSERT INTO events (source, provider, type, action, delivery_id, received_at, "
                  "verified, headers, content_type, body, size, words) VALUES ($1, $2, $3, $4, "
                  "$5, $6, $7, $8, $9, $10, $11, to_tsvector('simple', regexp_replace($1 || ' ' || "
                  "$3 || ' ' || $4 || ' ' || left(hookmcp_text($10), 524288), '[^[:alnum:]]+', "
                  "' ', 'g'))) ON CONFLICT (source, delivery_id) DO NOTHING",
                  11, nullptr),
        db, "prepare insert");
  check(PQprepare(db, "stats",
                  "INSERT INTO source_stats VALUES ('github', 'github', $1, $1, $2) ON CONFLICT "
                  "(source) DO UPDATE SET events = source_stats.events + excluded.events, pending "
                  "= source_stats.pending + excluded.pending, last_received_at = "
                  "greatest(source_stats.last_received_at, excluded.last_received_at)",
                  2, nullptr),
        db, "prepare stats");
  check(PQprepare(db, "types",
                  "INSERT INTO source_types VALUES ('github', 'push', $1) ON CONFLICT (source, "
                  "type) DO UPDATE SET events = source_types.events + excluded.events",
                  1, nullptr),
        db, "prepare types");

  long rows = 0;
  const auto start = std::chrono::steady_clock::now();
  const auto end = start + std::chrono::duration<double>(seconds);
  while (std::chrono::steady_clock::now() < end) {
    check(PQexec(db, "BEGIN"), db, "begin");
    long last_at = 0;
    for (int i = 0; i < group; ++i, ++rows) {
      const std::string delivery = "ceiling-" + std::to_string(rows);
      const std::string at = std::to_string(1'795'936'000'000L + rows);
      last_at = 1'795'936'000'000L + rows;
      const char* values[] = {"github",           "github",    "push",      "",
                              delivery.c_str(),   at.c_str(),  "true",      headers.c_str(),
                              "application/json", body.data(), size.c_str()};
      int lengths[11] = {};
      lengths[9] = static_cast<int>(body.size());
      int formats[11] = {};
      formats[9] = 1;  // the body as bytes
      check(PQexecPrepared(db, "insert", 11, values, lengths, formats, 0), db, "insert");
    }
    const std::string n = std::to_string(group);
    const std::string last = std::to_string(last_at);
    const char* stats[] = {n.c_str(), last.c_str()};
    check(PQexecPrepared(db, "stats", 2, stats, nullptr, nullptr, 0), db, "stats");
    const char* types[] = {n.c_str()};
    check(PQexecPrepared(db, "types", 1, types, nullptr, nullptr, 0), db, "types");
    check(PQexec(db, "COMMIT"), db, "commit");
  }
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("RESULT rows_per_s=%.1f rows=%ld group=%d\n", rows / elapsed, rows, group);
  PQfinish(db);
  return 0;
}
