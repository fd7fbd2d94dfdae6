// `hookmcp connections`: the webhooks hookmcp registers itself. `add` and `remove` edit the
// config file (and `remove` takes the registration down at the provider); `login` runs OAuth
// for a person at a browser and stores the refresh token in the database; `list` shows each
// connection's state, read from the database, beside a running server.
#include <fstream>
#include <iostream>

#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "event_filter.hpp"
#include "hookmcp/connections/connections.hpp"
#include "hookmcp/core/clock.hpp"
#include "reading.hpp"

namespace hookmcp::app {

namespace {

using ojson = nlohmann::ordered_json;

constexpr const char* kHelp = R"(Usage: hookmcp connections COMMAND [OPTIONS]

Connections are accounts at GitHub, Google (Calendar, Gmail) and Microsoft (Graph) whose webhooks
hookmcp registers, keeps alive and reads itself ("connections" in the config). A Calendar or
Gmail notification says only that something changed: hookmcp fetches what, and stores each
changed calendar event and each new message as an event of its own.

Commands:
  list            each connection, its state at the provider and when it expires
  add NAME KIND   add a connection to the config file
  remove NAME     take its webhook down at the provider and out of the config file
  login NAME      sign in to Google or Microsoft and keep the refresh token

Run 'hookmcp connections COMMAND --help' for a command's options.
)";

constexpr const char* kListHelp = R"(Usage: hookmcp connections list [OPTIONS]

Prints each connection of the config: its kind and target, the source it feeds, its state
(pending, active, failed with the reason), the id of what is registered at the provider and when
that expires. Reads the database: safe beside a running server.

Examples:
  hookmcp connections list
  hookmcp connections list --json

Options:
)";

constexpr const char* kAddHelp = R"(Usage: hookmcp connections add NAME KIND [OPTIONS]

Adds connection NAME to the config file (--config or HOOKMCP_CONFIG) and checks the result.
KIND is github, google-calendar, gmail or msgraph. A running server takes it up on SIGHUP:
it registers the webhook and keeps it alive.

Examples:
  hookmcp connections add gh github --repository octo/hello --events push,pull_request \
      --token env:GITHUB_TOKEN --public-url https://hooks.example.com
  hookmcp connections add cal google-calendar --client-id ID --client-secret env:GOOGLE_SECRET
  hookmcp connections add mail msgraph --client-id ID --resource "me/mailFolders('Inbox')/messages"

Options:
)";

constexpr const char* kRemoveHelp = R"(Usage: hookmcp connections remove NAME [OPTIONS]

Takes connection NAME out of the config file, deletes its webhook, channel, watch or
subscription at the provider, and forgets its state. Send the running server SIGHUP so that it
stops reading it too.

Examples:
  hookmcp connections remove gh

Options:
)";

constexpr const char* kLoginHelp = R"(Usage: hookmcp connections login NAME|KIND [OPTIONS]

Signs in to Google or Microsoft for connection NAME (or for every connection of KIND without a
refresh_token in the config) and stores the refresh token in the database, readable by its owner
only. Google: a browser opens the sign-in page and comes back to this machine (OAuth with PKCE,
on 127.0.0.1); Microsoft: a code to enter on another device. A running server uses the new token
within a second.

Examples:
  hookmcp connections login cal
  hookmcp connections login msgraph --device

Options:
)";

std::string target_of(const config::Connection& c) {
  switch (c.kind) {
    case config::Connection::Kind::kGithub:
      return c.repository.empty() ? "organization " + c.organization : "repository " + c.repository;
    case config::Connection::Kind::kGoogleCalendar:
      return "calendar " + c.calendar;
    case config::Connection::Kind::kGmail:
      return "mailbox, on " + c.topic;
    case config::Connection::Kind::kMsgraph:
      return c.resource;
  }
  return {};
}

// The config file the connection commands edit.
Result<std::string> config_file(const ParsedArgs& args) {
  if (auto c = args.value("config")) return *c;
  if (auto e = config::process_env()("HOOKMCP_CONFIG"); e && !e->empty()) return *e;
  return make_error(ErrorCode::kInvalidArgument,
                    "name the config file to edit with --config or HOOKMCP_CONFIG");
}

Result<ojson> read_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) return ojson::object();  // a new file
  auto doc = ojson::parse(in, nullptr, false);
  if (!doc.is_object()) {
    return make_error(ErrorCode::kInvalidArgument, path + " is not a JSON object");
  }
  return doc;
}

