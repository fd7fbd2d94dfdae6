// The ranking function of search_events, registered on each connection that searches.
#pragma once

#include <sqlite3.h>

#include "hookmcp/core/result.hpp"

namespace hookmcp::store::sqlite {

// Adds the FTS5 auxiliary function hookmcp_rank(events_fts): BM25 (k1 1.2, b 0.75) without its
// inverse document frequency, negated so that ORDER BY puts the best match first. FTS5's own
// bm25() counts, for every query, the events holding each word: on a million events a common
// word costs tens of milliseconds before a single row is ranked. Every search matches all its
// words (OR aside), so term frequency and length decide the order well without it.
Status register_rank(sqlite3* db);

// The connection's FTS5 API, through which auxiliary functions are added; null without FTS5.
fts5_api* fts5(sqlite3* db);

}  // namespace hookmcp::store::sqlite
