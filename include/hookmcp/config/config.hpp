// Effective settings: defaults, then the config file, then HOOKMCP_* environment, then flags.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "hookmcp/core/result.hpp"

namespace hookmcp::config {

inline constexpr const char* kProviders[] = {
    "github",   "stripe",          "slack", "standard", "shopify",
    "gitlab",   "google-calendar", "gmail", "msgraph",  "mailgun",
    "postmark", "sendgrid",        "sns",   "hmac",     "none"};

// The providers whose senders sign with a key of their own (Google's, SendGrid's, Amazon's),
// which the source names some other way than `secrets`: they take none.
bool signs_with_public_key(std::string_view provider);

enum class Durability { kFull, kNormal };

// A secret as the user wrote it (`env:NAME` or a literal) and its resolved value.
struct Secret {
  std::string reference;
  std::string value;
  bool operator==(const Secret&) const = default;
  // What may be shown to a person: the env reference, never a literal's value.
  std::string redacted() const;
};

struct Source {
  std::string name;
  std::string provider;
  std::vector<Secret> secrets;
  int tolerance_s = 300;
  std::vector<std::string> ignore_types;
  // provider "hmac": where the signature is and how it is encoded.
  std::string header;
  std::string algorithm = "sha256";  // sha1 | sha256 | sha512
  std::string encoding = "hex";      // hex | base64
  std::string prefix;
  std::string timestamp_header;  // optional; enables the tolerance check
  std::string signed_template;   // e.g. "{timestamp}.{body}"; default is the body alone
  // providers "hmac" and "none": where type and delivery id come from.
  std::string type_header = "X-Event-Type";
  std::string type_pointer = "/type";
  std::string delivery_header = "X-Delivery-Id";
  // provider "gmail": the OIDC token Pub/Sub push sends. `audience` is the subscription's
  // audience, `service_account` the email of the account it pushes as; both are required.
  std::string audience;
  std::string service_account;
  // Google's keys; or another JWKS URL, or a file (a path, or file:PATH).
  std::string jwks_url = "https://www.googleapis.com/oauth2/v3/certs";
  // provider "sendgrid": the verification key SendGrid shows (base64 DER, or PEM).
  std::string public_key;
  // provider "sns": the topics accepted ("*" for any), whether a SubscriptionConfirmation is
  // confirmed by hookmcp, and where signing certificates may come from (empty:
  // https://sns.REGION.amazonaws.com/, as Amazon signs; another prefix for tests).
  std::vector<std::string> topic_arns;
  bool auto_confirm = false;
  std::string cert_url_prefix;

