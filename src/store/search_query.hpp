// The search language of Store::search, read once for both backends: words that must all
// appear, "quoted phrases", `word*` for a prefix, and OR between alternatives. Each store turns
// the terms into its own engine's syntax (FTS5's MATCH, PostgreSQL's tsquery).
#pragma once

#include <string>
#include <vector>

namespace hookmcp::store {

struct SearchTerm {
  std::string text;        // a word, or a phrase's words as typed; holds a letter or digit
  bool prefix = false;     // word*: any word that starts with it
  bool or_before = false;  // an alternative to the term before it, not a further condition
};

// The terms of `query`, in order. A term with no letter or digit is left out, and so is an OR
// with no term on either side. `OR` after a term is the operator; elsewhere it is a word.
std::vector<SearchTerm> parse_search(const std::string& query);

}  // namespace hookmcp::store
