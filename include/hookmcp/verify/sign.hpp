// Signing: what a provider sends with a payload, the counterpart of each Verifier. Used by
// `hookmcp send` to try a setup end to end, and by tests to prove every verifier round-trips.
// Safe to call from any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "hookmcp/config/config.hpp"
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
  // hmac and none: the configured source to sign as, for its signature header, algorithm,
  // encoding, prefix, timestamp header, signed template, type header and delivery-id header.
  // Unset: X-Signature "sha256=" and the hex HMAC-SHA256 of the body, X-Event-Type and
  // X-Delivery-Id, as the hmac example source in the docs.
  std::optional<config::Source> generic;
};

// The headers `provider` would send with the body: its signature, timestamp, delivery-id and
// event-type headers and its Content-Type. "hmac" signs as the example source in the docs does:
// X-Signature "sha256=" + hex over the body. An error (kInvalidArgument) names an unknown
// provider, a missing secret, or a secret the provider cannot use.
Result<Headers> sign(const SignRequest& request);

// The payload under a new identity for the providers that carry a delivery's identity in it, so
// that hookmcp (and the provider's other consumers) take it for a new delivery rather than a
// repeat: stripe's top-level "id" becomes "evt_" and random hex; slack's Events API "event_id"
// becomes "Ev" and random; postmark's "MessageID" a random UUID; a slack form (a command or
// interaction), which has no id and is told apart by its bytes, gets a new "trigger_id" field
// (replaced when present, added last when not). A member that is absent is added. Every other
// provider sends its delivery id in a header, which sign() makes fresh unless
// SignRequest::delivery_id is set: their body is returned as it is. kInvalidArgument when a stripe
// body is not one JSON object; kUnavailable when no random bytes can be had.
Result<std::string> with_fresh_id(std::string_view provider, std::string_view body);

// Whether the provider names the event type in a header (so that SignRequest::type is used).
bool has_type_header(std::string_view provider);

// Whether the provider sends the delivery id in a header (so that SignRequest::delivery_id is
// used); stripe and slack carry it in the payload.
bool has_delivery_header(std::string_view provider);

// A random version 4 UUID, lowercase; kUnavailable when no random bytes can be had.
Result<std::string> random_uuid();

}  // namespace hookmcp::verify
