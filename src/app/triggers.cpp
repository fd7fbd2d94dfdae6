// `hookmcp triggers`: the config's triggers, their runs, and asking for failed runs to run
// again, for a person at a terminal or a script with --json. Beside a running server: it reads
// the database, and `retry` marks runs for the server to take up within a second.
#include <algorithm>
#include <iostream>

#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "event_filter.hpp"
#include "hookmcp/core/time.hpp"
#include "reading.hpp"

namespace hookmcp::app {

namespace {

using ojson = nlohmann::ordered_json;

constexpr const char* kHelp = R"(Usage: hookmcp triggers COMMAND [OPTIONS]

Triggers act on each new stored event that matches them: forward it to a URL, run a command, or
notify the assistants ("triggers" in the config). Each run is kept with its state, its HTTP or
exit status and the tail of its answer or output. Safe to run beside the server.

Commands:
  list            each trigger, what it does, and how far it has come
  runs            the latest runs, newest first (--failed: those that failed)
  retry RUN...    run dead runs again (--all: every dead run)

Run 'hookmcp triggers COMMAND --help' for a command's options.
)";

constexpr const char* kListHelp = R"(Usage: hookmcp triggers list [OPTIONS]

Prints each trigger of the config: what it does (forward to a URL, run a command, notify the
assistants), the event it has come to, and whether it is failing at the next one.

Examples:
  hookmcp triggers list
  hookmcp triggers list --json

Options:
)";

constexpr const char* kRunsHelp = R"(Usage: hookmcp triggers runs [OPTIONS]

Prints the latest runs, newest first: the trigger, the event, the state, the attempts, the HTTP
or exit status, and for a failed run its error and the tail of its answer or output.

States: ok; retrying (failed, tried again with backoff); dead (its last attempt failed: nothing
more happens until it is retried); retry (asked to run again: the server takes it up within a
second).

Examples:
  hookmcp triggers runs --failed --trigger to-dev
  hookmcp triggers runs --json | jq '.[] | select(.state == "dead")'

Options:
)";

constexpr const char* kRetryHelp = R"(Usage: hookmcp triggers retry RUN... [OPTIONS]

Asks the running server to run dead runs again: those given by id (hookmcp triggers runs
--failed shows them), or with --all every dead run, of --trigger alone when given. The server
takes them up within a second; each runs once more, and is ok or dead again.

Examples:
  hookmcp triggers retry 42 43
  hookmcp triggers retry --all --trigger to-dev

Options:
)";

std::string time_or_dash(int64_t ms) { return ms ? format_rfc3339_ms(ms) : "-"; }

std::string what_it_does(const config::Trigger& t) {
  switch (t.action) {
    case config::Trigger::Action::kForward:
      return "forward to " + t.url + (t.signed_mode ? " (signed)" : " (original request)");
    case config::Trigger::Action::kRun: {
      std::string argv;
      for (const auto& a : t.argv) argv += (argv.empty() ? "" : " ") + a;
      return "run " + argv;
    }
    case config::Trigger::Action::kNotify:
      return "notify \"" + t.message + "\"";
  }
  return {};
}

ojson run_json(const store::TriggerRun& r) {
  return {{"id", r.id},
          {"trigger", r.trigger},
          {"event_id", r.event_id},
          {"state", r.state},
          {"attempts", r.attempts},
          {"first_at", time_or_dash(r.first_at_ms)},
          {"last_at", time_or_dash(r.last_at_ms)},
          {"status", r.status},
          {"error", r.error},
          {"output", r.output},
          {"duration_ms", r.duration_ms}};
}

void print_run(const store::TriggerRun& r) {
  std::cout << "run " << r.id << "  " << r.trigger << "  event " << r.event_id << "  " << r.state
            << "  " << time_or_dash(r.last_at_ms) << "  " << r.attempts
            << (r.attempts == 1 ? " attempt" : " attempts");
  if (r.status) std::cout << ", status " << r.status;
  std::cout << ", " << r.duration_ms << " ms\n";
  if (!r.error.empty()) std::cout << "  error: " << r.error << "\n";
  if (r.state != "ok" && !r.output.empty()) {
    std::string last =
        r.output.size() > 300 ? "..." + r.output.substr(r.output.size() - 300) : r.output;
    for (char& c : last) {
      if (c == '\n' || c == '\r') c = ' ';
    }
    std::cout << "  output: " << last << "\n";
  }
}

