#include <iostream>
#include <string>

#include "cli.hpp"
#include "commands.hpp"

namespace hookmcp::app {

namespace {

constexpr const char* kCheckConfigHelp = R"(Usage: hookmcp check-config [OPTIONS]

Validates the configuration (file, HOOKMCP_* environment and flags) as `serve` would, and prints
the effective settings as JSON on stdout, every secret redacted, and a one-line summary on
stderr:

  OK: hookmcp.json: 3 sources (github, stripe signed; demo unsigned), listen 127.0.0.1:8787, ...

It reports every mistake at once, one per line on stderr as `error: FIELD: MESSAGE`, and exits
2: invalid JSON (with its line and column), unknown fields, every `env:NAME` whose variable is
not set, a secret written as $NAME or ${NAME} (hookmcp does not expand shell variables: write
env:NAME), a secret with a newline or with spaces at either end, a Stripe secret that does not
start with whsec_, TLS files that cannot be read, mcp.channel.sources naming a source that is
not configured, and a public listen address without secrets or tokens.

Fields that have no effect (tolerance_s on a github source, for one) are printed as
`warning: FIELD: MESSAGE`; they do not change the exit code, and `serve` logs them at start.

Exit code 0 when valid, 2 when not.

Examples:
  hookmcp check-config --config hookmcp.json
  HOOKMCP_LISTEN=0.0.0.0:8787 hookmcp check-config --config hookmcp.json

Options:
)";

std::string count(size_t n, const std::string& noun) {
  return std::to_string(n) + " " + noun + (n == 1 ? "" : "s");
}

// The settings a person checks first, on one line: which file, which sources and whether they
// verify signatures, where it listens, which database, how many MCP tokens.
std::string summary(const config::Config& c) {
  std::string signed_names;
  std::string unsigned_names;
  for (const auto& [name, s] : c.sources) {
    std::string& list = s.is_signed() ? signed_names : unsigned_names;
    list += (list.empty() ? "" : ", ") + name;
  }
  size_t made = 0;  // the sources connections make, signed with what they register
  for (const auto& [name, k] : c.connections) {
    if (c.sources.count(k.source) != 0) continue;
    signed_names += (signed_names.empty() ? "" : ", ") + k.source;
    ++made;
  }
  std::string sources;
  if (c.sources.empty() && made == 0) {
    sources = "no sources (any /hooks/NAME accepted, unsigned)";
  } else {
    std::string kinds = signed_names.empty() ? "" : signed_names + " signed";
    if (!unsigned_names.empty())
      kinds += (kinds.empty() ? "" : "; ") + unsigned_names + " unsigned";
    sources = count(c.sources.size() + made, "source") + " (" + kinds + ")";
  }
  std::string tokens =
      c.mcp_tokens.empty() ? std::string("no MCP token") : count(c.mcp_tokens.size(), "MCP token");
  if (c.mcp_oauth) tokens += ", OAuth tokens from " + c.mcp_oauth->issuer;
  if (!c.triggers.empty()) sources += ", " + count(c.triggers.size(), "trigger");
  if (!c.connections.empty()) sources += ", " + count(c.connections.size(), "connection");
  return (c.config_file.empty() ? std::string("no config file") : c.config_file) + ": " + sources +
         ", listen " + c.listen.to_string() + (c.tls_cert_file.empty() ? "" : " (TLS)") +
         ", database " + config::shown_database(c.database) + ", " + tokens;
}

}  // namespace

int run_check_config(const std::vector<std::string>& argv) {
  auto specs = common_options();
  specs.push_back({"allow-unsigned", false, "accept unsigned sources on a non-loopback address"});
  auto args = parse_args(argv, specs, "check-config");
  if (!args) {
    std::cerr << "hookmcp check-config: " << args.error().message << "\n";
    return kExitUsage;
  }
  if (args->help) {
    std::cout << kCheckConfigHelp << format_options(specs);
    return kExitOk;
  }
  auto loaded = config::load_all(overrides_from(*args), config::process_env());
  config::check_serving(loaded.config, loaded.findings);
  const auto& findings = loaded.findings;
  for (const auto& e : findings.errors) std::cerr << "error: " << e.where << ": " << e.what << "\n";
  for (const auto& w : findings.warnings) {
    std::cerr << "warning: " << w.where << ": " << w.what << "\n";
  }
  std::string warnings =
      findings.warnings.empty() ? "" : "; " + count(findings.warnings.size(), "warning") + " above";
  if (!findings.ok()) {
    const auto& file = loaded.config.config_file;
    std::cerr << "FAILED: " << (file.empty() ? "" : file + ": ")
              << count(findings.errors.size(), "error") << warnings << "\n";
    return kExitUsage;
  }
  std::cout << loaded.config.to_redacted_json().dump(2) << "\n";
  std::cerr << "OK: " << summary(loaded.config) << warnings << "\n";
  return kExitOk;
}

}  // namespace hookmcp::app
