// `hookmcp forward` and `hookmcp events replay`: stored events sent on to a URL (a local app
// under development, as `stripe listen --forward-to` does), as the request the provider made or
// re-signed as Standard Webhooks. A person's command: the URL may be anywhere, loopback too.
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <iostream>
#include <string>
#include <vector>

#include "cli.hpp"
#include "commands.hpp"
#include "event_filter.hpp"
#include "hookmcp/core/clock.hpp"
#include "hookmcp/core/text.hpp"
#include "hookmcp/core/time.hpp"
#include "hookmcp/net/http_client.hpp"
#include "hookmcp/outbound/outbound.hpp"
#include "hookmcp/store/follower.hpp"
#include "reading.hpp"
#include "terminal.hpp"

namespace hookmcp::app {

namespace {

constexpr const char* kForwardHelp = R"(Usage: hookmcp forward --to URL [OPTIONS]

Sends each new event that the server stores on to URL, as the request its
provider made: the same body byte for byte, with the provider's headers (its
signature among them, so the app at URL checks it as it would the provider's),
plus X-Hookmcp-Event-Id and X-Hookmcp-Source. Credentials hookmcp redacted when
it stored the event (Authorization, X-Gitlab-Token...) cannot be sent on.
--secret whsec_... re-signs each as Standard Webhooks instead. With --since,
the stored events from then on are sent first, oldest first. One line per
delivery: time, event, status and how long it took. Ctrl-C stops.

A signature that covers a timestamp (Stripe, Slack, Standard Webhooks) goes
stale: an app that checks it refuses events older than its tolerance.

Examples:
  hookmcp forward --to http://127.0.0.1:3000/webhooks/github --source github
  hookmcp forward --to http://localhost:4242/webhook --source stripe --since 1h
  hookmcp forward --to http://127.0.0.1:8000/in --secret env:APP_WHSEC

Options:
)";

constexpr const char* kReplayHelp = R"(Usage: hookmcp events replay ID --to URL [OPTIONS]

Sends the stored event ID to URL once, as hookmcp forward does: as the request
its provider made, or re-signed as Standard Webhooks with --secret. Prints the
answer's status line. Exit code 0 for a 2xx answer, 1 otherwise.

Examples:
  hookmcp events replay 42 --to http://127.0.0.1:3000/webhooks/github

Options:
)";

std::atomic<bool> g_stop{false};
extern "C" void on_forward_stop(int /*signal*/) { g_stop.store(true); }

std::vector<OptionSpec> send_options() {
  return {{"to", true, "where to POST: http://HOST:PORT/PATH or https://..."},
          {"secret", true, "re-sign as Standard Webhooks with this whsec_ secret (or env:NAME)"},
          {"timeout", true, "seconds to wait for each answer (default 10)"}};
}

// What --to, --secret and --timeout say.
struct Target {
  std::string url;
  std::string secret;
  std::chrono::milliseconds timeout{10000};
};

Result<Target> target_of(const ParsedArgs& args) {
  auto invalid = [](std::string m) {
    return make_error(ErrorCode::kInvalidArgument, std::move(m));
  };
  Target t;
  auto to = args.value("to");
  if (!to) return invalid("--to URL is required");
  if (auto parsed = net::parse_url(*to); !parsed) return invalid("--to: " + parsed.error().message);
  t.url = *to;
  if (auto secret = args.value("secret")) {
    t.secret = *secret;
    if (t.secret.rfind("env:", 0) == 0) {
      auto value = config::process_env()(t.secret.substr(4));
      if (!value || value->empty()) {
        return invalid("--secret: environment variable " + t.secret.substr(4) + " is not set");
      }
      t.secret = *value;
    }
  }
  if (auto timeout = args.value("timeout")) {
    auto s = parse_int(*timeout, "--timeout");
    if (!s) return s.error();
    if (*s < 1 || *s > 600) return invalid("--timeout: expected 1 to 600 seconds");
    t.timeout = std::chrono::seconds(*s);
  }
  return t;
}

// Sends one event; its line for the terminal ("... -> 200 OK 12 ms") and whether it was a 2xx.
std::pair<std::string, bool> send_one(net::Client& client, const Event& e, const Target& t) {
  std::string what = format_rfc3339_ms(e.received_at_ms) + "  id " + std::to_string(e.id) + "  " +
                     printable(e.source, 40) + "  " + printable(e.type.empty() ? "-" : e.type, 60) +
                     (e.action.empty() ? "" : "/" + printable(e.action, 40));
  auto request = outbound::forward_request(e, t.url, t.secret, SystemClock().now_ms() / 1000);
  if (!request) return {what + "  -> not sent: " + request.error().message, false};
  request->timeout = t.timeout;
  request->max_response_bytes = uint64_t{1} << 20;
  auto start = std::chrono::steady_clock::now();
  auto response = client.request(*request);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                  start)
                .count();
  if (!response) return {what + "  -> failed: " + response.error().message, false};
  bool ok = response->status >= 200 && response->status < 300;
  return {what + "  -> " + std::to_string(response->status) + " " + response->reason + "  " +
              std::to_string(ms) + " ms",
          ok};
}

}  // namespace

