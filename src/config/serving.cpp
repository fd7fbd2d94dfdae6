// What a server needs beyond settings that parse: who may reach it, and the files it must read.
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <system_error>

#include "hookmcp/config/config.hpp"

namespace hookmcp::config {

namespace {

// Caught here rather than when the listener loads it, so that check-config reports it too and
// a relative path is explained (a service's working directory is rarely the config's).
void check_readable(const std::string& path, const std::string& where, Findings& f) {
  namespace fs = std::filesystem;
  std::error_code ec;
  std::string shown = "\"" + path + "\"";
  if (fs::path(path).is_relative()) {
    shown += " (relative to the working directory " + fs::current_path(ec).string() + ")";
  }
  auto status = fs::status(path, ec);
  if (!fs::exists(status)) {
    f.error(where, shown + " does not exist");
  } else if (fs::is_directory(status)) {
    f.error(where, shown + " is a directory");
  } else if (std::ifstream in(path); !in) {
    f.error(where, shown + " cannot be read: " + std::strerror(errno));
  }
}

}  // namespace

void check_exposure(const Config& c, Findings& f) {
  if (is_loopback_host(c.listen.host) || c.allow_unsigned) return;
  if (c.sources.empty()) {
    f.error("listen", c.listen.to_string() +
                          " is not a loopback address and no sources are configured: "
                          "configure sources with secrets, or pass --allow-unsigned");
    return;
  }
  for (const auto& [name, s] : c.sources) {
    if (!s.is_signed()) {
      f.error("sources." + name + ".secrets",
              "source has no secret and " + c.listen.to_string() +
                  " is not a loopback address: add a secret, or pass --allow-unsigned");
    }
  }
  if (c.mcp_tokens.empty() && !c.mcp_oauth) {
    f.error("mcp.tokens", c.listen.to_string() +
                              " is not a loopback address: set at least one MCP bearer token, "
                              "or mcp.oauth");
  }
}

Status check_exposure(const Config& c) {
  Findings f;
  check_exposure(c, f);
  if (!f.ok()) return f.to_error();
  return {};
}

void check_serving(const Config& c, Findings& f) {
  if (!c.tls_cert_file.empty()) check_readable(c.tls_cert_file, "tls.cert_file", f);
  if (!c.tls_key_file.empty()) check_readable(c.tls_key_file, "tls.key_file", f);
  // Only for settings without errors: a source that failed to parse would read here as a source
  // without a secret.
  if (f.ok()) check_exposure(c, f);
}

}  // namespace hookmcp::config
