// Amazon SNS (and Amazon SES through it): each message is signed with RSA by a certificate whose
// URL it names (SigningCertURL): SHA1 for SignatureVersion 1, SHA256 for 2, over its fields as
// "Name\nvalue\n" in a fixed order. The certificate is fetched only from Amazon's SNS hosts
// (https://sns.REGION.amazonaws.com/...pem), or from the source's cert_url_prefix, and kept. The
// topic must be one the source names. A SubscriptionConfirmation is stored, and confirmed by
// fetching its SubscribeURL when the source says auto_confirm.
// https://docs.aws.amazon.com/sns/latest/dg/sns-verify-signature-of-message.html
// https://docs.aws.amazon.com/sns/latest/dg/sns-message-and-json-formats.html
#include <algorithm>
#include <cctype>
#include <chrono>
#include <map>
#include <mutex>

#include "hookmcp/core/json.hpp"
#include "hookmcp/core/text.hpp"
#include "providers.hpp"

namespace hookmcp::verify::detail {

namespace {

using nlohmann::json;

constexpr size_t kMaxCertificates = 32;  // one per region and rotation; more is not Amazon
constexpr int64_t kRetryFailedMs = 10'000;

// Whether `host` is sns.REGION.amazonaws.com (or .amazonaws.com.cn).
bool sns_host(std::string_view host) {
  constexpr std::string_view kPrefix = "sns.";
  if (host.substr(0, kPrefix.size()) != kPrefix) return false;
  host.remove_prefix(kPrefix.size());
  for (std::string_view suffix : {".amazonaws.com", ".amazonaws.com.cn"}) {
    if (host.size() <= suffix.size() || host.substr(host.size() - suffix.size()) != suffix) {
      continue;
    }
    std::string_view region = host.substr(0, host.size() - suffix.size());
    return std::all_of(region.begin(), region.end(), [](char c) {
      return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
    });
  }
  return false;
}

}  // namespace

std::optional<std::string> sns_string_to_sign(const json& m) {
  const std::string type = string_member(m, "Type");
  std::vector<const char*> names;
  if (type == "Notification") {
    names = {"Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"};
  } else if (type == "SubscriptionConfirmation" || type == "UnsubscribeConfirmation") {
    names = {"Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"};
  } else {
    return std::nullopt;
  }
  std::string out;
  for (const char* name : names) {
    auto it = m.find(name);
    if (it == m.end() && std::string_view(name) == "Subject") continue;  // optional
    if (it == m.end() || !it->is_string()) return std::nullopt;
    out.append(name).append("\n").append(it->get_ref<const std::string&>()).append("\n");
  }
  return out;
}

namespace {

class SnsVerifier final : public Verifier {
 public:
  SnsVerifier(const config::Source& source, Fetch fetch)
      : topics_(source.topic_arns),
        auto_confirm_(source.auto_confirm),
        prefix_(source.cert_url_prefix),
        fetch_(std::move(fetch)) {}

  bool may_block(const Headers&, std::string_view body) const override {
    std::string url = json_string_at(body, "/SigningCertURL");
    if (url.empty() || !from_amazon(url, ".pem")) return false;
    std::lock_guard lock(mu_);
    return certificates_.find(url) == certificates_.end();
  }

  Verdict verify(const Headers&, std::string_view body, int64_t) const override {
    auto doc = parse_json(body);
    if (!doc.ok() || !doc.value.is_object()) {
      return Verdict::rejected_in_public("an SNS message is a JSON object");
    }
    const json& m = doc.value;
    const std::string type = string_member(m, "Type");
    auto signed_text = sns_string_to_sign(m);
    if (!signed_text) {
      return Verdict::rejected_in_public(
          "not an SNS Notification, SubscriptionConfirmation or UnsubscribeConfirmation with its "
          "fields");
    }
    const std::string topic = string_member(m, "TopicArn");
    if (std::find(topics_.begin(), topics_.end(), topic) == topics_.end() &&
        std::find(topics_.begin(), topics_.end(), "*") == topics_.end()) {
      return Verdict::rejected("topic " + printable(topic, 200) + " is not in topic_arns");
    }
    const std::string version = string_member(m, "SignatureVersion");
    if (version != "1" && version != "2") {
      return Verdict::rejected("SignatureVersion \"" + printable(version, 8) + "\" is not 1 or 2");
    }
    auto signature = base64_decode(string_member(m, "Signature"));
    if (!signature || signature->empty()) return Verdict::rejected("Signature is not base64");
    const std::string url = string_member(m, "SigningCertURL");
    if (!from_amazon(url, ".pem")) {
      return Verdict::rejected("SigningCertURL " + printable(url, 200) +
                               " is not an https://sns.REGION.amazonaws.com/ certificate" +
                               (prefix_.empty() ? "" : " under " + prefix_));
    }
    std::string why;
    auto key = certificate(url, why);
    if (!key) return Verdict::cannot_check_now(why);
    Digest digest = version == "1" ? Digest::kSha1 : Digest::kSha256;
    if (!key->verify(digest, *signed_text, *signature)) {
      return Verdict::rejected("signature does not verify with " + url);
    }
    if (type == "SubscriptionConfirmation" && !from_amazon(string_member(m, "SubscribeURL"), "")) {
      return Verdict::rejected("SubscribeURL is not on an SNS host");
    }
    return Verdict::verified_ok();
  }

