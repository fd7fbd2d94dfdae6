// Intake without the network: every provider's verify() and normalize() on a fuzzed delivery.
//
// Input: header lines "Name: value" up to the first empty line, then the body. A header
// "X-Fuzz-Now: <unix seconds>" sets the verifier's clock, so that seeds signed at some time
// reach the accepting paths. The sources come from a config document parsed as the server's is.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "hookmcp/config/config.hpp"
#include "hookmcp/core/form.hpp"
#include "hookmcp/core/headers.hpp"
#include "hookmcp/verify/verifier.hpp"

namespace {

// One source per provider, and the hmac provider once more with a timestamp and a template.
constexpr const char* kConfig = R"({
  "sources": {
    "github": {"provider": "github", "secrets": ["fuzz-secret"]},
    "stripe": {"provider": "stripe", "secrets": ["whsec_fuzz", "env:FUZZ_SECRET"]},
    "slack": {"provider": "slack", "secrets": ["fuzz-secret"]},
    "standard": {"provider": "standard", "secrets": ["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"]},
    "shopify": {"provider": "shopify", "secrets": ["fuzz-secret"]},
    "gitlab": {"provider": "gitlab", "secrets": ["fuzz-secret"]},
    "calendar": {"provider": "google-calendar", "secrets": ["fuzz-secret"]},
    "mail": {"provider": "postmark", "secrets": ["fuzz:secret"]},
    "graph": {"provider": "msgraph", "secrets": ["fuzz-secret"]},
    "mailgun": {"provider": "mailgun", "secrets": ["fuzz-secret"]},
    "sendgrid": {"provider": "sendgrid", "public_key": "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE83T4O/n84iotIvIW4mdBgQ/7dAfSmpqIM8kF9mN1flpVKS3GRqe62gw+2fNNRYINXdaXo/lzXq2Q5OkSiC2b6Q=="},
    "gmail": {"provider": "gmail", "audience": "fuzz", "service_account": "fuzz@example.com",
              "jwks_url": "file:/nonexistent/jwks.json"},
    "sns": {"provider": "sns", "topic_arns": ["*"], "cert_url_prefix": "file:/nonexistent/"},
    "hmac": {"provider": "hmac", "secrets": ["fuzz-secret"], "header": "X-Signature",
             "prefix": "sha256="},
    "hmac-ts": {"provider": "hmac", "secrets": ["fuzz-secret"], "header": "X-Signature",
                "algorithm": "sha512", "encoding": "base64", "timestamp_header": "X-Timestamp",
                "signed_template": "{timestamp}.{body}", "type_pointer": "/event/kind"},
    "none": {"provider": "none"}
  }
})";

const std::vector<std::unique_ptr<hookmcp::verify::Verifier>>& verifiers() {
  static const auto* all = [] {
    auto getenv = [](const std::string& name) -> std::optional<std::string> {
      if (name == "FUZZ_SECRET") return "whsec_second";
      return std::nullopt;
    };
    hookmcp::config::Config config;
    auto status = hookmcp::config::apply_json(nlohmann::json::parse(kConfig), getenv, config);
    if (!status.ok()) std::abort();
    auto* list = new std::vector<std::unique_ptr<hookmcp::verify::Verifier>>;
    for (const auto& [name, source] : config.sources) {
      list->push_back(hookmcp::verify::make_verifier(source));
    }
    return list;
  }();
  return *all;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  hookmcp::Headers headers;
  int64_t now_s = 1'700'000'000;
  std::string_view body;
  while (true) {
    auto eol = input.find('\n');
    std::string_view line = trim(input.substr(0, eol));
    input = eol == std::string_view::npos ? std::string_view() : input.substr(eol + 1);
    if (line.empty()) {
      body = input;
      break;
    }
    auto colon = line.find(':');
    std::string_view name = trim(line.substr(0, colon));
    std::string_view value =
        colon == std::string_view::npos ? std::string_view() : trim(line.substr(colon + 1));
    if (hookmcp::iequals(name, "X-Fuzz-Now")) {
      now_s = std::strtoll(std::string(value).c_str(), nullptr, 10);
      continue;
    }
    headers.add(std::string(name), std::string(value));
  }
  for (const auto& verifier : verifiers()) {
    auto verdict = verifier->verify(headers, body, now_s);
    auto normalized = verifier->normalize(headers, body);
    // A verdict is consistent, and a verified delivery is an accepted one.
    if (verdict.verified && !verdict.accepted) std::abort();
    if (verdict.accepted && !verdict.reason.empty()) std::abort();
    (void)normalized;
    // The body as a query string: Graph's validation request.
    (void)verifier->validation(body);
    (void)verifier->may_block(headers, body);
  }
  // The body as a form of the declared type: what Mailgun and SendGrid post.
  if (auto fields = hookmcp::parse_form(headers.get("Content-Type").value_or(""), body)) {
    for (const auto& field : *fields) {
      if (field.name.size() + field.value.size() > body.size()) std::abort();
    }
  }
  (void)hookmcp::verify::body_delivery_id(body);
  return 0;
}
