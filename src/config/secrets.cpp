// Secrets as written in the config, and the slips people make writing them. No message here
// shows a secret's value: only the field, the variable's name and what is wrong.
#include <algorithm>
#include <string_view>

#include "parse.hpp"

namespace hookmcp::config::detail {

namespace {

bool is_name_char(char c, bool first) {
  return c == '_' || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
         (!first && c >= '0' && c <= '9');
}

// NAME in "$NAME" or "${NAME}" when that is the whole text: a shell variable that no shell
// expanded (a config file is not a shell script).
std::optional<std::string> shell_variable(std::string_view text) {
  if (text.size() < 2 || text[0] != '$') return std::nullopt;
  text.remove_prefix(1);
  if (text.front() == '{') {
    if (text.size() < 3 || text.back() != '}') return std::nullopt;
    text = text.substr(1, text.size() - 2);
  }
  for (size_t i = 0; i < text.size(); ++i) {
    if (!is_name_char(text[i], i == 0)) return std::nullopt;
  }
  return std::string(text);
}

const char* whitespace_name(char c) {
  switch (c) {
    case '\n':
      return "a newline";
    case '\r':
      return "a carriage return";
    case '\t':
      return "a tab";
    case ' ':
      return "a space";
    default:
      return nullptr;
  }
}

// What is wrong with the whitespace in `value`, if anything: at either end (a copy-paste slip,
// or a file read with its final newline), or a line break anywhere. A space inside is allowed:
// some senders let a person choose the secret.
std::optional<std::string> whitespace_slip(std::string_view value) {
  if (const char* w = whitespace_name(value.front())) return std::string("starts with ") + w;
  if (const char* w = whitespace_name(value.back())) return std::string("ends with ") + w;
  if (value.find_first_of("\r\n") != std::string_view::npos) return "contains a line break";
  return std::nullopt;
}

// "whsec_" (optional, as in the reference libraries) and a non-empty base64 key.
bool standard_secret_ok(std::string_view secret) {
  if (secret.rfind("whsec_", 0) == 0) secret.remove_prefix(6);
  while (!secret.empty() && secret.back() == '=') secret.remove_suffix(1);
  if (secret.empty() || secret.size() % 4 == 1) return false;
  return std::all_of(secret.begin(), secret.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
           c == '/';
  });
}

}  // namespace

std::optional<Secret> resolve_secret(const std::string& ref, const std::string& where,
                                     const Getenv& getenv, Findings& f) {
  if (ref.empty()) {
    f.error(where, "a secret must not be empty");
    return std::nullopt;
  }
  if (ref.rfind("env:", 0) != 0) {
    if (auto name = shell_variable(ref)) {
      f.error(where, "\"" + ref + "\" is not expanded: hookmcp does not expand shell variables; " +
                         "write \"env:" + *name + "\" to read the environment variable " + *name);
      return std::nullopt;
    }
    if (auto slip = whitespace_slip(ref)) {
      f.error(where, "the secret " + *slip + "; remove it (secrets are compared byte for byte)");
      return std::nullopt;
    }
    return Secret{ref, ref};
  }
  std::string name = ref.substr(4);
  if (name.empty()) {
    f.error(where, "\"env:\" needs a variable name");
    return std::nullopt;
  }
  auto value = getenv(name);
  if (!value || value->empty()) {
    f.error(where, "environment variable " + name + " is not set");
    return std::nullopt;
  }
  if (auto slip = whitespace_slip(*value)) {
    f.error(where, "environment variable " + name + " " + *slip +
                       "; remove it (secrets are compared byte for byte)");
    return std::nullopt;
  }
  return Secret{ref, *value};
}

void check_provider_secret(const std::string& provider, const Secret& secret,
                           const std::string& where, Findings& f) {
  const std::string& value = secret.value;
  if (provider == "stripe" && value.rfind("whsec_", 0) != 0) {
    // sk_/rk_/pk_ are Stripe's API keys: the most common mix-up.
    bool api_key =
        value.rfind("sk_", 0) == 0 || value.rfind("rk_", 0) == 0 || value.rfind("pk_", 0) == 0;
    f.error(where, std::string("a Stripe webhook signing secret starts with \"whsec_\"") +
                       (api_key ? " (this is an API key)" : "") +
                       ": copy the signing secret from the Stripe Dashboard's page of the webhook "
                       "endpoint (Developers > Webhooks), or the one `stripe listen` prints");
  }
  if (provider == "standard" && !standard_secret_ok(value)) {
    f.error(where, "a Standard Webhooks secret is \"whsec_\" followed by base64");
  }
  if (provider == "postmark" && value.find(':') == std::string::npos) {
    f.error(where,
            "a Postmark secret is the webhook URL's HTTP Basic credentials, \"user:password\" "
            "(Postmark sends them from https://user:password@host/hooks/...)");
  }
}

}  // namespace hookmcp::config::detail
