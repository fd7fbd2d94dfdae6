// A JWKS held for a while: fetched when none is held or it has been held too long, and again when
// a token names a key not in it (the issuer rotated), at most once per `refresh_interval`, so
// that a flood of made-up `kid`s cannot become a flood of requests to the issuer. While the
// issuer cannot be reached, the keys already held keep working. Used for OAuth access tokens
// (ResourceServer) and for the OIDC tokens Pub/Sub push sends (the gmail provider).
//
// Thread-safe. find() may block on a fetch: ask may_block() first.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "hookmcp/auth/jwt.hpp"
#include "hookmcp/core/result.hpp"

namespace hookmcp::auth {

// The bytes of a JSON document at `url` (200 only), or why not.
using Fetch = std::function<Result<std::string>(const std::string& url)>;
// Fetches over https (http only to a loopback host), with the timeout, no redirects, 1 MiB at
// most.
Fetch https_fetch(std::chrono::milliseconds timeout);

class KeyCache {
 public:
  struct Options {
    std::chrono::seconds max_age{3600};
    std::chrono::seconds refresh_interval{60};  // between fetches for a kid not held
    std::chrono::seconds retry_interval{10};    // between attempts while none are held
  };
  // Where the JWKS is: asked before the first fetch and again after a fetch fails (it may have
  // moved).
  using Locate = std::function<Result<std::string>()>;

  KeyCache(Options options, Locate locate, Fetch fetch);

  struct Found {
    std::shared_ptr<const KeySet> set;         // null: no keys could ever be had (`why` says why)
    std::vector<const PublicKey*> candidates;  // in `set`, for the kid and alg asked
    std::string why;                           // why the last fetch failed, if it did
  };
  // The keys that may verify a token with this kid and alg, fetching first if need be.
  Found find(std::string_view kid, std::string_view alg, int64_t now_ms);
  // Whether find() could fetch first.
  bool may_block(std::string_view kid, std::string_view alg, int64_t now_ms) const;
  // Fetches now (at start, so that the first token does not wait); the error says why not.
  Status refresh(int64_t now_ms);

 private:
  struct Held {
    KeySet set;
    int64_t fetched_ms = 0;
  };
  enum class Why { kAsked, kMissingOrStale, kUnknownKey };
  std::shared_ptr<const Held> held() const;
  bool stale(const Held& held, int64_t now_ms) const;
  std::shared_ptr<const Held> fetch_again(Why why_now, int64_t now_ms, std::string* why);

  const Options options_;
  const Locate locate_;
  const Fetch fetch_;

  mutable std::mutex held_mu_;
  std::shared_ptr<const Held> held_;  // guarded by held_mu_

  std::mutex fetch_mu_;              // one fetch at a time
  std::string url_;                  // guarded by fetch_mu_; empty until located
  std::string last_failure_;         // guarded by fetch_mu_
  int64_t last_attempt_ms_ = 0;      // guarded by fetch_mu_
  int64_t last_unknown_key_ms_ = 0;  // guarded by fetch_mu_
};

}  // namespace hookmcp::auth
