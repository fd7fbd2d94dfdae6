// `hookmcp events`: the stored events for a person at a terminal, or a script with --json.
//
// Everything here reads the database through the store's reader API, so it runs safely beside a
// `hookmcp serve` (or `stdio`) that is writing to the same file.
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <iostream>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli.hpp"
#include "commands.hpp"
#include "event_filter.hpp"
#include "hookmcp/core/event.hpp"
#include "hookmcp/core/json.hpp"
#include "hookmcp/core/time.hpp"
#include "hookmcp/store/follower.hpp"
#include "hookmcp/store/store.hpp"
#include "hookmcp/view/event_view.hpp"
#include "reading.hpp"
#include "terminal.hpp"

namespace hookmcp::app {

namespace {

constexpr const char* kEventsHelp = R"(Usage: hookmcp events COMMAND [OPTIONS]

Shows the stored webhook events, from the same database that `hookmcp serve`
writes. Safe to run while the server is running.

Commands:
  list            the latest events, newest first
  show ID         one event: its summary, headers and body
  tail            the last 10 events, then each new one as it is stored
                  (Ctrl-C to stop)
  search QUERY    full-text search over bodies, types, actions and sources
  replay ID       send one event on to a URL, as its provider sent it

Examples:
  hookmcp events list
  hookmcp events list --source github --since 2h
  hookmcp events show 42
  hookmcp events tail --source stripe --json
  hookmcp events search "payment_intent.succeeded"

Run 'hookmcp events COMMAND --help' for a command's options.
)";

constexpr const char* kListHelp = R"(Usage: hookmcp events list [OPTIONS]

Prints the latest events, newest first, as a table. --json prints them as
{"events": [...]}, with the same fields as the MCP list_events tool.

Examples:
  hookmcp events list
  hookmcp events list --source github --type pull_request --action opened
  hookmcp events list --since 2026-11-29T08:00:00Z --until 1h --status pending
  hookmcp events list --json --limit 200 | jq '.events[].id'

Options:
)";

constexpr const char* kShowHelp = R"(Usage: hookmcp events show ID [OPTIONS]

Prints one event: its summary, its request headers (credentials were redacted
when it was stored) and its body: indented when it is JSON, as text when it is
text. A binary body is described; --json gives it base64-encoded. A form body
(Mailgun, SendGrid) or a Pub/Sub push (Gmail) is also shown as its fields.
--json prints the event as the MCP get_event tool does: summary fields, headers,
content_type, payload and payload_encoding (json, text or base64).

Examples:
  hookmcp events show 42
  hookmcp events show 42 --json | jq .payload.pull_request.title

Options:
)";

constexpr const char* kTailHelp = R"(Usage: hookmcp events tail [OPTIONS]

Prints the last events (10, or --limit), then each new one as it is stored,
until Ctrl-C. --json prints one JSON object per line. There is no --until: what
tail follows is received from now on; `hookmcp events list --until` shows the
events before a time.

Examples:
  hookmcp events tail
  hookmcp events tail --source github --type push
  hookmcp events tail --json | jq -c '{id, type}'

Options:
)";

constexpr const char* kSearchHelp = R"(Usage: hookmcp events search QUERY [OPTIONS]

Full-text search over each event's body, type, action and source, best match
first among the 5,000 newest matches. QUERY is words that must all appear,
"quoted phrases", word* for a prefix, and OR between alternatives. The table
shows an excerpt with the matched words between « and ».

Examples:
  hookmcp events search refund
  hookmcp events search '"merge conflict" OR rebase' --source github
  hookmcp events search 'deploy*' --since 7d --json

Options:
)";

constexpr int kListDefaultLimit = 20;
constexpr int kTailDefaultBacklog = 10;

// ---------------------------------------------------------------------------------------------
// Arguments

// ---------------------------------------------------------------------------------------------
// The commands

// Parses the arguments of one subcommand; on failure or --help the exit code to return.
struct Parsed {
  std::optional<ParsedArgs> args;
  int exit_code = kExitOk;
};