  // Whether deliveries are checked (a shared secret or the sender's public key): all but "none".
  bool is_signed() const { return provider != "none"; }
};

// One entry of `triggers`: what events it is for, and what it does with each.
struct TriggerMatch {
  // Exact values, or patterns where `*` stands for any run of characters. Unset: any.
  std::optional<std::string> source;
  std::optional<std::string> type;
  std::optional<std::string> action;
  // JSON Pointer -> the value there; a string value may hold `*` patterns too.
  std::vector<std::pair<std::string, nlohmann::json>> payload;
  bool operator==(const TriggerMatch&) const = default;
};

struct Trigger {
  enum class Action { kForward, kRun, kNotify };
  std::string name;
  TriggerMatch match;
  Action action = Action::kForward;
  // forward: where, and how: the original request (the provider's headers and signature), or
  // signed as Standard Webhooks with `secret` (whsec_...).
  std::string url;
  bool signed_mode = false;
  Secret secret;
  // run: the command (argv[0] a path or a name on PATH, no shell), at most `concurrency` at once.
  std::vector<std::string> argv;
  int concurrency = 1;
  // notify: the message, with {{source}}, {{type}}, {{action}}, {{id}}, {{received_at}} and
  // {{payload./json/pointer}} filled in from the event.
  std::string message;
  // forward and run: one attempt's limit, and the attempts before the run is dead-lettered.
  int timeout_s = 30;
  int max_attempts = 8;
  bool operator==(const Trigger&) const = default;
  std::string action_name() const;  // "forward", "run" or "notify"
  // As check-config shows it: every field, the secret as its reference (env:NAME) or redacted.
  nlohmann::json to_json() const;
};

// One entry of `connections`: an account at a provider and what to watch there. hookmcp
// registers the webhook (channel, subscription) itself, keeps it alive, and fetches what a
// notification only points at (the connections module).
struct Connection {
  enum class Kind { kGithub, kGoogleCalendar, kGmail, kMsgraph };
  std::string name;
  Kind kind = Kind::kGithub;
  std::string source;     // the source its notifications and derived events are stored under
  std::string api_url;    // the provider's API base URL (another one for tests)
  std::string token_url;  // OAuth 2.0 token endpoint (Google, Microsoft)
  // github: one of repository ("owner/name") or organization, the events subscribed to, and a
  // token that may manage its webhooks (a personal or an App installation token).
  std::string repository;
  std::string organization;
  std::vector<std::string> events;
  Secret token;
  // Google and Microsoft: the OAuth client and the refresh token (or the one
  // `hookmcp connections login` stored, when not given here).
  std::string client_id;
  Secret client_secret;
  Secret refresh_token;
  std::string tenant = "common";  // msgraph
  // google-calendar: the calendar watched.
  std::string calendar = "primary";
  // gmail: the Pub/Sub topic Gmail publishes to, the labels watched, whether a message's body is
  // fetched too (metadata and snippet only by default), and the push subscription's OIDC
  // audience and service account for the source hookmcp makes.
  std::string topic;
  std::vector<std::string> label_ids;
  bool include_body = false;
  std::string audience;
  std::string service_account;
  // msgraph: the resource watched and the changes wanted.
  std::string resource;
  std::string change_type = "created,updated,deleted";
  bool operator==(const Connection&) const = default;
  std::string kind_name() const;  // "github", "google-calendar", "gmail", "msgraph"
  // The provider of the source it feeds.
  std::string provider() const;
  bool uses_oauth() const { return kind != Kind::kGithub; }
  // As check-config shows it: secrets as their reference (env:NAME) or redacted.
  nlohmann::json to_json() const;
};

struct Endpoint {
  std::string host = "127.0.0.1";
  uint16_t port = 8787;
  std::string to_string() const;  // host:port, IPv6 hosts in brackets
};

// mcp.oauth: hookmcp as an OAuth 2.1 resource server (see auth::ResourceServer).
struct OAuthSettings {
  std::string issuer;    // the authorization server; its metadata lists its keys
  std::string audience;  // what tokens for hookmcp carry in `aud`
  std::string resource;  // the public URL of /mcp for clients; `audience` when not given
  std::vector<std::string> scopes = {"events:read", "events:write"};
  int jwks_cache_s = 3600;
  int leeway_s = 60;
  bool operator==(const OAuthSettings&) const = default;
};

struct Config {
  Endpoint listen;
  std::string database;
  Durability durability = Durability::kFull;
  uint64_t max_body_bytes = uint64_t{25} << 20;
  // Bytes of accepted bodies waiting for their commit; past it intake answers 503.
  uint64_t max_pending_bytes = uint64_t{256} << 20;
  // How long a client may take to send a request's headers (or stay idle between keep-alive
  // requests), and its body: a slow sender is cut off rather than holding a connection forever.
  int http_header_timeout_s = 30;
  int http_body_timeout_s = 120;
  int retention_max_age_days = 30;           // 0: keep forever
  int64_t retention_max_events = 1'000'000;  // 0: no limit
  std::string tls_cert_file;
  std::string tls_key_file;
  std::vector<Secret> mcp_tokens;
  // Who each token is (mcp_tokens[i]'s): the principal that owns its MCP Events webhook
  // subscriptions. A token given as a string is "token-N", N its place in the list from 1.
  std::vector<std::string> mcp_token_principals;
  std::vector<std::string> mcp_allowed_origins;
  std::vector<std::string> mcp_allowed_hosts;
  std::optional<std::vector<std::string>> mcp_channel_sources;  // unset: all sources
  std::optional<OAuthSettings> mcp_oauth;                       // unset: no OAuth
  std::map<std::string, Source> sources;
  std::map<std::string, Trigger> triggers;
  std::map<std::string, Connection> connections;
  // Where providers reach this server (https://hooks.example.com): the webhooks and channels
  // connections register point at public_url + /hooks/SOURCE.
  std::string public_url;
  // MCP Events webhook callbacks may be http:// and reach private, loopback and link-local
  // addresses: for tests and local development (events.allow_private_callbacks).
  bool events_allow_private_callbacks = false;
  // Webhook subscriptions one principal may hold at once (events.max_subscriptions_per_principal).
  int events_max_subscriptions_per_principal = 100;
  bool allow_unsigned = false;
  std::string log_level = "info";
  std::string config_file;  // where the file settings came from, if any

