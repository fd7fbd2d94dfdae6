// GitLab: no signature, X-Gitlab-Token carries the configured secret token itself.
// https://docs.gitlab.com/user/project/integrations/webhooks/#validate-payloads-by-using-a-secret-token
#include "hookmcp/verify/crypto.hpp"
#include "providers.hpp"

namespace hookmcp::verify::detail {

namespace {

class GitlabVerifier final : public Verifier {
 public:
  explicit GitlabVerifier(const std::vector<std::string>& secrets) {
    // Comparing digests rather than the tokens keeps the time independent of the token length
    // too, which a plain constant-time compare of unequal lengths would reveal.
    for (const auto& s : secrets) secret_digests_.push_back(sha256(s));
  }

  Verdict verify(const Headers& headers, std::string_view, int64_t) const override {
    if (auto refusal = refuse_repeated(headers, {"X-Gitlab-Token"})) return *refusal;
    std::string why;
    auto token = single_header(headers, "X-Gitlab-Token", why);
    if (!token) return Verdict::rejected(why);
    std::string given = sha256(*token);
    bool match = false;
    for (const auto& digest : secret_digests_) match |= constant_time_equal(digest, given);
    if (match) return Verdict::verified_ok();
    return Verdict::rejected("X-Gitlab-Token does not match any secret");
  }

  Normalized normalize(const Headers& headers, std::string_view body) const override {
    Normalized n;
    n.type = std::string(headers.get("X-Gitlab-Event").value_or(""));
    n.delivery_id = std::string(headers.get("X-Gitlab-Event-UUID").value_or(""));
    n.action = json_string_at(body, "/object_attributes/action");
    return n;
  }

 private:
  std::vector<std::string> secret_digests_;
};

}  // namespace

std::unique_ptr<Verifier> make_gitlab(const config::Source& source) {
  return std::make_unique<GitlabVerifier>(secret_values(source));
}

}  // namespace hookmcp::verify::detail
