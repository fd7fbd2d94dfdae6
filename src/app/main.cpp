// hookmcp: webhooks in, MCP out.
#include <csignal>
#include <iostream>
#include <string>
#include <vector>

#include "cli.hpp"
#include "commands.hpp"

namespace {

constexpr const char* kUsage = R"(Usage: hookmcp COMMAND [OPTIONS]

Receives webhooks (GitHub, Stripe, Slack, Standard Webhooks/Svix, Shopify, GitLab, Google
Calendar, Gmail, Outlook, Mailgun, Postmark, SendGrid, Amazon SNS/SES, any HMAC sender, or
unsigned), stores every delivery durably in SQLite or PostgreSQL, and serves them to AI
assistants over the Model Context Protocol.

Commands:
  serve          run the daemon: webhook intake, /healthz and /metrics on one listener
  stdio          MCP over stdin/stdout for clients that launch their servers, plus intake
  check-config   validate the configuration and print the effective settings
  events         list, show, search or follow (tail) the stored events at the terminal
  send           sign a payload as a provider would and POST it, to try a setup end to end
  forward        send each new event on to a URL (a local app), as its provider sent it
  triggers       list the config's triggers and their runs, and retry the failed ones
  connections    webhooks hookmcp registers itself at GitHub, Google and Microsoft
  subscriptions  list the MCP Events webhook subscriptions and how their deliveries go
  migrate        copy a SQLite database into PostgreSQL, every event byte for byte
  client-config  print the registration of this hookmcp for Claude Code, Claude Desktop,
                 VS Code or Cursor

Run 'hookmcp COMMAND --help' for a command's options and examples.
  --version      print the version
)";

}  // namespace

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);
  // A file-size limit reached while committing must surface as a failed write (503), not kill us.
  std::signal(SIGXFSZ, SIG_IGN);
  hookmcp::app::remember_argv0(argc > 0 ? argv[0] : nullptr);
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) {
    std::cerr << kUsage;
    return hookmcp::app::kExitUsage;
  }
  const std::string command = args[0];
  std::vector<std::string> rest(args.begin() + 1, args.end());
  if (command == "--version" || command == "version") {
    std::cout << "hookmcp " << HOOKMCP_VERSION << "\n";
    return hookmcp::app::kExitOk;
  }
  if (command == "--help" || command == "-h" || command == "help") {
    std::cout << kUsage;
    return hookmcp::app::kExitOk;
  }
  if (command == "serve") return hookmcp::app::run_serve(rest);
  if (command == "check-config") return hookmcp::app::run_check_config(rest);
  if (command == "stdio") return hookmcp::app::run_stdio(rest);
  if (command == "events") return hookmcp::app::run_events(rest);
  if (command == "send") return hookmcp::app::run_send(rest);
  if (command == "forward") return hookmcp::app::run_forward(rest);
  if (command == "triggers") return hookmcp::app::run_triggers(rest);
  if (command == "connections") return hookmcp::app::run_connections(rest);
  if (command == "subscriptions") return hookmcp::app::run_subscriptions(rest);
  if (command == "migrate") return hookmcp::app::run_migrate(rest);
  if (command == "client-config") return hookmcp::app::run_client_config(rest);
  std::cerr << "hookmcp: unknown command \"" << command << "\" (see hookmcp --help)\n";
  return hookmcp::app::kExitUsage;
}