  // The effective settings as JSON, every secret redacted.
  nlohmann::json to_redacted_json() const;
};

// One thing wrong with the settings, or one that has no effect: where (a field path such as
// `sources.github.secrets[0]`, a flag or a variable) and what.
struct Finding {
  std::string file;  // the config file that holds `where`; empty for a flag or a variable
  std::string where;
  std::string what;
  std::string to_string() const;  // "FILE: where: what", or "where: what"
};

// What checking the settings found, gathered rather than stopping at the first mistake so that
// one run lists them all. Errors stop every command that loads the config; warnings (a field that
// does not apply to its source's provider) are reported and the command goes on.
struct Findings {
  std::vector<Finding> errors;
  std::vector<Finding> warnings;

  void error(std::string where, std::string what);
  void warn(std::string where, std::string what);
  bool ok() const { return errors.empty(); }
  // Every error, one per line, as one kInvalidArgument Error.
  Error to_error() const;
};

// Settings given on the command line; unset ones fall through to env, file, defaults.
struct Overrides {
  std::optional<std::string> config_file;
  std::optional<std::string> database;
  std::optional<std::string> listen;
  std::optional<std::string> log_level;
  bool allow_unsigned = false;
};

using Getenv = std::function<std::optional<std::string>(const std::string&)>;
Getenv process_env();

// The settings as far as they could be read, and everything found wrong with them. `config` is
// only fit to use when findings.ok().
struct Loaded {
  Config config;
  Findings findings;
};

// Loads and validates, going on past errors so that all of them are reported.
Loaded load_all(const Overrides& overrides, const Getenv& getenv);

// Loads and validates. The error lists every mistake, one per line, each naming the flag,
// variable or field at fault; warnings are dropped.
Result<Config> load(const Overrides& overrides, const Getenv& getenv);

// Parses a JSON config document (already read) onto `config`, recording what is wrong in
// `findings` (field paths relative to the document).
void apply_json(const nlohmann::json& doc, const Getenv& getenv, Config& config,
                Findings& findings);
// The same, its errors as one Error.
Status apply_json(const nlohmann::json& doc, const Getenv& getenv, Config& config);

Result<Endpoint> parse_endpoint(const std::string& text);
// The database setting as logs and check-config show it: a PostgreSQL URL's password as ***.
std::string shown_database(const std::string& database);
// localhost, ::1 (bracketed or not) or a dotted quad in 127.0.0.0/8.
bool is_loopback_host(std::string_view host);

// $XDG_DATA_HOME/hookmcp/events.db, else ~/.local/share/hookmcp/events.db.
std::string default_database_path(const Getenv& getenv);

// Rules that depend on several settings at once, e.g. a public listener needs signed sources.
void check_exposure(const Config& config, Findings& findings);
Status check_exposure(const Config& config);

// What a server (serve, stdio) needs beyond valid settings: the TLS files readable, and the
// exposure rules above (checked only when `findings` holds no error yet). Reading events from the
// command line needs neither.
void check_serving(const Config& config, Findings& findings);

}  // namespace hookmcp::config
