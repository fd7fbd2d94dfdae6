// Signature verification and normalization, one Verifier per provider.
//
// Pure: a verdict depends only on the headers, the body, the source's settings and the time
// passed in, so every provider is tested with tables of published vectors. Safe to call from
// any thread once built.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "hookmcp/config/config.hpp"
#include "hookmcp/core/headers.hpp"

namespace hookmcp::verify {

struct Verdict {
  bool accepted = false;
  bool verified = false;  // a signature was checked and matched (false for provider "none")
  // Why a delivery was refused, for the log; sent to the sender only when `reason_public`.
  std::string reason;
  // The reason is about the request's form (a header sent twice) and tells a forger nothing
  // about the secret or the signature expected: the sender may learn it.
  bool reason_public = false;

  static Verdict verified_ok() { return {true, true, {}}; }
  static Verdict unsigned_ok() { return {true, false, {}}; }
  static Verdict rejected(std::string why) { return {false, false, std::move(why)}; }
  static Verdict rejected_in_public(std::string why) {
    return {false, false, std::move(why), true};
  }
};

// What the provider says a delivery is.
struct Normalized {
  std::string type;
  std::string action;
  std::string delivery_id;  // empty: the provider sent none; intake derives one from the body
  // A handshake to answer instead of storing (Slack url_verification): the response body.
  std::optional<std::string> handshake_response;
  // Stored as any delivery, but answered 200 rather than 202: a message a provider sends first
  // and expects to be acknowledged so (Google Calendar's sync).
  bool acknowledge_with_200 = false;
};

class Verifier {
 public:
  virtual ~Verifier() = default;
  virtual Verdict verify(const Headers& headers, std::string_view body, int64_t now_s) const = 0;
  virtual Normalized normalize(const Headers& headers, std::string_view body) const = 0;
};

// The verifier for a configured source (its provider, secrets and options).
std::unique_ptr<Verifier> make_verifier(const config::Source& source);

// "sha256:" and the lowercase hex SHA-256 of the body: the delivery id of last resort.
std::string body_delivery_id(std::string_view body);

}  // namespace hookmcp::verify
