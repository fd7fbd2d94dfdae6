#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "cli.hpp"
#include "commands.hpp"
#include "hookmcp/core/clock.hpp"
#include "hookmcp/net/http_client.hpp"
#include "hookmcp/verify/sign.hpp"
#include "reading.hpp"
#include "terminal.hpp"

namespace hookmcp::app {

namespace {

constexpr const char* kSendHelp =
    R"(Usage: hookmcp send PROVIDER --url URL --secret S [OPTIONS] FILE|-
       hookmcp send --source NAME [--config FILE] [OPTIONS] FILE|-

Signs the payload in FILE (or stdin, for -) exactly as PROVIDER would and POSTs
it to URL: the same body byte for byte, with the provider's signature,
timestamp, delivery-id and event-type headers. Prints the HTTP status line and
the response body. For trying a setup end to end: point it at a hookmcp source,
or at anything else that receives that provider's webhooks.

--source NAME signs as the source NAME of the config file (--config, or
HOOKMCP_CONFIG) is verified: with its provider, its first secret (env:VAR read
from this environment) and, for hmac and none, its header names, algorithm,
encoding, prefix, timestamp header and signed template. URL is then the
listener's /hooks/NAME (https:// when tls is configured; loopback for a
0.0.0.0 or :: listener). PROVIDER, --url and --secret may still be given:
--url and --secret replace the source's, PROVIDER must be the source's.

PROVIDER is github, stripe, slack, standard, shopify, gitlab, google-calendar,
gmail, msgraph, mailgun, postmark, sendgrid, sns, hmac or none. --type sets
the event-type header of github (X-GitHub-Event), shopify (X-Shopify-Topic),
gitlab (X-Gitlab-Event), google-calendar (X-Goog-Resource-State: sync, exists
or not_exists; exists when not given), hmac and none (X-Event-Type, or the
source's type_header); the others carry the type in the payload. Without
--source, hmac signs as X-Signature: sha256=HEX over the body. google-calendar
sends the secret as X-Goog-Channel-Token and no body (give /dev/null as FILE);
postmark sends the secret, "user:password", as HTTP Basic credentials.
msgraph sends FILE as it is (its clientState is in each item); mailgun sets
timestamp, token and signature in FILE (the "signature" object of JSON, or the
first fields of a form).

gmail, sendgrid and sns sign with a private key: --key FILE (PEM). gmail sends
a Pub/Sub push token for --audience and --service-account (the source's, with
--source); sns sets SignatureVersion 2, SigningCertURL (--cert-url) and
Signature in FILE; sendgrid signs the timestamp and the body. To make a key
pair and what its source is configured with:
  hookmcp send gmail --new-key DIR      DIR/key.pem and DIR/jwks.json (jwks_url)
  hookmcp send sendgrid --new-key DIR   DIR/key.pem and DIR/public_key.txt
  hookmcp send sns --new-key DIR        DIR/key.pem and DIR/cert.pem (served at
                                        --cert-url, under cert_url_prefix)
A form body (mailgun, sendgrid) is sent as multipart/form-data when FILE starts
with its boundary line (--BOUNDARY), else urlencoded unless it is JSON.

Repeats: hookmcp stores one delivery per source and delivery id, and answers a
repeat 200 {"duplicate":true,"id":N} (the event stored the first time) without
storing it again. Where the delivery id comes from:
  github, shopify, gitlab,  a header (X-GitHub-Delivery, X-Shopify-Webhook-Id,
  standard, hmac, none      X-Gitlab-Event-UUID, webhook-id, X-Delivery-Id or
                            the source's delivery_header), which send fills
                            with a fresh random id on every send, unless
                            --delivery-id gives one
  google-calendar           X-Goog-Channel-ID and X-Goog-Message-Number:
                            --delivery-id CHANNEL:NUMBER, else random
  stripe                    the payload's "id", sent as FILE has it
  postmark                  the payload's "MessageID" (inbound email; other
                            records are told by their bytes)
  slack                     the payload's "event_id"; a form (a command or an
                            interaction) has none and is told by its bytes
So sending the same stripe, slack or postmark FILE twice stores it once.
--fresh-id makes every send a new delivery, whatever the provider: it sets
stripe's "id" to evt_ and random hex, postmark's "MessageID" to a random UUID,
slack's "event_id" to Ev and random hex (each added when absent), a slack
form's trigger_id field to random hex (added when absent), and keeps the fresh
header id of the others (so it does not go with --delivery-id). The rest of
the body stays as FILE has it.

-v, --verbose prints the request to stderr before sending it: method, URL,
every header (the signature too) and the body (its first 2 KiB); then the
response's status line and headers.

Exit code 0 for a 2xx answer, 1 for any other answer or when URL cannot be
reached, 2 for a usage error.

Examples:
  hookmcp send github --url http://127.0.0.1:8787/hooks/github \
      --secret "$GITHUB_WEBHOOK_SECRET" --type pull_request pr.json
  hookmcp send --source stripe --config hookmcp.json --fresh-id event.json
  hookmcp send stripe --url http://127.0.0.1:8787/hooks/stripe \
      --secret env:STRIPE_WEBHOOK_SECRET -v event.json
  echo 'command=%2Fdeploy&text=prod' | hookmcp send slack \
      --url http://127.0.0.1:8787/hooks/slack --secret "$SLACK_SIGNING_SECRET" -
  hookmcp send standard --url http://127.0.0.1:8787/hooks/billing \
      --secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw invoice.json
  hookmcp send gitlab --url http://127.0.0.1:8787/hooks/gitlab \
      --secret "$TOKEN" --type "Merge Request Hook" \
      --header "X-Gitlab-Instance: https://gitlab.example.com" mr.json

Options:
)";

