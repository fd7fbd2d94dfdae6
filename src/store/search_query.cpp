#include "search_query.hpp"

#include <cctype>

namespace hookmcp::store {

namespace {

bool has_word(const std::string& term) {
  for (char c : term) {
    if (std::isalnum(static_cast<unsigned char>(c)) || (static_cast<unsigned char>(c) & 0x80)) {
      return true;
    }
  }
  return false;
}

}  // namespace

std::vector<SearchTerm> parse_search(const std::string& query) {
  std::vector<SearchTerm> terms;
  bool pending_or = false;
  size_t i = 0;
  while (i < query.size()) {
    if (std::isspace(static_cast<unsigned char>(query[i]))) {
      ++i;
      continue;
    }
    SearchTerm term;
    if (query[i] == '"') {
      size_t end = query.find('"', i + 1);
      if (end == std::string::npos) end = query.size();
      term.text = query.substr(i + 1, end - i - 1);
      i = end + 1;
    } else {
      size_t end = i;
      while (end < query.size() && !std::isspace(static_cast<unsigned char>(query[end]))) ++end;
      term.text = query.substr(i, end - i);
      i = end;
      if (term.text == "OR" && !terms.empty()) {
        pending_or = true;
        continue;
      }
      while (!term.text.empty() && term.text.back() == '*') {
        term.text.pop_back();
        term.prefix = true;
      }
    }
    if (!has_word(term.text)) continue;
    term.or_before = pending_or;
    pending_or = false;
    terms.push_back(std::move(term));
  }
  return terms;
}

}  // namespace hookmcp::store
