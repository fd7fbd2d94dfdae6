#include "json_field.hpp"

#include <cstdint>
#include <cstring>
#include <optional>
#include <utility>
#include <vector>

namespace hookmcp::verify::detail {

namespace {

// A cursor over the text. Every method leaves `at` past what it read, and returns false (or
// nullopt) on text that is not JSON.
class Scanner {
 public:
  explicit Scanner(std::string_view text) : text_(text) {}

  size_t at() const { return at_; }
  void seek(size_t at) { at_ = at; }

  // The next character after whitespace, or '\0' at the end.
  char peek() {
    while (at_ < text_.size() &&
           (text_[at_] == ' ' || text_[at_] == '\t' || text_[at_] == '\n' || text_[at_] == '\r')) {
      ++at_;
    }
    return at_ < text_.size() ? text_[at_] : '\0';
  }

  bool eat(char c) {
    if (peek() != c) return false;
    ++at_;
    return true;
  }

  // At a '"': the characters between the quotes, escapes left as they are.
  std::optional<std::string_view> raw_string() {
    if (peek() != '"') return std::nullopt;
    size_t start = ++at_;
    // memchr to each quote, then count the backslashes before it: an odd count escapes it.
    for (;;) {
      const void* hit = std::memchr(text_.data() + at_, '"', text_.size() - at_);
      if (hit == nullptr) return std::nullopt;
      size_t quote = static_cast<size_t>(static_cast<const char*>(hit) - text_.data());
      size_t backslashes = 0;
      while (quote - backslashes > start && text_[quote - backslashes - 1] == '\\') ++backslashes;
      at_ = quote + 1;
      if (backslashes % 2 == 0) return text_.substr(start, quote - start);
    }
  }

  // Passes over one value of any type.
  bool skip_value() {
    char c = peek();
    if (c == '"') return raw_string().has_value();
    if (c == '{' || c == '[') return skip_container();
    return !scalar().empty();
  }

  // The text of a number or literal at the cursor.
  std::string_view scalar() {
    peek();
    size_t start = at_;
    while (at_ < text_.size() && !is_delimiter(text_[at_])) ++at_;
    return text_.substr(start, at_ - start);
  }

 private:
  static bool is_delimiter(char c) {
    return c == ',' || c == '}' || c == ']' || c == ':' || c == ' ' || c == '\t' || c == '\n' ||
           c == '\r' || c == '"' || c == '{' || c == '[';
  }

  // An object or array, by counting brackets outside strings: no recursion, however deep.
  bool skip_container() {
    std::vector<char> closers;
    while (at_ < text_.size()) {
      char c = text_[at_];
      if (c == '"') {
        if (!raw_string()) return false;
        continue;
      }
      ++at_;
      if (c == '{') closers.push_back('}');
      if (c == '[') closers.push_back(']');
      if (c == '}' || c == ']') {
        if (closers.empty() || closers.back() != c) return false;
        closers.pop_back();
        if (closers.empty()) return true;
      }
    }
    return false;
  }

  std::string_view text_;
  size_t at_ = 0;
};

void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

std::optional<uint32_t> hex4(std::string_view s, size_t at) {
  if (at + 4 > s.size()) return std::nullopt;
  uint32_t v = 0;
  for (size_t i = at; i < at + 4; ++i) {
    char c = s[i];
    v <<= 4;
    if (c >= '0' && c <= '9') {
      v |= static_cast<uint32_t>(c - '0');
    } else if (c >= 'a' && c <= 'f') {
      v |= static_cast<uint32_t>(c - 'a' + 10);
    } else if (c >= 'A' && c <= 'F') {
      v |= static_cast<uint32_t>(c - 'A' + 10);
    } else {
      return std::nullopt;
    }
  }
  return v;
}

// The value of a string's raw contents (as raw_string returns them), escapes resolved.
std::optional<std::string> unescape(std::string_view raw) {
  if (raw.find('\\') == std::string_view::npos) return std::string(raw);
  std::string out;
  out.reserve(raw.size());
  for (size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] != '\\') {
      out += raw[i];
      continue;
    }
    if (++i == raw.size()) return std::nullopt;
    switch (raw[i]) {
      case '"':
        out += '"';
        break;
      case '\\':
        out += '\\';
        break;
      case '/':
        out += '/';
        break;
      case 'b':
        out += '\b';
        break;
      case 'f':
        out += '\f';
        break;
      case 'n':
        out += '\n';
        break;
      case 'r':
        out += '\r';
        break;
      case 't':
        out += '\t';
        break;
      case 'u': {
        auto cp = hex4(raw, i + 1);
        if (!cp) return std::nullopt;
        i += 4;
        if (*cp >= 0xDC00 && *cp <= 0xDFFF) return std::nullopt;  // a lone low surrogate
        if (*cp >= 0xD800 && *cp <= 0xDBFF) {
          if (i + 2 >= raw.size() || raw[i + 1] != '\\' || raw[i + 2] != 'u') return std::nullopt;
          auto low = hex4(raw, i + 3);
          if (!low || *low < 0xDC00 || *low > 0xDFFF) return std::nullopt;
          i += 6;
          *cp = 0x10000 + ((*cp - 0xD800) << 10) + (*low - 0xDC00);
        }
        append_utf8(out, *cp);
        break;
      }
      default:
        return std::nullopt;
    }
  }
  return out;
}

