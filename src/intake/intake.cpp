#include "hookmcp/intake/intake.hpp"

#include <algorithm>
#include <chrono>
#include <mutex>
#include <optional>
#include <tuple>
#include <utility>
#include <vector>

#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "hookmcp/core/text.hpp"
#include "hookmcp/net/http_client.hpp"

namespace hookmcp::intake {

namespace {

// Headers that carry a secret as it is: Postmark's Basic credentials arrive in Authorization,
// a Google Calendar channel's token in X-Goog-Channel-Token.
constexpr const char* kCredentialHeaders[] = {"authorization", "proxy-authorization",
                                              "cookie",        "x-gitlab-token",
                                              "x-api-key",     "x-goog-channel-token"};

bool is_credential(std::string_view name) {
  return std::any_of(std::begin(kCredentialHeaders), std::end(kCredentialHeaders),
                     [&](const char* c) { return iequals(name, c); });
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

bool printable_ascii(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char c) { return c >= 0x20 && c < 0x7f; });
}

// The common case, every name and value printable ASCII, written straight out: building the
// JSON document first took 6.5% of the I/O thread's time under load. The same text as the
// general path in headers_to_json: names in byte order, repeats joined with ", ".
std::optional<std::string> printable_headers_to_json(const Headers& headers) {
  struct Field {
    std::string_view name;
    size_t order;  // the repeats of a name keep the order they came in
    std::string_view shown;
    bool operator<(const Field& o) const {
      return std::tie(name, order) < std::tie(o.name, o.order);
    }
  };
  std::vector<Field> fields;
  fields.reserve(headers.fields().size());
  for (const auto& [name, value] : headers.fields()) {
    if (!printable_ascii(name) || !printable_ascii(value)) return std::nullopt;
    fields.push_back(
        {name, fields.size(), is_credential(name) ? "[redacted]" : std::string_view(value)});
  }
  std::sort(fields.begin(), fields.end());
  std::string out = "{";
  auto escaped = [&out](std::string_view text) {
    for (char c : text) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
  };
  for (size_t i = 0; i < fields.size(); ++i) {
    if (i > 0 && fields[i].name == fields[i - 1].name) {
      out += ", ";
    } else {
      if (i > 0) out += "\",";
      out += '"';
      escaped(fields[i].name);
      out += "\":\"";
    }
    escaped(fields[i].shown);
  }
  if (!fields.empty()) out += '"';
  out += '}';
  return out;
}

}  // namespace

std::string headers_to_json(const Headers& headers) {
  if (auto out = printable_headers_to_json(headers)) return *std::move(out);
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [name, value] : headers.fields()) {
    std::string shown = is_credential(name) ? "[redacted]" : value;
    auto it = out.find(name);
    if (it == out.end()) {
      out[name] = shown;
    } else {
      *it = it->get<std::string>() + ", " + shown;
    }
  }
  // Header values are bytes from the network: replace invalid UTF-8 instead of throwing.
  return out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

Response Intake::error_response(int status, const std::string& message) {
  Response r;
  r.status = status;
  r.body = nlohmann::json{{"error", message}}.dump(-1, ' ', false,
                                                   nlohmann::json::error_handler_t::replace);
  return r;
}

std::shared_ptr<const Intake::Sources> Intake::make_sources(const config::Config& config) {
  auto sources = std::make_shared<Sources>();
  for (const auto& [name, source] : config.sources) {
    sources->by_name.emplace(name, SourceEntry{source, verify::make_verifier(source)});
    sources->names += (sources->names.empty() ? "" : ", ") + name;
  }
  if (sources->names.empty()) sources->names = "none";
  return sources;
}

Intake::Intake(const config::Config& config, store::Store& store, const Clock& clock,
               Metrics& metrics)
    : store_(store), clock_(clock), metrics_(metrics), sources_(make_sources(config)) {
  open_source_.config.provider = "none";
  open_source_.verifier = verify::make_verifier(open_source_.config);
}

void Intake::reload(const config::Config& config) { sources_.store(make_sources(config)); }

