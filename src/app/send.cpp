#include <algorithm>
#include <fstream>
#include <iostream>
#include <sstream>

#include "cli.hpp"
#include "commands.hpp"
#include "hookmcp/core/clock.hpp"
#include "hookmcp/net/http_client.hpp"
#include "hookmcp/verify/sign.hpp"

namespace hookmcp::app {

namespace {

constexpr const char* kSendHelp =
    R"(Usage: hookmcp send PROVIDER --url URL --secret S [--type T] [--header K:V]... FILE|-

Signs the payload in FILE (or stdin, for -) exactly as PROVIDER would and POSTs it to URL: the
same body byte for byte, with the provider's signature, timestamp, delivery-id and event-type
headers (a fresh random delivery id each time). Prints the HTTP status line and the response
body. For trying a setup end to end: point it at a hookmcp source, or at anything else that
receives that provider's webhooks.

PROVIDER is github, stripe, slack, standard, shopify, gitlab, hmac or none. --type sets the
event-type header of github (X-GitHub-Event), shopify (X-Shopify-Topic), gitlab
(X-Gitlab-Event), hmac and none (X-Event-Type); stripe, slack and standard carry the type in the
payload. hmac signs as X-Signature: sha256=HEX over the body.

Exit code 0 for a 2xx answer, 1 for any other answer or when URL cannot be reached, 2 for a
usage error.

Examples:
  hookmcp send github --url http://127.0.0.1:8787/hooks/github --secret "$GITHUB_WEBHOOK_SECRET" \
      --type pull_request pr.json
  hookmcp send stripe --url http://127.0.0.1:8787/hooks/stripe --secret env:STRIPE_WEBHOOK_SECRET \
      event.json
  echo 'command=%2Fdeploy&text=prod' | hookmcp send slack --url http://127.0.0.1:8787/hooks/slack \
      --secret "$SLACK_SIGNING_SECRET" -
  hookmcp send standard --url http://127.0.0.1:8787/hooks/billing \
      --secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw invoice.json
  hookmcp send gitlab --url http://127.0.0.1:8787/hooks/gitlab --secret "$TOKEN" \
      --type "Merge Request Hook" --header "X-Gitlab-Instance: https://gitlab.example.com" mr.json

Options:
)";

constexpr const char* kCommand = "hookmcp send: ";

// --header may repeat, which the shared parser (one value per name) does not keep: take every
// occurrence out first and hand the rest on.
Result<std::vector<std::string>> take_headers(std::vector<std::string>& argv) {
  std::vector<std::string> headers;
  std::vector<std::string> rest;
  for (size_t i = 0; i < argv.size(); ++i) {
    const std::string& arg = argv[i];
    if (arg == "--") {
      rest.insert(rest.end(), argv.begin() + static_cast<long>(i), argv.end());
      break;
    }
    if (arg == "--header") {
      if (i + 1 == argv.size()) {
        return make_error(ErrorCode::kInvalidArgument, "--header needs a value");
      }
      headers.push_back(argv[++i]);
    } else if (arg.rfind("--header=", 0) == 0) {
      headers.push_back(arg.substr(9));
    } else {
      rest.push_back(arg);
    }
  }
  argv = std::move(rest);
  return headers;
}

bool is_token_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

// "Name: value" (or "Name:value") into a header field.
Result<Headers::Field> parse_header(const std::string& text) {
  size_t colon = text.find(':');
  std::string name = text.substr(0, colon);
  bool name_ok = !name.empty() && std::all_of(name.begin(), name.end(), is_token_char);
  if (colon == std::string::npos || !name_ok) {
    return make_error(ErrorCode::kInvalidArgument,
                      "--header expects NAME:VALUE, got \"" + text + "\"");
  }
  std::string value = text.substr(colon + 1);
  size_t first = value.find_first_not_of(" \t");
  value = first == std::string::npos ? "" : value.substr(first);
  if (value.find_first_of("\r\n") != std::string::npos) {
    return make_error(ErrorCode::kInvalidArgument, "--header value must be one line");
  }
  return Headers::Field{name, value};
}

Result<std::string> read_payload(const std::string& path) {
  std::ostringstream out;
  if (path == "-") {
    out << std::cin.rdbuf();
    if (std::cin.bad()) return make_error(ErrorCode::kIo, "cannot read stdin");
    return out.str();
  }
  std::ifstream file(path, std::ios::binary);
  if (!file) return make_error(ErrorCode::kIo, "cannot read " + path);
  out << file.rdbuf();
  return out.str();
}

// The secret as given, or the environment variable that `env:NAME` names.
Result<std::string> resolve_secret(const std::string& given) {
  if (given.rfind("env:", 0) != 0) return given;
  auto value = config::process_env()(given.substr(4));
  if (!value || value->empty()) {
    return make_error(ErrorCode::kInvalidArgument,
                      "--secret: environment variable " + given.substr(4) + " is not set");
  }
  return *value;
}

}  // namespace