constexpr const char* kCommand = "hookmcp send: ";

// How much of the body --verbose shows.
constexpr size_t kVerboseBodyBytes = 2048;

// --header may repeat, which the shared parser (one value per name) does not keep: take every
// occurrence out first and hand the rest on. -v, which the shared parser does not know (it
// reads only long options), becomes --verbose.
Result<std::vector<std::string>> take_headers(std::vector<std::string>& argv) {
  std::vector<std::string> headers;
  std::vector<std::string> rest;
  for (size_t i = 0; i < argv.size(); ++i) {
    const std::string& arg = argv[i];
    if (arg == "--") {
      rest.insert(rest.end(), argv.begin() + static_cast<long>(i), argv.end());
      break;
    }
    if (arg == "-v") {
      rest.emplace_back("--verbose");
    } else if (arg == "--header") {
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

// The secret as given, or the environment variable that `env:NAME` names; `what` says whose
// secret it is in the error.
Result<std::string> resolve_secret(const std::string& given, const std::string& what) {
  if (given.rfind("env:", 0) != 0) return given;
  auto value = config::process_env()(given.substr(4));
  if (!value || value->empty()) {
    return make_error(ErrorCode::kInvalidArgument,
                      what + ": environment variable " + given.substr(4) + " is not set");
  }
  return *value;
}

// What --source NAME stands for: the source as configured, and where its server listens.
struct Target {
  config::Source source;
  std::string url;
};

Result<Target> configured_source(const ParsedArgs& args, const std::string& name) {
  auto invalid = [](std::string message) {
    return make_error(ErrorCode::kInvalidArgument, std::move(message));
  };
  // Only this source's secret is needed; it is resolved below, with an error that names it.
  auto cfg = load_config_without_secrets(args);
  if (!cfg) return invalid("--source " + name + ": " + cfg.error().message);
  if (cfg->config_file.empty()) {
    return invalid("--source " + name +
                   " needs the config file that defines it: --config FILE or HOOKMCP_CONFIG");
  }
  auto it = cfg->sources.find(name);
  if (it == cfg->sources.end()) {
    std::string known;
    for (const auto& entry : cfg->sources) known += (known.empty() ? "" : ", ") + entry.first;
    return invalid("no source \"" + name + "\" in " + cfg->config_file +
                   (known.empty() ? " (it defines no sources)" : " (its sources: " + known + ")"));
  }
  Target target{it->second, {}};
  for (auto& secret : target.source.secrets) {
    auto value = resolve_secret(secret.reference, "source " + name + "'s secret");
    if (!value) return value.error();
    secret.value = *value;
  }
  if (cfg->listen.port == 0 && !args.value("url")) {
    return invalid("source " + name + ": the listener's port is 0 (any free port), so --url must" +
                   " say where the server listens");
  }
  target.url = local_base_url(*cfg) + "/hooks/" + name;
  return target;
}

// The body for --verbose: the start of it, with what was left out counted.
std::string shown_body(const std::string& body) {
  if (body.size() <= kVerboseBodyBytes) return printable(body, /*multiline=*/true);
  return printable(body.substr(0, kVerboseBodyBytes), true) + "\n... (" +
         std::to_string(body.size() - kVerboseBodyBytes) + " more bytes)";
}

void print_request(const net::ClientRequest& request) {
  std::string out = "> " + request.method + " " + request.url + "\n";
  for (const auto& [name, value] : request.headers.fields()) {
    out += "> " + printable(name) + ": " + printable(value) + "\n";
  }
  out += "> Content-Length: " + std::to_string(request.body.size()) + "\n>\n";
  if (!request.body.empty()) out += shown_body(request.body) + "\n";
  std::cerr << out << std::flush;
}

void print_response(const net::ClientResponse& response) {
  std::string out = "< " + response.status_line() + "\n";
  for (const auto& [name, value] : response.headers.fields()) {
    out += "< " + printable(name) + ": " + printable(value) + "\n";
  }
  std::cerr << out << "<\n" << std::flush;
}

// hookmcp's answer to a delivery it already has, {"duplicate":true,"id":N}: said on stderr, so
// that a repeat is not mistaken for a new event.
void note_duplicate(const net::ClientResponse& response) {
  auto answer = nlohmann::json::parse(response.body, nullptr, /*allow_exceptions=*/false);
  if (!answer.is_object() || answer.value("duplicate", false) != true) return;
  if (!answer.contains("id") || !answer["id"].is_number_integer()) return;
  std::cerr << kCommand << "a repeat of event " << answer["id"].get<int64_t>()
            << ": the server has this delivery id already and did not store it again;"
            << " --fresh-id sends it as a new delivery\n";
}

// --new-key: a key pair for an asymmetric provider, written to `dir` (made if need be; the
// private key readable by the owner only), and what to configure the source with.
bool write_new_key(const std::string& provider, const std::string& dir) {
  auto files = verify::new_key_files(provider);
  if (!files) {
    std::cerr << kCommand << files.error().message << "\n";
    return false;
  }
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  for (const auto& f : *files) {
    const std::string path = (std::filesystem::absolute(dir).lexically_normal() / f.name).string();
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << f.text;
    out.close();
    if (!out) {
      std::cerr << kCommand << "cannot write " << path << "\n";
      return false;
    }
    if (f.name == "key.pem") {
      std::filesystem::permissions(
          path, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write, ec);
    }
    std::cout << path << "\n";
  }
  const std::string at = std::filesystem::absolute(dir).lexically_normal().string();
  if (provider == "gmail") {
    std::cout << "source: \"jwks_url\": \"" << at << "/jwks.json\"; send with --key " << at
              << "/key.pem\n";
  } else if (provider == "sendgrid") {
    std::cout << "source: \"public_key\": the text of " << at << "/public_key.txt; send with --key "
              << at << "/key.pem\n";
  } else {
    std::cout << "source: \"cert_url_prefix\": where " << at
              << "/cert.pem is served from; send with --key " << at
              << "/key.pem --cert-url URL-OF-cert.pem\n";
  }
  return true;
}

}  // namespace

int run_send(const std::vector<std::string>& argv_in) {
  std::vector<OptionSpec> specs = {
      {"url", true, "where to POST: http://HOST:PORT/PATH or https://..."},
      {"secret", true, "the secret, literal or env:NAME; none needs none"},
      {"source", true, "sign and send as this source of the config"},
      {"config", true, "the config that defines --source (HOOKMCP_CONFIG)"},
      {"type", true, "the event type, for providers that send it in a header"},
      {"header", true, "a header NAME:VALUE to add or replace (repeatable)"},
      {"delivery-id", true, "use this delivery id instead of a fresh random one"},
      {"fresh-id", false, "send as a new delivery, never a repeat (see above)"},
      {"verbose", false, "-v: the request and the response headers to stderr"},
      {"key", true, "gmail, sendgrid, sns: the private key to sign with (PEM file)"},
      {"audience", true, "gmail: the token's audience (the source's audience)"},
      {"service-account", true, "gmail: the token's email (the source's service_account)"},
      {"cert-url", true, "sns: the SigningCertURL where the key's certificate is served"},
      {"new-key", true, "gmail, sendgrid, sns: write a new key pair to DIR and exit"},
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
  if (auto dir = args->value("new-key")) {
    if (args->positionals.size() != 1) return usage("--new-key DIR goes with PROVIDER alone");
    return write_new_key(args->positionals[0], *dir) ? kExitOk : kExitFailure;
  }
  const auto source_name = args->value("source");
  if (args->value("config") && !source_name) return usage("--config goes with --source");
  // With --source, PROVIDER is optional: FILE is then the only argument.
  const size_t wanted = source_name && args->positionals.size() < 2 ? 1 : 2;
  if (args->positionals.size() != wanted) {
    return usage(args->positionals.empty()
                     ? (source_name ? "missing FILE (a path, or - for stdin)"
                                    : "missing PROVIDER and FILE (see hookmcp send --help)")
                 : args->positionals.size() == 1
                     ? "missing FILE (a path, or - for stdin)"
                     : "unexpected argument \"" + args->positionals[wanted] + "\"");
  }
  const std::string& file = args->positionals.back();

  verify::SignRequest sign;
  std::optional<std::string> url = args->value("url");
  std::optional<std::string> secret = args->value("secret");
  if (source_name) {
    auto target = configured_source(*args, *source_name);
    if (!target) return usage(target.error().message);
    if (wanted == 2 && args->positionals[0] != target->source.provider) {
      return usage("source " + *source_name + " is provider " + target->source.provider + ", not " +
                   args->positionals[0]);
    }
    sign.provider = target->source.provider;
    if (!url) url = target->url;
    if (!secret && !target->source.secrets.empty()) {
      sign.secret = target->source.secrets.front().value;
    }
    if (sign.provider == "hmac" || sign.provider == "none") sign.generic = target->source;
    sign.audience = target->source.audience;
    sign.service_account = target->source.service_account;
  } else {
    sign.provider = args->positionals[0];
    if (std::find(std::begin(config::kProviders), std::end(config::kProviders), sign.provider) ==
        std::end(config::kProviders)) {
      std::string list;
      for (const char* p : config::kProviders) list += std::string(list.empty() ? "" : ", ") + p;
      return usage("unknown provider \"" + sign.provider + "\" (expected one of: " + list + ")");
    }
    if (!url) return usage("--url is required (or --source NAME)");
    if (!secret && verify::needs_secret(sign.provider)) {
      return usage("--secret is required for provider " + sign.provider);
    }
  }
  if (auto parsed = net::parse_url(*url); !parsed) {
    return usage("--url: " + parsed.error().message);
  }
  if (secret) {
    auto resolved = resolve_secret(*secret, "--secret");
    if (!resolved) return usage(resolved.error().message);
    sign.secret = *resolved;
  }
  if (auto type = args->value("type")) {
    if (!verify::has_type_header(sign.provider)) {
      std::cerr << kCommand << sign.provider
                << " carries the event type in the payload; --type is ignored\n";
    }
    sign.type = *type;
  }
  const bool fresh_id = args->flag("fresh-id");
  sign.delivery_id = args->value("delivery-id").value_or("");
  if (!sign.delivery_id.empty() && !verify::has_delivery_header(sign.provider)) {
    std::cerr << kCommand << sign.provider
              << " carries the delivery id in the payload; --delivery-id is ignored\n";
  }
  if (fresh_id && !sign.delivery_id.empty()) {
    return usage("--fresh-id makes a new delivery id; it does not go with --delivery-id");
  }
  std::vector<Headers::Field> overrides;
  for (const auto& text : *extra) {
    auto field = parse_header(text);
    if (!field) return usage(field.error().message);
    overrides.push_back(std::move(*field));
  }

  if (auto key = args->value("key")) {
    auto pem = read_payload(*key);
    if (!pem) return usage("--key: " + pem.error().message);
    sign.private_key = std::move(*pem);
  }
  if (auto audience = args->value("audience")) sign.audience = *audience;
  if (auto account = args->value("service-account")) sign.service_account = *account;
  sign.cert_url = args->value("cert-url").value_or("");

  auto body = read_payload(file);
  if (!body) return usage(body.error().message);
  if (fresh_id) {
    auto renewed = verify::with_fresh_id(sign.provider, *body);
    if (!renewed) return usage("--fresh-id: " + renewed.error().message);
    body = std::move(*renewed);
  }
  sign.body = std::move(*body);
  sign.now_s = SystemClock().now_ms() / 1000;
  auto signed_body = verify::sign_body(sign);
  if (!signed_body) return usage(signed_body.error().message);
  sign.body = std::move(*signed_body);
  auto signed_headers = verify::sign(sign);
  if (!signed_headers) {
    return usage((source_name ? "source " + *source_name : std::string("--secret")) + ": " +
                 signed_headers.error().message);
  }

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

  const bool verbose = args->flag("verbose");
  if (verbose) print_request(request);
  auto response = net::http_request(request);
  if (!response) {
    std::cerr << kCommand << response.error().message << "\n";
    return kExitFailure;
  }
  if (verbose) print_response(*response);
  std::cout << response->status_line() << "\n" << response->body;
  if (!response->body.empty() && response->body.back() != '\n') std::cout << "\n";
  std::cout.flush();
  note_duplicate(*response);
  return response->status >= 200 && response->status < 300 ? kExitOk : kExitFailure;
}

}  // namespace hookmcp::app
