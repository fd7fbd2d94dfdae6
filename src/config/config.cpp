#include "hookmcp/config/config.hpp"

#include "hookmcp/core/headers.hpp"
#include "hookmcp/core/json.hpp"
#include "parse.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>

namespace hookmcp::config {

using nlohmann::json;

namespace detail {

std::string member(const std::string& where, const std::string& key) {
  return where.empty() ? key : where + "." + key;
}

std::string element(const std::string& where, size_t i) {
  return where + "[" + std::to_string(i) + "]";
}

bool check_keys(const json& obj, const std::string& where,
                std::initializer_list<const char*> allowed, Findings& f) {
  bool all_known = true;
  for (const auto& item : obj.items()) {
    const std::string& key = item.key();
    bool known =
        std::any_of(allowed.begin(), allowed.end(), [&](const char* a) { return key == a; });
    if (!known) {
      std::string list;
      for (const char* a : allowed) list.append(list.empty() ? "" : ", ").append(a);
      f.error(member(where, key), "unknown field (expected one of: " + list + ")");
      all_known = false;
    }
  }
  return all_known;
}

std::optional<std::string> get_string(const json& v, const std::string& where, Findings& f) {
  if (!v.is_string()) {
    f.error(where, "expected a string, got " + std::string(v.type_name()));
    return std::nullopt;
  }
  return v.get<std::string>();
}

std::optional<int64_t> get_int(const json& v, const std::string& where, int64_t min, int64_t max,
                               Findings& f) {
  if (!v.is_number_integer()) {
    f.error(where, "expected an integer, got " + std::string(v.type_name()));
    return std::nullopt;
  }
  int64_t n = v.get<int64_t>();
  if (n < min || n > max) {
    f.error(where, "must be between " + std::to_string(min) + " and " + std::to_string(max));
    return std::nullopt;
  }
  return n;
}

std::optional<bool> get_bool(const json& v, const std::string& where, Findings& f) {
  if (!v.is_boolean()) {
    f.error(where, "expected true or false");
    return std::nullopt;
  }
  return v.get<bool>();
}

std::optional<std::vector<std::string>> get_strings(const json& v, const std::string& where,
                                                    Findings& f) {
  if (!v.is_array()) {
    f.error(where, "expected an array of strings, got " + std::string(v.type_name()));
    return std::nullopt;
  }
  std::vector<std::string> out;
  for (size_t i = 0; i < v.size(); ++i) {
    if (auto s = get_string(v[i], element(where, i), f)) out.push_back(std::move(*s));
  }
  return out;
}

}  // namespace detail

namespace {

using detail::check_keys;
using detail::element;
using detail::get_bool;
using detail::get_int;
using detail::get_string;
using detail::get_strings;
using detail::member;

// mcp.tokens: each a secret ("env:NAME" or a literal), or {"token": secret, "principal": name}.
void get_tokens(const json& v, const Getenv& getenv, Config& c, Findings& f) {
  if (!v.is_array()) {
    f.error("mcp.tokens", "expected an array, got " + std::string(v.type_name()));
    return;
  }
  c.mcp_tokens.clear();
  c.mcp_token_principals.clear();
  for (size_t i = 0; i < v.size(); ++i) {
    const std::string where = element("mcp.tokens", i);
    const json& entry = v[i];
    json token = entry;
    std::string principal = "token-" + std::to_string(i + 1);
    if (entry.is_object()) {
      check_keys(entry, where, {"token", "principal"}, f);
      if (!entry.contains("token")) {
        f.error(where + ".token", "is required");
        continue;
      }
      token = entry["token"];
      if (entry.contains("principal")) {
        auto p = get_string(entry["principal"], where + ".principal", f);
        if (!p) continue;
        if (p->empty() || p->size() > 128) {
          f.error(where + ".principal", "must be 1 to 128 characters");
          continue;
        }
        principal = *p;
      }
    }
    if (!token.is_string()) {
      f.error(where, "expected a string (or {\"token\": ..., \"principal\": ...})");
      continue;
    }
    if (std::find(c.mcp_token_principals.begin(), c.mcp_token_principals.end(), principal) !=
        c.mcp_token_principals.end()) {
      f.error(where + ".principal", "\"" + principal + "\" names another token too");
      continue;
    }
    auto secret = detail::resolve_secret(token.get<std::string>(), where, getenv, f);
    if (!secret) continue;
    c.mcp_tokens.push_back(std::move(*secret));
    c.mcp_token_principals.push_back(std::move(principal));
  }
}

// mcp.channel.sources names sources whose events are pushed; once sources are configured, a
// name that is not one of them would never push anything (a typo, or a source since removed).
void check_channel_sources(const json& doc, const Config& c, Findings& f) {
  if (!c.mcp_channel_sources || !doc.contains("sources")) return;
  const json& sources = doc["sources"];
  if (!sources.is_object() || sources.empty()) return;  // no sources: any name is accepted
  std::string configured;
  for (const auto& item : sources.items()) {
    configured += (configured.empty() ? "" : ", ") + item.key();
  }
  for (size_t i = 0; i < c.mcp_channel_sources->size(); ++i) {
    const std::string& name = (*c.mcp_channel_sources)[i];
    if (!sources.contains(name)) {
      f.error(element("mcp.channel.sources", i),
              "\"" + name + "\" is not a configured source (sources: " + configured + ")");
    }
  }
}

// 1-based line and column of the byte at `offset` in `text`, the column counted in characters
// (UTF-8 continuation bytes are not), as an editor shows it.
std::pair<size_t, size_t> text_position(std::string_view text, size_t offset) {
  offset = std::min(offset, text.size());
  size_t line = 1;
  size_t column = 1;
  for (size_t i = 0; i < offset; ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) {
      ++column;
    }
  }
  return {line, column};
}

// nlohmann's description of a parse error without its own position and without the text it
// last read, which may be a secret.
std::string describe_parse_error(const std::string& what) {
  auto start = what.find("syntax error");
  if (start == std::string::npos) return "not valid JSON";
  std::string text = what.substr(start);
  if (auto last_read = text.find("; last read: '"); last_read != std::string::npos) {
    auto expected = text.rfind("; expected ");
    text = text.substr(0, last_read) +
           (expected != std::string::npos && expected > last_read ? text.substr(expected) : "");
  }
  return "not valid JSON: " + text;
}

// Reads and applies the config file; what is wrong in it is recorded with the file's name.
void apply_file(const std::string& file, const std::string& origin, const Getenv& getenv, Config& c,
                Findings& f) {
  std::ifstream in(file);
  if (!in) {
    f.error(origin, "cannot read config file \"" + file + "\": " + std::strerror(errno));
    return;
  }
  c.config_file = file;
  std::stringstream ss;
  ss << in.rdbuf();
  std::string text = ss.str();
  if (json_deeper_than(text, kMaxJsonDepth)) {
    f.error(file, "nests deeper than " + std::to_string(kMaxJsonDepth) + " levels");
    return;
  }
  json doc;
  try {
    doc = json::parse(text, nullptr, /*allow_exceptions=*/true, /*ignore_comments=*/true);
  } catch (const json::parse_error& e) {
    // e.byte counts the bytes read, the offending one included.
    auto [line, column] = text_position(text, e.byte > 0 ? e.byte - 1 : 0);
    f.error(file + ":" + std::to_string(line) + ":" + std::to_string(column),
            describe_parse_error(e.what()));
    return;
  }
  Findings in_file;
  apply_json(doc, getenv, c, in_file);
  for (auto& e : in_file.errors) f.errors.push_back({file, std::move(e.where), std::move(e.what)});
  for (auto& w : in_file.warnings) {
    f.warnings.push_back({file, std::move(w.where), std::move(w.what)});
  }
}

}  // namespace

