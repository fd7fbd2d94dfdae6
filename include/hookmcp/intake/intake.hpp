// Webhook intake: a delivery in, a status out. Knows no transport; the HTTP listener hands it
// requests and writes back what it answers.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "hookmcp/config/config.hpp"
#include "hookmcp/core/clock.hpp"
#include "hookmcp/core/headers.hpp"
#include "hookmcp/core/metrics.hpp"
#include "hookmcp/store/store.hpp"
#include "hookmcp/verify/verifier.hpp"

namespace hookmcp::intake {

struct Request {
  std::string source;  // from /hooks/{source}
  std::string query;   // the target's query string, without '?'
  Headers headers;
  std::string body;
  // Set by the transport when the request's Host or Origin is outside the allow-lists the MCP
  // routes keep (a page on another site may have sent it from the user's browser): why.
  // Unsigned sources refuse such a request; signed ones need no such guard.
  std::optional<std::string> origin_denied;
};

struct Response {
  int status = 200;
  std::string body;  // JSON unless content_type says otherwise
  std::string content_type = "application/json";
  std::optional<int> retry_after_s;
  // The delivery's line in the log, after the status: what was stored or why it was refused,
  // including what the sender is not told ("stored id 42, push/opened, delivery 7f3c...,
  // verified").
  std::string summary;
  // To fetch with GET now that the delivery is stored: how the sender asks to be confirmed (an
  // SNS SubscriptionConfirmation on a source with auto_confirm), vetted by the verifier.
  std::string confirm_url;
};

using Respond = std::function<void(Response)>;

class Intake {
 public:
  // `store`, `clock` and `metrics` must outlive the Intake.
  Intake(const config::Config& config, store::Store& store, const Clock& clock, Metrics& metrics);

  // Thread-safe. Calls `respond` exactly once: on the calling thread when the delivery is
  // refused or filtered, otherwise on the store's writer thread once the event is committed
  // (so `respond` must only hand the answer back to its connection, not write it).
  void handle(Request request, Respond respond);
  // Whether handle() may wait on the network to verify this request (a sender's keys or
  // certificate to fetch): then call it where blocking is allowed. Thread-safe.
  bool may_block(const Request& request) const;

  // Verifies with the sources of `config` from now on (SIGHUP: secrets rotated, sources added
  // or removed, without a restart). Deliveries already being verified finish with the old ones.
  // Thread-safe.
  void reload(const config::Config& config);

  // A 2xx is never sent for a delivery that is not committed; these are the other answers.
  static Response error_response(int status, const std::string& message);
  // GETs a Response's confirm_url and logs what came of it. Blocks (10 s at most).
  static void confirm(const std::string& source, const std::string& url);

 private:
  struct SourceEntry {
    config::Source config;
    std::unique_ptr<verify::Verifier> verifier;
  };
  // The sources of one config, replaced whole by reload().
  struct Sources {
    std::map<std::string, SourceEntry> by_name;
    std::string names;  // "github, stripe", or "none"
  };
  static std::shared_ptr<const Sources> make_sources(const config::Config& config);
  // The configured source, or with no sources configured the open default; `name` is valid.
  const SourceEntry* find_source(const Sources& sources, const std::string& name) const;
  // With no sources configured, unsigned webhooks are accepted from loopback: a request that a
  // proxy or tunnel forwarded may come from anyone. Warns, once a minute at most.
  void warn_if_tunnelled(const Headers& headers);
  // Stores the items of a batch, one event each, and answers once all are committed: 202 with
  // their ids, or 503 if any could not be stored (the sender retries the batch; the items stored
  // are then duplicates).
  void store_items(const NewEvent& common, std::vector<verify::Normalized::Item> items,
                   std::chrono::steady_clock::time_point start, Respond respond);

  store::Store& store_;
  const Clock& clock_;
  Metrics& metrics_;
  std::atomic<std::shared_ptr<const Sources>> sources_;
  SourceEntry open_source_;  // used when no sources are configured
  std::atomic<int64_t> tunnel_warned_ms_{0};
};

// The request headers as a JSON object, credentials (Authorization, Cookie, X-Gitlab-Token...)
// replaced by "[redacted]"; repeated names are joined with ", ".
std::string headers_to_json(const Headers& headers);

}  // namespace hookmcp::intake
