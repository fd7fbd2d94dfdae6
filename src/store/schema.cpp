#include "schema.hpp"

#include <string>
#include <vector>

namespace hookmcp::store::sqlite {

namespace {

// Step i takes a database from user_version i to i + 1. Steps are append-only: a released step
// never changes, a new version adds a step.
const std::vector<const char*>& steps() {
  static const std::vector<const char*> kSteps = {
      // 0 -> 1: events, with one row per (source, delivery id).
      R"sql(
        CREATE TABLE events (
          id INTEGER PRIMARY KEY AUTOINCREMENT,
          source TEXT NOT NULL,
          provider TEXT NOT NULL,
          type TEXT NOT NULL DEFAULT '',
          action TEXT NOT NULL DEFAULT '',
          delivery_id TEXT NOT NULL,
          received_at INTEGER NOT NULL,
          verified INTEGER NOT NULL,
          headers TEXT NOT NULL,
          content_type TEXT NOT NULL DEFAULT '',
          body BLOB NOT NULL,
          size INTEGER NOT NULL,
          acked_at INTEGER,
          ack_note TEXT
        );
        CREATE UNIQUE INDEX events_by_delivery ON events(source, delivery_id);
        CREATE INDEX events_by_source ON events(source, id);
        CREATE INDEX events_by_type ON events(type, id);
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
      )sql",
      // 1 -> 2: full-text index over body, type, action and source for search_events. External
      // content: the text lives once, in events; triggers keep the index in step with it.
      R"sql(
        CREATE VIRTUAL TABLE events_fts USING fts5(
          source, type, action, body, content='events', content_rowid='id');
        CREATE TRIGGER events_fts_insert AFTER INSERT ON events BEGIN
          INSERT INTO events_fts(rowid, source, type, action, body)
            VALUES (new.id, new.source, new.type, new.action, new.body);
        END;
        CREATE TRIGGER events_fts_delete AFTER DELETE ON events BEGIN
          INSERT INTO events_fts(events_fts, rowid, source, type, action, body)
            VALUES ('delete', old.id, old.source, old.type, old.action, old.body);
        END;
        CREATE TRIGGER events_fts_update AFTER UPDATE OF source, type, action, body ON events BEGIN
          INSERT INTO events_fts(events_fts, rowid, source, type, action, body)
            VALUES ('delete', old.id, old.source, old.type, old.action, old.body);
          INSERT INTO events_fts(rowid, source, type, action, body)
            VALUES (new.id, new.source, new.type, new.action, new.body);
        END;
        INSERT INTO events_fts(events_fts) VALUES ('rebuild');
      )sql",
      // 2 -> 3: the writer indexes committed events itself, after answering their senders, so
      // that a commit (and its 2xx) never waits for the tokenizer. meta.fts_through is the
      // highest id indexed; only indexed rows may be deleted from the index.
      R"sql(
        DROP TRIGGER events_fts_insert;
        DROP TRIGGER events_fts_delete;
        DROP TRIGGER events_fts_update;
        CREATE TRIGGER events_fts_delete AFTER DELETE ON events
        WHEN old.id <= (SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'fts_through') BEGIN
          INSERT INTO events_fts(events_fts, rowid, source, type, action, body)
            VALUES ('delete', old.id, old.source, old.type, old.action, old.body);
        END;
        CREATE TRIGGER events_fts_update AFTER UPDATE OF source, type, action, body ON events
        WHEN old.id <= (SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'fts_through') BEGIN
          INSERT INTO events_fts(events_fts, rowid, source, type, action, body)
            VALUES ('delete', old.id, old.source, old.type, old.action, old.body);
          INSERT INTO events_fts(rowid, source, type, action, body)
            VALUES (new.id, new.source, new.type, new.action, new.body);
        END;
        INSERT OR REPLACE INTO meta(key, value)
          SELECT 'fts_through', CAST(coalesce(max(id), 0) AS TEXT) FROM events;
      )sql",
      // 3 -> 4: per-source counts and the types seen per source, kept by triggers, so that
      // list_sources and completions cost the same on a million events as on ten (a GROUP BY
      // over events took 650 ms there, the distinct types of a source 500 ms).
      R"sql(
        CREATE TABLE source_stats (
          source TEXT PRIMARY KEY,
          provider TEXT NOT NULL,
          events INTEGER NOT NULL,
          pending INTEGER NOT NULL,
          last_received_at INTEGER NOT NULL
        ) WITHOUT ROWID;
        INSERT INTO source_stats
          SELECT source, max(provider), count(*), sum(acked_at IS NULL), max(received_at)
          FROM events GROUP BY source;
        CREATE TABLE source_types (
          source TEXT NOT NULL,
          type TEXT NOT NULL,
          events INTEGER NOT NULL,
          PRIMARY KEY (source, type)
        ) WITHOUT ROWID;
        INSERT INTO source_types SELECT source, type, count(*) FROM events GROUP BY source, type;
        CREATE TRIGGER source_stats_insert AFTER INSERT ON events BEGIN
          INSERT INTO source_stats
            VALUES (new.source, new.provider, 1, new.acked_at IS NULL, new.received_at)
            ON CONFLICT(source) DO UPDATE SET provider = excluded.provider, events = events + 1,
              pending = pending + excluded.pending,
              last_received_at = max(last_received_at, excluded.last_received_at);
          INSERT INTO source_types VALUES (new.source, new.type, 1)
            ON CONFLICT(source, type) DO UPDATE SET events = events + 1;
        END;
        CREATE TRIGGER source_stats_delete AFTER DELETE ON events BEGIN
          UPDATE source_stats SET events = events - 1, pending = pending - (old.acked_at IS NULL)
            WHERE source = old.source;
          UPDATE source_types SET events = events - 1
            WHERE source = old.source AND type = old.type;
        END;
        CREATE TRIGGER source_stats_ack AFTER UPDATE OF acked_at ON events BEGIN
          UPDATE source_stats
            SET pending = pending + (new.acked_at IS NULL) - (old.acked_at IS NULL)
            WHERE source = old.source;
        END;
      )sql",
      // 4 -> 5: FTS5 merges a level's segments once 16 of them wait instead of 4, and in one go
      // (a stall for every writer) only at 64 instead of 16. The writer indexes a few dozen
      // events at a time, and at 4 the merges were most of the index's cost: varied 2 KB
      // payloads went from 10,700 to 13,400 indexed events/s (bench/store_fts), and intake of
      // them from 13,900 to 16,000/s; search on a million events was no slower.
      R"sql(
        INSERT INTO events_fts(events_fts, rank) VALUES ('automerge', 16);
        INSERT INTO events_fts(events_fts, rank) VALUES ('crisismerge', 64);
      )sql",
      // 5 -> 6: the writer adds each batch's new events to source_stats and source_types, one
      // upsert per source and per type instead of two per event (3 µs of the writer's time per
      // event). Deletes and acks keep their triggers.
      R"sql(
        DROP TRIGGER source_stats_insert;
      )sql",
      // 6 -> 7: FTS5 leaves of about 4,000 bytes instead of 1,000: two to an 8 KB page (one to a
      // 4 KB page), a quarter as many rows in events_fts_data to write and to merge. The writer
      // indexed payloads of varied words 9-16% faster (bench/store_fts); leaves written before
      // keep their size.
      R"sql(
        INSERT INTO events_fts(events_fts, rank) VALUES ('pgsz', 4000);
      )sql",
      // 7 -> 8: subscriptions (MCP Events webhook mode, later triggers), each with its delivery
      // position, and meta.pruned_through, the id through which retention has deleted events,
      // so that a reader behind it knows it missed some. Ids start at 1 and are never reused
      // (AUTOINCREMENT): what a database pruned before this step is what lies below its oldest
      // event, or below the last id given when it holds none.
      R"sql(
        CREATE TABLE subscriptions (
          id TEXT PRIMARY KEY,
          kind TEXT NOT NULL,
          principal TEXT NOT NULL,
          name TEXT NOT NULL,
          arguments TEXT NOT NULL,
          url TEXT NOT NULL,
          secret TEXT NOT NULL,
          created_at INTEGER NOT NULL,
          expires_at INTEGER NOT NULL,
          position INTEGER NOT NULL,
          delivered INTEGER NOT NULL,
          last_delivery_at INTEGER NOT NULL,
          failures INTEGER NOT NULL,
          failing_since INTEGER NOT NULL,
          next_attempt_at INTEGER NOT NULL,
          last_error TEXT NOT NULL,
          ended INTEGER NOT NULL,
          end_reason TEXT NOT NULL
        ) WITHOUT ROWID;
        INSERT OR REPLACE INTO meta(key, value) SELECT 'pruned_through', CAST(coalesce(
            (SELECT min(id) - 1 FROM events),
            (SELECT seq FROM sqlite_sequence WHERE name = 'events'), 0) AS TEXT);
      )sql",
      // 8 -> 9: meta.database_id, random and given once, so that two processes can tell whether
      // they work on one database: /healthz names it, and `hookmcp stdio` follows the process
      // holding its listener only when that process writes the same database.
      R"sql(
        INSERT OR IGNORE INTO meta(key, value) VALUES ('database_id', lower(hex(randomblob(16))));
      )sql",
      // 9 -> 10: trigger_runs, the latest attempt of each trigger on each event (its state,
      // its answer or exit status, the tail of its output), for `hookmcp triggers runs` and
      // `retry`. The partial index finds the runs that failed without reading those that did not;
      // retention deletes a run with its event.
      R"sql(
        CREATE TABLE trigger_runs (
          id INTEGER PRIMARY KEY AUTOINCREMENT,
          trigger TEXT NOT NULL,
          event_id INTEGER NOT NULL,
          state TEXT NOT NULL,
          attempts INTEGER NOT NULL,
          first_at INTEGER NOT NULL,
          last_at INTEGER NOT NULL,
          status INTEGER NOT NULL,
          error TEXT NOT NULL,
          output TEXT NOT NULL,
          duration_ms INTEGER NOT NULL,
          UNIQUE (trigger, event_id)
        );
        CREATE INDEX trigger_runs_failed ON trigger_runs(id) WHERE state <> 'ok';
        CREATE INDEX trigger_runs_event ON trigger_runs(event_id);
      )sql",
      // 10 -> 11: connections, per name the JSON state of what hookmcp registered with a
      // provider (webhook, channel, subscription), its reading position (a sync token, a
      // history id) and the refresh token `hookmcp connections login` stored.
      R"sql(
        CREATE TABLE connections (
          name TEXT PRIMARY KEY,
          state TEXT NOT NULL,
          updated_at INTEGER NOT NULL
        );
      )sql",
  };
  return kSteps;
}

