#include "hookmcp/auth/key_cache.hpp"

#include "hookmcp/config/config.hpp"
#include "hookmcp/core/json.hpp"
#include "hookmcp/net/http_client.hpp"

namespace hookmcp::auth {

namespace {

constexpr uint64_t kMaxDocumentBytes = uint64_t{1} << 20;

int64_t ms(std::chrono::seconds s) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(s).count();
}

}  // namespace

Fetch https_fetch(std::chrono::milliseconds timeout) {
  return [timeout](const std::string& url) -> Result<std::string> {
    auto parsed = net::parse_url(url);
    if (!parsed) return parsed.error();
    if (parsed->scheme != "https" && !config::is_loopback_host(parsed->host)) {
      return make_error(ErrorCode::kInvalidArgument,
                        url + ": only https is allowed (http only to this machine)");
    }
    net::ClientRequest request;
    request.method = "GET";
    request.url = url;
    request.headers.add("Accept", "application/json");
    request.timeout = timeout;
    request.max_response_bytes = kMaxDocumentBytes;
    auto response = net::http_request(request);
    if (!response) return make_error(response.error().code, url + ": " + response.error().message);
    if (response->status != 200) {
      return make_error(ErrorCode::kIo, url + " answered " + response->status_line());
    }
    return std::move(response->body);
  };
}

KeyCache::KeyCache(Options options, Locate locate, Fetch fetch)
    : options_(options), locate_(std::move(locate)), fetch_(std::move(fetch)) {}

std::shared_ptr<const KeyCache::Held> KeyCache::held() const {
  std::lock_guard lock(held_mu_);
  return held_;
}

bool KeyCache::stale(const Held& held, int64_t now_ms) const {
  return now_ms - held.fetched_ms > ms(options_.max_age);
}

std::shared_ptr<const KeyCache::Held> KeyCache::fetch_again(Why why_now, int64_t now_ms,
                                                            std::string* why) {
  auto before = held();
  std::lock_guard lock(fetch_mu_);
  // Another thread fetched while this one waited: use what it found.
  if (auto now = held(); now != before) return now;
  auto too_soon = [now_ms](int64_t last, std::chrono::seconds gap) {
    return last != 0 && now_ms - last < ms(gap);
  };
  if ((why_now == Why::kUnknownKey && too_soon(last_unknown_key_ms_, options_.refresh_interval)) ||
      (why_now == Why::kMissingOrStale && too_soon(last_attempt_ms_, options_.retry_interval))) {
    if (why) *why = last_failure_;
    return before;
  }
  if (why_now == Why::kUnknownKey) last_unknown_key_ms_ = now_ms;
  last_attempt_ms_ = now_ms;
  auto fail = [&](const std::string& reason) {
    last_failure_ = reason;
    if (why) *why = reason;
    return before;
  };
  if (url_.empty()) {
    auto url = locate_();
    if (!url) return fail(url.error().message);
    url_ = *url;
  }
  auto body = fetch_(url_);
  if (!body) {
    url_.clear();  // located again next time, in case it moved
    return fail("JWKS: " + body.error().message);
  }
  auto doc = parse_json(*body);
  auto set = doc.ok() ? KeySet::from_jwks(doc.value)
                      : Result<KeySet>(make_error(ErrorCode::kInvalidArgument, "not JSON"));
  if (!set) return fail(url_ + ": " + set.error().message);
  if (set->keys.empty()) return fail(url_ + ": no key usable for RS256, PS256 or ES256");
  auto fresh = std::make_shared<Held>(Held{std::move(*set), now_ms});
  last_failure_.clear();
  std::lock_guard held_lock(held_mu_);
  held_ = fresh;
  return fresh;
}

KeyCache::Found KeyCache::find(std::string_view kid, std::string_view alg, int64_t now_ms) {
  Found out;
  auto keys = held();
  if (!keys || stale(*keys, now_ms)) {
    keys = fetch_again(Why::kMissingOrStale, now_ms, &out.why);  // stale keys keep working
  } else if (keys->set.candidates(kid, alg).empty()) {
    keys = fetch_again(Why::kUnknownKey, now_ms, &out.why);  // the issuer may have rotated
  }
  if (!keys) return out;
  out.candidates = keys->set.candidates(kid, alg);
  out.set = std::shared_ptr<const KeySet>(keys, &keys->set);
  return out;
}

bool KeyCache::may_block(std::string_view kid, std::string_view alg, int64_t now_ms) const {
  auto keys = held();
  return !keys || stale(*keys, now_ms) || keys->set.candidates(kid, alg).empty();
}

Status KeyCache::refresh(int64_t now_ms) {
  std::string why;
  auto before = held();
  auto after = fetch_again(Why::kAsked, now_ms, &why);
  if (after == before && !why.empty()) return make_error(ErrorCode::kUnavailable, why);
  return Status();
}

}  // namespace hookmcp::auth
