#include "fts_rank.hpp"

#include <vector>

namespace hookmcp::store::sqlite {

namespace {

constexpr double kK1 = 1.2;
constexpr double kB = 0.75;

void rank(const Fts5ExtensionApi* api, Fts5Context* fts, sqlite3_context* out, int /*argc*/,
          sqlite3_value** /*argv*/) {
  int phrases = api->xPhraseCount(fts);
  int instances = 0;
  sqlite3_int64 rows = 0;
  sqlite3_int64 total_tokens = 0;
  int length = 0;
  if (api->xInstCount(fts, &instances) != SQLITE_OK || api->xRowCount(fts, &rows) != SQLITE_OK ||
      api->xColumnTotalSize(fts, -1, &total_tokens) != SQLITE_OK ||
      api->xColumnSize(fts, -1, &length) != SQLITE_OK) {
    sqlite3_result_error(out, "hookmcp_rank: cannot read the index", -1);
    return;
  }
  std::vector<int> frequency(static_cast<size_t>(phrases), 0);
  for (int i = 0; i < instances; ++i) {
    int phrase = 0;
    int column = 0;
    int offset = 0;
    if (api->xInst(fts, i, &phrase, &column, &offset) == SQLITE_OK && phrase < phrases) {
      ++frequency[static_cast<size_t>(phrase)];
    }
  }
  double average = rows > 0 ? static_cast<double>(total_tokens) / static_cast<double>(rows) : 1;
  double norm = kK1 * (1 - kB + kB * length / (average > 0 ? average : 1));
  double score = 0;
  for (int tf : frequency) score += tf * (kK1 + 1) / (tf + norm);
  sqlite3_result_double(out, -score);
}

}  // namespace

fts5_api* fts5(sqlite3* db) {
  fts5_api* api = nullptr;
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db, "SELECT fts5(?1)", -1, &stmt, nullptr) == SQLITE_OK) {
    sqlite3_bind_pointer(stmt, 1, static_cast<void*>(&api), "fts5_api_ptr", nullptr);
    sqlite3_step(stmt);
  }
  sqlite3_finalize(stmt);
  return api;
}

Status register_rank(sqlite3* db) {
  fts5_api* api = fts5(db);
  if (api == nullptr ||
      api->xCreateFunction(api, "hookmcp_rank", nullptr, &rank, nullptr) != SQLITE_OK) {
    return make_error(ErrorCode::kIo, "this SQLite has no FTS5 full-text search");
  }
  return {};
}

}  // namespace hookmcp::store::sqlite