int run_send(const std::vector<std::string>& argv_in) {
  std::vector<OptionSpec> specs = {
      {"url", true, "where to POST: http://HOST:PORT/PATH or https://..."},
      {"secret", true, "the source's secret (literal or env:NAME); not needed for none"},
      {"type", true, "the event type, for providers that send it in a header"},
      {"header", true, "an extra header NAME:VALUE (repeatable); replaces a signed one"},
      {"delivery-id", true, "use this delivery id instead of a fresh random one"},
  };
  auto usage = [](const std::string& message) {
    std::cerr << kCommand << message << "\n";
    return kExitUsage;
  };

  std::vector<std::string> argv = argv_in;
  auto extra = take_headers(argv);
  if (!extra) return usage(extra.error().message);
  auto args = parse_args(argv, specs, "send");
  if (!args) return usage(args.error().message);
  if (args->help) {
    std::cout << kSendHelp << format_options(specs);
    return kExitOk;
  }
  if (args->positionals.size() != 2) {
    return usage(args->positionals.empty() ? "missing PROVIDER and FILE (see hookmcp send --help)"
                 : args->positionals.size() == 1
                     ? "missing FILE (a path, or - for stdin)"
                     : "unexpected argument \"" + args->positionals[2] + "\"");
  }
  verify::SignRequest sign;
  sign.provider = args->positionals[0];
  const std::string& file = args->positionals[1];
  if (std::find(std::begin(config::kProviders), std::end(config::kProviders), sign.provider) ==
      std::end(config::kProviders)) {
    return usage("unknown provider \"" + sign.provider +
                 "\" (expected github, stripe, slack, standard, shopify, gitlab, hmac or none)");
  }
  auto url = args->value("url");
  if (!url) return usage("--url is required");
  if (auto parsed = net::parse_url(*url); !parsed) {
    return usage("--url: " + parsed.error().message);
  }
  if (auto secret = args->value("secret")) {
    auto resolved = resolve_secret(*secret);
    if (!resolved) return usage(resolved.error().message);
    sign.secret = *resolved;
  } else if (sign.provider != "none") {
    return usage("--secret is required for provider " + sign.provider);
  }
  if (auto type = args->value("type")) {
    if (!verify::has_type_header(sign.provider)) {
      std::cerr << kCommand << sign.provider
                << " carries the event type in the payload; --type is ignored\n";
    }
    sign.type = *type;
  }
  sign.delivery_id = args->value("delivery-id").value_or("");
  std::vector<Headers::Field> overrides;
  for (const auto& text : *extra) {
    auto field = parse_header(text);
    if (!field) return usage(field.error().message);
    overrides.push_back(std::move(*field));
  }

  auto body = read_payload(file);
  if (!body) return usage(body.error().message);
  sign.body = std::move(*body);
  sign.now_s = SystemClock().now_ms() / 1000;
  auto signed_headers = verify::sign(sign);
  if (!signed_headers) return usage("--secret: " + signed_headers.error().message);

  net::ClientRequest request;
  request.url = *url;
  for (const auto& field : signed_headers->fields()) {
    bool replaced = std::any_of(overrides.begin(), overrides.end(), [&](const Headers::Field& f) {
      return iequals(f.first, field.first);
    });
    if (!replaced) request.headers.add(field.first, field.second);
  }
  for (auto& [name, value] : overrides) request.headers.add(std::move(name), std::move(value));
  request.body = std::move(sign.body);

  auto response = net::http_request(request);
  if (!response) {
    std::cerr << kCommand << response.error().message << "\n";
    return kExitFailure;
  }
  std::cout << response->status_line() << "\n" << response->body;
  if (!response->body.empty() && response->body.back() != '\n') std::cout << "\n";
  std::cout.flush();
  return response->status >= 200 && response->status < 300 ? kExitOk : kExitFailure;
}

}  // namespace hookmcp::app
