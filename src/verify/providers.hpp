// Private to the verify module: one factory per provider and the helpers they share.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "hookmcp/verify/verifier.hpp"

namespace hookmcp::verify::detail {

std::unique_ptr<Verifier> make_github(const config::Source& source);
std::unique_ptr<Verifier> make_hmac(const config::Source& source);
std::unique_ptr<Verifier> make_none(const config::Source& source);

// The body as JSON when it is a JSON object or array; nullopt otherwise.
std::optional<nlohmann::json> parse_json(std::string_view body);

// The string (or number, as text) at a JSON Pointer; empty when absent or of another type.
std::string string_at(const std::optional<nlohmann::json>& doc, const std::string& pointer);

// The resolved secret values of a source.
std::vector<std::string> secret_values(const config::Source& source);

// Whether `now_s` is within `tolerance_s` of the timestamp text (decimal Unix seconds); sets
// `why` when not.
bool timestamp_fresh(std::string_view timestamp, int64_t now_s, int tolerance_s, std::string& why);

}  // namespace hookmcp::verify::detail
