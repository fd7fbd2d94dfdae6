#include "event_filter.hpp"

#include <algorithm>
#include <iostream>
#include <string_view>

#include "hookmcp/core/clock.hpp"
#include "hookmcp/core/time.hpp"

namespace hookmcp::app {

std::vector<OptionSpec> filter_options(const std::string& limit_help) {
  return {
      {"source", true, "only events of this source (/hooks/SOURCE)"},
      {"type", true, "only events of this type, e.g. pull_request or charge.succeeded"},
      {"action", true, "only events with this action, e.g. opened"},
      {"since", true, "received at or after: RFC 3339 or a time ago (15m, 2h, 7d)"},
      {"until", true, "received before: RFC 3339 or a time ago (15m, 2h, 7d)"},
      {"status", true, "pending, acked or all (default all)"},
      {"limit", true, limit_help},
      {"json", false, "print JSON for scripts instead of a table"},
  };
}

std::vector<OptionSpec> with_common(std::vector<OptionSpec> specs) {
  auto common = common_options();
  // The events commands only read the database; --listen would have no effect.
  common.erase(std::remove_if(common.begin(), common.end(),
                              [](const OptionSpec& s) { return s.name == "listen"; }),
               common.end());
  specs.insert(specs.end(), common.begin(), common.end());
  return specs;
}

Result<int64_t> parse_int(const std::string& text, const std::string& what) {
  if (text.empty() || text.size() > 18 ||
      !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return make_error(ErrorCode::kInvalidArgument,
                      what + ": expected a whole number, got \"" + text + "\"");
  }
  return std::stoll(text);
}

Result<int64_t> parse_time(const std::string& text, int64_t now_ms, const std::string& flag) {
  auto fail = [&]() -> Error {
    return make_error(ErrorCode::kInvalidArgument,
                      flag +
                          ": expected an RFC 3339 time (2026-11-29T08:00:00Z) or a time ago "
                          "(30s, 15m, 2h, 7d, 2w), got \"" +
                          text + "\"");
  };
  if (text.size() >= 2 &&
      std::all_of(text.begin(), text.end() - 1, [](char c) { return c >= '0' && c <= '9'; })) {
    int64_t unit_ms = 0;
    switch (text.back()) {
      case 's':
        unit_ms = 1000;
        break;
      case 'm':
        unit_ms = 60'000;
        break;
      case 'h':
        unit_ms = 3'600'000;
        break;
      case 'd':
        unit_ms = 86'400'000;
        break;
      case 'w':
        unit_ms = 7 * 86'400'000LL;
        break;
      default:
        return fail();
    }
    if (text.size() > 10) return fail();
    return now_ms - std::stoll(text.substr(0, text.size() - 1)) * unit_ms;
  }
  if (auto ms = parse_rfc3339_ms(text, MissingOffset::kUtc)) return *ms;
  return fail();
}

Result<store::EventFilter> parse_filter(const ParsedArgs& args, int default_limit, int min_limit) {
  store::EventFilter f;
  f.source = args.value("source");
  f.type = args.value("type");
  f.action = args.value("action");
  int64_t now_ms = SystemClock().now_ms();
  for (const char* name : {"since", "until"}) {
    auto text = args.value(name);
    if (!text) continue;
    auto ms = parse_time(*text, now_ms, std::string("--") + name);
    if (!ms) return ms.error();
    (std::string_view(name) == "since" ? f.since_ms : f.until_ms) = *ms;
  }
  if (auto status = args.value("status")) {
    if (*status == "pending") {
      f.status = store::AckFilter::kPending;
    } else if (*status == "acked") {
      f.status = store::AckFilter::kAcked;
    } else if (*status == "all") {
      f.status = store::AckFilter::kAll;
    } else {
      return make_error(ErrorCode::kInvalidArgument,
                        "--status: expected pending, acked or all, got \"" + *status + "\"");
    }
  }
  f.limit = default_limit;
  if (auto limit = args.value("limit")) {
    auto n = parse_int(*limit, "--limit");
    if (!n) return n.error();
    if (*n < min_limit || *n > kMaxLimit) {
      return make_error(ErrorCode::kInvalidArgument,
                        "--limit: expected " + std::to_string(min_limit) + " to " +
                            std::to_string(kMaxLimit) + ", got " + *limit);
    }
    f.limit = static_cast<int>(*n);
  }
  return f;
}

int usage_error(const std::string& command, const std::string& message) {
  std::cerr << "hookmcp " << command << ": " << message << "\n";
  return kExitUsage;
}

std::optional<int> parse_command(const std::vector<std::string>& argv,
                                 const std::vector<OptionSpec>& specs, const std::string& command,
                                 const char* help, ParsedArgs& out, bool positionals) {
  auto args = parse_args(argv, specs, command);
  if (!args) return usage_error(command, args.error().message);
  if (args->help) {
    std::cout << help << format_options(specs);
    return kExitOk;
  }
  if (!positionals && !args->positionals.empty()) {
    return usage_error(command, "unexpected argument \"" + args->positionals[0] + "\"");
  }
  out = std::move(*args);
  return std::nullopt;
}

int runtime_error(const std::string& command, const std::string& message) {
  std::cerr << "hookmcp " << command << ": " << message << "\n";
  return kExitFailure;
}

int open_failed(const std::string& command, const Error& error) {
  return error.code == ErrorCode::kInvalidArgument ? usage_error(command, error.message)
                                                   : runtime_error(command, error.message);
}

}  // namespace hookmcp::app
