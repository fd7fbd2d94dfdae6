#include "terminal.hpp"

#include <algorithm>
#include <cstdio>
#include <iostream>

#include "hookmcp/core/json.hpp"
#include "hookmcp/core/text.hpp"
#include "hookmcp/core/time.hpp"

namespace hookmcp::app {

std::string printable(std::string_view text, bool multiline) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    auto c = static_cast<unsigned char>(text[i]);
    bool c1 = c == 0xC2 && i + 1 < text.size() && static_cast<unsigned char>(text[i + 1]) >= 0x80 &&
              static_cast<unsigned char>(text[i + 1]) <= 0x9F;
    if ((multiline && (c == '\n' || c == '\t')) || (c >= 0x20 && c != 0x7F && !c1)) {
      out += static_cast<char>(c);
      continue;
    }
    if (c1) c = static_cast<unsigned char>(text[++i]);
    char buf[8];
    std::snprintf(buf, sizeof buf, "\\x%02x", c);
    out += buf;
  }
  return out;
}

std::string human_size(int64_t bytes) {
  char buf[32];
  if (bytes < 1024) {
    std::snprintf(buf, sizeof buf, "%lld B", static_cast<long long>(bytes));
  } else if (bytes < int64_t{1024} * 1024) {
    std::snprintf(buf, sizeof buf, "%.1f KiB", static_cast<double>(bytes) / 1024);
  } else {
    std::snprintf(buf, sizeof buf, "%.1f MiB", static_cast<double>(bytes) / (1024.0 * 1024.0));
  }
  return buf;
}

std::string status_of(const Event& e) { return e.acked_at_ms ? "acked" : "pending"; }

std::string type_action(const Event& e) {
  std::string t = e.type.empty() ? "-" : e.type;
  if (!e.action.empty()) t += "/" + e.action;
  return t;
}

std::string dump(const json& j, int indent) {
  return j.dump(indent, ' ', false, json::error_handler_t::replace);
}

bool emit(const std::string& text) {
  std::cout << text << std::flush;
  return static_cast<bool>(std::cout);
}

std::string no_events_hint(const store::EventFilter& f, const std::string& path) {
  bool filtered = f.source || f.type || f.action || f.since_ms || f.until_ms ||
                  f.status != store::AckFilter::kAll;
  if (filtered) return "no events match these filters in " + path + "\n";
  return "no events yet in " + path +
         "; send one with: curl -X POST --data '{\"type\":\"demo.created\"}' "
         "http://127.0.0.1:8787/hooks/demo\n";
}

Table::Table(std::vector<std::string> header) : header_(std::move(header)) {
  widths_.resize(header_.size());
  for (size_t i = 0; i < header_.size(); ++i) widths_[i] = utf8_length(header_[i]);
}

std::vector<std::string> Table::row_of(const Event& e) {
  return {std::to_string(e.id),
          format_rfc3339_ms(e.received_at_ms),
          printable(clip(e.source, 24)),
          printable(clip(type_action(e), 48)),
          e.verified ? "yes" : "no",
          human_size(e.size),
          status_of(e)};
}

void Table::fit(const std::vector<std::string>& row) {
  for (size_t i = 0; i < row.size() && i < widths_.size(); ++i) {
    widths_[i] = std::max(widths_[i], utf8_length(row[i]));
  }
}
std::string Table::line(const std::vector<std::string>& row) const {
  std::string out;
  for (size_t i = 0; i < row.size(); ++i) {
    bool last = i + 1 == row.size();
    bool right = i == 0 || header_[i] == "SIZE";  // numbers line up on their last digit
    size_t pad = i < widths_.size() && widths_[i] > utf8_length(row[i])
                     ? widths_[i] - utf8_length(row[i])
                     : 0;
    if (right) out.append(pad, ' ');
    out += row[i];
    if (!right && !last) out.append(pad, ' ');
    if (!last) out += "  ";
  }
  return out + "\n";
}

std::string body_for_terminal(const Event& e) {
  if (e.body.empty()) return "(empty body)\n";
  auto doc = parse_json<json>(e.body);
  if (doc.ok()) return dump(doc.value, 2) + "\n";
  // Text with the odd control character is still text (shown escaped); a NUL byte or many
  // control bytes mean binary.
  size_t controls = static_cast<size_t>(std::count_if(e.body.begin(), e.body.end(), [](char c) {
    return static_cast<unsigned char>(c) < 0x20 && c != '\n' && c != '\t' && c != '\r';
  }));
  bool has_nul = e.body.find('\0') != std::string::npos;
  if (!valid_utf8(e.body) || has_nul || controls * 8 > e.body.size()) {
    return "(binary body, " + std::to_string(e.body.size()) + " bytes; `hookmcp events show " +
           std::to_string(e.id) + " --json` gives it base64-encoded)\n";
  }
  std::string text = printable(e.body, /*multiline=*/true);
  if (text.back() != '\n') text += "\n";
  if (doc.too_deep) {
    text = "(JSON nested more than " + std::to_string(kMaxJsonDepth) +
           " levels deep: shown as it was sent)\n" + text;
  }
  return text;
}

}  // namespace hookmcp::app