Parsed parse(const std::vector<std::string>& argv, const std::vector<OptionSpec>& specs,
             const std::string& command, const char* help, size_t min_positionals,
             size_t max_positionals, const char* positional_name) {
  auto args = parse_args(argv, specs, "events " + command);
  if (!args) return {std::nullopt, usage_error("events " + command, args.error().message)};
  if (args->help) {
    std::cout << help << format_options(specs);
    return {std::nullopt, kExitOk};
  }
  if (args->positionals.size() > max_positionals) {
    return {std::nullopt,
            usage_error("events " + command, "unexpected argument \"" +
                                                 args->positionals[max_positionals] +
                                                 "\" (see hookmcp events " + command + " --help)")};
  }
  if (args->positionals.size() < min_positionals) {
    return {std::nullopt,
            usage_error("events " + command, std::string("missing ") + positional_name +
                                                 " (see hookmcp events " + command + " --help)")};
  }
  return {std::move(*args), kExitOk};
}

int run_list(const std::vector<std::string>& argv) {
  auto specs = with_common(filter_options("how many, 1 to 200 (default 20)"));
  auto p = parse(argv, specs, "list", kListHelp, 0, 0, "");
  if (!p.args) return p.exit_code;
  auto filter = parse_filter(*p.args, kListDefaultLimit, 1);
  if (!filter) return usage_error("events list", filter.error().message);
  auto opened = open_store(*p.args);
  if (!opened) return open_failed("events list", opened.error());
  auto events = opened->store->list(*filter);
  if (!events) return runtime_error("events list", events.error().message);
  if (p.args->flag("json")) {
    json out = {{"events", json::array()}};
    for (const auto& e : *events) out["events"].push_back(view::summary_json<json>(e));
    emit(dump(out, 2) + "\n");
    return kExitOk;
  }
  if (events->empty()) {
    std::cerr << no_events_hint(*filter, opened->path);
    return kExitOk;
  }
  Table table(kColumns);
  std::vector<std::vector<std::string>> rows;
  for (const auto& e : *events) rows.push_back(Table::row_of(e));
  for (const auto& r : rows) table.fit(r);
  std::string text = table.header_line();
  for (const auto& r : rows) text += table.line(r);
  emit(text);
  return kExitOk;
}

int run_show(const std::vector<std::string>& argv) {
  auto specs = with_common({{"json", false, "print the event as JSON for scripts"}});
  auto p = parse(argv, specs, "show", kShowHelp, 1, 1, "the event ID");
  if (!p.args) return p.exit_code;
  std::string id_text = p.args->positionals[0];
  if (!id_text.empty() && id_text[0] == '#') id_text.erase(0, 1);
  auto id = parse_int(id_text, "ID");
  if (!id || *id < 1) {
    return usage_error("events show", "ID: expected an event id (a number from 1), got \"" +
                                          p.args->positionals[0] + "\"");
  }
  auto opened = open_store(*p.args);
  if (!opened) return open_failed("events show", opened.error());
  auto event = opened->store->get(*id);
  if (!event) return runtime_error("events show", event.error().message);
  if (!*event) {
    return runtime_error("events show", "no event " + std::to_string(*id) + " in " + opened->path +
                                            " (`hookmcp events list` shows the latest ids)");
  }
  const Event& e = **event;
  if (p.args->flag("json")) {
    auto shown = view::event_json<json>(e);
    if (!shown) return runtime_error("events show", shown.error().message);
    emit(dump(*shown, 2) + "\n");
    return kExitOk;
  }
  std::string out;
  auto field = [&](const std::string& name, const std::string& value) {
    std::string left = "  " + name;
    left.resize(std::max<size_t>(left.size() + 1, 16), ' ');
    out += left + printable(value) + "\n";
  };
  out += "Event " + std::to_string(e.id) + "\n";
  field("received", format_rfc3339_ms(e.received_at_ms));
  field("source", e.source + " (provider " + e.provider + ")");
  field("type", e.type.empty() ? "-" : e.type);
  if (!e.action.empty()) field("action", e.action);
  field("delivery", e.delivery_id);
  field("verified", e.source == kNoticeSource ? "written by hookmcp's trigger " + e.action
                    : e.verified              ? std::string("yes, the signature matched")
                                              : std::string("no (unsigned source)"));
  field("status", e.acked_at_ms ? "acked at " + format_rfc3339_ms(*e.acked_at_ms) +
                                      (e.ack_note.empty() ? "" : ": " + e.ack_note)
                                : "pending");
  field("size",
        std::to_string(e.size) + " bytes" + (e.content_type.empty() ? "" : ", " + e.content_type));
  out += "\nHeaders\n";
  json headers = json::parse(e.headers_json, nullptr, false);
  if (headers.is_object() && !headers.empty()) {
    for (const auto& [name, value] : headers.items()) {
      out += "  " + printable(name) + ": " +
             printable(value.is_string() ? value.get<std::string>() : dump(value)) + "\n";
    }
  } else {
    out += "  (none)\n";
  }
  out += "\nBody\n";
  out += body_for_terminal(e);
  // A form's fields (Mailgun, SendGrid), or Pub/Sub's decoded message (Gmail), as get_event
  // gives them in payload_fields.
  if (auto shown = view::event_json<json>(e); shown && shown->contains("payload_fields")) {
    out += "\nFields\n";
    for (const auto& [name, value] : (*shown)["payload_fields"].items()) {
      std::string text = value.is_string() ? value.get<std::string>() : dump(value);
      out += "  " + printable(name) + ": " + printable(text.substr(0, 2000)) +
             (text.size() > 2000 ? " ..." : "") + "\n";
    }
  }
  emit(out);
  return kExitOk;
}