Status write_file(const std::string& path, const ojson& doc) {
  const std::string temp = path + ".hookmcp-new";
  {
    std::ofstream out(temp, std::ios::trunc);
    out << doc.dump(2) << "\n";
    if (!out.flush()) return make_error(ErrorCode::kIo, "cannot write " + temp);
  }
  if (std::rename(temp.c_str(), path.c_str()) != 0) {
    return make_error(ErrorCode::kIo, "cannot replace " + path);
  }
  return {};
}

// Writes `doc` and checks the config it makes; the file goes back as it was when it is wrong.
int write_checked(const std::string& command, const ParsedArgs& args, const std::string& path,
                  const ojson& before, const ojson& doc) {
  if (auto s = write_file(path, doc); !s) return runtime_error(command, s.error().message);
  auto loaded = load_config_without_secrets(args);
  if (!loaded) {
    (void)write_file(path, before);
    return usage_error(command, loaded.error().message + " (" + path + " is unchanged)");
  }
  return kExitOk;
}

int run_list(const std::vector<std::string>& argv) {
  const std::string command = "connections list";
  std::vector<OptionSpec> specs;
  specs.push_back({"json", false, "one JSON array, for scripts"});
  specs = with_common(std::move(specs));
  ParsedArgs args;
  if (auto done = parse_command(argv, specs, command, kListHelp, args)) return *done;
  auto config = load_config_without_secrets(args);
  if (!config) return usage_error(command, config.error().message);
  std::map<std::string, std::string> states;
  if (auto opened = open_store(args); opened) {
    if (auto all = opened->store->connection_states(); all) states = std::move(*all);
  }
  auto out = ojson::array();
  for (const auto& [name, c] : config->connections) {
    auto it = states.find(name);
    connections::State s =
        it == states.end() ? connections::State{} : connections::State::from_json(it->second);
    ojson j = {
        {"name", name}, {"kind", c.kind_name()}, {"target", target_of(c)}, {"source", c.source}};
    const nlohmann::json state = s.to_public_json();
    for (const auto& [k, v] : state.items()) j[k] = v;
    out.push_back(std::move(j));
  }
  if (args.flag("json")) {
    std::cout << out.dump(2) << "\n";
    return kExitOk;
  }
  if (out.empty()) {
    std::cout << "no connections (add one with hookmcp connections add: see the README, "
                 "\"Connections\")\n";
    return kExitOk;
  }
  for (const auto& j : out) {
    std::cout << j["name"].get<std::string>() << "  " << j["kind"].get<std::string>() << "  "
              << j["target"].get<std::string>() << "  -> source " << j["source"].get<std::string>()
              << "\n  " << j["status"].get<std::string>();
    if (!j["remote_id"].get<std::string>().empty()) {
      std::cout << ", registered as " << j["remote_id"].get<std::string>();
    }
    if (j["expires_at"].is_string())
      std::cout << ", expires " << j["expires_at"].get<std::string>();
    std::cout << "\n";
    if (j.contains("reason")) std::cout << "  reason: " << j["reason"].get<std::string>() << "\n";
  }
  return kExitOk;
}

