#include "hookmcp/core/text.hpp"
#include "hookmcp/core/time.hpp"
#include "internal.hpp"

namespace hookmcp::mcp {

Result<int64_t> parse_rfc3339(std::string_view text) {
  if (auto ms = parse_rfc3339_ms(text, MissingOffset::kRefuse)) return *ms;
  return make_error(
      ErrorCode::kInvalidArgument,
      "\"" + std::string(text) + "\" is not an RFC 3339 time; write it like 2026-01-31T09:00:00Z");
}

std::string one_line(std::string_view text, size_t max) {
  std::string flat(text);
  for (auto& c : flat) {
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  }
  return clip(flat, max);
}

std::string summary_line(const Event& e) {
  std::string line = "#" + std::to_string(e.id) + " " + format_rfc3339_ms(e.received_at_ms) + " " +
                     e.source + " " +
                     (e.type.empty() ? "(no type)" : "\"" + one_line(e.type) + "\"");
  if (!e.action.empty()) line += " action \"" + one_line(e.action) + "\"";
  line += e.verified ? ", signature verified" : ", unsigned";
  line += ", " + std::to_string(e.size) + " bytes";
  line += e.acked_at_ms ? ", acked" : ", pending";
  return line;
}

std::string fence(const std::string& nonce, const Event& e, std::string_view text) {
  std::string marker = "untrusted-webhook-payload-" + nonce;
  std::string out = view::payload_notice(e) + " It is everything between <" + marker + "> and </" +
                    marker + ">.\n<" + marker + " event=\"" + std::to_string(e.id) +
                    "\" source=\"" + e.source + "\" verified=\"" + (e.verified ? "true" : "false") +
                    "\">\n";
  out += text;
  if (!text.empty() && text.back() != '\n') out += '\n';
  out += "</" + marker + ">";
  return out;
}

}  // namespace hookmcp::mcp
