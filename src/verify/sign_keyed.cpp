// Signing as the email and calendar providers do: the ones that sign with a private key (gmail's
// OIDC token, sendgrid's ECDSA, sns's RSA certificate) and the ones whose signature goes inside
// the body (mailgun, sns). The counterpart of gmail.cpp, sendgrid.cpp, mailgun.cpp and sns.cpp.
#include <nlohmann/json.hpp>

#include "hookmcp/core/form.hpp"
#include "hookmcp/core/json.hpp"
#include "hookmcp/core/random.hpp"
#include "hookmcp/core/text.hpp"
#include "hookmcp/verify/sign.hpp"
#include "providers.hpp"

namespace hookmcp::verify {

namespace {

using nlohmann::json;

Error invalid(std::string message) {
  return make_error(ErrorCode::kInvalidArgument, std::move(message));
}

Result<PrivateKey> private_key(const SignRequest& r, bool rsa) {
  if (r.private_key.empty()) {
    return invalid("provider \"" + r.provider + "\" signs with a private key: give --key FILE " +
                   "(hookmcp send " + r.provider + " --new-key DIR makes one)");
  }
  auto key = PrivateKey::from_pem(r.private_key);
  if (!key) return key.error();
  if (rsa ? !key->is_rsa() : !key->is_ec_p256()) {
    return invalid("provider \"" + r.provider + "\" signs with " +
                   (rsa ? "an RSA key" : "an EC P-256 key") + ", not " +
                   key->public_key().describe());
  }
  return key;
}

// The boundary of a multipart body, from its first line ("--BOUNDARY"); empty when it has none.
std::string multipart_boundary(std::string_view body) {
  if (body.substr(0, 2) != "--") return std::string();
  size_t end = body.find("\r\n");
  if (end == std::string_view::npos || end <= 2 || end > 72) return std::string();
  return std::string(body.substr(2, end - 2));
}

// How a mail provider declares its body: JSON, multipart (its boundary read back from the body),
// or a urlencoded form.
std::string mail_content_type(std::string_view body) {
  if (detail::looks_like_json(body)) return "application/json";
  std::string boundary = multipart_boundary(body);
  if (!boundary.empty()) return "multipart/form-data; boundary=" + boundary;
  return "application/x-www-form-urlencoded";
}

// A JWT that Pub/Sub push would send: RS256, Google as issuer, for the audience, as the account.
Result<std::string> pubsub_token(const SignRequest& r) {
  auto key = private_key(r, /*rsa=*/true);
  if (!key) return key.error();
  if (r.audience.empty() || r.service_account.empty()) {
    return invalid(
        "provider \"gmail\" needs the token's audience and service account "
        "(--audience and --service-account, or --source)");
  }
  json header = {{"alg", "RS256"}, {"kid", key_id(*key)}, {"typ", "JWT"}};
  json claims = {{"aud", r.audience},
                 {"azp", "1" + std::to_string(r.now_s % 100000000)},
                 {"email", r.service_account},
                 {"email_verified", true},
                 {"exp", r.now_s + 3600},
                 {"iat", r.now_s},
                 {"iss", "https://accounts.google.com"},
                 {"sub", "1" + std::to_string(r.now_s % 100000000)}};
  std::string input = base64url_encode(header.dump()) + "." + base64url_encode(claims.dump());
  auto signature = key->sign(Digest::kSha256, input);
  if (!signature) return signature.error();
  return input + "." + base64url_encode(*signature);
}

// Mailgun's three fields set in the body: in its "signature" object when JSON, else as the
// first fields of the form (which the verifier reads before any later copy).
Result<std::string> mailgun_body(const SignRequest& r) {
  auto token = random_hex(25);
  if (!token) return token.error();
  const std::string ts = std::to_string(r.now_s);
  const std::string mac = hex_encode(hmac(Digest::kSha256, r.secret, ts + *token));
  if (detail::looks_like_json(r.body)) {
    json signature = {{"timestamp", ts}, {"token", *token}, {"signature", mac}};
    auto out = detail::with_member(r.body, "signature", signature.dump());
    if (!out) return invalid("a mailgun JSON payload is one JSON object");
    return *out;
  }
  const std::string boundary = multipart_boundary(r.body);
  if (boundary.empty()) {
    return "timestamp=" + ts + "&token=" + *token + "&signature=" + mac +
           (r.body.empty() ? "" : "&") + r.body;
  }
  std::string parts;
  for (const auto& [name, value] : {std::pair<std::string, std::string>{"timestamp", ts},
                                    {"token", *token},
                                    {"signature", mac}}) {
    parts += "--" + boundary + "\r\nContent-Disposition: form-data; name=\"" + name + "\"\r\n\r\n" +
             value + "\r\n";
  }
  return parts + r.body;
}

// The SNS message with SignatureVersion 2, its SigningCertURL and its Signature set.
Result<std::string> sns_body(const SignRequest& r) {
  auto key = private_key(r, /*rsa=*/true);
  if (!key) return key.error();
  if (r.cert_url.empty()) {
    return invalid("provider \"sns\" names where its certificate is: give --cert-url URL");
  }
  auto body = detail::with_member(r.body, "SignatureVersion", "\"2\"");
  if (body) body = detail::with_member(*body, "SigningCertURL", json(r.cert_url).dump());
  if (!body) return invalid("an sns payload is one JSON object");
  auto doc = parse_json(*body);
  auto text = doc.ok() ? detail::sns_string_to_sign(doc.value) : std::nullopt;
  if (!text) {
    return invalid(
        "an sns payload has Type (Notification, SubscriptionConfirmation or "
        "UnsubscribeConfirmation) and the string fields SNS signs: Message, MessageId, "
        "Timestamp, TopicArn (and SubscribeURL and Token to confirm)");
  }
  auto signature = key->sign(Digest::kSha256, *text);
  if (!signature) return signature.error();
  auto out = detail::with_member(*body, "Signature", json(base64_encode(*signature)).dump());
  if (!out) return invalid("an sns payload is one JSON object");
  return *out;
}

}  // namespace

std::string key_id(const PrivateKey& key) {
  return base64url_encode(sha256(key.public_der()).substr(0, 16));
}

Result<std::string> sign_body(const SignRequest& r) {
  if (r.provider == "mailgun") return mailgun_body(r);
  if (r.provider == "sns") return sns_body(r);
  return r.body;
}

namespace detail {

Result<Headers> sign_mail(const SignRequest& r) {
  Headers h;
  const std::string& p = r.provider;
  if (p == "gmail") {
    auto token = pubsub_token(r);
    if (!token) return token.error();
    h.add("Content-Type", "application/json");
    h.add("Authorization", "Bearer " + *token);
  } else if (p == "sendgrid") {
    auto key = private_key(r, /*rsa=*/false);
    if (!key) return key.error();
    const std::string ts = std::to_string(r.now_s);
    auto signature = key->sign(Digest::kSha256, ts + r.body);
    if (!signature) return signature.error();
    h.add("Content-Type", mail_content_type(r.body));
    h.add("X-Twilio-Email-Event-Webhook-Signature", base64_encode(*signature));
    h.add("X-Twilio-Email-Event-Webhook-Timestamp", ts);
  } else if (p == "msgraph") {
    // The clientState is in each item of the body, which the sender writes.
    h.add("Content-Type", "application/json; charset=utf-8");
  } else if (p == "mailgun") {
    h.add("Content-Type", mail_content_type(r.body));
  } else if (p == "sns") {
    h.add("Content-Type", "text/plain; charset=UTF-8");
    auto doc = parse_json(r.body);
    if (doc.ok() && doc.value.is_object()) {
      for (const auto& [header, member] :
           {std::pair<const char*, const char*>{"x-amz-sns-message-type", "Type"},
            {"x-amz-sns-message-id", "MessageId"},
            {"x-amz-sns-topic-arn", "TopicArn"}}) {
        if (doc.value.contains(member) && doc.value[member].is_string()) {
          h.add(header, doc.value[member].get<std::string>());
        }
      }
    }
  }
  return h;
}

}  // namespace detail

Result<std::vector<NewKeyFile>> new_key_files(std::string_view provider) {
  if (provider != "gmail" && provider != "sendgrid" && provider != "sns") {
    return invalid(
        "--new-key is for the providers that sign with a key pair: gmail, sendgrid, sns");
  }
  auto key = PrivateKey::generate(provider == "sendgrid" ? "ec-p256" : "rsa-2048");
  if (!key) return key.error();
  std::vector<NewKeyFile> files = {{"key.pem", key->pem()}};
  if (provider == "sendgrid") {
    files.push_back({"public_key.txt", base64_encode(key->public_der()) + "\n"});
  } else if (provider == "gmail") {
    auto numbers = key->rsa_numbers();
    if (!numbers) return numbers.error();
    json jwk = {{"kty", "RSA"},
                {"alg", "RS256"},
                {"use", "sig"},
                {"kid", key_id(*key)},
                {"n", base64url_encode(numbers->first)},
                {"e", base64url_encode(numbers->second)}};
    files.push_back({"jwks.json", json{{"keys", json::array({jwk})}}.dump(2) + "\n"});
  } else {
    auto cert = key->self_signed_certificate("sns.hookmcp.test", 3650);
    if (!cert) return cert.error();
    files.push_back({"cert.pem", *cert});
  }
  return files;
}

}  // namespace hookmcp::verify
