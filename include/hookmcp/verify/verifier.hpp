// Signature verification and normalization, one Verifier per provider.
//
// Pure: a verdict depends only on the headers, the body, the source's settings and the time
// passed in, so every provider is tested with tables of published vectors. Safe to call from
// any thread once built.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "hookmcp/config/config.hpp"
#include "hookmcp/core/headers.hpp"
#include "hookmcp/core/result.hpp"

namespace hookmcp::verify {

struct Verdict {
  bool accepted = false;
  bool verified = false;  // a signature was checked and matched (false for provider "none")
  // Why a delivery was refused, for the log; sent to the sender only when `reason_public`.
  std::string reason;
  // The reason is about the request's form (a header sent twice) and tells a forger nothing
  // about the secret or the signature expected: the sender may learn it.
  bool reason_public = false;
  // Nothing was wrong with the delivery, but what checks it (the sender's keys or certificate)
  // cannot be had now: answered 503, so that the sender tries again.
  bool unavailable = false;

  static Verdict verified_ok() { return {true, true, {}}; }
  static Verdict unsigned_ok() { return {true, false, {}}; }
  static Verdict rejected(std::string why) { return {false, false, std::move(why)}; }
  static Verdict rejected_in_public(std::string why) {
    return {false, false, std::move(why), true};
  }
  static Verdict cannot_check_now(std::string why) {
    return {false, false, std::move(why), false, true};
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
  // A batch (Microsoft Graph's `value` array, SendGrid's list of events): stored as one event
  // per item, each with its own type, delivery id and body (the item's JSON). Empty: the
  // delivery is one event, as the fields above describe it.
  struct Item {
    std::string type;
    std::string action;
    std::string delivery_id;
    std::string body;
  };
  std::vector<Item> items;
  // Fetched with GET once the delivery is stored: how the sender asks to be confirmed (an SNS
  // SubscriptionConfirmation's SubscribeURL, when the source says to confirm). Checked by the
  // verifier to go only where the provider lives.
  std::string confirm_url;
};

// A document a verifier needs from the network (Google's signing keys, an SNS signing
// certificate): the bytes at `url`, or why not. May block.
using Fetch = std::function<Result<std::string>(const std::string& url)>;

class Verifier {
 public:
  virtual ~Verifier() = default;
  virtual Verdict verify(const Headers& headers, std::string_view body, int64_t now_s) const = 0;
  virtual Normalized normalize(const Headers& headers, std::string_view body) const = 0;

  // A request the provider sends before any notification, to prove that the URL is the
  // subscriber's (Microsoft Graph's `?validationToken=`): the text/plain body to answer 200 with,
  // nothing stored. Asked before verify(), with the request's query string; nullopt for every
  // other request.
  virtual std::optional<std::string> validation(std::string_view /*query*/) const {
    return std::nullopt;
  }
  // Whether verify() may wait on the network for this delivery (keys or a certificate not held
  // yet, or held too long): then call it where blocking is allowed.
  virtual bool may_block(const Headers& /*headers*/, std::string_view /*body*/) const {
    return false;
  }
};

// The verifier for a configured source (its provider, secrets and options). `fetch` gets what the
// asymmetric providers (gmail, sns) need from the network; null: over https (http only to a
// loopback host), 5 s at most, no redirects.
std::unique_ptr<Verifier> make_verifier(const config::Source& source, Fetch fetch = nullptr);

// "sha256:" and the lowercase hex SHA-256 of the body: the delivery id of last resort.
std::string body_delivery_id(std::string_view body);

}  // namespace hookmcp::verify
