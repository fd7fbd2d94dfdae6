// Reading the configuration and the database from the command line.
#include "reading.hpp"

#include "hookmcp/config/config.hpp"

namespace hookmcp::app {

namespace {

// The config is read only for the database path. Secrets are not needed to read events, so an
// `env:NAME` secret whose variable this shell lacks, or holds with a stray newline, must not stop
// a person from looking: every variable but the settings reads as a well-formed secret.
config::Getenv reading_env() {
  return [env = config::process_env()](const std::string& name) -> std::optional<std::string> {
    for (const char* setting :
         {"HOOKMCP_CONFIG", "HOOKMCP_DB", "HOOKMCP_LISTEN", "XDG_DATA_HOME", "HOME"}) {
      if (name == setting) return env(name);
    }
    // Shaped to pass every provider's check: "whsec_" and base64 (of "unused-by-hookmcp-events").
    return std::string("whsec_dW51c2VkLWJ5LWhvb2ttY3AtZXZlbnRz");
  };
}

}  // namespace

Result<config::Config> load_config_without_secrets(const ParsedArgs& args) {
  return config::load(overrides_from(args), reading_env());
}

std::string local_base_url(const config::Config& config) {
  config::Endpoint at = config.listen;
  if (at.host == "0.0.0.0") at.host = "127.0.0.1";
  if (at.host == "::") at.host = "::1";
  return (config.tls_cert_file.empty() ? "http://" : "https://") + at.to_string();
}

Result<Opened> open_store(const ParsedArgs& args) {
  auto cfg = load_config_without_secrets(args);
  if (!cfg) return cfg.error();
  static const SystemClock clock;
  auto store = store::open_reader(cfg->database, clock);
  if (!store) {
    if (store.error().code == ErrorCode::kNotFound) {
      return make_error(ErrorCode::kNotFound,
                        "no database at " + cfg->database +
                            ": `hookmcp serve` creates it when it starts; pass --db or set "
                            "HOOKMCP_DB if the server uses another path");
    }
    // Not a usage error even when the store calls it an invalid argument (a file that is not
    // a hookmcp database): the command line was right, the file is not.
    return make_error(ErrorCode::kIo, store.error().message);
  }
  return Opened{std::move(*store), cfg->database};
}

}  // namespace hookmcp::app
