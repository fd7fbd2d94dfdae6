// `hookmcp client-config CLIENT`: the registration of this very hookmcp for an MCP client, with
// the absolute path of the binary, the config and database it should use, and every variable
// the config's `env:` secrets need, so that the client starts it exactly as this shell would.
#include <algorithm>
#include <filesystem>
#include <iostream>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli.hpp"
#include "commands.hpp"
#include "reading.hpp"

namespace hookmcp::app {

namespace {

using json = nlohmann::ordered_json;

constexpr const char* kClientConfigHelp =
    R"(Usage: hookmcp client-config CLIENT [OPTIONS]

Prints the registration of this hookmcp for CLIENT: claude-code, claude-desktop,
vscode or cursor. It names this binary by its absolute path and passes the
config file (--config or HOOKMCP_CONFIG), the database (--db or HOOKMCP_DB)
and the listener (--listen or HOOKMCP_LISTEN) as absolute arguments when they
are set, so the client starts the same hookmcp this shell would. Every env:VAR
secret of the config becomes a variable of the registration's env, as the
client writes a value it takes from elsewhere:
  claude-code     "${VAR}", expanded by Claude Code from its environment
                  (.mcp.json); the claude command line copies "$VAR" from
                  the shell that runs it
  vscode          "${input:VAR}", which VS Code asks for once and keeps
  cursor          "${env:VAR}", from the environment Cursor runs in
  claude-desktop  "" to fill in: it expands nothing (hookmcp refuses to start
                  while a secret it needs is empty)
--with-secrets writes the current values instead. Notes on where the output
goes are on stderr; stdout is the registration alone: JSON, and for
claude-code the `claude mcp add` command line, then the .mcp.json document.

--http prints the registration of the MCP endpoint of a running `hookmcp
serve` instead (http://LISTEN/mcp, https:// with tls), with the Authorization
header when mcp.tokens is set. Claude Desktop reaches it through mcp-remote.
Claude Code's channels (live events in the session) need the stdio form.

Examples:
  hookmcp client-config claude-code --config ~/.config/hookmcp/config.json
  hookmcp client-config vscode > .vscode/mcp.json
  hookmcp client-config cursor --http --config /etc/hookmcp.json

Options:
)";

constexpr const char* kCommand = "hookmcp client-config: ";

enum class Client { kClaudeCode, kClaudeDesktop, kVsCode, kCursor };

std::optional<Client> client_named(const std::string& name) {
  if (name == "claude-code") return Client::kClaudeCode;
  if (name == "claude-desktop") return Client::kClaudeDesktop;
  if (name == "vscode") return Client::kVsCode;
  if (name == "cursor") return Client::kCursor;
  return std::nullopt;
}

// A variable the registration hands to hookmcp, and its value as the client is to write it.
struct Variable {
  std::string name;
  std::string value;
};

// What a client needs to start hookmcp (stdio) or to reach a running one (http).
struct Registration {
  std::string command;
  std::vector<std::string> args;
  std::vector<Variable> env;
  std::string url;                           // http: the MCP endpoint
  std::optional<std::string> authorization;  // http: the header's value, as the client writes it
  std::set<std::string> inputs;              // vscode: the variables it prompts for
};

// How `client` writes "the value of VAR, from elsewhere than this file".
std::string placeholder(Client client, const std::string& var) {
  switch (client) {
    case Client::kClaudeCode:
      return "${" + var + "}";
    case Client::kVsCode:
      return "${input:" + var + "}";
    case Client::kCursor:
      return "${env:" + var + "}";
    case Client::kClaudeDesktop:
      return "";
  }
  return "";
}

// A word for a POSIX shell: as it is when it needs no quoting, else in single quotes.
std::string shell_word(const std::string& text) {
  bool plain = !text.empty() && std::all_of(text.begin(), text.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           std::string_view("_-./:=@%+,").find(c) != std::string_view::npos;
  });
  if (plain) return text;
  std::string out = "'";
  for (char c : text) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

std::string absolute(const std::string& path) {
  std::error_code ec;
  auto made = std::filesystem::absolute(path, ec);
  return ec ? path : made.lexically_normal().string();
}

// The settings this shell gives hookmcp, from a flag or the environment.
std::optional<std::string> given(const ParsedArgs& args, const std::string& flag,
                                 const char* variable) {
  if (auto value = args.value(flag)) return value;
  if (auto value = config::process_env()(variable); value && !value->empty()) return value;
  return std::nullopt;
}

struct Builder {
  Client client;
  bool with_secrets;
  std::string config_file;
  std::vector<std::string> notes;  // for stderr