// The reference tokens of a JSON Pointer, "~1" and "~0" resolved; nullopt when malformed.
std::optional<std::vector<std::string>> pointer_tokens(std::string_view pointer) {
  std::vector<std::string> tokens;
  if (pointer.empty()) return tokens;
  if (pointer.front() != '/') return std::nullopt;
  size_t i = 1;
  for (;;) {
    size_t end = pointer.find('/', i);
    std::string_view raw = pointer.substr(i, end == std::string_view::npos ? end : end - i);
    std::string token;
    for (size_t k = 0; k < raw.size(); ++k) {
      if (raw[k] != '~') {
        token += raw[k];
        continue;
      }
      if (k + 1 == raw.size() || (raw[k + 1] != '0' && raw[k + 1] != '1')) return std::nullopt;
      token += raw[++k] == '0' ? '~' : '/';
    }
    tokens.push_back(std::move(token));
    if (end == std::string_view::npos) return tokens;
    i = end + 1;
  }
}

// Moves the cursor from an object to the value of its last member named `key`.
bool enter_member(Scanner& s, const std::string& key) {
  if (!s.eat('{')) return false;
  std::optional<size_t> found;
  if (s.eat('}')) return false;
  do {
    auto raw = s.raw_string();
    if (!raw || !s.eat(':')) return false;
    bool match = raw->size() == key.size() && *raw == key;
    if (!match && raw->find('\\') != std::string_view::npos) match = unescape(*raw) == key;
    s.peek();
    if (match) found = s.at();
    if (!s.skip_value()) return false;
  } while (s.eat(','));
  if (!s.eat('}') || !found) return false;
  s.seek(*found);
  return true;
}

// Moves the cursor from an array to its element number `token`.
bool enter_element(Scanner& s, const std::string& token) {
  if (token.empty() || token.size() > 9 || (token.size() > 1 && token[0] == '0')) return false;
  size_t index = 0;
  for (char c : token) {
    if (c < '0' || c > '9') return false;
    index = index * 10 + static_cast<size_t>(c - '0');
  }
  if (!s.eat('[') || s.eat(']')) return false;
  for (size_t i = 0;; ++i) {
    if (i == index) return true;
    if (!s.skip_value() || !s.eat(',')) return false;
  }
}

// Whether `text` is a JSON integer: an optional minus, then 0 or digits not starting with 0.
bool is_integer(std::string_view text) {
  if (!text.empty() && text.front() == '-') text.remove_prefix(1);
  if (text.empty() || (text.size() > 1 && text.front() == '0')) return false;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

}  // namespace

std::optional<std::string> with_member(std::string_view json, std::string_view key,
                                       std::string_view value_json) {
  Scanner s(json);
  if (!s.eat('{')) return std::nullopt;
  const size_t inside = s.at();
  std::optional<std::pair<size_t, size_t>> found;  // the value's first byte and one past its last
  bool empty = s.eat('}');
  if (!empty) {
    do {
      auto raw = s.raw_string();
      if (!raw || !s.eat(':')) return std::nullopt;
      bool match = *raw == key;
      if (!match && raw->find('\\') != std::string_view::npos) match = unescape(*raw) == key;
      s.peek();
      size_t start = s.at();
      if (!s.skip_value()) return std::nullopt;
      if (match) found = {start, s.at()};
    } while (s.eat(','));
    if (!s.eat('}')) return std::nullopt;
  }
  if (s.peek() != '\0') return std::nullopt;  // more after the object: not one JSON document

  std::string out(json);
  if (found) return out.replace(found->first, found->second - found->first, value_json);
  std::string member = "\"";
  member.append(key).append("\":").append(value_json);
  if (!empty) member += ',';
  return out.insert(inside, member);
}

bool looks_like_json(std::string_view body) {
  char c = Scanner(body).peek();
  return c == '{' || c == '[';
}

std::string json_string_at(std::string_view json, std::string_view pointer) {
  auto tokens = pointer_tokens(pointer);
  if (!tokens || tokens->empty()) return {};
  Scanner s(json);
  for (const auto& token : *tokens) {
    char c = s.peek();
    bool entered = c == '{' ? enter_member(s, token) : c == '[' && enter_element(s, token);
    if (!entered) return {};
  }
  if (s.peek() == '"') {
    auto raw = s.raw_string();
    if (!raw) return {};
    return unescape(*raw).value_or("");
  }
  std::string_view number = s.scalar();
  return is_integer(number) ? std::string(number) : std::string();
}

}  // namespace hookmcp::verify::detail