std::atomic<bool> g_stop{false};

extern "C" void on_stop_signal(int /*signal*/) { g_stop.store(true); }

// Waits up to `ms` for a stop: a signal, or stdout closing (the reader of a pipe exited, the
// terminal went away). Returns false when it is time to stop.
bool wait_or_stop(int ms) {
  if (g_stop.load()) return false;
  // No events asked for: poll() still reports POLLERR/POLLHUP, which is exactly a closed
  // stdout; a signal interrupts it at once.
  pollfd out{STDOUT_FILENO, 0, 0};
  int rc = ::poll(&out, 1, ms);
  if (rc > 0 && (out.revents & (POLLERR | POLLHUP | POLLNVAL)) != 0) return false;
  return !g_stop.load();
}

// Whether the arguments (before any "--") give --until.
bool gives_until(const std::vector<std::string>& argv) {
  for (const auto& arg : argv) {
    if (arg == "--") return false;
    if (arg == "--until" || arg.rfind("--until=", 0) == 0) return true;
  }
  return false;
}

int run_tail(const std::vector<std::string>& argv) {
  auto specs = filter_options("how many past events to print first, 0 to 200 (default 10)");
  // Everything tail follows is received after any --until: the filter would print the backlog
  // and then nothing, forever. Refused, with where to go instead.
  specs.erase(std::remove_if(specs.begin(), specs.end(),
                             [](const OptionSpec& s) { return s.name == "until"; }),
              specs.end());
  specs = with_common(std::move(specs));
  if (gives_until(argv)) {
    return usage_error("events tail",
                       "--until does not go with tail, which follows the events received from "
                       "now on; for the events before a time: hookmcp events list --until TIME");
  }
  auto p = parse(argv, specs, "tail", kTailHelp, 0, 0, "");
  if (!p.args) return p.exit_code;
  auto filter = parse_filter(*p.args, kTailDefaultBacklog, 0);
  if (!filter) return usage_error("events tail", filter.error().message);
  auto opened = open_store(*p.args);
  if (!opened) return open_failed("events tail", opened.error());
  store::Store& store = *opened->store;
  bool as_json = p.args->flag("json");

  struct sigaction action {};
  action.sa_handler = on_stop_signal;
  sigemptyset(&action.sa_mask);
  // No SA_RESTART: the signal must cut the poll() short.
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);

  // The newest id first, then the backlog up to it: whatever is stored after that snapshot is
  // printed by the follower, so nothing falls between the two.
  auto newest = store.max_id();
  if (!newest) return runtime_error("events tail", newest.error().message);
  int64_t cursor = *newest;
  std::vector<Event> backlog;
  if (filter->limit > 0) {
    store::EventFilter f = *filter;
    f.before_id = cursor + 1;
    auto events = store.list(f);
    if (!events) return runtime_error("events tail", events.error().message);
    backlog.assign(events->rbegin(), events->rend());
  }

  Table table(kColumns);
  // Fixed minimums for the columns of rows yet to come, so that most later rows line up.
  table.fit({"", "2026-01-01T00:00:00.000Z", std::string(10, ' '), std::string(28, ' '), "",
             "1023.9 KiB", "pending"});
  auto print = [&](const std::vector<Event>& events) {
    std::string text;
    for (const auto& e : events) {
      text += as_json ? dump(view::summary_json<json>(e)) + "\n" : table.line(Table::row_of(e));
    }
    return text.empty() || emit(text);
  };
  if (!as_json) {
    for (const auto& e : backlog) table.fit(Table::row_of(e));
    if (!emit(table.header_line())) return kExitOk;
  }
  if (!print(backlog)) return kExitOk;
  if (!as_json) {
    std::cerr << "following " << config::shown_database(opened->path)
              << " for new events; Ctrl-C to stop\n";
  }

  // The follower prints from its own thread; the stop signals stay with this one, so that they
  // cut its poll() short.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  sigset_t previous;
  pthread_sigmask(SIG_BLOCK, &stop_signals, &previous);
  constexpr int kPollMs = 100;
  store::FollowOptions follow;
  follow.interval = std::chrono::milliseconds(kPollMs);
  // A file's commits wake the follower through its directory; PostgreSQL's are looked for.
  if (!store::is_postgres(opened->path)) follow.watch_path = opened->path;
  follow.filter = *filter;
  follow.page = 200;
  follow.after_id = cursor;
  std::atomic<bool> closed{false};
  auto follower = store::Follower::start(
      store, follow,
      [&](const std::vector<Event>& events) {
        if (!closed.load() && !print(events)) closed.store(true);
      },
      [](const std::optional<Error>& error) {
        // The server may hold the file briefly (a checkpoint, a migration): it tries again.
        if (error) std::cerr << "hookmcp events tail: " << error->message << " (retrying)\n";
      });
  pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  if (!follower) return runtime_error("events tail", follower.error().message);
  while (!closed.load() && wait_or_stop(kPollMs)) {
  }
  (*follower)->stop();
  return kExitOk;
}

