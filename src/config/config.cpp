#include "hookmcp/config/config.hpp"

#include "hookmcp/core/event.hpp"
#include "hookmcp/core/headers.hpp"
#include "hookmcp/core/json.hpp"

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>

namespace hookmcp::config {

using nlohmann::json;

namespace {

Error invalid(const std::string& where, const std::string& what) {
  return make_error(ErrorCode::kInvalidArgument, where + ": " + what);
}

std::string type_name(const json& v) { return v.type_name(); }

// Rejects keys outside `allowed` so that a misspelt setting is reported instead of ignored.
Status check_keys(const json& obj, const std::string& where,
                  std::initializer_list<const char*> allowed) {
  for (const auto& item : obj.items()) {
    const std::string& key = item.key();
    bool known =
        std::any_of(allowed.begin(), allowed.end(), [&](const char* a) { return key == a; });
    if (!known) {
      std::string list;
      for (const char* a : allowed) list.append(list.empty() ? "" : ", ").append(a);
      return invalid(where.empty() ? key : where + "." + key,
                     "unknown field (expected one of: " + list + ")");
    }
  }
  return {};
}

Result<std::string> get_string(const json& v, const std::string& where) {
  if (!v.is_string()) return invalid(where, "expected a string, got " + type_name(v));
  return v.get<std::string>();
}

Result<int64_t> get_int(const json& v, const std::string& where, int64_t min, int64_t max) {
  if (!v.is_number_integer()) return invalid(where, "expected an integer, got " + type_name(v));
  int64_t n = v.get<int64_t>();
  if (n < min || n > max) {
    return invalid(where, "must be between " + std::to_string(min) + " and " + std::to_string(max));
  }
  return n;
}

Result<std::vector<std::string>> get_strings(const json& v, const std::string& where) {
  if (!v.is_array()) return invalid(where, "expected an array of strings, got " + type_name(v));
  std::vector<std::string> out;
  for (size_t i = 0; i < v.size(); ++i) {
    auto s = get_string(v[i], where + "[" + std::to_string(i) + "]");
    if (!s) return s.error();
    out.push_back(std::move(*s));
  }
  return out;
}

Result<Secret> resolve_secret(const std::string& ref, const std::string& where,
                              const Getenv& getenv) {
  if (ref.rfind("env:", 0) == 0) {
    std::string name = ref.substr(4);
    if (name.empty()) return invalid(where, "\"env:\" needs a variable name");
    auto value = getenv(name);
    if (!value || value->empty()) {
      return invalid(where, "environment variable " + name + " is not set");
    }
    return Secret{ref, *value};
  }
  if (ref.empty()) return invalid(where, "a secret must not be empty");
  return Secret{ref, ref};
}

Result<std::vector<Secret>> get_secrets(const json& v, const std::string& where,
                                        const Getenv& getenv) {
  auto refs = get_strings(v, where);
  if (!refs) return refs.error();
  std::vector<Secret> out;
  for (size_t i = 0; i < refs->size(); ++i) {
    auto s = resolve_secret((*refs)[i], where + "[" + std::to_string(i) + "]", getenv);
    if (!s) return s.error();
    out.push_back(std::move(*s));
  }
  return out;
}

// mcp.tokens: each a secret ("env:NAME" or a literal), or {"token": secret, "principal": name}.
Status get_tokens(const json& v, const Getenv& getenv, Config& c) {
  if (!v.is_array()) return invalid("mcp.tokens", "expected an array, got " + type_name(v));
  c.mcp_tokens.clear();
  c.mcp_token_principals.clear();
  for (size_t i = 0; i < v.size(); ++i) {
    const std::string where = "mcp.tokens[" + std::to_string(i) + "]";
    const json& entry = v[i];
    json token = entry;
    std::string principal = "token-" + std::to_string(i + 1);
    if (entry.is_object()) {
      if (auto st = check_keys(entry, where, {"token", "principal"}); !st) return st;
      if (!entry.contains("token")) return invalid(where + ".token", "is required");
      token = entry["token"];
      if (entry.contains("principal")) {
        auto p = get_string(entry["principal"], where + ".principal");
        if (!p) return p.error();
        if (p->empty() || p->size() > 128) {
          return invalid(where + ".principal", "must be 1 to 128 characters");
        }
        principal = *p;
      }
    }
    if (!token.is_string()) {
      return invalid(where, "expected a string (or {\"token\": ..., \"principal\": ...})");
    }
    auto secret = resolve_secret(token.get<std::string>(), where, getenv);
    if (!secret) return secret.error();
    if (std::find(c.mcp_token_principals.begin(), c.mcp_token_principals.end(), principal) !=
        c.mcp_token_principals.end()) {
      return invalid(where + ".principal", "\"" + principal + "\" names another token too");
    }
    c.mcp_tokens.push_back(std::move(*secret));
    c.mcp_token_principals.push_back(std::move(principal));
  }
  return {};
}

// "whsec_" (optional, as in the reference libraries) and a non-empty base64 key. Caught here so
// that a mistyped secret is a config error, not a 401 for every delivery.
bool standard_secret_ok(std::string_view secret) {
  if (secret.rfind("whsec_", 0) == 0) secret.remove_prefix(6);
  while (!secret.empty() && secret.back() == '=') secret.remove_suffix(1);
  if (secret.empty() || secret.size() % 4 == 1) return false;
  return std::all_of(secret.begin(), secret.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
           c == '/';
  });
}

Status apply_source(const std::string& name, const json& v, const Getenv& getenv, Source& s) {
  const std::string where = "sources." + name;
  if (!valid_source_name(name)) {
    return invalid(where, kSourceNameRule);
  }
  if (!v.is_object()) return invalid(where, "expected an object, got " + type_name(v));
  if (auto st = check_keys(v, where,
                           {"provider", "secrets", "tolerance_s", "ignore_types", "header",
                            "algorithm", "encoding", "prefix", "timestamp_header",
                            "signed_template", "type_header", "type_pointer", "delivery_header"});
      !st) {
    return st;
  }
  s.name = name;
  if (!v.contains("provider")) return invalid(where + ".provider", "is required");
  auto provider = get_string(v["provider"], where + ".provider");
  if (!provider) return provider.error();
  if (std::find(std::begin(kProviders), std::end(kProviders), *provider) == std::end(kProviders)) {
    std::string list;
    for (const char* p : kProviders) list += std::string(list.empty() ? "" : ", ") + p;
    return invalid(where + ".provider",
                   "unknown provider \"" + *provider + "\" (expected one of: " + list + ")");
  }
  s.provider = *provider;

  for (const auto& [key, value] : v.items()) {
    const std::string field = where + "." + key;
    if (key == "provider") continue;
    if (key == "secrets") {
      auto secrets = get_secrets(value, field, getenv);
      if (!secrets) return secrets.error();
      s.secrets = std::move(*secrets);
    } else if (key == "tolerance_s") {
      auto n = get_int(value, field, 1, 86400);
      if (!n) return n.error();
      s.tolerance_s = static_cast<int>(*n);
    } else if (key == "ignore_types") {
      auto types = get_strings(value, field);
      if (!types) return types.error();
      s.ignore_types = std::move(*types);
    } else {
      auto str = get_string(value, field);
      if (!str) return str.error();
      if (key == "header") s.header = *str;
      if (key == "algorithm") s.algorithm = *str;
      if (key == "encoding") s.encoding = *str;
      if (key == "prefix") s.prefix = *str;
      if (key == "timestamp_header") s.timestamp_header = *str;
      if (key == "signed_template") s.signed_template = *str;
      if (key == "type_header") s.type_header = *str;
      if (key == "type_pointer") s.type_pointer = *str;
      if (key == "delivery_header") s.delivery_header = *str;
    }
  }

  if (s.provider == "none" && !s.secrets.empty()) {
    return invalid(where + ".secrets",
                   "provider \"none\" verifies nothing; remove the secrets or pick a provider");
  }
  if (s.provider != "none" && s.secrets.empty()) {
    return invalid(where + ".secrets", "provider \"" + s.provider + "\" needs at least one secret");
  }
  if (s.provider == "standard") {
    for (size_t i = 0; i < s.secrets.size(); ++i) {
      if (!standard_secret_ok(s.secrets[i].value)) {
        return invalid(where + ".secrets[" + std::to_string(i) + "]",
                       "a Standard Webhooks secret is \"whsec_\" followed by base64");
      }
    }
  }
  if (s.provider == "hmac") {
    if (s.header.empty())
      return invalid(where + ".header", "provider \"hmac\" needs the signature header name");
    if (s.algorithm != "sha1" && s.algorithm != "sha256" && s.algorithm != "sha512") {
      return invalid(where + ".algorithm", "expected sha1, sha256 or sha512");
    }
    if (s.encoding != "hex" && s.encoding != "base64") {
      return invalid(where + ".encoding", "expected hex or base64");
    }
  }
  if (!s.type_pointer.empty() && s.type_pointer[0] != '/') {
    return invalid(where + ".type_pointer", "a JSON Pointer starts with '/'");
  }
  return {};
}

}  // namespace

