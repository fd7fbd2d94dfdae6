// Signing: what a provider sends with a payload, the counterpart of each Verifier. Used by
// `hookmcp send` to try a setup end to end, and by tests to prove every verifier round-trips.
// Safe to call from any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "hookmcp/core/headers.hpp"
#include "hookmcp/core/result.hpp"

namespace hookmcp::verify {

struct SignRequest {
  std::string provider;  // one of config::kProviders
  std::string secret;    // as the source is configured: e.g. "whsec_..." for stripe and standard
  std::string body;
  int64_t now_s = 0;  // Unix seconds, signed into the providers that carry a timestamp
  // The event type, for providers that send it in a header (github, shopify, gitlab, hmac,
  // none); the others carry it in the payload.
  std::string type;
  // The delivery id, for providers that send one in a header; empty: a fresh random one.
  std::string delivery_id;
};

// The headers `provider` would send with the body: its signature, timestamp, delivery-id and
// event-type headers and its Content-Type. "hmac" signs as the example source in the docs does:
// X-Signature "sha256=" + hex over the body. An error (kInvalidArgument) names an unknown
// provider, a missing secret, or a secret the provider cannot use.
Result<Headers> sign(const SignRequest& request);

// Whether the provider names the event type in a header (so that SignRequest::type is used).
bool has_type_header(std::string_view provider);

// A random version 4 UUID, lowercase; kUnavailable when no random bytes can be had.
Result<std::string> random_uuid();

}  // namespace hookmcp::verify
