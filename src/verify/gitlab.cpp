// GitLab: no signature, X-Gitlab-Token carries the configured secret token itself.
// https://docs.gitlab.com/user/project/integrations/webhooks/#validate-payloads-by-using-a-secret-token
#include "hookmcp/verify/crypto.hpp"
#include "providers.hpp"

namespace hookmcp::verify::detail {

namespace {

class GitlabVerifier final : public Verifier {
 public:
  explicit GitlabVerifier(const std::vector<std::string>& secrets) : tokens_(secrets) {}

  Verdict verify(const Headers& headers, std::string_view, int64_t) const override {
    if (auto refusal = refuse_repeated(headers, {"X-Gitlab-Token"})) return *refusal;
    std::string why;
    auto token = single_header(headers, "X-Gitlab-Token", why);
    if (!token) return Verdict::rejected(why);
    if (tokens_.match(*token)) return Verdict::verified_ok();
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
  SecretTokens tokens_;
};

}  // namespace

std::unique_ptr<Verifier> make_gitlab(const config::Source& source) {
  return std::make_unique<GitlabVerifier>(secret_values(source));
}

}  // namespace hookmcp::verify::detail
