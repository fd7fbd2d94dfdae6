#include "hookmcp/core/form.hpp"

#include <cctype>

#include "hookmcp/core/headers.hpp"
#include "hookmcp/core/text.hpp"

namespace hookmcp {

namespace {

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

// The media type of a Content-Type value, without parameters.
std::string_view media_type(std::string_view content_type) {
  return trim(content_type.substr(0, content_type.find(';')));
}

std::optional<std::vector<FormField>> parse_urlencoded(std::string_view body) {
  std::vector<FormField> out;
  if (body.empty()) return out;
  size_t start = 0;
  while (start <= body.size()) {
    size_t end = body.find('&', start);
    if (end == std::string_view::npos) end = body.size();
    std::string_view pair = body.substr(start, end - start);
    start = end + 1;
    if (pair.empty()) continue;
    size_t eq = pair.find('=');
    auto name = url_decode(pair.substr(0, eq));
    auto value =
        url_decode(eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1));
    if (!name || !value) return std::nullopt;
    out.push_back(FormField{std::move(*name), std::move(*value)});
  }
  return out;
}

// One part's header block: "Name: value" lines separated by CRLF.
bool read_part_headers(std::string_view block, FormField& field) {
  bool named = false;
  while (!block.empty()) {
    size_t end = block.find("\r\n");
    std::string_view line = block.substr(0, end);
    block = end == std::string_view::npos ? std::string_view() : block.substr(end + 2);
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) return false;
    std::string_view key = trim(line.substr(0, colon));
    std::string_view value = trim(line.substr(colon + 1));
    if (iequals(key, "Content-Disposition")) {
      if (!iequals(media_type(value), "form-data")) return false;
      auto name = header_parameter(value, "name");
      if (!name) return false;
      field.name = std::move(*name);
      named = true;
      if (auto filename = header_parameter(value, "filename")) {
        field.file = true;
        field.filename = std::move(*filename);
      }
    } else if (iequals(key, "Content-Type")) {
      field.content_type = std::string(value);
    }
  }
  return named;
}

std::optional<std::vector<FormField>> parse_multipart(std::string_view content_type,
                                                      std::string_view body) {
  auto boundary = header_parameter(content_type, "boundary");
  if (!boundary || boundary->empty() || boundary->size() > 200) return std::nullopt;
  const std::string delimiter = "--" + *boundary;
  // The first delimiter may follow a preamble; each later one follows a CRLF.
  size_t pos;
  if (body.substr(0, delimiter.size()) == delimiter) {
    pos = delimiter.size();
  } else {
    pos = body.find("\r\n" + delimiter);
    if (pos == std::string_view::npos) return std::nullopt;
    pos += 2 + delimiter.size();
  }
  const std::string next = "\r\n" + delimiter;
  std::vector<FormField> out;
  while (true) {
    if (body.substr(pos, 2) == "--") return out;  // the closing delimiter
    // Transport padding, then the CRLF that ends the delimiter line.
    while (pos < body.size() && (body[pos] == ' ' || body[pos] == '\t')) ++pos;
    if (body.substr(pos, 2) != "\r\n") return std::nullopt;
    pos += 2;
    size_t headers_end = body.find("\r\n\r\n", pos);
    size_t part_end = body.find(next, pos);
    if (part_end == std::string_view::npos) return std::nullopt;
    FormField field;
    if (headers_end == std::string_view::npos || headers_end > part_end) return std::nullopt;
    if (!read_part_headers(body.substr(pos, headers_end - pos), field)) return std::nullopt;
    size_t content = headers_end + 4;
    if (content > part_end) return std::nullopt;  // the blank line runs into the delimiter
    field.value = std::string(body.substr(content, part_end - content));
    out.push_back(std::move(field));
    pos = part_end + next.size();
  }
}

}  // namespace

bool is_form(std::string_view content_type) {
  std::string_view type = media_type(content_type);
  return iequals(type, "application/x-www-form-urlencoded") || iequals(type, "multipart/form-data");
}

std::optional<std::vector<FormField>> parse_form(std::string_view content_type,
                                                 std::string_view body) {
  std::string_view type = media_type(content_type);
  if (iequals(type, "application/x-www-form-urlencoded")) return parse_urlencoded(body);
  if (iequals(type, "multipart/form-data")) return parse_multipart(content_type, body);
  return std::nullopt;
}

std::optional<std::string> form_field(const std::vector<FormField>& fields, std::string_view name) {
  for (const auto& f : fields) {
    if (f.name == name) return f.value;
  }
  return std::nullopt;
}

std::optional<std::string> url_decode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '+') {
      out.push_back(' ');
    } else if (c == '%') {
      if (i + 2 >= text.size()) return std::nullopt;
      auto byte = hex_decode(text.substr(i + 1, 2));
      if (!byte || byte->size() != 1) return std::nullopt;
      out.push_back((*byte)[0]);
      i += 2;
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::optional<std::string> header_parameter(std::string_view value, std::string_view name) {
  size_t pos = value.find(';');
  while (pos != std::string_view::npos && pos < value.size()) {
    ++pos;
    while (pos < value.size() && (value[pos] == ' ' || value[pos] == '\t')) ++pos;
    size_t eq = value.find('=', pos);
    if (eq == std::string_view::npos) return std::nullopt;
    std::string_view key = trim(value.substr(pos, eq - pos));
    pos = eq + 1;
    std::string parsed;
    if (pos < value.size() && value[pos] == '"') {
      ++pos;
      while (pos < value.size() && value[pos] != '"') {
        if (value[pos] == '\\' && pos + 1 < value.size()) ++pos;
        parsed.push_back(value[pos++]);
      }
      if (pos >= value.size()) return std::nullopt;  // unterminated
      ++pos;
      pos = value.find(';', pos);
    } else {
      size_t end = value.find(';', pos);
      parsed =
          std::string(trim(value.substr(pos, end == std::string_view::npos ? end : end - pos)));
      pos = end;
    }
    if (iequals(key, name)) return parsed;
  }
  return std::nullopt;
}

std::string url_encode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (unsigned char ch : text) {
    if (std::isalnum(ch) != 0 || ch == '-' || ch == '.' || ch == '_' || ch == '~') {
      out += static_cast<char>(ch);
    } else {
      out += '%';
      out += kHex[ch >> 4];
      out += kHex[ch & 15];
    }
  }
  return out;
}

std::string form_encode(const std::vector<std::pair<std::string, std::string>>& fields) {
  std::string out;
  for (const auto& [name, value] : fields) {
    if (!out.empty()) out += '&';
    out += url_encode(name) + "=" + url_encode(value);
  }
  return out;
}

}  // namespace hookmcp
