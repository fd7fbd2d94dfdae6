// One entry of `connections`, checked for what would otherwise fail only at the provider: a kind
// that does not exist, a GitHub connection naming neither a repository nor an organization, an
// OAuth connection without its client, a Gmail watch without its topic.
#include <algorithm>

#include "hookmcp/core/event.hpp"
#include "parse.hpp"

namespace hookmcp::config {

namespace {

struct KindInfo {
  Connection::Kind kind;
  const char* name;
  const char* provider;
  const char* api_url;
  const char* token_url;
};

// Each kind's name, the provider of the source it feeds and its provider's URLs.
constexpr KindInfo kKinds[] = {
    {Connection::Kind::kGithub, "github", "github", "https://api.github.com", ""},
    {Connection::Kind::kGoogleCalendar, "google-calendar", "google-calendar",
     "https://www.googleapis.com/calendar/v3", "https://oauth2.googleapis.com/token"},
    {Connection::Kind::kGmail, "gmail", "gmail", "https://gmail.googleapis.com/gmail/v1",
     "https://oauth2.googleapis.com/token"},
    {Connection::Kind::kMsgraph, "msgraph", "msgraph", "https://graph.microsoft.com/v1.0",
     "https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token"},
};

const KindInfo& info(Connection::Kind kind) {
  for (const auto& k : kKinds) {
    if (k.kind == kind) return k;
  }
  return kKinds[0];
}

}  // namespace

std::string Connection::kind_name() const { return info(kind).name; }
std::string Connection::provider() const { return info(kind).provider; }

nlohmann::json Connection::to_json() const {
  using nlohmann::json;
  json j = {{"kind", kind_name()}, {"source", source}, {"api_url", api_url}};
  switch (kind) {
    case Kind::kGithub:
      if (!repository.empty()) j["repository"] = repository;
      if (!organization.empty()) j["organization"] = organization;
      j["events"] = events;
      j["token"] = token.redacted();
      return j;
    case Kind::kGoogleCalendar:
      j["calendar"] = calendar;
      break;
    case Kind::kGmail:
      j["topic"] = topic;
      j["label_ids"] = label_ids;
      j["include_body"] = include_body;
      if (!audience.empty()) j["audience"] = audience;
      if (!service_account.empty()) j["service_account"] = service_account;
      break;
    case Kind::kMsgraph:
      j["tenant"] = tenant;
      j["resource"] = resource;
      j["change_type"] = change_type;
      break;
  }
  j["token_url"] = token_url;
  j["client_id"] = client_id;
  if (!client_secret.reference.empty()) j["client_secret"] = client_secret.redacted();
  j["refresh_token"] = refresh_token.reference.empty() ? json("stored by hookmcp connections login")
                                                       : json(refresh_token.redacted());
  return j;
}

namespace detail {

std::optional<Connection> parse_connection(const std::string& name, const json& v,
                                           const Getenv& getenv, Findings& f) {
  const std::string where = member("connections", name);
  const size_t errors = f.errors.size();
  if (!v.is_object()) {
    f.error(where, "expected an object: {\"kind\": \"github\", ...}");
    return std::nullopt;
  }
  Connection c;
  c.name = name;
  if (!v.contains("kind")) {
    f.error(member(where, "kind"), "is required: one of github, google-calendar, gmail, msgraph");
    return std::nullopt;
  }
  auto kind = get_string(v["kind"], member(where, "kind"), f);
  if (!kind) return std::nullopt;
  const KindInfo* found = nullptr;
  for (const auto& k : kKinds) {
    if (*kind == k.name) found = &k;
  }
  if (found == nullptr) {
    f.error(member(where, "kind"),
            "unknown kind \"" + *kind + "\": one of github, google-calendar, gmail, msgraph");
    return std::nullopt;
  }
  c.kind = found->kind;
  const bool oauth = c.uses_oauth();
  std::vector<const char*> keys = {"kind", "source", "api_url"};
  switch (c.kind) {
    case Connection::Kind::kGithub:
      keys.insert(keys.end(), {"repository", "organization", "events", "token"});
      break;
    case Connection::Kind::kGoogleCalendar:
      keys.insert(keys.end(), {"calendar"});
      break;
    case Connection::Kind::kGmail:
      keys.insert(keys.end(),
                  {"topic", "label_ids", "include_body", "audience", "service_account"});
      break;
    case Connection::Kind::kMsgraph:
      keys.insert(keys.end(), {"tenant", "resource", "change_type"});
      break;
  }
  if (oauth) keys.insert(keys.end(), {"token_url", "client_id", "client_secret", "refresh_token"});
  for (const auto& item : v.items()) {
    const std::string& key = item.key();
    if (std::find_if(keys.begin(), keys.end(), [&](const char* k) { return key == k; }) ==
        keys.end()) {
      f.error(member(where, key), "unknown field for a " + *kind + " connection");
    }
  }
  auto text = [&](const char* key, std::string& out) {
    if (v.contains(key)) {
      if (auto s = get_string(v[key], member(where, key), f)) out = *s;
    }
  };
  auto secret = [&](const char* key, Secret& out) {
    if (!v.contains(key)) return;
    if (auto s = get_string(v[key], member(where, key), f)) {
      if (auto r = resolve_secret(*s, member(where, key), getenv, f)) out = std::move(*r);
    }
  };
  c.source = name;
  text("source", c.source);
  if (!valid_source_name(c.source) || c.source == kNoticeSource) {
    f.error(member(where, "source"),
            "\"" + c.source + "\" cannot name a source (letters, digits, - and _; not hookmcp)");
  }
  c.api_url = found->api_url;
  text("api_url", c.api_url);
  check_http_url(c.api_url, member(where, "api_url"), found->api_url, f);
  while (!c.api_url.empty() && c.api_url.back() == '/') c.api_url.pop_back();

  switch (c.kind) {
    case Connection::Kind::kGithub: {
      text("repository", c.repository);
      text("organization", c.organization);
      if (c.repository.empty() == c.organization.empty()) {
        f.error(where, "give one of repository (\"owner/name\") or organization");
      }
      if (!c.repository.empty() &&
          (std::count(c.repository.begin(), c.repository.end(), '/') != 1 ||
           c.repository.front() == '/' || c.repository.back() == '/')) {
        f.error(member(where, "repository"), "expected \"owner/name\"");
      }
      c.events = {"*"};
      if (v.contains("events")) {
        if (auto e = get_strings(v["events"], member(where, "events"), f)) c.events = *e;
        if (c.events.empty()) f.error(member(where, "events"), "name at least one event, or \"*\"");
      }
      secret("token", c.token);
      if (c.token.value.empty() && !v.contains("token")) {
        f.error(member(where, "token"),
                "is required: a token that may manage webhooks, e.g. \"env:GITHUB_TOKEN\"");
      }
      break;
    }
    case Connection::Kind::kGoogleCalendar:
      text("calendar", c.calendar);
      if (c.calendar.empty()) f.error(member(where, "calendar"), "must not be empty");
      break;
    case Connection::Kind::kGmail:
      text("topic", c.topic);
      if (c.topic.rfind("projects/", 0) != 0 || c.topic.find("/topics/") == std::string::npos) {
        f.error(member(where, "topic"),
                "is required: the Pub/Sub topic Gmail publishes to, "
                "\"projects/PROJECT/topics/TOPIC\"");
      }
      if (v.contains("label_ids")) {
        if (auto l = get_strings(v["label_ids"], member(where, "label_ids"), f)) c.label_ids = *l;
      }
      if (v.contains("include_body")) {
        if (auto b = get_bool(v["include_body"], member(where, "include_body"), f)) {
          c.include_body = *b;
        }
      }
      text("audience", c.audience);
      text("service_account", c.service_account);
      break;
    case Connection::Kind::kMsgraph:
      text("tenant", c.tenant);
      text("resource", c.resource);
      text("change_type", c.change_type);
      if (c.resource.empty()) {
        f.error(member(where, "resource"),
                "is required: what to watch, e.g. \"me/mailFolders('Inbox')/messages\"");
      }
      if (c.tenant.empty() || c.tenant.find_first_of("/?#") != std::string::npos) {
        f.error(member(where, "tenant"), "expected a tenant id or name, e.g. \"common\"");
      }
      break;
  }
  if (oauth) {
    c.token_url = found->token_url;
    text("token_url", c.token_url);
    if (auto at = c.token_url.find("{tenant}"); at != std::string::npos) {
      c.token_url.replace(at, 8, c.tenant);
    }
    check_http_url(c.token_url, member(where, "token_url"), found->token_url, f);
    text("client_id", c.client_id);
    if (c.client_id.empty()) {
      f.error(member(where, "client_id"), "is required: the OAuth client hookmcp acts as");
    }
    secret("client_secret", c.client_secret);
    secret("refresh_token", c.refresh_token);
  }
  if (f.errors.size() != errors) return std::nullopt;
  return c;
}

}  // namespace detail

}  // namespace hookmcp::config
