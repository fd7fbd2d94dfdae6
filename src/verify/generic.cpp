// Providers defined by configuration rather than by a vendor: "hmac" (any HMAC sender) and
// "none" (unsigned). Both take the type and delivery id from configurable headers or the payload.
#include <algorithm>

#include "hookmcp/core/text.hpp"
#include "hookmcp/verify/crypto.hpp"
#include "providers.hpp"

namespace hookmcp::verify::detail {

namespace {

Normalized normalize_generic(const config::Source& s, const Headers& headers,
                             std::string_view body) {
  Normalized n;
  n.type = std::string(headers.get(s.type_header).value_or(""));
  if (n.type.empty()) n.type = json_string_at(body, s.type_pointer);
  n.action = json_string_at(body, "/action");
  n.delivery_id = std::string(headers.get(s.delivery_header).value_or(""));
  return n;
}

class HmacVerifier final : public Verifier {
 public:
  explicit HmacVerifier(config::Source source)
      : s_(std::move(source)), secrets_(secret_values(s_)) {}

  Verdict verify(const Headers& headers, std::string_view body, int64_t now_s) const override {
    if (auto refusal = refuse_repeated(headers, {s_.header, s_.timestamp_header})) {
      return *refusal;
    }
    std::string why;
    auto header = single_header(headers, s_.header, why);
    if (!header) return Verdict::rejected(why);
    std::string_view sig = *header;
    if (!s_.prefix.empty()) {
      if (sig.substr(0, s_.prefix.size()) != s_.prefix) {
        return Verdict::rejected(s_.header + " does not start with \"" + s_.prefix + "\"");
      }
      sig.remove_prefix(s_.prefix.size());
    }
    auto given = s_.encoding == "base64" ? base64_decode(sig) : hex_decode(sig);
    if (!given) return Verdict::rejected(s_.header + " is not valid " + s_.encoding);

    std::string_view timestamp;
    if (!s_.timestamp_header.empty()) {
      auto ts = single_header(headers, s_.timestamp_header, why);
      if (!ts) return Verdict::rejected(why);
      if (!timestamp_fresh(*ts, now_s, s_.tolerance_s, why)) return Verdict::rejected(why);
      timestamp = *ts;
    }
    std::string message = signed_string(s_, timestamp, body);
    if (signed_by_any(secrets_, digest_of(s_.algorithm), message, {&*given, 1})) {
      return Verdict::verified_ok();
    }
    return Verdict::rejected("signature does not match any secret");
  }

  Normalized normalize(const Headers& headers, std::string_view body) const override {
    return normalize_generic(s_, headers, body);
  }

 private:
  config::Source s_;
  std::vector<std::string> secrets_;
};

class NoneVerifier final : public Verifier {
 public:
  explicit NoneVerifier(config::Source source) : s_(std::move(source)) {}

  Verdict verify(const Headers&, std::string_view, int64_t) const override {
    return Verdict::unsigned_ok();
  }
  Normalized normalize(const Headers& headers, std::string_view body) const override {
    return normalize_generic(s_, headers, body);
  }

 private:
  config::Source s_;
};

}  // namespace

Digest digest_of(const std::string& algorithm) {
  if (algorithm == "sha1") return Digest::kSha1;
  if (algorithm == "sha512") return Digest::kSha512;
  return Digest::kSha256;
}

std::string signed_string(const config::Source& source, std::string_view timestamp,
                          std::string_view body) {
  std::string_view tmpl = source.signed_template;
  if (tmpl.empty()) tmpl = source.timestamp_header.empty() ? "{body}" : "{timestamp}.{body}";
  std::string out;
  for (size_t i = 0; i < tmpl.size();) {
    if (tmpl.compare(i, 11, "{timestamp}") == 0) {
      out.append(timestamp);
      i += 11;
    } else if (tmpl.compare(i, 6, "{body}") == 0) {
      out.append(body);
      i += 6;
    } else {
      out.push_back(tmpl[i++]);
    }
  }
  return out;
}

std::unique_ptr<Verifier> make_hmac(const config::Source& source) {
  return std::make_unique<HmacVerifier>(source);
}

std::unique_ptr<Verifier> make_none(const config::Source& source) {
  return std::make_unique<NoneVerifier>(source);
}

}  // namespace hookmcp::verify::detail
