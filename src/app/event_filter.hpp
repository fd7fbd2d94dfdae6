// The options that choose stored events (`--source`, `--type`, `--action`, `--since`, `--until`,
// `--status`, `--limit`), shared by `hookmcp events` and `hookmcp forward`.
#pragma once

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

}  // namespace hookmcp::app
