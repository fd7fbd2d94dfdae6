// Signing: what a provider sends with a payload, the counterpart of each Verifier. Used by
// `hookmcp send` to try a setup end to end, and by tests to prove every verifier round-trips.
// Safe to call from any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "hookmcp/config/config.hpp"
#include "hookmcp/core/headers.hpp"
#include "hookmcp/core/result.hpp"
#include "hookmcp/verify/crypto.hpp"

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
  // gmail, sendgrid and sns, which sign with a private key: its PEM (PKCS #8, RSA or EC), an RSA
  // key for gmail and sns, EC P-256 for sendgrid.
  std::string private_key;
  // gmail: the token's aud and email (the source's audience and service_account).
  std::string audience;
  std::string service_account;
  // sns: the SigningCertURL the message names, where its certificate is served.
  std::string cert_url;
};

// The body as the provider sends it, for the providers that sign inside the body (mailgun's
// timestamp, token and signature; sns's SignatureVersion, SigningCertURL and Signature): set in
// it, replacing any there; every other provider's body unchanged. kInvalidArgument for a body
// the provider could not have sent (sns: not a JSON object with the fields it signs).
Result<std::string> sign_body(const SignRequest& request);

// The key id hookmcp gives a public key in a JWKS (gmail): base64url of the first 16 bytes of the
// SHA-256 of its SubjectPublicKeyInfo.
std::string key_id(const PrivateKey& key);

// What `hookmcp send PROVIDER --new-key DIR` writes for the asymmetric providers: the private
// key and the public part the source is configured with. Each is a file name and its text.
struct NewKeyFile {
  std::string name;
  std::string text;
};
// gmail: key.pem and jwks.json; sendgrid: key.pem and public_key.txt (base64 DER, as SendGrid
// shows it); sns: key.pem and cert.pem (self-signed). kInvalidArgument for another provider.
Result<std::vector<NewKeyFile>> new_key_files(std::string_view provider);

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

// Whether sign() needs SignRequest::secret: not for none, msgraph (its clientState is in the
// body) and the providers that sign with a private key.
bool needs_secret(std::string_view provider);

// A random version 4 UUID, lowercase; kUnavailable when no random bytes can be had.
Result<std::string> random_uuid();

}  // namespace hookmcp::verify