std::string Secret::redacted() const {
  if (reference.rfind("env:", 0) == 0) return reference;
  return "<redacted>";
}

std::string Endpoint::to_string() const {
  std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  return h + ":" + std::to_string(port);
}

Getenv process_env() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* v = std::getenv(name.c_str());
    if (v == nullptr) return std::nullopt;
    return std::string(v);
  };
}

Result<Endpoint> parse_endpoint(const std::string& text) {
  std::string host;
  std::string port;
  if (!text.empty() && text[0] == '[') {
    auto close = text.find(']');
    if (close == std::string::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return make_error(ErrorCode::kInvalidArgument, "expected [IPV6]:PORT, got \"" + text + "\"");
    }
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    auto colon = text.rfind(':');
    if (colon == std::string::npos) {
      return make_error(ErrorCode::kInvalidArgument, "expected HOST:PORT, got \"" + text + "\"");
    }
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  if (host.empty())
    return make_error(ErrorCode::kInvalidArgument, "missing host in \"" + text + "\"");
  if (port.empty() || port.size() > 5 ||
      !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; }) ||
      std::stoi(port) > 65535) {
    return make_error(ErrorCode::kInvalidArgument, "port must be 0 to 65535 in \"" + text + "\"");
  }
  return Endpoint{host, static_cast<uint16_t>(std::stoi(port))};
}