Result<int> user_version(Connection& db) {
  auto stmt = db.prepare("PRAGMA user_version");
  if (!stmt) return stmt.error();
  if ((*stmt)->step() != SQLITE_ROW) return (*stmt)->error("PRAGMA user_version");
  return static_cast<int>((*stmt)->int64(0));
}

}  // namespace

int schema_version() { return static_cast<int>(steps().size()); }

Status migrate(Connection& db) {
  for (;;) {
    Transaction tx(db);
    // IMMEDIATE: a second process opening the same file waits here, then sees the new version.
    if (auto s = tx.begin(); !s) return s;
    auto version = user_version(db);
    if (!version) return version.error();
    if (*version > schema_version()) {
      return make_error(ErrorCode::kInvalidArgument,
                        "database schema version " + std::to_string(*version) +
                            " is newer than this hookmcp understands (" +
                            std::to_string(schema_version()) + "); upgrade hookmcp");
    }
    if (*version == schema_version()) return {};
    if (auto s = db.exec(steps()[*version]); !s) {
      return make_error(ErrorCode::kIo, "migration to schema version " +
                                            std::to_string(*version + 1) +
                                            " failed: " + s.error().message);
    }
    std::string set = "PRAGMA user_version = " + std::to_string(*version + 1);
    if (auto s = db.exec(set.c_str()); !s) return s;
    if (auto s = tx.commit(); !s) return s;
  }
}

}  // namespace hookmcp::store::sqlite