  Normalized normalize(const Headers&, std::string_view body) const override {
    Normalized n;
    auto doc = parse_json(body);
    if (!doc.ok() || !doc.value.is_object()) return n;
    const json& m = doc.value;
    const std::string type = string_member(m, "Type");
    n.delivery_id = string_member(m, "MessageId");
    if (type == "SubscriptionConfirmation") {
      n.type = "subscription_confirmation";
      if (auto_confirm_) n.confirm_url = string_member(m, "SubscribeURL");
      return n;
    }
    if (type == "UnsubscribeConfirmation") {
      n.type = "unsubscribe_confirmation";
      return n;
    }
    // Amazon SES publishes its notifications as JSON in Message: Received, Bounce, Complaint,
    // Delivery... (eventType for configuration sets).
    n.type = type;
    const std::string message = string_member(m, "Message");
    if (looks_like_json(message)) {
      std::string ses = json_string_at(message, "/notificationType");
      if (ses.empty()) ses = json_string_at(message, "/eventType");
      if (!ses.empty()) n.type = ses;
    }
    return n;
  }

 private:
  // Whether `url` is where Amazon serves SNS (or the configured prefix), with a path ending in
  // `suffix`.
  bool from_amazon(std::string_view url, std::string_view suffix) const {
    std::string_view path_end = url.substr(0, url.find_first_of("?#"));
    if (path_end.size() < suffix.size() ||
        path_end.substr(path_end.size() - suffix.size()) != suffix) {
      return false;
    }
    if (!prefix_.empty()) return url.substr(0, prefix_.size()) == prefix_;
    constexpr std::string_view kHttps = "https://";
    if (url.substr(0, kHttps.size()) != kHttps) return false;
    std::string_view rest = url.substr(kHttps.size());
    size_t slash = rest.find('/');
    if (slash == std::string_view::npos) return false;
    return sns_host(rest.substr(0, slash));
  }

  std::optional<PublicKey> certificate(const std::string& url, std::string& why) const {
    const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::steady_clock::now().time_since_epoch())
                            .count();
    {
      std::lock_guard lock(mu_);
      if (auto it = certificates_.find(url); it != certificates_.end()) return it->second;
      if (auto it = failed_.find(url);
          it != failed_.end() && now - it->second.first < kRetryFailedMs) {
        why = it->second.second;
        return std::nullopt;
      }
    }
    auto pem = fetch_(url);
    std::optional<PublicKey> key;
    if (!pem) {
      why = "cannot fetch the signing certificate: " + pem.error().message;
    } else if (auto parsed = PublicKey::from_pem(*pem); !parsed || !parsed->is_rsa()) {
      why = url + " is not an RSA certificate";
    } else {
      key = *parsed;
    }
    std::lock_guard lock(mu_);
    if (!key) {
      if (failed_.size() >= kMaxCertificates) failed_.clear();
      failed_[url] = {now, why};
      return std::nullopt;
    }
    if (certificates_.size() >= kMaxCertificates) certificates_.clear();
    certificates_.emplace(url, *key);
    failed_.erase(url);
    return key;
  }

  const std::vector<std::string> topics_;
  const bool auto_confirm_;
  const std::string prefix_;
  const Fetch fetch_;
  mutable std::mutex mu_;
  mutable std::map<std::string, PublicKey> certificates_;                  // guarded by mu_
  mutable std::map<std::string, std::pair<int64_t, std::string>> failed_;  // guarded by mu_
};

}  // namespace

std::unique_ptr<Verifier> make_sns(const config::Source& source, Fetch fetch) {
  return std::make_unique<SnsVerifier>(source, std::move(fetch));
}

}  // namespace hookmcp::verify::detail