  // The value for `var` in the registration: the current one with --with-secrets, else the
  // client's placeholder. kInvalidArgument when --with-secrets finds it unset.
  Result<std::string> value_of(const std::string& var, Registration& r) {
    if (with_secrets) {
      auto value = config::process_env()(var);
      if (!value || value->empty()) {
        return make_error(ErrorCode::kInvalidArgument,
                          "--with-secrets: " + var + " is not set in this environment");
      }
      return *value;
    }
    if (client == Client::kVsCode) r.inputs.insert(var);
    return placeholder(client, var);
  }
};

Result<Registration> stdio_registration(const ParsedArgs& args, const config::Config& cfg,
                                        Builder& b) {
  Registration r;
  r.command = binary_path();
  r.args = {"stdio"};
  if (!b.config_file.empty()) r.args.insert(r.args.end(), {"--config", b.config_file});
  if (auto db = given(args, "db", "HOOKMCP_DB"))
    r.args.insert(r.args.end(), {"--db", absolute(*db)});
  if (auto listen = given(args, "listen", "HOOKMCP_LISTEN")) {
    r.args.insert(r.args.end(), {"--listen", *listen});
  }
  std::set<std::string> vars;
  for (const auto& [name, source] : cfg.sources) {
    for (const auto& secret : source.secrets) {
      if (secret.reference.rfind("env:", 0) == 0) vars.insert(secret.reference.substr(4));
    }
  }
  for (const auto& token : cfg.mcp_tokens) {
    if (token.reference.rfind("env:", 0) == 0) vars.insert(token.reference.substr(4));
  }
  for (const auto& var : vars) {
    auto value = b.value_of(var, r);
    if (!value) return value.error();
    r.env.push_back({var, *value});
  }
  if (b.client == Client::kClaudeDesktop && !vars.empty() && !b.with_secrets) {
    b.notes.emplace_back(
        "fill in the values of env (Claude Desktop expands no variables), or "
        "rerun with --with-secrets to print the current ones");
  }
  return r;
}

Result<Registration> http_registration(const config::Config& cfg, Builder& b) {
  if (cfg.listen.port == 0) {
    return make_error(ErrorCode::kInvalidArgument,
                      "--http: the listener's port is 0 (any free port); give the port the "
                      "server listens on with --listen or HOOKMCP_LISTEN");
  }
  Registration r;
  r.url = local_base_url(cfg) + "/mcp";
  if (cfg.mcp_tokens.empty()) return r;
  const config::Secret& token = cfg.mcp_tokens.front();
  bool from_env = token.reference.rfind("env:", 0) == 0;
  // A literal token has no variable to refer to: HOOKMCP_TOKEN stands for it.
  std::string var = from_env ? token.reference.substr(4) : "HOOKMCP_TOKEN";
  if (b.with_secrets && !from_env) {
    r.authorization = "Bearer " + token.value;
  } else {
    auto value = b.value_of(var, r);
    if (!value) return value.error();
    r.authorization = "Bearer " + *value;
    if (!from_env && !b.with_secrets) {
      b.notes.emplace_back(
          "the config's MCP token is written in the file: set HOOKMCP_TOKEN to it "
          "where the client runs, or rerun with --with-secrets");
    }
  }
  if (b.client == Client::kClaudeDesktop && !b.with_secrets) {
    b.notes.emplace_back(
        "fill in the token after \"Bearer \" in env.AUTH_HEADER, or rerun with "
        "--with-secrets");
  }
  return r;
}

json env_object(const std::vector<Variable>& env) {
  json out = json::object();
  for (const auto& v : env) out[v.name] = v.value;
  return out;
}

// The JSON entry of the server: what goes under the client's servers key.
json server_entry(Client client, const Registration& r) {
  json entry;
  if (!r.url.empty()) {
    if (client == Client::kClaudeDesktop) {
      // Its config file only starts commands: mcp-remote bridges them to the HTTP endpoint, and
      // expands ${AUTH_HEADER} from the env given here (no space in the argument, which
      // Windows would split).
      entry["command"] = "npx";
      entry["args"] = json::array({"-y", "mcp-remote", r.url});
      if (r.authorization) {
        entry["args"].push_back("--header");
        entry["args"].push_back("Authorization:${AUTH_HEADER}");
        entry["env"] = {{"AUTH_HEADER", *r.authorization}};
      }
      return entry;
    }
    if (client != Client::kCursor) entry["type"] = "http";
    entry["url"] = r.url;
    if (r.authorization) entry["headers"] = {{"Authorization", *r.authorization}};
    return entry;
  }
  if (client == Client::kVsCode || client == Client::kClaudeCode) entry["type"] = "stdio";
  entry["command"] = r.command;
  entry["args"] = r.args;
  if (!r.env.empty()) entry["env"] = env_object(r.env);
  return entry;
}

json document(Client client, const Registration& r) {
  json doc;
  const char* key = client == Client::kVsCode ? "servers" : "mcpServers";
  doc[key] = {{"hookmcp", server_entry(client, r)}};
  if (!r.inputs.empty()) {
    doc["inputs"] = json::array();
    for (const auto& var : r.inputs) {
      doc["inputs"].push_back({{"type", "promptString"},
                               {"id", var},
                               {"description", var + " for hookmcp"},
                               {"password", true}});
    }
  }
  return doc;
}

// `claude mcp add ...`: the value of each variable taken from the shell that runs the command,
// or the current value with --with-secrets.
std::string claude_command_line(const Registration& r, bool with_secrets) {
  std::string line = "claude mcp add";
  if (!r.url.empty()) {
    line += " --transport http hookmcp " + shell_word(r.url);
    if (r.authorization) {
      // "${VAR}" (the .mcp.json placeholder) reads the same in a shell: inside double quotes.
      line += with_secrets ? " --header " + shell_word("Authorization: " + *r.authorization)
                           : " --header \"Authorization: " + *r.authorization + "\"";
    }
    return line + "\n";
  }
  line += " hookmcp";
  for (const auto& v : r.env) {
    line += " -e " +
            (with_secrets ? shell_word(v.name + "=" + v.value) : v.name + "=\"$" + v.name + "\"");
  }
  line += " -- " + shell_word(r.command);
  for (const auto& arg : r.args) line += " " + shell_word(arg);
  return line + "\n";
}

std::string where_it_goes(Client client) {
  switch (client) {
    case Client::kClaudeDesktop:
      return "merge into claude_desktop_config.json (macOS: ~/Library/Application "
             "Support/Claude/, Windows: %APPDATA%\\Claude\\) and restart Claude Desktop";
    case Client::kVsCode:
      return "save as .vscode/mcp.json in the workspace (or merge into the user mcp.json)";
    case Client::kCursor:
      return "save as .cursor/mcp.json in the project, or ~/.cursor/mcp.json for every project";
    case Client::kClaudeCode:
      return "run the claude command once, or save the JSON as .mcp.json in the project";
  }
  return "";
}

}  // namespace

int run_client_config(const std::vector<std::string>& argv) {
  auto specs = common_options();
  specs.erase(std::remove_if(specs.begin(), specs.end(),
                             [](const OptionSpec& s) { return s.name == "log-level"; }),
              specs.end());
  specs.push_back({"http", false, "register the MCP endpoint of a running hookmcp serve"});
  specs.push_back({"with-secrets", false, "write the current values of the variables"});
  auto usage = [](const std::string& message) {
    std::cerr << kCommand << message << "\n";
    return kExitUsage;
  };
  auto args = parse_args(argv, specs, "client-config");
  if (!args) return usage(args.error().message);
  if (args->help) {
    std::cout << kClientConfigHelp << format_options(specs);
    return kExitOk;
  }
  if (args->positionals.size() != 1) {
    return usage(args->positionals.empty()
                     ? "missing CLIENT: claude-code, claude-desktop, vscode or cursor"
                     : "unexpected argument \"" + args->positionals[1] + "\"");
  }
  auto client = client_named(args->positionals[0]);
  if (!client) {
    return usage("unknown client \"" + args->positionals[0] +
                 "\" (expected claude-code, claude-desktop, vscode or cursor)");
  }
  // Secrets are referred to, not read (--with-secrets reads the variables itself).
  auto cfg = load_config_without_secrets(*args);
  if (!cfg) return usage(cfg.error().message);

  Builder b{*client,
            args->flag("with-secrets"),
            cfg->config_file.empty() ? "" : absolute(cfg->config_file),
            {}};
  auto registration =
      args->flag("http") ? http_registration(*cfg, b) : stdio_registration(*args, *cfg, b);
  if (!registration) return usage(registration.error().message);

  std::string out;
  if (*client == Client::kClaudeCode) {
    out += "# Register with the claude CLI (--scope user: in every project):\n";
    out += claude_command_line(*registration, b.with_secrets);
    out += "# Or share it with the project as .mcp.json:\n";
  }
  out += document(*client, *registration).dump(2) + "\n";
  std::cout << out << std::flush;

  std::cerr << kCommand << where_it_goes(*client) << "\n";
  for (const auto& note : b.notes) std::cerr << kCommand << note << "\n";
  if (*client == Client::kClaudeCode) {
    std::cerr << kCommand
              << (args->flag("http")
                      ? "channels (live events in the session) need the stdio registration\n"
                      : "live events in the session (channels): claude "
                        "--dangerously-load-development-channels server:hookmcp\n");
  }
  return kExitOk;
}

}  // namespace hookmcp::app
