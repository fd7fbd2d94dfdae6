// `hookmcp subscriptions`: the MCP Events webhook subscriptions stored in the database, for a
// person at a terminal or a script with --json. Reads through the store's reader API, beside a
// running server.
#include <iostream>

#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "hookmcp/core/clock.hpp"
#include "hookmcp/core/time.hpp"
#include "reading.hpp"

namespace hookmcp::app {

namespace {

constexpr const char* kHelp = R"(Usage: hookmcp subscriptions list [--json] [OPTIONS]

The MCP Events webhook subscriptions assistants made (events/subscribe): who made each (its
principal), what it asks for, where its events go (the URL without its query, which may hold
credentials; the secret is never shown), its state, and how far delivery has come.

States: active; failing (the last attempt failed: retrying with backoff); expired (not refreshed
before refreshBefore: nothing more is sent); ended (the receiver answered 410, or failed for more
than a day, or its principal's token was removed).

Examples:
  hookmcp subscriptions list
  hookmcp subscriptions list --json | jq '.[] | select(.state != "active")'

Options:
)";

// The URL as it may be shown: without its query.
std::string shown_url(const std::string& url) {
  auto q = url.find('?');
  return q == std::string::npos ? url : url.substr(0, q) + "?...";
}

std::string state_of(const store::Subscription& s, int64_t now_ms) {
  if (s.ended) return "ended";
  if (s.expires_at_ms != 0 && s.expires_at_ms <= now_ms) return "expired";
  if (s.failures > 0) return "failing";
  return "active";
}

std::string time_or_dash(int64_t ms) { return ms ? format_rfc3339_ms(ms) : "-"; }

nlohmann::ordered_json to_json(const store::Subscription& s, int64_t now_ms) {
  nlohmann::ordered_json out;
  out["id"] = s.id;
  out["principal"] = s.principal;
  out["event"] = s.name;
  out["arguments"] = nlohmann::ordered_json::parse(s.arguments, nullptr, false);
  out["url"] = shown_url(s.url);
  out["state"] = state_of(s, now_ms);
  if (s.ended) out["end_reason"] = s.end_reason;
  out["created_at"] = format_rfc3339_ms(s.created_at_ms);
  out["refresh_before"] = s.expires_at_ms
                              ? nlohmann::ordered_json(format_rfc3339_ms(s.expires_at_ms))
                              : nlohmann::ordered_json(nullptr);
  out["position"] = s.position;
  out["delivered"] = s.delivered;
  out["last_delivery_at"] = s.last_delivery_at_ms
                                ? nlohmann::ordered_json(format_rfc3339_ms(s.last_delivery_at_ms))
                                : nlohmann::ordered_json(nullptr);
  out["failures"] = s.failures;
  out["last_error"] =
      s.last_error.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(s.last_error);
  out["next_attempt_at"] = s.failures && s.next_attempt_at_ms
                               ? nlohmann::ordered_json(format_rfc3339_ms(s.next_attempt_at_ms))
                               : nlohmann::ordered_json(nullptr);
  return out;
}

int run_list(const std::vector<std::string>& argv) {
  auto specs = common_options();
  specs.push_back({"json", false, "one JSON array, for scripts"});
  auto args = parse_args(argv, specs, "subscriptions list");
  if (!args) {
    std::cerr << "hookmcp subscriptions list: " << args.error().message << "\n";
    return kExitUsage;
  }
  if (args->help) {
    std::cout << kHelp << format_options(specs);
    return kExitOk;
  }
  if (!args->positionals.empty()) {
    std::cerr << "hookmcp subscriptions list: unexpected argument \"" << args->positionals[0]
              << "\"\n";
    return kExitUsage;
  }
  auto opened = open_store(*args);
  if (!opened) {
    std::cerr << "hookmcp subscriptions list: " << opened.error().message << "\n";
    return opened.error().code == ErrorCode::kInvalidArgument ? kExitUsage : kExitFailure;
  }
  auto all = opened->store->subscriptions();
  if (!all) {
    std::cerr << "hookmcp subscriptions list: " << all.error().message << "\n";
    return kExitFailure;
  }
  const int64_t now = SystemClock().now_ms();
  if (args->flag("json")) {
    auto out = nlohmann::ordered_json::array();
    for (const auto& s : *all) out.push_back(to_json(s, now));
    std::cout << out.dump(2) << "\n";
    return kExitOk;
  }
  if (all->empty()) {
    std::cout << "no subscriptions (an assistant makes one with events/subscribe)\n";
    return kExitOk;
  }
  for (const auto& s : *all) {
    std::cout << s.id << "  " << state_of(s, now) << "  " << s.principal << "  " << s.name << " "
              << s.arguments << "\n"
              << "  to " << shown_url(s.url) << "\n"
              << "  position " << s.position << ", " << s.delivered << " delivered, last "
              << time_or_dash(s.last_delivery_at_ms) << ", refresh before "
              << time_or_dash(s.expires_at_ms) << "\n";
    if (s.failures > 0) {
      std::cout << "  failing: " << s.failures << " attempts since "
                << time_or_dash(s.failing_since_ms) << " (" << s.last_error << "), next at "
                << time_or_dash(s.next_attempt_at_ms) << "\n";
    }
    if (s.ended) std::cout << "  ended: " << s.end_reason << "\n";
  }
  return kExitOk;
}

}  // namespace

int run_subscriptions(const std::vector<std::string>& args) {
  if (args.empty() || args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
    std::cout << kHelp << format_options(common_options());
    return args.empty() ? kExitUsage : kExitOk;
  }
  std::vector<std::string> rest(args.begin() + 1, args.end());
  if (args[0] == "list" || args[0] == "ls") return run_list(rest);
  std::cerr << "hookmcp subscriptions: unknown command \"" << args[0]
            << "\": expected list (see hookmcp subscriptions --help)\n";
  return kExitUsage;
}

}  // namespace hookmcp::app
