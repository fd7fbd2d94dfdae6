// The web console: static HTML, CSS and JavaScript compiled into the binary (from
// src/console/ui), served at /ui on the listener. The page is an MCP client of the same server:
// it reads, searches, acknowledges and replays events through /mcp with the user's token, and
// hears of new ones on its session's stream, so it has no data and no API of its own.
#pragma once

#include <optional>
#include <string_view>
#include <utility>
#include <vector>

namespace hookmcp::console {

// Whether a request path is the console's: /ui or under /ui/.
bool is_console_path(std::string_view path);

struct Asset {
  std::string_view content_type;
  std::string_view body;
};
// The file at `path` (/ui and /ui/ are the page; /ui/app.js, /ui/app.css, /ui/icon.svg), or
// nullopt.
std::optional<Asset> asset(std::string_view path);

// What every console response carries: a Content-Security-Policy that allows only this
// server's own files and requests (no inline script, no other origin), and no framing, sniffing
// or referrer.
const std::vector<std::pair<std::string_view, std::string_view>>& security_headers();

}  // namespace hookmcp::console
