// Readers shared by the config parser's files. Each records what is wrong in a Findings and
// returns nothing, so that parsing goes on and one run reports every mistake.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "hookmcp/config/config.hpp"

namespace hookmcp::config::detail {

using nlohmann::json;

// "where.key", or "key" at the top level.
std::string member(const std::string& where, const std::string& key);
// "where[i]".
std::string element(const std::string& where, size_t i);

// Records every key outside `allowed`, so that a misspelt setting is reported instead of
// ignored. False when there was one.
bool check_keys(const json& obj, const std::string& where,
                std::initializer_list<const char*> allowed, Findings& f);

std::optional<std::string> get_string(const json& v, const std::string& where, Findings& f);
std::optional<int64_t> get_int(const json& v, const std::string& where, int64_t min, int64_t max,
                               Findings& f);
std::optional<bool> get_bool(const json& v, const std::string& where, Findings& f);
// Nothing when `v` is not an array; else its strings, each element that is not one recorded.
std::optional<std::vector<std::string>> get_strings(const json& v, const std::string& where,
                                                    Findings& f);

// secrets.cpp: `env:NAME` or a literal, resolved and checked for the usual slips (a variable
// not set, `$NAME` written for `env:NAME`, a stray newline). Nothing when it is unusable.
std::optional<Secret> resolve_secret(const std::string& ref, const std::string& where,
                                     const Getenv& getenv, Findings& f);
// The shape a provider's secrets have (Stripe's start with whsec_, Standard Webhooks' are
// whsec_ and base64), checked so that a wrong secret is a config error, not a 401 per delivery.
void check_provider_secret(const std::string& provider, const Secret& secret,
                           const std::string& where, Findings& f);

// An absolute http:// or https:// URL without credentials or fragment; `example` shows one.
void check_http_url(const std::string& url, const std::string& where, const char* example,
                    Findings& f);

// source.cpp: one entry of `sources`. Nothing when it has errors.
std::optional<Source> parse_source(const std::string& name, const json& v, const Getenv& getenv,
                                   Findings& f);

// trigger.cpp: one entry of `triggers`. Nothing when it has errors.
std::optional<Trigger> parse_trigger(const std::string& name, const json& v, const Getenv& getenv,
                                     Findings& f);

// connection.cpp: one entry of `connections`. Nothing when it has errors.
std::optional<Connection> parse_connection(const std::string& name, const json& v,
                                           const Getenv& getenv, Findings& f);

// oauth.cpp: mcp.oauth. Nothing when it has errors.
std::optional<OAuthSettings> parse_oauth(const json& v, Findings& f);

}  // namespace hookmcp::config::detail