int run_add(const std::vector<std::string>& argv) {
  const std::string command = "connections add";
  // Each option is the field of the same name, with _ for -.
  const std::vector<std::pair<std::string, std::string>> fields = {
      {"source", "the source it feeds (default: NAME)"},
      {"repository", "github: OWNER/NAME"},
      {"organization", "github: an organization"},
      {"events", "github: the events, comma-separated (default: all)"},
      {"token", "github: env:NAME of a token that may manage webhooks"},
      {"client-id", "Google, Microsoft: the OAuth client id"},
      {"client-secret", "Google, Microsoft: env:NAME of the client secret"},
      {"refresh-token", "Google, Microsoft: env:NAME (or run hookmcp connections login)"},
      {"calendar", "google-calendar: the calendar (default: primary)"},
      {"topic", "gmail: projects/PROJECT/topics/TOPIC"},
      {"resource", "msgraph: what to watch, e.g. me/messages"},
      {"tenant", "msgraph: the tenant (default: common)"},
      {"api-url", "the provider's API base URL"},
      {"token-url", "the OAuth token endpoint"}};
  std::vector<OptionSpec> specs;
  specs.reserve(fields.size() + 1);
  for (const auto& [name, help] : fields) specs.push_back({name, true, help});
  specs.push_back({"public-url", true, "set public_url, where providers reach this server"});
  specs = with_common(std::move(specs));
  ParsedArgs args;
  if (auto done = parse_command(argv, specs, command, kAddHelp, args, true)) return *done;
  if (args.positionals.size() != 2) return usage_error(command, "give NAME and KIND");
  auto path = config_file(args);
  if (!path) return usage_error(command, path.error().message);
  auto doc = read_file(*path);
  if (!doc) return usage_error(command, doc.error().message);
  const ojson before = *doc;
  const std::string& name = args.positionals[0];
  if (doc->contains("connections") && (*doc)["connections"].contains(name)) {
    return usage_error(command, "connection " + name + " is already in " + *path);
  }
  ojson c = {{"kind", args.positionals[1]}};
  for (const auto& [option, help] : fields) {
    auto v = args.value(option);
    if (!v) continue;
    std::string key = option;
    for (auto& ch : key) ch = ch == '-' ? '_' : ch;
    if (key == "events") {
      ojson list = ojson::array();
      size_t at = 0;
      while (at <= v->size()) {
        size_t comma = v->find(',', at);
        std::string one =
            v->substr(at, comma == std::string::npos ? std::string::npos : comma - at);
        if (!one.empty()) list.push_back(one);
        if (comma == std::string::npos) break;
        at = comma + 1;
      }
      c[key] = list;
    } else {
      c[key] = *v;
    }
  }
  (*doc)["connections"][name] = c;
  if (auto u = args.value("public-url")) (*doc)["public_url"] = *u;
  ParsedArgs checking = args;
  checking.values["config"] = *path;
  if (int code = write_checked(command, checking, *path, before, *doc); code != kExitOk) {
    return code;
  }
  std::cout << "connection " << name << " added to " << *path
            << "; send the running server SIGHUP (or start it) to register it"
            << (args.positionals[1] == "github" ? "" : ", after hookmcp connections login " + name)
            << "\n";
  return kExitOk;
}

int run_remove(const std::vector<std::string>& argv) {
  const std::string command = "connections remove";
  std::vector<OptionSpec> specs = with_common({});
  ParsedArgs args;
  if (auto done = parse_command(argv, specs, command, kRemoveHelp, args, true)) return *done;
  if (args.positionals.size() != 1) return usage_error(command, "give the connection's NAME");
  const std::string& name = args.positionals[0];
  auto config = config::load(overrides_from(args), config::process_env());
  if (!config) return usage_error(command, config.error().message);
  auto it = config->connections.find(name);
  if (it == config->connections.end()) {
    return usage_error(command, "no connection " + name + " in the config");
  }
  auto opened = open_store(args);
  if (!opened) return open_failed(command, opened.error());
  auto states = opened->store->connection_states();
  if (!states) return runtime_error(command, states.error().message);
  connections::State state;
  if (auto s = states->find(name); s != states->end()) {
    state = connections::State::from_json(s->second);
  }
  if (!state.remote_id.empty()) {
    if (auto s = connections::unregister(it->second, state, SystemClock().now_ms()); !s) {
      return runtime_error(command, "cannot take " + name + " down at the provider: " +
                                        s.error().message + " (nothing was changed)");
    }
    std::cout << "removed " << it->second.kind_name() << " registration " << state.remote_id
              << " at the provider\n";
  }
  if (auto r = opened->store->save_connection_state(name, ""); !r) {
    return runtime_error(command, r.error().message);
  }
  if (auto path = config_file(args); path) {
    auto doc = read_file(*path);
    if (doc && doc->contains("connections")) {
      const ojson before = *doc;
      (*doc)["connections"].erase(name);
      if (int code = write_checked(command, args, *path, before, *doc); code != kExitOk) {
        return code;
      }
      std::cout << "connection " << name << " taken out of " << *path
                << "; send the running server SIGHUP\n";
    }
  }
  return kExitOk;
}

