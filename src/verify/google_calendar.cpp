// Google Calendar push notifications: a watch channel made with a token sends it back in
// X-Goog-Channel-Token with every notification, the only proof of origin Google gives. The
// notification has no body: X-Goog-Resource-State says what happened ("sync" when the channel
// starts, then "exists" or "not_exists"), and the changes themselves are fetched from the API.
// https://developers.google.com/workspace/calendar/api/guides/push
#include "providers.hpp"

namespace hookmcp::verify::detail {

namespace {

constexpr std::string_view kToken = "X-Goog-Channel-Token";
constexpr std::string_view kChannel = "X-Goog-Channel-ID";
constexpr std::string_view kState = "X-Goog-Resource-State";
constexpr std::string_view kNumber = "X-Goog-Message-Number";

class GoogleCalendarVerifier final : public Verifier {
 public:
  explicit GoogleCalendarVerifier(const std::vector<std::string>& secrets) : tokens_(secrets) {}

  Verdict verify(const Headers& headers, std::string_view, int64_t) const override {
    if (auto refusal = refuse_repeated(headers, {kToken, kChannel, kState, kNumber})) {
      return *refusal;
    }
    std::string why;
    auto token = single_header(headers, kToken, why);
    if (!token) {
      return Verdict::rejected(why + " (give the watch channel the source's secret as its token)");
    }
    if (!tokens_.match(*token)) return Verdict::rejected("X-Goog-Channel-Token does not match");
    // A channel's notification always names the channel and the resource's state.
    for (std::string_view name : {kChannel, kState}) {
      if (!single_header(headers, name, why)) return Verdict::rejected_in_public(why);
    }
    return Verdict::verified_ok();
  }

  Normalized normalize(const Headers& headers, std::string_view) const override {
    Normalized n;
    n.type = std::string(headers.get(kState).value_or(""));
    n.acknowledge_with_200 = n.type == "sync";
    // Message numbers count up within a channel: together they name one notification.
    auto channel = headers.get(kChannel);
    auto number = headers.get(kNumber);
    if (channel && number) n.delivery_id = std::string(*channel) + ":" + std::string(*number);
    return n;
  }

 private:
  SecretTokens tokens_;
};

}  // namespace

std::unique_ptr<Verifier> make_google_calendar(const config::Source& source) {
  return std::make_unique<GoogleCalendarVerifier>(secret_values(source));
}

}  // namespace hookmcp::verify::detail
