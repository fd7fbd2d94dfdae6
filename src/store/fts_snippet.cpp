#include "fts_snippet.hpp"

#include <algorithm>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fts_rank.hpp"

namespace hookmcp::store::sqlite {

namespace {

constexpr std::string_view kOpen = "\xC2\xAB";          // «
constexpr std::string_view kClose = "\xC2\xBB";         // »
constexpr std::string_view kEllipsis = "\xE2\x80\xA6";  // …
// Matches looked at inside one window, however many phrases the query has.
constexpr int kWindowHits = 256;

struct Hit {
  int phrase = 0;
  int column = 0;
  int offset = 0;
};

// The row's matches, as FTS5 hands them out: sorted by field, then by token offset. The first
// error is kept in `rc`, and every read after it gives an empty Hit.
struct Matches {
  const Fts5ExtensionApi* api;
  Fts5Context* fts;
  int count = 0;
  int rc = SQLITE_OK;

  Hit at(int i) {
    Hit h;
    if (rc == SQLITE_OK) rc = api->xInst(fts, i, &h.phrase, &h.column, &h.offset);
    return rc == SQLITE_OK ? h : Hit{0, -1, 0};
  }

  // The first match at or after token `offset` of field `column`, or `count`.
  int first_from(int column, int offset) {
    int lo = 0;
    int hi = count;
    while (lo < hi && rc == SQLITE_OK) {
      int mid = lo + (hi - lo) / 2;
      Hit h = at(mid);
      if (h.column < column || (h.column == column && h.offset < offset)) {
        lo = mid + 1;
      } else {
        hi = mid;
      }
    }
    return lo;
  }
};

struct Window {
  int column = 0;
  int start = 0;  // token offset in the field
  int score = 0;
};

struct Token {
  int begin = 0;
  int end = 0;
};

// What tokenizing a field's first bytes found: the tokens of the window, and how many tokens
// came before the scan stopped.
struct Scan {
  int start = 0;
  int stop = 0;  // one past the window's last token
  int seen = 0;
  std::vector<Token> tokens;
};

int collect(void* context, int flags, const char* /*token*/, int /*size*/, int begin, int end) {
  auto* scan = static_cast<Scan*>(context);
  if ((flags & FTS5_TOKEN_COLOCATED) != 0) return SQLITE_OK;
  int position = scan->seen++;
  if (position >= scan->start) scan->tokens.push_back({begin, end});
  // SQLITE_DONE stops the tokenizer: nothing after the window is needed.
  return scan->seen >= scan->stop ? SQLITE_DONE : SQLITE_OK;
}

bool continuation(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }

// `run` (a word or the text between two), cut in its middle when it is long, never inside a
// UTF-8 character.
void append_run(std::string& out, std::string_view run) {
  if (run.size() <= kSnippetRunBytes) {
    out += run;
    return;
  }
  size_t head = kSnippetRunBytes / 2;
  while (head > 0 && continuation(run[head])) --head;
  size_t tail = run.size() - kSnippetRunBytes / 2;
  while (tail < run.size() && continuation(run[tail])) ++tail;
  out += run.substr(0, head);
  out += kEllipsis;
  out += run.substr(tail);
}

class Snippet {
 public:
  Snippet(const Fts5ExtensionApi* api, Fts5Context* fts) : api_(api), fts_(fts) {
    matches_.api = api;
    matches_.fts = fts;
  }

  // The excerpt, or nullopt with rc() set on an error of FTS5.
  std::optional<std::string> make() {
    if (!ok(api_->xInstCount(fts_, &matches_.count))) return std::nullopt;
    int phrases = api_->xPhraseCount(fts_);
    for (int p = 0; p < phrases; ++p) longest_ = std::max(longest_, api_->xPhraseSize(fts_, p));
    std::vector<Window> windows = choose(phrases);
    if (rc_ != SQLITE_OK) return std::nullopt;
    // Each field is scanned once in vain at the most: after that, its windows past the scan's
    // end are skipped.
    std::vector<std::optional<int>> scanned(static_cast<size_t>(columns_));
    for (const Window& w : windows) {
      const auto& limit = scanned[static_cast<size_t>(w.column)];
      if (limit && w.start >= *limit) continue;
      auto text = render(w.column, w.start, &scanned[static_cast<size_t>(w.column)]);
      if (text || rc_ != SQLITE_OK) return text;
      bounded_ = true;
    }
    if (rc_ != SQLITE_OK) return std::nullopt;
    // No match lies within the bytes read: the start of the field of the first match (the
    // body when there is none), without marks.
    int column = windows.empty() ? columns_ - 1 : windows.front().column;
    for (const Window& w : windows) column = std::min(column, w.column);
    if (auto text = render(column, 0, nullptr)) return text;
    if (rc_ != SQLITE_OK) return std::nullopt;
    return std::string(kEllipsis);
  }

  int rc() const { return rc_; }
  bool bounded() const { return bounded_; }

 private:
  bool ok(int rc) {
    if (rc_ == SQLITE_OK) rc_ = rc;
    return rc_ == SQLITE_OK;
  }