int run_login(const std::vector<std::string>& argv) {
  const std::string command = "connections login";
  std::vector<OptionSpec> specs;
  specs.push_back({"device", false, "a code to enter on another device (Microsoft's default)"});
  specs.push_back({"browser", false, "a browser on this machine, OAuth with PKCE (Google's)"});
  specs.push_back({"timeout", true, "seconds to wait for the person (default 600)"});
  specs = with_common(std::move(specs));
  ParsedArgs args;
  if (auto done = parse_command(argv, specs, command, kLoginHelp, args, true)) return *done;
  if (args.positionals.size() != 1) return usage_error(command, "give a connection NAME or KIND");
  const std::string& which = args.positionals[0];
  auto config = config::load(overrides_from(args), config::process_env());
  if (!config) return usage_error(command, config.error().message);
  std::vector<const config::Connection*> targets;
  for (const auto& [name, c] : config->connections) {
    if (name == which || (c.kind_name() == which && c.refresh_token.value.empty())) {
      targets.push_back(&c);
    }
  }
  if (targets.empty()) {
    return usage_error(command, "no connection named " + which +
                                    " and none of that kind without a refresh_token in the config");
  }
  const config::Connection& c = *targets.front();
  if (!c.uses_oauth()) {
    return usage_error(command, "a github connection signs in with its token: nothing to do");
  }
  for (const auto* t : targets) {
    if (t->client_id != c.client_id || t->token_url != c.token_url) {
      return usage_error(command, "connections " + c.name + " and " + t->name +
                                      " use different OAuth clients: log in to each by name");
    }
  }
  auto options = connections::login_options(c);
  if (auto t = args.value("timeout")) {
    auto n = parse_int(*t, "--timeout");
    if (!n) return usage_error(command, n.error().message);
    options.timeout = std::chrono::seconds(std::max<int64_t>(*n, 1));
  }
  const bool device = args.flag("device") ||
                      (!args.flag("browser") && c.kind == config::Connection::Kind::kMsgraph);
  options.prompt = [device](const connections::LoginPrompt& p) {
    if (device) {
      std::cout << "To sign in, open " << p.verification_uri << " and enter the code "
                << p.user_code << "\n";
    } else {
      std::cout << "To sign in, open this address in a browser on this machine:\n  "
                << p.verification_uri << "\n";
    }
    std::cout << "Waiting..." << std::endl;
  };
  Result<std::string> token = make_error(ErrorCode::kInternal, "no login");
  try {
    token =
        device ? connections::device_login(c, options) : connections::loopback_login(c, options);
  } catch (const std::exception& ex) {
    return runtime_error(command, std::string("unexpected answer from the provider: ") + ex.what());
  }
  if (!token) return runtime_error(command, token.error().message);
  // Kept in the database (owner-only on SQLite), beside the connection's state; a database not
  // made yet is made now, so that one may sign in before the first `hookmcp serve`.
  auto opened = open_store(args);
  if (!opened && opened.error().code == ErrorCode::kNotFound) {
    static const SystemClock clock;
    store::Options o;
    o.path = config->database;
    o.clock = &clock;
    auto made = store::open_store(o);
    if (!made) return runtime_error(command, made.error().message);
    opened = Opened{std::move(*made), config->database};
  }
  if (!opened) return open_failed(command, opened.error());
  auto states = opened->store->connection_states();
  if (!states) return runtime_error(command, states.error().message);
  for (const auto* t : targets) {
    connections::State s;
    if (auto it = states->find(t->name); it != states->end()) {
      s = connections::State::from_json(it->second);
    }
    s.refresh_token = *token;
    if (s.status == "failed") s.reason = "logged in again: retrying";
    if (auto r = opened->store->save_connection_state(t->name, s.to_json().dump()); !r) {
      return runtime_error(command, r.error().message);
    }
    std::cout << "signed in: connection " << t->name
              << " has its refresh token (a running server uses it within a second)\n";
  }
  opened->store->close();
  return kExitOk;
}

}  // namespace

int run_connections(const std::vector<std::string>& args) {
  if (args.empty() || args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
    std::cout << kHelp;
    return args.empty() ? kExitUsage : kExitOk;
  }
  std::vector<std::string> rest(args.begin() + 1, args.end());
  if (args[0] == "list" || args[0] == "ls") return run_list(rest);
  if (args[0] == "add") return run_add(rest);
  if (args[0] == "remove" || args[0] == "rm") return run_remove(rest);
  if (args[0] == "login") return run_login(rest);
  return usage_error("connections",
                     "unknown command \"" + args[0] + "\" (list, add, remove or login)");
}

}  // namespace hookmcp::app
