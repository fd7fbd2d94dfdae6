// What `hookmcp events` prints for a person: escaped text, sizes, aligned tables, the body.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "hookmcp/core/event.hpp"
#include "hookmcp/store/store.hpp"

namespace hookmcp::app {

// Insertion-ordered, so that summaries read id, source, type ... and a payload keeps the order
// its sender wrote it in.
using json = nlohmann::ordered_json;

// Control characters from a payload (an escape sequence in an event type, say) must not reach
// the terminal as such: they are shown as \xNN. Newlines and tabs are kept when `multiline`.
std::string printable(std::string_view text, bool multiline = false);
std::string human_size(int64_t bytes);
std::string status_of(const Event& e);
std::string type_action(const Event& e);
// Bodies are bytes from the network: invalid UTF-8 is replaced rather than thrown on.
std::string dump(const json& j, int indent = -1);
// Writes and flushes; false once stdout is gone (a closed pipe), which ends the command.
bool emit(const std::string& text);
// What to say when a listing is empty: that the filters match nothing, or how to send one.
std::string no_events_hint(const store::EventFilter& f, const std::string& path);
// The body as a person reads it: indented JSON, text, or a note about binary content.
std::string body_for_terminal(const Event& e);

inline const std::vector<std::string> kColumns = {
    "ID", "RECEIVED (UTC)", "SOURCE", "TYPE/ACTION", "VERIFIED", "SIZE", "STATUS"};

// A table whose columns fit the widest cell fitted so far. `tail` fits its first rows (and a
// typical width) before printing; a later, wider cell shifts only its own line.
class Table {
 public:
  explicit Table(std::vector<std::string> header);

  // An event's cells under kColumns.
  static std::vector<std::string> row_of(const Event& e);

  // Widens the columns to this row's cells.
  void fit(const std::vector<std::string>& row);

  std::string line(const std::vector<std::string>& row) const;

  std::string header_line() const { return line(header_); }

 private:
  std::vector<std::string> header_;
  std::vector<size_t> widths_;
};

}  // namespace hookmcp::app