  // Windows of kSnippetTokens words starting near each of the first kSnippetStarts matches of
  // each field, best first: a window scores 1,000 for each phrase of the query it holds and 1
  // for each further match, and is centred on the matches it holds.
  std::vector<Window> choose(int phrases) {
    columns_ = api_->xColumnCount(fts_);
    std::vector<Window> windows;
    std::vector<char> seen(static_cast<size_t>(phrases));
    for (int column = 0; column < columns_; ++column) {
      int first = matches_.first_from(column, 0);
      int size = 0;
      if (!ok(matches_.rc) || !ok(api_->xColumnSize(fts_, column, &size))) return {};
      for (int k = first; k < matches_.count; ++k) {
        Hit hit = matches_.at(k);
        if (hit.column != column) break;
        if (k == first + kSnippetStarts) {
          bounded_ = true;  // more matches than tried
          break;
        }
        std::fill(seen.begin(), seen.end(), 0);
        int score = 0;
        int last = hit.offset + 1;  // one past the last token matched in the window
        for (int j = k; j < matches_.count && j < k + kWindowHits; ++j) {
          Hit other = matches_.at(j);
          if (other.column != column || other.offset >= hit.offset + kSnippetTokens) break;
          auto& phrase_seen = seen[static_cast<size_t>(other.phrase)];
          score += phrase_seen ? 1 : 1000;
          phrase_seen = 1;
          last = std::max(last, other.offset + api_->xPhraseSize(fts_, other.phrase));
        }
        int matched = std::min(kSnippetTokens, last - hit.offset);
        int start = hit.offset - (kSnippetTokens - matched) / 2;
        start = std::max(0, std::min(start, size - kSnippetTokens));
        windows.push_back({column, start, score});
      }
      if (!ok(matches_.rc)) return {};
    }
    std::stable_sort(windows.begin(), windows.end(),
                     [](const Window& a, const Window& b) { return a.score > b.score; });
    return windows;
  }

  // The window's text with its matches marked, or nullopt when its first word lies beyond the
  // bytes scanned; then *scanned_tokens, if given, is how many words those bytes held.
  std::optional<std::string> render(int column, int start, std::optional<int>* scanned_tokens) {
    const char* data = nullptr;
    int bytes = 0;
    int size = 0;
    if (!ok(api_->xColumnText(fts_, column, &data, &bytes)) ||
        !ok(api_->xColumnSize(fts_, column, &size))) {
      return std::nullopt;
    }
    std::string_view text(data ? data : "", data ? static_cast<size_t>(bytes) : 0);
    Scan scan;
    scan.start = start;
    scan.stop = start + kSnippetTokens;
    int read = static_cast<int>(std::min<size_t>(text.size(), kSnippetScanBytes));
    int rc = api_->xTokenize(fts_, text.data(), read, &scan, collect);
    if (rc != SQLITE_DONE && !ok(rc)) return std::nullopt;
    if (scan.tokens.empty()) {
      if (scanned_tokens) *scanned_tokens = scan.seen;
      return std::nullopt;
    }
    int count = static_cast<int>(scan.tokens.size());
    if (count < kSnippetTokens && start + count < size) bounded_ = true;  // cut at the scan's end

    // The matches overlapping the window, as spans of its words; overlapping ones merge.
    std::vector<std::pair<int, int>> spans;
    int last = start + count - 1;
    int from = matches_.first_from(column, std::max(0, start - longest_ + 1));
    for (int j = from; j < matches_.count && j < from + kWindowHits; ++j) {
      Hit hit = matches_.at(j);
      if (hit.column != column || hit.offset > last) break;
      int begin = std::max(hit.offset, start) - start;
      int end = std::min(hit.offset + api_->xPhraseSize(fts_, hit.phrase) - 1, last) - start;
      if (end < begin) continue;
      if (!spans.empty() && begin <= spans.back().second) {
        spans.back().second = std::max(spans.back().second, end);
      } else {
        spans.emplace_back(begin, end);
      }
    }
    if (!ok(matches_.rc)) return std::nullopt;

    std::string out;
    if (start > 0) out += kEllipsis;
    size_t from_byte = start > 0 ? static_cast<size_t>(scan.tokens[0].begin) : 0;
    size_t span = 0;
    bool open = false;
    for (int t = 0; t < count; ++t) {
      const Token& token = scan.tokens[static_cast<size_t>(t)];
      auto begin = static_cast<size_t>(token.begin);
      auto end = static_cast<size_t>(token.end);
      append_run(out, text.substr(from_byte, begin - from_byte));
      if (!open && span < spans.size() && spans[span].first == t) {
        out += kOpen;
        open = true;
      }
      append_run(out, text.substr(begin, end - begin));
      if (open && spans[span].second == t) {
        out += kClose;
        open = false;
        ++span;
      }
      from_byte = end;
    }
    if (start + count >= size) {
      append_run(out, text.substr(std::min(from_byte, text.size())));
    } else {
      out += kEllipsis;
    }
    return out;
  }

  const Fts5ExtensionApi* api_;
  Fts5Context* fts_;
  Matches matches_;
  int columns_ = 0;
  int longest_ = 1;  // tokens of the query's longest phrase
  int rc_ = SQLITE_OK;
  bool bounded_ = false;
};

void snippet(const Fts5ExtensionApi* api, Fts5Context* fts, sqlite3_context* out, int /*argc*/,
             sqlite3_value** /*argv*/) {
  Snippet s(api, fts);
  auto text = s.make();
  if (!text) {
    sqlite3_result_error_code(out, s.rc() != SQLITE_OK ? s.rc() : SQLITE_ERROR);
    return;
  }
  if (s.bounded()) {
    if (auto* counter = static_cast<Counter*>(api->xUserData(fts))) counter->inc();
  }
  sqlite3_result_text(out, text->data(), static_cast<int>(text->size()), SQLITE_TRANSIENT);
}

}  // namespace

Status register_snippet(sqlite3* db, Counter* bounded) {
  fts5_api* api = fts5(db);
  if (api == nullptr ||
      api->xCreateFunction(api, "hookmcp_snippet", bounded, &snippet, nullptr) != SQLITE_OK) {
    return make_error(ErrorCode::kIo, "this SQLite has no FTS5 full-text search");
  }
  return {};
}

}  // namespace hookmcp::store::sqlite
