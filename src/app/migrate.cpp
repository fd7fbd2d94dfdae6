// hookmcp migrate: copies a SQLite database into PostgreSQL, every event byte for byte with its
// id and ack, then the MCP Events subscriptions. Resumable: it goes on from the highest id the
// destination holds, and an event already there is passed over.
#include <iostream>

#include "commands.hpp"
#include "hookmcp/config/config.hpp"
#include "hookmcp/core/clock.hpp"
#include "hookmcp/store/store.hpp"
#include "reading.hpp"

namespace hookmcp::app {

namespace {

constexpr const char* kHelp = R"(Usage: hookmcp migrate --from FILE --to postgres://... [OPTIONS]

Copies a hookmcp SQLite database into a PostgreSQL database: every event with its id, headers,
body (byte for byte) and acknowledgement, then the MCP Events webhook subscriptions with their
delivery positions. The destination's tables are made if needed. Run it again after an
interruption: it goes on from the highest id the destination holds, and what is already there is
not copied twice. Prints how many events it copied and skipped.

Stop the servers that write the SQLite file first, so that nothing arrives there meanwhile (or
run it again once they are stopped, to copy what came in since).

Examples:
  hookmcp migrate --from ~/.local/share/hookmcp/events.db --to postgres://hookmcp@db/hookmcp
)";

constexpr int kPage = 500;

int fail(const std::string& message) {
  std::cerr << "hookmcp migrate: " << message << "\n";
  return kExitFailure;
}

}  // namespace

int run_migrate(const std::vector<std::string>& argv) {
  std::vector<OptionSpec> specs = {
      {"from", true, "the SQLite database file to copy from"},
      {"to", true, "the PostgreSQL database to copy into (postgres://...)"},
      {"log-level", true, "trace, debug, info, warn, error, critical or off (default warn)"},
  };
  auto args = parse_args(argv, specs, "migrate");
  if (!args) {
    std::cerr << "hookmcp migrate: " << args.error().message << "\n";
    return kExitUsage;
  }
  if (args->help) {
    std::cout << kHelp << format_options(specs);
    return kExitOk;
  }
  auto from = args->value("from");
  auto to = args->value("to");
  if (!from || !to || !args->positionals.empty()) {
    std::cerr << "hookmcp migrate: --from FILE and --to postgres://... are required\n";
    return kExitUsage;
  }
  if (!store::is_postgres(*to) || store::is_postgres(*from)) {
    std::cerr << "hookmcp migrate: --from is a SQLite file and --to a postgres:// URL\n";
    return kExitUsage;
  }
  setup_logging(args->value("log-level").value_or("warn"));
  SystemClock clock;
  auto source = store::open_sqlite_reader(*from);
  if (!source) return fail(source.error().message);
  store::Options options;
  options.path = *to;
  options.clock = &clock;
  auto target = store::open_postgres(options);
  if (!target) return fail(target.error().message);
  auto& src = **source;
  auto& dst = **target;

  auto resumed = dst.max_id();
  if (!resumed) return fail(resumed.error().message);
  auto last = src.max_id();
  if (!last) return fail(last.error().message);
  std::cerr << "copying events " << *resumed + 1 << " to " << *last << " from " << *from << " into "
            << config::shown_database(*to) << "\n";
  int64_t copied = 0;
  int64_t skipped = 0;
  int64_t cursor = *resumed;
  for (;;) {
    store::EventFilter page;
    page.after_id = cursor;
    page.oldest_first = true;
    page.limit = kPage;
    auto summaries = src.list(page);
    if (!summaries) return fail(summaries.error().message);
    if (summaries->empty()) break;
    std::vector<Event> whole;
    whole.reserve(summaries->size());
    for (const auto& s : *summaries) {
      auto e = src.get(s.id);
      if (!e) return fail(e.error().message);
      if (*e) whole.push_back(std::move(**e));
    }
    auto added = dst.import_events(whole);
    if (!added) return fail(added.error().message);
    copied += *added;
    skipped += static_cast<int64_t>(whole.size()) - *added;
    cursor = summaries->back().id;
    std::cerr << "  through id " << cursor << ": " << copied << " copied\n";
  }
  auto subscriptions = src.subscriptions();
  if (!subscriptions) return fail(subscriptions.error().message);
  for (const auto& s : *subscriptions) {
    if (auto saved = dst.save_subscription(s); !saved) return fail(saved.error().message);
  }
  dst.close();
  std::cout << "migrated " << copied << " events (" << skipped << " already there) and "
            << subscriptions->size() << " subscriptions into " << config::shown_database(*to)
            << "\n";
  return kExitOk;
}

}  // namespace hookmcp::app
