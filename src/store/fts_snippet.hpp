// The excerpt search_events shows for each match, registered on each connection that searches.
#pragma once

#include <sqlite3.h>

#include <cstddef>

#include "hookmcp/core/metrics.hpp"
#include "hookmcp/core/result.hpp"

namespace hookmcp::store::sqlite {

// What one excerpt may cost, however large the event and however many times it holds the words.
inline constexpr int kSnippetTokens = 16;  // words shown
// Matches of a field tried as the place of the excerpt, from the field's first match on.
inline constexpr int kSnippetStarts = 64;
// Bytes of a field read to find where its words are: a match further in is not shown.
inline constexpr int kSnippetScanBytes = 256 * 1024;
// A word, or the text between two words, longer than this is shown cut in its middle.
inline constexpr size_t kSnippetRunBytes = 80;

// Adds the FTS5 auxiliary function hookmcp_snippet(events_fts): kSnippetTokens words of the
// field (source, type, action or body) where the matches are densest, the matched words
// between « and », and "…" where text is left out.
//
// FTS5's own snippet() scores a window at every match of the row against every other match:
// an event repeating a word 40,000 times cost it 1.6 billion steps (8.6 s). This one tries the
// first kSnippetStarts matches of each field, each against the matches inside its window only,
// and reads at most kSnippetScanBytes of the field it shows. `bounded`, when not null, counts
// the excerpts those bounds shortened.
Status register_snippet(sqlite3* db, Counter* bounded);

}  // namespace hookmcp::store::sqlite