int run_list(const std::vector<std::string>& argv) {
  const std::string command = "triggers list";
  std::vector<OptionSpec> specs;
  specs.push_back({"json", false, "one JSON array, for scripts"});
  specs = with_common(std::move(specs));
  ParsedArgs args;
  if (auto done = parse_command(argv, specs, command, kListHelp, args)) return *done;
  auto config = load_config_without_secrets(args);
  if (!config) return usage_error(command, config.error().message);
  std::vector<store::Subscription> stored;
  if (auto opened = open_store(args); opened) {
    if (auto all = opened->store->subscriptions(); all) stored = std::move(*all);
  }
  auto state_of = [&](const std::string& name) -> const store::Subscription* {
    for (const auto& s : stored) {
      if (s.kind == "trigger" && s.name == name) return &s;
    }
    return nullptr;
  };
  if (args.flag("json")) {
    auto out = ojson::array();
    for (const auto& [name, t] : config->triggers) {
      ojson j = {{"name", name}, {"action", t.action_name()}, {"does", what_it_does(t)}};
      const store::Subscription* s = state_of(name);
      j["position"] = s ? ojson(s->position) : ojson(nullptr);
      j["failing"] = s && s->failures > 0;
      j["last_error"] = s && !s->last_error.empty() ? ojson(s->last_error) : ojson(nullptr);
      out.push_back(std::move(j));
    }
    std::cout << out.dump(2) << "\n";
    return kExitOk;
  }
  if (config->triggers.empty()) {
    std::cout << "no triggers (add them under \"triggers\" in the config: see the README, "
                 "\"Triggers\")\n";
    return kExitOk;
  }
  for (const auto& [name, t] : config->triggers) {
    std::cout << name << "  " << what_it_does(t) << "\n";
    const store::Subscription* s = state_of(name);
    if (!s) {
      std::cout << "  not started yet (the server starts it with the next event)\n";
    } else if (s->failures > 0) {
      std::cout << "  failing: " << s->failures << " attempts at the next event (" << s->last_error
                << "), next at " << time_or_dash(s->next_attempt_at_ms) << "\n";
    } else {
      std::cout << "  at event " << s->position << ", " << s->delivered << " runs ok\n";
    }
  }
  return kExitOk;
}

int run_runs(const std::vector<std::string>& argv) {
  const std::string command = "triggers runs";
  std::vector<OptionSpec> specs;
  specs.push_back({"trigger", true, "only this trigger's runs"});
  specs.push_back({"failed", false, "only runs that failed (retrying, dead, retry)"});
  specs.push_back({"limit", true, "at most N runs (default 50)"});
  specs.push_back({"before", true, "runs older than run ID (the next page)"});
  specs.push_back({"json", false, "one JSON array, for scripts"});
  specs = with_common(std::move(specs));
  ParsedArgs args;
  if (auto done = parse_command(argv, specs, command, kRunsHelp, args)) return *done;
  store::RunFilter f;
  f.trigger = args.value("trigger");
  f.failed_only = args.flag("failed");
  if (auto v = args.value("limit")) {
    auto n = parse_int(*v, "--limit");
    if (!n) return usage_error(command, n.error().message);
    f.limit = static_cast<int>(std::clamp<int64_t>(*n, 1, 10000));
  }
  if (auto v = args.value("before")) {
    auto n = parse_int(*v, "--before");
    if (!n) return usage_error(command, n.error().message);
    f.before_id = *n;
  }
  auto opened = open_store(args);
  if (!opened) return open_failed(command, opened.error());
  auto runs = opened->store->runs(f);
  if (!runs) return runtime_error(command, runs.error().message);
  if (args.flag("json")) {
    auto out = ojson::array();
    for (const auto& r : *runs) out.push_back(run_json(r));
    std::cout << out.dump(2) << "\n";
    return kExitOk;
  }
  if (runs->empty()) {
    std::cout << (f.failed_only ? "no failed runs\n" : "no runs yet\n");
    return kExitOk;
  }
  for (const auto& r : *runs) print_run(r);
  return kExitOk;
}

int run_retry(const std::vector<std::string>& argv) {
  const std::string command = "triggers retry";
  std::vector<OptionSpec> specs;
  specs.push_back({"all", false, "every dead run (of --trigger alone, when given)"});
  specs.push_back({"trigger", true, "with --all: only this trigger's dead runs"});
  specs = with_common(std::move(specs));
  ParsedArgs args;
  if (auto done = parse_command(argv, specs, command, kRetryHelp, args, true)) return *done;
  std::vector<int64_t> ids;
  for (const auto& p : args.positionals) {
    auto n = parse_int(p, "a run id");
    if (!n) return usage_error(command, n.error().message);
    ids.push_back(*n);
  }
  const bool all = args.flag("all");
  if (ids.empty() == !all) {
    return usage_error(command,
                       "give the run ids to retry (hookmcp triggers runs --failed), or "
                       "--all");
  }
  if (args.value("trigger") && !all) return usage_error(command, "--trigger goes with --all");
  auto opened = open_store(args);
  if (!opened) return open_failed(command, opened.error());
  auto marked = opened->store->ask_retry(ids, args.value("trigger").value_or(""));
  if (!marked) return runtime_error(command, marked.error().message);
  if (marked->empty()) {
    std::cout << "no dead run to retry" << (ids.empty() ? "" : " among those ids")
              << " (only dead runs are retried: see hookmcp triggers runs --failed)\n";
    return ids.empty() ? kExitOk : kExitFailure;
  }
  for (const auto& r : *marked) {
    std::cout << "run " << r.id << " (" << r.trigger << ", event " << r.event_id
              << "): asked to run again\n";
  }
  std::cout << marked->size() << (marked->size() == 1 ? " run" : " runs")
            << " marked; the running server takes them up within a second (hookmcp triggers "
               "runs shows how they went)\n";
  return kExitOk;
}

}  // namespace

int run_triggers(const std::vector<std::string>& args) {
  if (args.empty() || args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
    std::cout << kHelp;
    return args.empty() ? kExitUsage : kExitOk;
  }
  std::vector<std::string> rest(args.begin() + 1, args.end());
  if (args[0] == "list" || args[0] == "ls") return run_list(rest);
  if (args[0] == "runs") return run_runs(rest);
  if (args[0] == "retry") return run_retry(rest);
  return usage_error("triggers", "unknown command \"" + args[0] + "\" (list, runs or retry)");
}

}  // namespace hookmcp::app