bool is_loopback_host(std::string_view host) {
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (host == "::1" || iequals(host, "localhost")) return true;
  // A dotted quad in 127.0.0.0/8, and nothing else ("127.0.0.1.example.com" is a name).
  int parts = 0;
  int first = -1;
  for (size_t i = 0; i <= host.size(); ++parts) {
    size_t dot = std::min(host.find('.', i), host.size());
    std::string_view part = host.substr(i, dot - i);
    if (part.empty() || part.size() > 3 ||
        !std::all_of(part.begin(), part.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      return false;
    }
    int value = std::stoi(std::string(part));
    if (value > 255) return false;
    if (first < 0) first = value;
    i = dot + 1;
  }
  return parts == 4 && first == 127;
}

std::string default_database_path(const Getenv& getenv) {
  if (auto xdg = getenv("XDG_DATA_HOME"); xdg && !xdg->empty()) return *xdg + "/hookmcp/events.db";
  auto home = getenv("HOME");
  return (home && !home->empty() ? *home : std::string(".")) + "/.local/share/hookmcp/events.db";
}

Status apply_json(const json& doc, const Getenv& getenv, Config& c) {
  if (!doc.is_object()) return invalid("config", "expected a JSON object, got " + type_name(doc));
  if (auto st = check_keys(doc, "",
                           {"listen", "database", "durability", "max_body_bytes",
                            "max_pending_bytes", "http", "retention", "tls", "mcp", "events",
                            "sources", "log_level", "allow_unsigned", "$schema"});
      !st) {
    return st;
  }
  for (const auto& [key, v] : doc.items()) {
    if (key == "listen") {
      auto s = get_string(v, key);
      if (!s) return s.error();
      auto ep = parse_endpoint(*s);
      if (!ep) return invalid(key, ep.error().message);
      c.listen = *ep;
    } else if (key == "database") {
      auto s = get_string(v, key);
      if (!s) return s.error();
      if (s->empty()) return invalid(key, "must not be empty");
      c.database = *s;
    } else if (key == "durability") {
      auto s = get_string(v, key);
      if (!s) return s.error();
      if (*s == "full") {
        c.durability = Durability::kFull;
      } else if (*s == "normal") {
        c.durability = Durability::kNormal;
      } else {
        return invalid(key, "expected \"full\" or \"normal\", got \"" + *s + "\"");
      }
    } else if (key == "max_body_bytes" || key == "max_pending_bytes") {
      auto n = get_int(v, key, 1, int64_t{1} << 40);
      if (!n) return n.error();
      (key == "max_body_bytes" ? c.max_body_bytes : c.max_pending_bytes) =
          static_cast<uint64_t>(*n);
    } else if (key == "log_level") {
      auto s = get_string(v, key);
      if (!s) return s.error();
      c.log_level = *s;
    } else if (key == "allow_unsigned") {
      if (!v.is_boolean()) return invalid(key, "expected true or false");
      c.allow_unsigned = v.get<bool>();
    } else if (key == "events") {
      if (!v.is_object()) return invalid(key, "expected an object");
      if (auto st =
              check_keys(v, key, {"allow_private_callbacks", "max_subscriptions_per_principal"});
          !st) {
        return st;
      }
      if (v.contains("max_subscriptions_per_principal")) {
        auto n = get_int(v["max_subscriptions_per_principal"],
                         "events.max_subscriptions_per_principal", 1, 100000);
        if (!n) return n.error();
        c.events_max_subscriptions_per_principal = static_cast<int>(*n);
      }
      if (v.contains("allow_private_callbacks")) {
        if (!v["allow_private_callbacks"].is_boolean()) {
          return invalid("events.allow_private_callbacks", "expected true or false");
        }
        c.events_allow_private_callbacks = v["allow_private_callbacks"].get<bool>();
      }
    } else if (key == "http") {
      if (!v.is_object()) return invalid(key, "expected an object");
      if (auto st = check_keys(v, key, {"header_timeout_s", "body_timeout_s"}); !st) return st;
      for (const char* f : {"header_timeout_s", "body_timeout_s"}) {
        if (!v.contains(f)) continue;
        auto n = get_int(v[f], std::string("http.") + f, 1, 86400);
        if (!n) return n.error();
        (std::string(f) == "header_timeout_s" ? c.http_header_timeout_s : c.http_body_timeout_s) =
            static_cast<int>(*n);
      }
    } else if (key == "retention") {
      if (!v.is_object()) return invalid(key, "expected an object");
      if (auto st = check_keys(v, key, {"max_age_days", "max_events"}); !st) return st;
      if (v.contains("max_age_days")) {
        auto n = get_int(v["max_age_days"], "retention.max_age_days", 0, 36500);
        if (!n) return n.error();
        c.retention_max_age_days = static_cast<int>(*n);
      }
      if (v.contains("max_events")) {
        auto n = get_int(v["max_events"], "retention.max_events", 0, int64_t{1} << 50);
        if (!n) return n.error();
        c.retention_max_events = *n;
      }
    } else if (key == "tls") {
      if (!v.is_object()) return invalid(key, "expected an object");
      if (auto st = check_keys(v, key, {"cert_file", "key_file"}); !st) return st;
      for (const char* f : {"cert_file", "key_file"}) {
        if (!v.contains(f)) return invalid(std::string("tls.") + f, "is required when tls is set");
        auto s = get_string(v[f], std::string("tls.") + f);
        if (!s) return s.error();
        (std::string(f) == "cert_file" ? c.tls_cert_file : c.tls_key_file) = *s;
      }
    } else if (key == "mcp") {
      if (!v.is_object()) return invalid(key, "expected an object");
      if (auto st = check_keys(v, key, {"tokens", "allowed_origins", "allowed_hosts", "channel"});
          !st) {
        return st;
      }
      if (v.contains("tokens")) {
        if (auto st = get_tokens(v["tokens"], getenv, c); !st) return st;
      }
      if (v.contains("allowed_origins")) {
        auto o = get_strings(v["allowed_origins"], "mcp.allowed_origins");
        if (!o) return o.error();
        c.mcp_allowed_origins = std::move(*o);
      }
      if (v.contains("allowed_hosts")) {
        auto h = get_strings(v["allowed_hosts"], "mcp.allowed_hosts");
        if (!h) return h.error();
        c.mcp_allowed_hosts = std::move(*h);
      }
      if (v.contains("channel")) {
        const json& ch = v["channel"];
        if (!ch.is_object()) return invalid("mcp.channel", "expected an object");
        if (auto st = check_keys(ch, "mcp.channel", {"sources"}); !st) return st;
        if (ch.contains("sources")) {
          auto s = get_strings(ch["sources"], "mcp.channel.sources");
          if (!s) return s.error();
          c.mcp_channel_sources = std::move(*s);
        }
      }
    } else if (key == "sources") {
      if (!v.is_object()) return invalid(key, "expected an object of named sources");
      for (const auto& [name, sv] : v.items()) {
        Source s;
        if (auto st = apply_source(name, sv, getenv, s); !st) return st;
        c.sources[name] = std::move(s);
      }
    }
  }
  return {};
}

Result<Config> load(const Overrides& o, const Getenv& getenv) {
  Config c;
  std::optional<std::string> file = o.config_file;
  std::string file_origin = "--config";
  if (!file) {
    file = getenv("HOOKMCP_CONFIG");
    file_origin = "HOOKMCP_CONFIG";
  }
  if (file && !file->empty()) {
    std::ifstream in(*file);
    if (!in) return invalid(file_origin, "cannot read config file \"" + *file + "\"");
    std::stringstream ss;
    ss << in.rdbuf();
    std::string text = ss.str();
    if (json_deeper_than(text, kMaxJsonDepth)) {
      return invalid(*file, "nests deeper than " + std::to_string(kMaxJsonDepth) + " levels");
    }
    json doc = json::parse(text, nullptr, /*allow_exceptions=*/false, /*ignore_comments=*/true);
    if (doc.is_discarded()) {
      return invalid(*file, "not valid JSON");
    }
    if (auto st = apply_json(doc, getenv, c); !st) {
      return make_error(ErrorCode::kInvalidArgument, *file + ": " + st.error().message);
    }
    c.config_file = *file;
  }

  // Environment beats the file; flags beat the environment.
  // A setting given as a flag beats its environment variable; returns the value and its origin.
  auto pick = [&](const std::optional<std::string>& flag, const char* flag_name,
                  const char* env) -> std::optional<std::pair<std::string, std::string>> {
    if (flag) return std::make_pair(*flag, std::string(flag_name));
    if (auto e = getenv(env); e && !e->empty()) return std::make_pair(*e, std::string(env));
    return std::nullopt;
  };
  if (auto db = pick(o.database, "--db", "HOOKMCP_DB")) {
    if (db->first.empty()) return invalid(db->second, "must not be empty");
    c.database = db->first;
  }
  if (auto listen = pick(o.listen, "--listen", "HOOKMCP_LISTEN")) {
    auto ep = parse_endpoint(listen->first);
    if (!ep) return invalid(listen->second, ep.error().message);
    c.listen = *ep;
  }
  if (o.log_level) c.log_level = *o.log_level;
  static const std::set<std::string> kLevels = {"trace", "debug",    "info", "warn",
                                                "error", "critical", "off"};
  if (!kLevels.count(c.log_level)) {
    return invalid(o.log_level ? "--log-level" : "log_level",
                   "expected trace, debug, info, warn, error, critical or off");
  }
  if (o.allow_unsigned) c.allow_unsigned = true;
  if (c.database.empty()) c.database = default_database_path(getenv);
  return c;
}

Status check_exposure(const Config& c) {
  if (is_loopback_host(c.listen.host) || c.allow_unsigned) return {};
  if (c.sources.empty()) {
    return invalid("listen", c.listen.to_string() +
                                 " is not a loopback address and no sources are configured: "
                                 "configure sources with secrets, or pass --allow-unsigned");
  }
  for (const auto& [name, s] : c.sources) {
    if (s.secrets.empty()) {
      return invalid("sources." + name + ".secrets",
                     "source has no secret and " + c.listen.to_string() +
                         " is not a loopback address: add a secret, or pass --allow-unsigned");
    }
  }
  if (c.mcp_tokens.empty()) {
    return invalid(
        "mcp.tokens",
        c.listen.to_string() + " is not a loopback address: set at least one MCP bearer token");
  }
  return {};
}

nlohmann::json Config::to_redacted_json() const {
  auto redact_all = [](const std::vector<Secret>& secrets) {
    json out = json::array();
    for (const auto& s : secrets) out.push_back(s.redacted());
    return out;
  };
  json j;
  j["listen"] = listen.to_string();
  j["database"] = database;
  j["durability"] = durability == Durability::kFull ? "full" : "normal";
  j["max_body_bytes"] = max_body_bytes;
  j["max_pending_bytes"] = max_pending_bytes;
  j["http"] = {{"header_timeout_s", http_header_timeout_s},
               {"body_timeout_s", http_body_timeout_s}};
  j["retention"] = {{"max_age_days", retention_max_age_days}, {"max_events", retention_max_events}};
  if (!tls_cert_file.empty()) j["tls"] = {{"cert_file", tls_cert_file}, {"key_file", tls_key_file}};
  json tokens = json::array();
  for (size_t i = 0; i < mcp_tokens.size(); ++i) {
    tokens.push_back(
        {{"token", mcp_tokens[i].redacted()},
         {"principal", i < mcp_token_principals.size() ? mcp_token_principals[i] : std::string()}});
  }
  j["mcp"] = {{"tokens", std::move(tokens)},
              {"allowed_origins", mcp_allowed_origins},
              {"allowed_hosts", mcp_allowed_hosts}};
  if (mcp_channel_sources) j["mcp"]["channel"] = {{"sources", *mcp_channel_sources}};
  j["events"] = {{"allow_private_callbacks", events_allow_private_callbacks},
                 {"max_subscriptions_per_principal", events_max_subscriptions_per_principal}};
  j["sources"] = json::object();
  for (const auto& [name, s] : sources) {
    json sj = {{"provider", s.provider}, {"secrets", redact_all(s.secrets)}};
    if (s.provider == "stripe" || s.provider == "slack" || s.provider == "standard" ||
        !s.timestamp_header.empty()) {
      sj["tolerance_s"] = s.tolerance_s;
    }
    if (!s.ignore_types.empty()) sj["ignore_types"] = s.ignore_types;
    if (s.provider == "hmac") {
      sj["header"] = s.header;
      sj["algorithm"] = s.algorithm;
      sj["encoding"] = s.encoding;
      sj["prefix"] = s.prefix;
      if (!s.timestamp_header.empty()) sj["timestamp_header"] = s.timestamp_header;
      if (!s.signed_template.empty()) sj["signed_template"] = s.signed_template;
    }
    if (s.provider == "hmac" || s.provider == "none") {
      sj["type_header"] = s.type_header;
      sj["type_pointer"] = s.type_pointer;
      sj["delivery_header"] = s.delivery_header;
    }
    j["sources"][name] = std::move(sj);
  }
  j["allow_unsigned"] = allow_unsigned;
  j["log_level"] = log_level;
  return j;
}

}  // namespace hookmcp::config