int run_forward(const std::vector<std::string>& argv) {
  auto specs = filter_options("unused");
  specs.erase(std::remove_if(specs.begin(), specs.end(),
                             [](const OptionSpec& s) {
                               return s.name == "until" || s.name == "limit" || s.name == "json";
                             }),
              specs.end());
  auto extra = send_options();
  specs.insert(specs.begin(), extra.begin(), extra.end());
  specs = with_common(std::move(specs));
  auto args = parse_args(argv, specs, "forward");
  if (!args) return usage_error("forward", args.error().message);
  if (args->help) {
    std::cout << kForwardHelp << format_options(specs);
    return kExitOk;
  }
  if (!args->positionals.empty()) {
    return usage_error("forward", "unexpected argument \"" + args->positionals[0] + "\"");
  }
  auto target = target_of(*args);
  if (!target) return usage_error("forward", target.error().message);
  auto filter = parse_filter(*args, kMaxLimit, 1);
  if (!filter) return usage_error("forward", filter.error().message);
  auto opened = open_store(*args);
  if (!opened) return open_failed("forward", opened.error());
  store::Store& store = *opened->store;

  struct sigaction action {};
  action.sa_handler = on_forward_stop;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);

  net::Client client;
  auto forward = [&](const std::vector<Event>& summaries) {
    for (const auto& summary : summaries) {
      if (g_stop.load()) return;
      auto full = store.get(summary.id);
      if (!full || !*full) continue;  // pruned by retention meanwhile
      auto [line, ok] = send_one(client, **full, *target);
      emit(line + "\n");
    }
  };

  // The newest id first: the backlog goes up to it, the follower on from it.
  auto newest = store.max_id();
  if (!newest) return runtime_error("forward", newest.error().message);
  if (filter->since_ms) {
    store::EventFilter page = *filter;
    page.oldest_first = true;
    page.limit = kMaxLimit;
    page.before_id = *newest + 1;
    while (!g_stop.load()) {
      auto events = store.list(page);
      if (!events) return runtime_error("forward", events.error().message);
      if (events->empty()) break;
      forward(*events);
      page.after_id = events->back().id;
    }
  }
  std::cerr << "forwarding new events of " << config::shown_database(opened->path) << " to "
            << target->url << "; Ctrl-C to stop\n";

  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  sigset_t previous;
  pthread_sigmask(SIG_BLOCK, &stop_signals, &previous);
  store::FollowOptions follow;
  follow.interval = std::chrono::milliseconds(100);
  if (!store::is_postgres(opened->path)) follow.watch_path = opened->path;
  follow.filter = *filter;
  follow.filter.since_ms.reset();
  follow.page = kMaxLimit;
  follow.after_id = *newest;
  auto follower = store::Follower::start(store, follow, forward, [](const std::optional<Error>& e) {
    if (e) std::cerr << "hookmcp forward: " << e->message << " (retrying)\n";
  });
  pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  if (!follower) return runtime_error("forward", follower.error().message);
  while (!g_stop.load()) ::poll(nullptr, 0, 100);
  (*follower)->stop();
  return kExitOk;
}

int run_replay(const std::vector<std::string>& argv) {
  auto specs = with_common(send_options());
  auto args = parse_args(argv, specs, "events replay");
  if (!args) return usage_error("events replay", args.error().message);
  if (args->help) {
    std::cout << kReplayHelp << format_options(specs);
    return kExitOk;
  }
  if (args->positionals.size() != 1) {
    return usage_error("events replay",
                       args->positionals.empty()
                           ? "missing ID (see hookmcp events replay --help)"
                           : "unexpected argument \"" + args->positionals[1] + "\"");
  }
  auto id = parse_int(args->positionals[0], "ID");
  if (!id) return usage_error("events replay", id.error().message);
  auto target = target_of(*args);
  if (!target) return usage_error("events replay", target.error().message);
  auto opened = open_store(*args);
  if (!opened) return open_failed("events replay", opened.error());
  auto event = opened->store->get(*id);
  if (!event) return runtime_error("events replay", event.error().message);
  if (!*event) return runtime_error("events replay", "no event " + std::to_string(*id));
  net::Client client;
  auto [line, ok] = send_one(client, **event, *target);
  std::cout << line << "\n";
  return ok ? kExitOk : kExitFailure;
}

}  // namespace hookmcp::app