std::string Finding::to_string() const {
  return (file.empty() ? "" : file + ": ") + where + ": " + what;
}

void Findings::error(std::string where, std::string what) {
  errors.push_back({{}, std::move(where), std::move(what)});
}

void Findings::warn(std::string where, std::string what) {
  warnings.push_back({{}, std::move(where), std::move(what)});
}

Error Findings::to_error() const {
  std::string message;
  for (const auto& e : errors) message += (message.empty() ? "" : "\n") + e.to_string();
  return make_error(ErrorCode::kInvalidArgument, message);
}

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

bool signs_with_public_key(std::string_view provider) {
  return provider == "gmail" || provider == "sendgrid" || provider == "sns";
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

// Each connection feeds a source: the config's, when it lists one of the same provider, or one
// made for it (Node) with the secret hookmcp generates. Providers reach it at public_url.
void check_connection_sources(const Config& c, Findings& f) {
  if (c.connections.empty()) return;
  if (c.public_url.empty()) {
    f.error("public_url",
            "is required with connections: the https:// address providers reach this server "
            "at, e.g. \"https://hooks.example.com\"");
  }
  std::map<std::string, std::string> fed;  // source -> the connection feeding it
  for (const auto& [name, k] : c.connections) {
    const std::string where = "connections." + name + ".source";
    if (auto [it, added] = fed.emplace(k.source, name); !added) {
      f.error(where, "source \"" + k.source + "\" is fed by connection " + it->second +
                         " already; give each connection a source of its own");
    }
    auto s = c.sources.find(k.source);
    if (s != c.sources.end() && s->second.provider != k.provider()) {
      f.error(where, "source \"" + k.source + "\" has provider " + s->second.provider + "; a " +
                         k.kind_name() + " connection's source has provider " + k.provider());
    }
    if (k.kind == Connection::Kind::kGmail && s == c.sources.end() &&
        (k.audience.empty() || k.service_account.empty())) {
      f.error("connections." + name,
              "give audience and service_account (the Pub/Sub push subscription's), or list "
              "source \"" +
                  k.source + "\" with provider gmail");
    }
  }
}

void apply_json(const json& doc, const Getenv& getenv, Config& c, Findings& f) {
  if (!doc.is_object()) {
    f.error("config", "expected a JSON object, got " + std::string(doc.type_name()));
    return;
  }
  check_keys(doc, "",
             {"listen", "database", "durability", "max_body_bytes", "max_pending_bytes", "http",
              "retention", "tls", "mcp", "events", "sources", "triggers", "connections",
              "public_url", "log_level", "allow_unsigned", "$schema"},
             f);
  for (const auto& [key, v] : doc.items()) {
    if (key == "listen") {
      if (auto s = get_string(v, key, f)) {
        auto ep = parse_endpoint(*s);
        if (ep) {
          c.listen = *ep;
        } else {
          f.error(key, ep.error().message);
        }
      }
    } else if (key == "database") {
      if (auto s = get_string(v, key, f)) {
        if (s->empty()) {
          f.error(key, "must not be empty");
        } else {
          c.database = *s;
        }
      }
    } else if (key == "durability") {
      if (auto s = get_string(v, key, f)) {
        if (*s == "full") {
          c.durability = Durability::kFull;
        } else if (*s == "normal") {
          c.durability = Durability::kNormal;
        } else {
          f.error(key, "expected \"full\" or \"normal\", got \"" + *s + "\"");
        }
      }
    } else if (key == "max_body_bytes" || key == "max_pending_bytes") {
      if (auto n = get_int(v, key, 1, int64_t{1} << 40, f)) {
        (key == "max_body_bytes" ? c.max_body_bytes : c.max_pending_bytes) =
            static_cast<uint64_t>(*n);
      }
    } else if (key == "log_level") {
      if (auto s = get_string(v, key, f)) c.log_level = *s;
    } else if (key == "allow_unsigned") {
      if (auto b = get_bool(v, key, f)) c.allow_unsigned = *b;
    } else if (key == "events") {
      if (!v.is_object()) {
        f.error(key, "expected an object");
        continue;
      }
      check_keys(v, key, {"allow_private_callbacks", "max_subscriptions_per_principal"}, f);
      if (v.contains("max_subscriptions_per_principal")) {
        if (auto n = get_int(v["max_subscriptions_per_principal"],
                             "events.max_subscriptions_per_principal", 1, 100000, f)) {
          c.events_max_subscriptions_per_principal = static_cast<int>(*n);
        }
      }
      if (v.contains("allow_private_callbacks")) {
        if (auto b = get_bool(v["allow_private_callbacks"], "events.allow_private_callbacks", f)) {
          c.events_allow_private_callbacks = *b;
        }
      }
    } else if (key == "http") {
      if (!v.is_object()) {
        f.error(key, "expected an object");
        continue;
      }
      check_keys(v, key, {"header_timeout_s", "body_timeout_s"}, f);
      for (const char* field : {"header_timeout_s", "body_timeout_s"}) {
        if (!v.contains(field)) continue;
        if (auto n = get_int(v[field], member(key, field), 1, 86400, f)) {
          (std::string(field) == "header_timeout_s" ? c.http_header_timeout_s
                                                    : c.http_body_timeout_s) = static_cast<int>(*n);
        }
      }
    } else if (key == "retention") {
      if (!v.is_object()) {
        f.error(key, "expected an object");
        continue;
      }
      check_keys(v, key, {"max_age_days", "max_events"}, f);
      if (v.contains("max_age_days")) {
        if (auto n = get_int(v["max_age_days"], "retention.max_age_days", 0, 36500, f)) {
          c.retention_max_age_days = static_cast<int>(*n);
        }
      }
      if (v.contains("max_events")) {
        if (auto n = get_int(v["max_events"], "retention.max_events", 0, int64_t{1} << 50, f)) {
          c.retention_max_events = *n;
        }
      }
    } else if (key == "tls") {
      if (!v.is_object()) {
        f.error(key, "expected an object");
        continue;
      }
      check_keys(v, key, {"cert_file", "key_file"}, f);
      for (const char* field : {"cert_file", "key_file"}) {
        if (!v.contains(field)) {
          f.error(member(key, field), "is required when tls is set");
        } else if (auto s = get_string(v[field], member(key, field), f)) {
          (std::string(field) == "cert_file" ? c.tls_cert_file : c.tls_key_file) = *s;
        }
      }
    } else if (key == "mcp") {
      if (!v.is_object()) {
        f.error(key, "expected an object");
        continue;
      }
      check_keys(v, key, {"tokens", "allowed_origins", "allowed_hosts", "channel", "oauth"}, f);
      if (v.contains("tokens")) get_tokens(v["tokens"], getenv, c, f);
      if (v.contains("oauth")) c.mcp_oauth = detail::parse_oauth(v["oauth"], f);
      if (v.contains("allowed_origins")) {
        if (auto o = get_strings(v["allowed_origins"], "mcp.allowed_origins", f)) {
          c.mcp_allowed_origins = std::move(*o);
        }
      }
      if (v.contains("allowed_hosts")) {
        if (auto h = get_strings(v["allowed_hosts"], "mcp.allowed_hosts", f)) {
          c.mcp_allowed_hosts = std::move(*h);
        }
      }
      if (v.contains("channel")) {
        const json& ch = v["channel"];
        if (!ch.is_object()) {
          f.error("mcp.channel", "expected an object");
          continue;
        }
        check_keys(ch, "mcp.channel", {"sources"}, f);
        if (ch.contains("sources")) {
          if (auto s = get_strings(ch["sources"], "mcp.channel.sources", f)) {
            c.mcp_channel_sources = std::move(*s);
          }
        }
      }
    } else if (key == "sources") {
      if (!v.is_object()) {
        f.error(key, "expected an object of named sources");
        continue;
      }
      for (const auto& [name, sv] : v.items()) {
        if (auto s = detail::parse_source(name, sv, getenv, f)) c.sources[name] = std::move(*s);
      }
    } else if (key == "triggers") {
      if (!v.is_object()) {
        f.error(key, "expected an object of named triggers");
        continue;
      }
      for (const auto& [name, tv] : v.items()) {
        if (auto t = detail::parse_trigger(name, tv, getenv, f)) c.triggers[name] = std::move(*t);
      }
    } else if (key == "connections") {
      if (!v.is_object()) {
        f.error(key, "expected an object of named connections");
        continue;
      }
      for (const auto& [name, cv] : v.items()) {
        if (auto k = detail::parse_connection(name, cv, getenv, f)) {
          c.connections[name] = std::move(*k);
        }
      }
    } else if (key == "public_url") {
      if (auto s = get_string(v, key, f)) {
        c.public_url = *s;
        detail::check_http_url(c.public_url, key, "https://hooks.example.com", f);
        while (!c.public_url.empty() && c.public_url.back() == '/') c.public_url.pop_back();
      }
    }
  }
  check_connection_sources(c, f);
  check_channel_sources(doc, c, f);
}

Status apply_json(const json& doc, const Getenv& getenv, Config& c) {
  Findings f;
  apply_json(doc, getenv, c, f);
  if (!f.ok()) return f.to_error();
  return {};
}

Loaded load_all(const Overrides& o, const Getenv& getenv) {
  Loaded loaded;
  Config& c = loaded.config;
  Findings& f = loaded.findings;
  std::optional<std::string> file = o.config_file;
  std::string file_origin = "--config";
  if (!file) {
    file = getenv("HOOKMCP_CONFIG");
    file_origin = "HOOKMCP_CONFIG";
  }
  if (file && !file->empty()) apply_file(*file, file_origin, getenv, c, f);

  // Environment beats the file; flags beat the environment.
  // A setting given as a flag beats its environment variable; returns the value and its origin.
  auto pick = [&](const std::optional<std::string>& flag, const char* flag_name,
                  const char* env) -> std::optional<std::pair<std::string, std::string>> {
    if (flag) return std::make_pair(*flag, std::string(flag_name));
    if (auto e = getenv(env); e && !e->empty()) return std::make_pair(*e, std::string(env));
    return std::nullopt;
  };
  if (auto db = pick(o.database, "--db", "HOOKMCP_DB")) {
    if (db->first.empty()) {
      f.error(db->second, "must not be empty");
    } else {
      c.database = db->first;
    }
  }
  if (auto listen = pick(o.listen, "--listen", "HOOKMCP_LISTEN")) {
    auto ep = parse_endpoint(listen->first);
    if (ep) {
      c.listen = *ep;
    } else {
      f.error(listen->second, ep.error().message);
    }
  }
  if (o.log_level) c.log_level = *o.log_level;
  static const std::set<std::string> kLevels = {"trace", "debug",    "info", "warn",
                                                "error", "critical", "off"};
  if (!kLevels.count(c.log_level)) {
    Finding bad{o.log_level ? "" : c.config_file, o.log_level ? "--log-level" : "log_level",
                "expected trace, debug, info, warn, error, critical or off"};
    f.errors.push_back(std::move(bad));
  }
  if (o.allow_unsigned) c.allow_unsigned = true;
  if (c.database.empty()) c.database = default_database_path(getenv);
  return loaded;
}

Result<Config> load(const Overrides& o, const Getenv& getenv) {
  auto loaded = load_all(o, getenv);
  if (!loaded.findings.ok()) return loaded.findings.to_error();
  return std::move(loaded.config);
}

std::string shown_database(const std::string& database) {
  std::string shown = database;
  if (size_t scheme = shown.find("://"); scheme != std::string::npos) {
    size_t at = shown.find('@', scheme + 3);
    size_t colon = shown.find(':', scheme + 3);
    if (at != std::string::npos && colon < at) shown.replace(colon + 1, at - colon - 1, "***");
  }
  return shown;
}

nlohmann::json Config::to_redacted_json() const {
  auto redact_all = [](const std::vector<Secret>& secrets) {
    json out = json::array();
    for (const auto& s : secrets) out.push_back(s.redacted());
    return out;
  };
  json j;
  j["listen"] = listen.to_string();
  j["database"] = shown_database(database);
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
  if (mcp_oauth) {
    j["mcp"]["oauth"] = {{"issuer", mcp_oauth->issuer},
                         {"audience", mcp_oauth->audience},
                         {"resource", mcp_oauth->resource},
                         {"scopes", mcp_oauth->scopes},
                         {"jwks_cache_s", mcp_oauth->jwks_cache_s},
                         {"leeway_s", mcp_oauth->leeway_s}};
  }
  j["events"] = {{"allow_private_callbacks", events_allow_private_callbacks},
                 {"max_subscriptions_per_principal", events_max_subscriptions_per_principal}};
  j["sources"] = json::object();
  for (const auto& [name, s] : sources) {
    json sj = {{"provider", s.provider}, {"secrets", redact_all(s.secrets)}};
    if (s.provider == "stripe" || s.provider == "slack" || s.provider == "standard" ||
        s.provider == "mailgun" || !s.timestamp_header.empty()) {
      sj["tolerance_s"] = s.tolerance_s;
    }
    if (s.provider == "gmail") {
      sj["audience"] = s.audience;
      sj["service_account"] = s.service_account;
      sj["jwks_url"] = s.jwks_url;
    }
    if (s.provider == "sendgrid") sj["public_key"] = s.public_key;
    if (s.provider == "sns") {
      sj["topic_arns"] = s.topic_arns;
      sj["auto_confirm"] = s.auto_confirm;
      if (!s.cert_url_prefix.empty()) sj["cert_url_prefix"] = s.cert_url_prefix;
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
  j["triggers"] = json::object();
  for (const auto& [name, t] : triggers) j["triggers"][name] = t.to_json();
  if (!public_url.empty()) j["public_url"] = public_url;
  j["connections"] = json::object();
  for (const auto& [name, k] : connections) j["connections"][name] = k.to_json();
  j["allow_unsigned"] = allow_unsigned;
  j["log_level"] = log_level;
  return j;
}

}  // namespace hookmcp::config
