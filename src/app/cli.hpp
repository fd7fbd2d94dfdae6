// Command-line parsing shared by the subcommands.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "hookmcp/config/config.hpp"
#include "hookmcp/core/result.hpp"

namespace hookmcp::app {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;

// One option a command accepts.
struct OptionSpec {
  std::string name;  // without the leading dashes
  bool takes_value;
  std::string help;
};

struct ParsedArgs {
  std::map<std::string, std::string> values;  // options with a value
  std::map<std::string, bool> flags;          // options without one
  std::vector<std::string> positionals;
  bool help = false;

  std::optional<std::string> value(const std::string& name) const;
  bool flag(const std::string& name) const { return flags.count(name) > 0; }
};

// The options every command that reads the config takes.
std::vector<OptionSpec> common_options();

// Parses `--name VALUE`, `--name=VALUE` and `--flag`; `-h`/`--help` sets help.
Result<ParsedArgs> parse_args(const std::vector<std::string>& args,
                              const std::vector<OptionSpec>& specs, const std::string& command);

std::string format_options(const std::vector<OptionSpec>& specs);

// The config overrides carried by the common options.
config::Overrides overrides_from(const ParsedArgs& args);

// Keeps argv[0] for binary_path(); main() calls it first.
void remember_argv0(const char* argv0);

// The absolute path of the running hookmcp (core/os.hpp executable_path).
std::string binary_path();

// Sends logs to stderr at `level` (stdout stays clean for MCP in stdio mode).
void setup_logging(const std::string& level);

}  // namespace hookmcp::app
