#include "hookmcp/core/json.hpp"

#include <string>

namespace hookmcp {

bool json_deeper_than(std::string_view text, size_t max_depth) {
  size_t depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;  // the escaped character cannot end the string
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    switch (c) {
      case '"':
        in_string = true;
        break;
      case '[':
      case '{':
        if (++depth > max_depth) return true;
        break;
      case ']':
      case '}':
        // Unbalanced closers make the text invalid; the parser says so.
        if (depth > 0) --depth;
        break;
      default:
        break;
    }
  }
  return false;
}

bool valid_json_pointer(std::string_view p) {
  if (p.empty()) return true;
  if (p[0] != '/') return false;
  for (size_t i = 0; i < p.size(); ++i) {
    if (p[i] == '~' && (i + 1 >= p.size() || (p[i + 1] != '0' && p[i + 1] != '1'))) return false;
  }
  return true;
}

std::string unescape_json_pointer_token(std::string_view raw) {
  std::string token;
  for (size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] == '~' && i + 1 < raw.size()) {
      token += raw[i + 1] == '1' ? '/' : '~';
      ++i;
    } else {
      token += raw[i];
    }
  }
  return token;
}

std::optional<size_t> json_pointer_index(std::string_view token) {
  if (token.empty() || token.size() > 9 || (token.size() > 1 && token[0] == '0')) {
    return std::nullopt;
  }
  size_t index = 0;
  for (char c : token) {
    if (c < '0' || c > '9') return std::nullopt;
    index = index * 10 + static_cast<size_t>(c - '0');
  }
  return index;
}

}  // namespace hookmcp
