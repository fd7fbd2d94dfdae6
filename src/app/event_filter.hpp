// What the commands that read stored events share (`hookmcp events`, `hookmcp forward`): the
// options that choose events (`--source`, `--type`, `--action`, `--since`, `--until`, `--status`,
// `--limit`), and how they report an error.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "cli.hpp"
#include "hookmcp/core/result.hpp"
#include "hookmcp/store/store.hpp"

namespace hookmcp::app {

inline constexpr int kMaxLimit = 200;

// The filter options, with `limit_help` as --limit's help.
std::vector<OptionSpec> filter_options(const std::string& limit_help);
// `specs` and the common options (--config, --db, --log-level), without --listen: these commands
// only read the database.
std::vector<OptionSpec> with_common(std::vector<OptionSpec> specs);
// A whole number; kInvalidArgument naming `what` otherwise.
Result<int64_t> parse_int(const std::string& text, const std::string& what);
// RFC 3339 (2026-11-29T07:04:38Z, with optional fraction and offset; a space may stand for the
// T; without an offset, or a bare date at midnight, it is UTC) or a duration ago: 30s, 15m, 2h,
// 7d, 2w; in Unix milliseconds.
Result<int64_t> parse_time(const std::string& text, int64_t now_ms, const std::string& flag);
// The filter from --source ... --limit; `default_limit` applies when --limit is absent.
Result<store::EventFilter> parse_filter(const ParsedArgs& args, int default_limit, int min_limit);

// "hookmcp COMMAND: MESSAGE" on stderr (COMMAND as typed: "events show", "forward"), and the
// exit code of a usage error, or of a runtime failure.
int usage_error(const std::string& command, const std::string& message);
int runtime_error(const std::string& command, const std::string& message);
// A store that could not be opened: a config mistake is a usage error, anything else a failure.
int open_failed(const std::string& command, const Error& error);

// A subcommand's arguments read into `out` by `specs`: nullopt to go on, or the exit code to end
// with: after --help (which prints `help` and the options), a usage error, or, unless
// `positionals` allows them, an argument that is not an option.
std::optional<int> parse_command(const std::vector<std::string>& argv,
                                 const std::vector<OptionSpec>& specs, const std::string& command,
                                 const char* help, ParsedArgs& out, bool positionals = false);

}  // namespace hookmcp::app
