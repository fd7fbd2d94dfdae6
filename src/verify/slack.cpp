// Slack: X-Slack-Signature is "v0=" and the hex HMAC-SHA256 of "v0:TIMESTAMP:BODY", keyed with
// the app's signing secret; X-Slack-Request-Timestamp must be within the tolerance.
// https://docs.slack.dev/authentication/verifying-requests-from-slack
//
// Slack posts three body shapes: Events API JSON (with the url_verification handshake),
// interactivity as a form with one field `payload` holding JSON, and slash commands as a form.
#include <nlohmann/json.hpp>

#include "hookmcp/core/text.hpp"
#include "hookmcp/verify/crypto.hpp"
#include "providers.hpp"

namespace hookmcp::verify::detail {

namespace {

constexpr std::string_view kVersion = "v0";

// What a person filters interactivity by: the action, shortcut or modal that was used.
std::string interaction_action(std::string_view payload) {
  for (const char* pointer : {"/actions/0/action_id", "/callback_id", "/view/callback_id"}) {
    std::string value = json_string_at(payload, pointer);
    if (!value.empty()) return value;
  }
  return {};
}

class SlackVerifier final : public Verifier {
 public:
  SlackVerifier(std::vector<std::string> secrets, int tolerance_s)
      : secrets_(std::move(secrets)), tolerance_s_(tolerance_s) {}

  Verdict verify(const Headers& headers, std::string_view body, int64_t now_s) const override {
    if (auto refusal =
            refuse_repeated(headers, {"X-Slack-Signature", "X-Slack-Request-Timestamp"})) {
      return *refusal;
    }
    std::string why;
    auto header = single_header(headers, "X-Slack-Signature", why);
    if (!header) return Verdict::rejected(why);
    auto timestamp = single_header(headers, "X-Slack-Request-Timestamp", why);
    if (!timestamp) return Verdict::rejected(why);
    if (header->substr(0, kVersion.size() + 1) != "v0=") {
      return Verdict::rejected("X-Slack-Signature does not start with v0=");
    }
    auto given = hex_decode(header->substr(kVersion.size() + 1));
    if (!given) return Verdict::rejected("X-Slack-Signature is not hex");
    if (!timestamp_fresh(*timestamp, now_s, tolerance_s_, why)) return Verdict::rejected(why);

    std::string message;
    message.reserve(kVersion.size() + timestamp->size() + body.size() + 2);
    message.append(kVersion).append(":").append(*timestamp).append(":").append(body);
    if (signed_by_any(secrets_, Digest::kSha256, message, {&*given, 1})) {
      return Verdict::verified_ok();
    }
    return Verdict::rejected("signature does not match any secret");
  }

  Normalized normalize(const Headers&, std::string_view body) const override {
    Normalized n;
    if (looks_like_json(body)) {
      n.type = json_string_at(body, "/type");
      if (n.type == "url_verification") {
        nlohmann::json answer = {{"challenge", json_string_at(body, "/challenge")}};
        n.handshake_response =
            answer.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
        return n;
      }
      // An event callback: what happened is the inner event's type.
      if (std::string inner = json_string_at(body, "/event/type"); !inner.empty()) {
        n.type = std::move(inner);
        n.action = json_string_at(body, "/event/subtype");
      }
      n.delivery_id = json_string_at(body, "/event_id");
      return n;
    }
    if (auto payload = form_value(body, "payload")) {
      n.type = json_string_at(*payload, "/type");
      n.action = interaction_action(*payload);
      return n;
    }
    if (auto command = form_value(body, "command")) n.type = std::move(*command);
    return n;
  }

 private:
  std::vector<std::string> secrets_;
  int tolerance_s_;
};

}  // namespace

std::unique_ptr<Verifier> make_slack(const config::Source& source) {
  return std::make_unique<SlackVerifier>(secret_values(source), source.tolerance_s);
}

}  // namespace hookmcp::verify::detail
