// Which events a trigger is for, and the message a notify trigger makes of one.
#include <nlohmann/json.hpp>

#include "hookmcp/core/json.hpp"
#include "hookmcp/core/time.hpp"
#include "hookmcp/triggers/triggers.hpp"

namespace hookmcp::triggers {

std::string subscription_id(const std::string& name) { return "trigger:" + name; }

bool glob_match(std::string_view pattern, std::string_view text) {
  // Iterative, with one backtrack point: linear in practice, never exponential.
  size_t p = 0;
  size_t t = 0;
  size_t star = std::string_view::npos;
  size_t resume = 0;
  while (t < text.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      resume = t;
    } else if (p < pattern.size() && pattern[p] == text[t]) {
      ++p;
      ++t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++resume;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

namespace {

bool value_matches(const nlohmann::json& expected, const nlohmann::json& found) {
  if (expected.is_string() && found.is_string()) {
    return glob_match(expected.get_ref<const std::string&>(), found.get_ref<const std::string&>());
  }
  return expected == found;
}

}  // namespace

bool Match::could_match(const Event& e) const {
  if (e.source == kNoticeSource) return false;
  if (m_.source && !glob_match(*m_.source, e.source)) return false;
  if (m_.type && !glob_match(*m_.type, e.type)) return false;
  if (m_.action && !glob_match(*m_.action, e.action)) return false;
  return true;
}

bool Match::matches(const Event& e) const {
  if (!could_match(e)) return false;
  if (m_.payload.empty()) return true;
  auto doc = parse_json(e.body);
  if (!doc.ok()) return false;
  try {
    for (const auto& [pointer, expected] : m_.payload) {
      const nlohmann::json::json_pointer ptr(pointer);
      if (!doc.value.contains(ptr) || !value_matches(expected, doc.value.at(ptr))) return false;
    }
  } catch (const nlohmann::json::exception&) {
    return false;  // an array index too large for this machine, in a pointer the payload defeats
  }
  return true;
}

std::optional<std::string> Match::exact_source() const {
  if (m_.source && m_.source->find('*') == std::string::npos) return m_.source;
  return std::nullopt;
}

std::string fill_message(const std::string& message, const Event& event, nlohmann::json* values) {
  std::optional<nlohmann::json> doc;
  std::string out;
  size_t at = 0;
  for (size_t open = message.find("{{"); open != std::string::npos; open = message.find("{{", at)) {
    size_t close = message.find("}}", open + 2);
    if (close == std::string::npos) break;
    out.append(message, at, open - at);
    at = close + 2;
    const std::string field = message.substr(open + 2, close - open - 2);
    if (field == "source") {
      out += event.source;
    } else if (field == "type") {
      out += event.type;
    } else if (field == "action") {
      out += event.action;
    } else if (field == "id") {
      out += std::to_string(event.id);
    } else if (field == "received_at") {
      out += format_rfc3339_ms(event.received_at_ms);
    } else if (field.rfind("payload.", 0) == 0) {
      if (!doc) {
        auto parsed = parse_json(event.body);
        doc = parsed.ok() ? std::move(parsed.value) : nlohmann::json();
      }
      std::string value;
      try {
        const nlohmann::json::json_pointer ptr(field.substr(8));
        if (doc->contains(ptr)) {
          const auto& v = doc->at(ptr);
          value = v.is_string() ? v.get<std::string>()
                                : v.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
        }
      } catch (const nlohmann::json::exception&) {
      }
      // A value the sender wrote: marked as such, on one line, and not too long.
      for (char& c : value) {
        if (c == '\n' || c == '\r') c = ' ';
      }
      if (value.size() > 500) value = value.substr(0, 500) + "...";
      if (values) (*values)[field] = value;
      out += "\u00ab" + value + "\u00bb";
    } else {
      out.append(message, open, close + 2 - open);
    }
  }
  out.append(message, at, std::string::npos);
  return out;
}

}  // namespace hookmcp::triggers