int run_search(const std::vector<std::string>& argv) {
  auto specs = with_common(filter_options("how many, 1 to 200 (default 20)"));
  // Unquoted words are one query, as a person typing `search merge conflict` means.
  auto p = parse(argv, specs, "search", kSearchHelp, 1, SIZE_MAX, "the search QUERY");
  if (!p.args) return p.exit_code;
  std::string query;
  for (const auto& word : p.args->positionals) query += (query.empty() ? "" : " ") + word;
  auto filter = parse_filter(*p.args, kListDefaultLimit, 1);
  if (!filter) return usage_error("events search", filter.error().message);
  auto opened = open_store(*p.args);
  if (!opened) return open_failed("events search", opened.error());
  auto page = opened->store->search(query, *filter, 0);
  if (!page) {
    if (page.error().code == ErrorCode::kInvalidArgument) {
      return usage_error("events search", page.error().message);
    }
    return runtime_error("events search", page.error().message);
  }
  const auto& hits = page->hits;
  if (p.args->flag("json")) {
    json out = {{"events", json::array()}};
    for (const auto& h : hits) out["events"].push_back(view::hit_json<json>(h.event, h.snippet));
    out["payload_notice"] = view::kSnippetsNotice;
    emit(dump(out, 2) + "\n");
    return kExitOk;
  }
  if (hits.empty()) {
    std::cerr << "no events match \"" << query << "\" in " << opened->path << "\n";
    return kExitOk;
  }
  auto columns = kColumns;
  columns.emplace_back("MATCH");
  Table table(columns);
  std::vector<std::vector<std::string>> rows;
  for (const auto& h : hits) {
    auto row = Table::row_of(h.event);
    // One line per hit: the excerpt's line breaks and indentation become single spaces.
    std::string snippet;
    for (char c : h.snippet) {
      bool space = c == ' ' || c == '\n' || c == '\r' || c == '\t';
      if (space && (snippet.empty() || snippet.back() == ' ')) continue;
      snippet += space ? ' ' : c;
    }
    row.push_back(printable(snippet));
    rows.push_back(std::move(row));
  }
  for (const auto& r : rows) table.fit(r);
  std::string text = table.header_line();
  for (const auto& r : rows) text += table.line(r);
  emit(text);
  return kExitOk;
}

}  // namespace

int run_events(const std::vector<std::string>& args) {
  if (args.empty()) {
    std::cerr << kEventsHelp;
    return kExitUsage;
  }
  const std::string& command = args[0];
  std::vector<std::string> rest(args.begin() + 1, args.end());
  if (command == "-h" || command == "--help" || command == "help") {
    std::cout << kEventsHelp;
    return kExitOk;
  }
  if (command == "list" || command == "ls") return run_list(rest);
  if (command == "show" || command == "get") return run_show(rest);
  if (command == "tail" || command == "follow") return run_tail(rest);
  if (command == "search") return run_search(rest);
  if (command == "replay") return run_replay(rest);
  std::cerr << "hookmcp events: unknown command \"" << command
            << "\": expected list, show, tail, search or replay (see hookmcp events --help)\n";
  return kExitUsage;
}

}  // namespace hookmcp::app
