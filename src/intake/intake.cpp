#include "hookmcp/intake/intake.hpp"

#include <algorithm>
#include <chrono>
#include <optional>
#include <tuple>
#include <utility>
#include <vector>

#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

namespace hookmcp::intake {

namespace {

constexpr const char* kCredentialHeaders[] = {"authorization", "proxy-authorization", "cookie",
                                              "x-gitlab-token", "x-api-key"};

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

Intake::Intake(const config::Config& config, store::Store& store, const Clock& clock,
               Metrics& metrics)
    : store_(store),
      clock_(clock),
      metrics_(metrics),
      sources_configured_(!config.sources.empty()) {
  for (const auto& [name, source] : config.sources) {
    sources_.emplace(name, SourceEntry{source, verify::make_verifier(source)});
  }
  open_source_.config.provider = "none";
  open_source_.verifier = verify::make_verifier(open_source_.config);
}

const Intake::SourceEntry* Intake::find_source(const std::string& name) const {
  if (!sources_configured_) return &open_source_;
  auto it = sources_.find(name);
  return it == sources_.end() ? nullptr : &it->second;
}

void Intake::handle(Request req, Respond respond) {
  auto start = std::chrono::steady_clock::now();
  metrics_.webhooks_received.inc();
  auto refuse = [&](RejectReason reason, int status, const std::string& message) {
    metrics_.reject(reason);
    metrics_.intake_latency_seconds.observe(seconds_since(start));
    respond(error_response(status, message));
  };

  if (!valid_source_name(req.source)) {
    refuse(RejectReason::kUnknownSource, 404,
           "\"" + req.source + "\" is not valid: " + kSourceNameRule);
    return;
  }
  const SourceEntry* source = find_source(req.source);
  if (source == nullptr) {
    refuse(RejectReason::kUnknownSource, 404, "unknown source \"" + req.source + "\"");
    return;
  }
  if (req.origin_denied && source->config.provider == "none") {
    refuse(RejectReason::kOrigin, 403,
           "source \"" + req.source +
               "\" is unsigned and refuses requests from other sites: " + *req.origin_denied);
    return;
  }

  int64_t now_ms = clock_.now_ms();
  verify::Verdict verdict = source->verifier->verify(req.headers, req.body, now_ms / 1000);
  if (!verdict.accepted) {
    // The reason goes to the log only, unless it is about the request's form: a forger learns
    // nothing about what was checked.
    spdlog::warn("rejected delivery to source {}: {}", req.source, verdict.reason);
    refuse(RejectReason::kSignature, 401,
           verdict.reason_public ? verdict.reason : "signature verification failed");
    return;
  }

  verify::Normalized normalized = source->verifier->normalize(req.headers, req.body);
  if (normalized.handshake_response) {
    metrics_.intake_latency_seconds.observe(seconds_since(start));
    respond(Response{200, *normalized.handshake_response});
    return;
  }
  const auto& ignore = source->config.ignore_types;
  if (!normalized.type.empty() &&
      std::find(ignore.begin(), ignore.end(), normalized.type) != ignore.end()) {
    metrics_.webhooks_filtered.inc();
    metrics_.intake_latency_seconds.observe(seconds_since(start));
    respond(Response{200, R"({"filtered":true})"});
    return;
  }

  NewEvent event;
  event.source = req.source;
  event.provider = source->config.provider;
  event.type = std::move(normalized.type);
  event.action = std::move(normalized.action);
  event.delivery_id = normalized.delivery_id.empty() ? verify::body_delivery_id(req.body)
                                                     : std::move(normalized.delivery_id);
  event.received_at_ms = now_ms;
  event.verified = verdict.verified;
  event.headers_json = headers_to_json(req.headers);
  event.content_type = std::string(req.headers.get("Content-Type").value_or(""));
  event.body = std::move(req.body);

  store_.insert(std::move(event), [this, start, respond = std::move(respond)](
                                      Result<store::InsertOutcome> outcome) {
    metrics_.intake_latency_seconds.observe(seconds_since(start));
    if (!outcome) {
      bool overloaded = outcome.error().code == ErrorCode::kOverloaded;
      metrics_.reject(overloaded ? RejectReason::kOverloaded : RejectReason::kStorage);
      if (!overloaded) spdlog::error("store cannot commit: {}", outcome.error().message);
      Response r = error_response(
          503, overloaded ? "overloaded, retry later" : "storage unavailable, retry later");
      r.retry_after_s = overloaded ? 1 : 5;
      respond(std::move(r));
      return;
    }
    (outcome->duplicate ? metrics_.webhooks_duplicate : metrics_.webhooks_stored).inc();
    std::string body = "{\"id\":" + std::to_string(outcome->id) +
                       ",\"duplicate\":" + (outcome->duplicate ? "true" : "false") + "}";
    respond(Response{outcome->duplicate ? 200 : 202, std::move(body)});
  });
}

}  // namespace hookmcp::intake