void Intake::warn_if_tunnelled(const Headers& headers) {
  constexpr const char* kProxyHeaders[] = {"X-Forwarded-For", "Forwarded", "Cf-Connecting-Ip",
                                           "X-Real-Ip"};
  for (const char* name : kProxyHeaders) {
    auto value = headers.get(name);
    if (!value) continue;
    // Once a minute at most: a tunnel forwards every delivery.
    int64_t now = clock_.now_ms();
    int64_t last = tunnel_warned_ms_.load();
    if (last != 0 && now - last < 60'000) return;
    if (!tunnel_warned_ms_.compare_exchange_strong(last, now)) return;
    spdlog::warn(
        "a webhook came through a proxy or tunnel ({}: {}) while no sources are configured: "
        "hookmcp accepts unsigned webhooks, so anyone who has the tunnel's URL can write "
        "events. Configure sources with their secrets (README: \"Connect GitHub, Stripe and "
        "Slack\")",
        name, printable(*value, 64));
    return;
  }
}

const Intake::SourceEntry* Intake::find_source(const Sources& sources,
                                               const std::string& name) const {
  if (sources.by_name.empty()) return &open_source_;
  auto it = sources.by_name.find(name);
  return it == sources.by_name.end() ? nullptr : &it->second;
}

void Intake::handle(Request req, Respond respond) {
  auto start = std::chrono::steady_clock::now();
  metrics_.webhooks_received.inc();
  auto refuse = [&](RejectReason reason, int status, const std::string& message,
                    const std::string& why = {}) {
    metrics_.reject(reason);
    metrics_.intake_latency_seconds.observe(seconds_since(start));
    Response r = error_response(status, message);
    r.summary = "refused: " + printable(why.empty() ? message : why, 300);
    respond(std::move(r));
  };

  if (!valid_source_name(req.source)) {
    refuse(RejectReason::kUnknownSource, 404,
           "\"" + req.source + "\" is not valid: " + kSourceNameRule);
    return;
  }
  if (req.source == kNoticeSource) {
    refuse(RejectReason::kUnknownSource, 404,
           "\"" + req.source + "\" is reserved for the notices of hookmcp's own triggers");
    return;
  }
  // Held until the delivery is verified: a reload meanwhile does not pull it away.
  std::shared_ptr<const Sources> sources = sources_.load();
  const SourceEntry* source = find_source(*sources, req.source);
  if (source == nullptr) {
    refuse(RejectReason::kUnknownSource, 404, "unknown source \"" + req.source + "\"",
           "unknown source \"" + req.source + "\" (configured: " + sources->names + ")");
    return;
  }
  if (sources->by_name.empty()) warn_if_tunnelled(req.headers);
  if (req.origin_denied && source->config.provider == "none") {
    refuse(RejectReason::kOrigin, 403,
           "source \"" + req.source +
               "\" is unsigned and refuses requests from other sites: " + *req.origin_denied);
    return;
  }

  if (auto echo = source->verifier->validation(req.query)) {
    metrics_.intake_latency_seconds.observe(seconds_since(start));
    Response r{200, std::move(*echo), "text/plain; charset=utf-8"};
    r.summary = "answered the provider's validation request (nothing stored)";
    respond(std::move(r));
    return;
  }

  int64_t now_ms = clock_.now_ms();
  verify::Verdict verdict = source->verifier->verify(req.headers, req.body, now_ms / 1000);
  if (verdict.unavailable) {
    metrics_.reject(RejectReason::kSenderKeys);
    metrics_.intake_latency_seconds.observe(seconds_since(start));
    Response r = error_response(503, "cannot verify the signature now, retry later");
    r.retry_after_s = 10;
    r.summary = "not verified: " + printable(verdict.reason, 300);
    respond(std::move(r));
    return;
  }
  if (!verdict.accepted) {
    // The reason goes to the log only, unless it is about the request's form: a forger learns
    // nothing about what was checked.
    refuse(RejectReason::kSignature, 401,
           verdict.reason_public ? verdict.reason : "signature verification failed",
           verdict.reason);
    return;
  }

  verify::Normalized normalized = source->verifier->normalize(req.headers, req.body);
  if (normalized.handshake_response) {
    metrics_.intake_latency_seconds.observe(seconds_since(start));
    Response r{200, *normalized.handshake_response};
    r.summary = "answered the provider's URL verification";
    respond(std::move(r));
    return;
  }
  const auto& ignore = source->config.ignore_types;
  if (!normalized.type.empty() &&
      std::find(ignore.begin(), ignore.end(), normalized.type) != ignore.end()) {
    metrics_.webhooks_filtered.inc();
    metrics_.intake_latency_seconds.observe(seconds_since(start));
    Response r{200, R"({"filtered":true})"};
    r.summary = "filtered: type " + printable(normalized.type, 80) + " is in ignore_types";
    respond(std::move(r));
    return;
  }

  NewEvent event;
  const int stored_status = normalized.acknowledge_with_200 ? 200 : 202;
  event.source = req.source;
  event.provider = source->config.provider;
  if (!normalized.items.empty()) {
    auto ignored = [&ignore](const verify::Normalized::Item& item) {
      return std::find(ignore.begin(), ignore.end(), item.type) != ignore.end();
    };
    auto& items = normalized.items;
    items.erase(std::remove_if(items.begin(), items.end(), ignored), items.end());
    if (items.empty()) {
      metrics_.webhooks_filtered.inc();
      metrics_.intake_latency_seconds.observe(seconds_since(start));
      Response r{200, R"({"filtered":true})"};
      r.summary = "filtered: every item's type is in ignore_types";
      respond(std::move(r));
      return;
    }
    event.received_at_ms = now_ms;
    event.verified = verdict.verified;
    event.headers_json = headers_to_json(req.headers);
    event.content_type = "application/json";
    store_items(event, std::move(normalized.items), start, std::move(respond));
    return;
  }
  event.type = std::move(normalized.type);
  event.action = std::move(normalized.action);
  event.delivery_id = normalized.delivery_id.empty() ? verify::body_delivery_id(req.body)
                                                     : std::move(normalized.delivery_id);
  event.received_at_ms = now_ms;
  event.verified = verdict.verified;
  event.headers_json = headers_to_json(req.headers);
  event.content_type = std::string(req.headers.get("Content-Type").value_or(""));
  event.body = std::move(req.body);

  // What the log says of it: type and action, the sender's delivery id, and how it was checked.
  // Built only when its line is logged (not at --log-level warn, as under the intake benchmark).
  std::string what;
  if (spdlog::should_log(spdlog::level::info)) {
    what = event.type.empty() ? "no type" : printable(event.type, 80);
    if (!event.action.empty()) what += "/" + printable(event.action, 80);
    if (!event.delivery_id.empty()) what += ", delivery " + printable(event.delivery_id, 80);
    what += event.verified ? ", signature verified" : ", unsigned";
  }
  store_.insert(
      std::move(event), [this, start, stored_status, what = std::move(what),
                         confirm_url = std::move(normalized.confirm_url),
                         respond = std::move(respond)](Result<store::InsertOutcome> outcome) {
        metrics_.intake_latency_seconds.observe(seconds_since(start));
        if (!outcome) {
          bool overloaded = outcome.error().code == ErrorCode::kOverloaded;
          metrics_.reject(overloaded ? RejectReason::kOverloaded : RejectReason::kStorage);
          // Why storage fails is the store's to log, once when it starts and once when it ends.
          Response r = error_response(
              503, overloaded ? "overloaded, retry later" : "storage unavailable, retry later");
          r.retry_after_s = overloaded ? 1 : 5;
          r.summary = overloaded ? "refused, overloaded" : "not stored";
          if (!what.empty()) r.summary += ": " + what;
          respond(std::move(r));
          return;
        }
        (outcome->duplicate ? metrics_.webhooks_duplicate : metrics_.webhooks_stored).inc();
        std::string body = "{\"id\":" + std::to_string(outcome->id) +
                           ",\"duplicate\":" + (outcome->duplicate ? "true" : "false") + "}";
        Response r{outcome->duplicate ? 200 : stored_status, std::move(body)};
        r.confirm_url = confirm_url;
        if (!what.empty()) {
          r.summary = (outcome->duplicate ? "duplicate of id " : "stored id ") +
                      std::to_string(outcome->id) + ", " + what;
        }
        respond(std::move(r));
      });
}

bool Intake::may_block(const Request& request) const {
  std::shared_ptr<const Sources> sources = sources_.load();
  const SourceEntry* source = find_source(*sources, request.source);
  return source != nullptr && source->verifier->may_block(request.headers, request.body);
}

void Intake::store_items(const NewEvent& common, std::vector<verify::Normalized::Item> items,
                         std::chrono::steady_clock::time_point start, Respond respond) {
  struct Batch {
    std::mutex mu;
    size_t left;
    bool failed = false;
    bool overloaded = false;
    size_t stored = 0;
    std::vector<int64_t> ids;
    Respond respond;
  };
  auto batch = std::make_shared<Batch>();
  batch->left = items.size();
  batch->ids.resize(items.size());
  batch->respond = std::move(respond);
  const std::string types = [&items] {
    std::string out;
    for (size_t i = 0; i < items.size() && i < 3; ++i) {
      out += (i ? ", " : "") + printable(items[i].type.empty() ? "no type" : items[i].type, 60);
    }
    return items.size() > 3 ? out + ", ..." : out;
  }();
  for (size_t i = 0; i < items.size(); ++i) {
    NewEvent event = common;
    event.type = std::move(items[i].type);
    event.action = std::move(items[i].action);
    event.body = std::move(items[i].body);
    event.delivery_id = items[i].delivery_id.empty() ? verify::body_delivery_id(event.body)
                                                     : std::move(items[i].delivery_id);
    store_.insert(std::move(event), [this, batch, i, start,
                                     types](Result<store::InsertOutcome> outcome) {
      std::unique_lock lock(batch->mu);
      if (!outcome) {
        batch->failed = true;
        batch->overloaded = batch->overloaded || outcome.error().code == ErrorCode::kOverloaded;
      } else {
        batch->ids[i] = outcome->id;
        if (!outcome->duplicate) ++batch->stored;
        (outcome->duplicate ? metrics_.webhooks_duplicate : metrics_.webhooks_stored).inc();
      }
      if (--batch->left > 0) return;
      lock.unlock();
      metrics_.intake_latency_seconds.observe(seconds_since(start));
      if (batch->failed) {
        metrics_.reject(batch->overloaded ? RejectReason::kOverloaded : RejectReason::kStorage);
        Response r = error_response(503, batch->overloaded ? "overloaded, retry later"
                                                           : "storage unavailable, retry later");
        r.retry_after_s = batch->overloaded ? 1 : 5;
        r.summary = "batch of " + std::to_string(batch->ids.size()) + " not stored: " + types;
        batch->respond(std::move(r));
        return;
      }
      nlohmann::json ids = batch->ids;
      // As for one delivery: 202 when something new was stored, 200 for a batch of repeats.
      Response r{batch->stored > 0 ? 202 : 200,
                 nlohmann::json{{"ids", ids}, {"stored", batch->stored}}.dump()};
      r.summary = "stored a batch of " + std::to_string(batch->ids.size()) + " (" +
                  std::to_string(batch->stored) + " new, ids " +
                  std::to_string(batch->ids.front()) +
                  (batch->ids.size() > 1 ? "-" + std::to_string(batch->ids.back()) : "") +
                  "): " + types + ", signature verified";
      batch->respond(std::move(r));
    });
  }
}

void Intake::confirm(const std::string& source, const std::string& url) {
  net::ClientRequest request;
  request.method = "GET";
  request.url = url;
  request.timeout = std::chrono::seconds(10);
  request.max_response_bytes = uint64_t{64} << 10;
  auto response = net::http_request(request);
  if (!response) {
    spdlog::warn("source {}: could not confirm the subscription at {}: {}", printable(source, 80),
                 printable(url, 200), response.error().message);
  } else if (response->status / 100 != 2) {
    spdlog::warn("source {}: confirming the subscription at {} answered {}", printable(source, 80),
                 printable(url, 200), response->status_line());
  } else {
    spdlog::info("source {}: subscription confirmed ({})", printable(source, 80),
                 printable(url, 200));
  }
}

}  // namespace hookmcp::intake
