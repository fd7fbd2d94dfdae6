// Postmark: no signature. The webhook URL carries HTTP Basic credentials
// (https://user:password@host/hooks/postmark), which Postmark sends in Authorization; the
// source's secret is that "user:password". Inbound email arrives as JSON with its MessageID;
// other webhooks (bounce, delivery, open, click, spam complaint, subscription change) name
// themselves in RecordType.
// https://postmarkapp.com/developer/webhooks/webhooks-overview#protecting-your-webhook
// https://postmarkapp.com/developer/webhooks/inbound-webhook
#include <cctype>

#include "hookmcp/core/text.hpp"
#include "providers.hpp"

namespace hookmcp::verify::detail {

namespace {

class PostmarkVerifier final : public Verifier {
 public:
  explicit PostmarkVerifier(const std::vector<std::string>& secrets) : credentials_(secrets) {}

  Verdict verify(const Headers& headers, std::string_view, int64_t) const override {
    if (auto refusal = refuse_repeated(headers, {"Authorization"})) return *refusal;
    std::string why;
    auto header = single_header(headers, "Authorization", why);
    if (!header) {
      return Verdict::rejected(why + " (put the credentials in the webhook URL Postmark calls: " +
                               "https://user:password@host/hooks/...)");
    }
    std::string_view value = *header;
    constexpr std::string_view kBasic = "Basic ";
    if (value.size() < kBasic.size() || !iequals(value.substr(0, kBasic.size()), kBasic)) {
      return Verdict::rejected("Authorization is not HTTP Basic");
    }
    value.remove_prefix(kBasic.size());
    while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    auto credentials = base64_decode(value);
    if (!credentials) return Verdict::rejected("Authorization's credentials are not base64");
    if (credentials_.match(*credentials)) return Verdict::verified_ok();
    return Verdict::rejected("the HTTP Basic credentials do not match any secret");
  }

  Normalized normalize(const Headers&, std::string_view body) const override {
    Normalized n;
    std::string record = json_string_at(body, "/RecordType");
    if (record.empty() || record == "Inbound") {
      n.type = "email.received";
      n.delivery_id = json_string_at(body, "/MessageID");
      return n;
    }
    // Delivery, Bounce, Open, Click, SpamComplaint, SubscriptionChange: email.bounce, ...
    // One message has many of these (each open, each click): the body tells them apart.
    n.type = "email.";
    for (char c : record) n.type += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return n;
  }

 private:
  SecretTokens credentials_;
};

}  // namespace

std::unique_ptr<Verifier> make_postmark(const config::Source& source) {
  return std::make_unique<PostmarkVerifier>(secret_values(source));
}

}  // namespace hookmcp::verify::detail
