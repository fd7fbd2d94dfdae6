// One entry of `sources`: its provider, secrets and the fields its provider reads.
#include <algorithm>
#include <string_view>

#include "hookmcp/core/event.hpp"
#include "parse.hpp"

namespace hookmcp::config::detail {

namespace {

// The fields only some providers read (every provider reads provider, secrets and
// ignore_types), with those providers: what src/verify does with a Source.
struct ProviderField {
  std::string_view field;
  std::initializer_list<std::string_view> providers;
};
const ProviderField kProviderFields[] = {
    {"tolerance_s", {"stripe", "slack", "standard", "mailgun", "hmac"}},
    {"header", {"hmac"}},
    {"algorithm", {"hmac"}},
    {"encoding", {"hmac"}},
    {"prefix", {"hmac"}},
    {"timestamp_header", {"hmac"}},
    {"signed_template", {"hmac"}},
    {"type_header", {"hmac", "none"}},
    {"type_pointer", {"hmac", "none"}},
    {"delivery_header", {"hmac", "none"}},
    {"audience", {"gmail"}},
    {"service_account", {"gmail"}},
    {"jwks_url", {"gmail"}},
    {"public_key", {"sendgrid"}},
    {"topic_arns", {"sns"}},
    {"auto_confirm", {"sns"}},
    {"cert_url_prefix", {"sns"}},
};

// A field the provider does not read has no effect: said, so that a person who expects it to
// (tolerance_s on a github source) learns that it does not. A warning, not an error, so that a
// config that ran before still runs.
void warn_unless_read(const std::string& key, const std::string& field, const std::string& provider,
                      Findings& f) {
  for (const auto& pf : kProviderFields) {
    if (pf.field != key) continue;
    if (std::find(pf.providers.begin(), pf.providers.end(), provider) != pf.providers.end()) return;
    std::string list;
    size_t i = 0;
    for (std::string_view p : pf.providers) {
      if (i++ > 0) list += i == pf.providers.size() ? " and " : ", ";
      list += p;
    }
    f.warn(field,
           "does not apply to provider \"" + provider + "\" (only to " + list + "); it is ignored");
  }
}

// The member a string-valued field sets, or nothing for a field that is not one.
std::string* text_field(Source& s, const std::string& key) {
  if (key == "header") return &s.header;
  if (key == "algorithm") return &s.algorithm;
  if (key == "encoding") return &s.encoding;
  if (key == "prefix") return &s.prefix;
  if (key == "timestamp_header") return &s.timestamp_header;
  if (key == "signed_template") return &s.signed_template;
  if (key == "type_header") return &s.type_header;
  if (key == "type_pointer") return &s.type_pointer;
  if (key == "delivery_header") return &s.delivery_header;
  if (key == "audience") return &s.audience;
  if (key == "service_account") return &s.service_account;
  if (key == "jwks_url") return &s.jwks_url;
  if (key == "public_key") return &s.public_key;
  if (key == "cert_url_prefix") return &s.cert_url_prefix;
  return nullptr;
}

// What gmail, sendgrid and sns need instead of secrets.
void check_public_key_fields(const Source& s, const std::string& where, Findings& f) {
  if (s.provider == "gmail") {
    if (s.audience.empty()) {
      f.error(member(where, "audience"),
              "provider \"gmail\" needs the audience set on the Pub/Sub push subscription "
              "(--push-auth-token-audience), which its tokens carry in aud");
    }
    if (s.service_account.empty()) {
      f.error(member(where, "service_account"),
              "provider \"gmail\" needs the service account the push subscription uses "
              "(--push-auth-service-account): anyone may create a subscription that pushes here");
    }
    if (s.jwks_url.empty()) f.error(member(where, "jwks_url"), "must not be empty");
  }
  if (s.provider == "sendgrid" && s.public_key.empty()) {
    f.error(member(where, "public_key"),
            "provider \"sendgrid\" needs the verification key SendGrid shows when signed webhooks "
            "are turned on");
  }
  if (s.provider == "sns") {
    if (s.topic_arns.empty()) {
      f.error(member(where, "topic_arns"),
              "provider \"sns\" needs the ARNs of the topics to accept (or [\"*\"] for any topic "
              "a valid Amazon signature comes from)");
    }
    const std::string& prefix = s.cert_url_prefix;
    if (!prefix.empty() && prefix.rfind("https://", 0) != 0 &&
        prefix.rfind("http://127.0.0.1", 0) != 0 && prefix.rfind("http://localhost", 0) != 0 &&
        prefix.rfind("file:/", 0) != 0) {
      f.error(member(where, "cert_url_prefix"),
              "must start with https://, or for trials http://127.0.0.1 or file:/DIR/");
    }
    if (prefix.rfind("https://", 0) == 0 && prefix.find('/', 8) == std::string::npos) {
      f.error(member(where, "cert_url_prefix"),
              "must end its host with '/', or another host's name could start with it");
    }
  }
}

bool known_provider(const std::string& provider) {
  return std::find(std::begin(kProviders), std::end(kProviders), provider) != std::end(kProviders);
}

}  // namespace

std::optional<Source> parse_source(const std::string& name, const json& v, const Getenv& getenv,
                                   Findings& f) {
  const std::string where = member("sources", name);
  const size_t errors_before = f.errors.size();
  if (!valid_source_name(name)) f.error(where, kSourceNameRule);
  if (name == kNoticeSource) {
    f.error(where, "\"hookmcp\" is reserved for the notices of hookmcp's own triggers");
  }
  if (!v.is_object()) {
    f.error(where, "expected an object, got " + std::string(v.type_name()));
    return std::nullopt;
  }
  check_keys(
      v, where,
      {"provider",    "secrets",      "tolerance_s",     "ignore_types",     "header",
       "algorithm",   "encoding",     "prefix",          "timestamp_header", "signed_template",
       "type_header", "type_pointer", "delivery_header", "audience",         "service_account",
       "jwks_url",    "public_key",   "topic_arns",      "auto_confirm",     "cert_url_prefix"},
      f);
  Source s;
  s.name = name;
  if (!v.contains("provider")) {
    f.error(member(where, "provider"), "is required");
  } else if (auto provider = get_string(v["provider"], member(where, "provider"), f)) {
    if (known_provider(*provider)) {
      s.provider = *provider;
    } else {
      std::string list;
      for (const char* p : kProviders) list += std::string(list.empty() ? "" : ", ") + p;
      f.error(member(where, "provider"),
              "unknown provider \"" + *provider + "\" (expected one of: " + list + ")");
    }
  }

  size_t secrets_written = 0;
  bool secrets_malformed = false;
  for (const auto& [key, value] : v.items()) {
    const std::string field = member(where, key);
    if (key == "provider") continue;
    if (key == "secrets") {
      if (!value.is_array()) {
        f.error(field, "expected an array of strings, got " + std::string(value.type_name()));
        secrets_malformed = true;
        continue;
      }
      secrets_written = value.size();
      for (size_t i = 0; i < value.size(); ++i) {
        auto ref = get_string(value[i], element(field, i), f);
        if (!ref) continue;
        auto secret = resolve_secret(*ref, element(field, i), getenv, f);
        if (!secret) continue;
        if (!s.provider.empty()) check_provider_secret(s.provider, *secret, element(field, i), f);
        s.secrets.push_back(std::move(*secret));
      }
      continue;
    }
    if (key == "tolerance_s") {
      if (auto n = get_int(value, field, 1, 86400, f)) s.tolerance_s = static_cast<int>(*n);
    } else if (key == "ignore_types") {
      if (auto types = get_strings(value, field, f)) s.ignore_types = std::move(*types);
    } else if (key == "topic_arns") {
      if (auto arns = get_strings(value, field, f)) s.topic_arns = std::move(*arns);
    } else if (key == "auto_confirm") {
      if (auto on = get_bool(value, field, f)) s.auto_confirm = *on;
    } else if (std::string* target = text_field(s, key)) {
      if (auto str = get_string(value, field, f)) *target = *str;
    } else {
      continue;  // an unknown field, reported by check_keys
    }
    if (!s.provider.empty()) warn_unless_read(key, field, s.provider, f);
  }

  if (s.provider == "none" && secrets_written > 0) {
    f.error(member(where, "secrets"),
            "provider \"none\" verifies nothing; remove the secrets or pick a provider");
  }
  if (signs_with_public_key(s.provider) && secrets_written > 0) {
    f.error(member(where, "secrets"), "provider \"" + s.provider +
                                          "\" is verified with the sender's public key, not a "
                                          "shared secret; remove the secrets");
  }
  if (!s.provider.empty() && s.provider != "none" && !signs_with_public_key(s.provider) &&
      secrets_written == 0 && !secrets_malformed) {
    f.error(member(where, "secrets"), "provider \"" + s.provider + "\" needs at least one secret");
  }
  check_public_key_fields(s, where, f);
  if (s.provider == "hmac") {
    if (s.header.empty()) {
      f.error(member(where, "header"), "provider \"hmac\" needs the signature header name");
    }
    if (s.algorithm != "sha1" && s.algorithm != "sha256" && s.algorithm != "sha512") {
      f.error(member(where, "algorithm"), "expected sha1, sha256 or sha512");
    }
    if (s.encoding != "hex" && s.encoding != "base64") {
      f.error(member(where, "encoding"), "expected hex or base64");
    }
    if (v.contains("tolerance_s") && s.timestamp_header.empty()) {
      f.warn(member(where, "tolerance_s"),
             "has no effect without timestamp_header (no timestamp to check); it is ignored");
    }
  }
  if (!s.type_pointer.empty() && s.type_pointer[0] != '/') {
    f.error(member(where, "type_pointer"), "a JSON Pointer starts with '/'");
  }
  if (f.errors.size() != errors_before) return std::nullopt;
  return s;
}

}  // namespace hookmcp::config::detail
