// Test keys that sign JWTs with OpenSSL directly, and publish themselves as JWKs: an
// authorization server in miniature, independent of the code under test (it shares only the
// base64url helpers).
#pragma once

#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include <memory>
#include <stdexcept>
#include <string>

#include "hookmcp/core/json.hpp"
#include "hookmcp/core/text.hpp"

namespace hookmcp::testing {

class Signer {
 public:
  // kind: "RSA" (bits) or "EC" (P-256).
  static Signer rsa(std::string kid, int bits = 2048) {
    return Signer(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(bits)),
                  std::move(kid), "RSA");
  }
  static Signer ec(std::string kid, const char* curve = "P-256") {
    return Signer(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", curve), std::move(kid), "EC");
  }

  const std::string& kid() const { return kid_; }

  nlohmann::json jwk() const {
    nlohmann::json out = {{"kid", kid_}, {"kty", kty_}, {"use", "sig"}};
    if (kty_ == "RSA") {
      out["n"] = base64url_encode(bn_param(OSSL_PKEY_PARAM_RSA_N));
      out["e"] = base64url_encode(bn_param(OSSL_PKEY_PARAM_RSA_E));
    } else {
      out["crv"] = "P-256";
      out["x"] = base64url_encode(pad(bn_param(OSSL_PKEY_PARAM_EC_PUB_X), 32));
      out["y"] = base64url_encode(pad(bn_param(OSSL_PKEY_PARAM_EC_PUB_Y), 32));
    }
    return out;
  }

  // A compact JWS of `claims` with header {alg, typ, kid} (kid left out when empty).
  std::string sign(const std::string& alg, const nlohmann::json& claims,
                   const std::string& kid_override = "\x01") const {
    nlohmann::json header = {{"alg", alg}, {"typ", "at+jwt"}};
    std::string kid = kid_override == "\x01" ? kid_ : kid_override;
    if (!kid.empty()) header["kid"] = kid;
    return sign_with_header(header, claims);
  }

  std::string sign_with_header(const nlohmann::json& header, const nlohmann::json& claims) const {
    std::string input = base64url_encode(header.dump()) + "." + base64url_encode(claims.dump());
    return input + "." + base64url_encode(signature(header.value("alg", ""), input));
  }

 private:
  Signer(EVP_PKEY* key, std::string kid, std::string kty)
      : key_(key, EVP_PKEY_free), kid_(std::move(kid)), kty_(std::move(kty)) {
    if (!key) throw std::runtime_error("key generation failed");
  }

  std::string bn_param(const char* name) const {
    BIGNUM* bn = nullptr;
    if (EVP_PKEY_get_bn_param(key_.get(), name, &bn) != 1) throw std::runtime_error(name);
    std::string out(static_cast<size_t>(BN_num_bytes(bn)), '\0');
    BN_bn2bin(bn, reinterpret_cast<unsigned char*>(out.data()));
    BN_free(bn);
    return out;
  }

  static std::string pad(std::string bytes, size_t size) {
    return std::string(size - bytes.size(), '\0') + bytes;
  }

  std::string signature(const std::string& alg, const std::string& input) const {
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> md(EVP_MD_CTX_new(), EVP_MD_CTX_free);
    EVP_PKEY_CTX* pctx = nullptr;
    if (EVP_DigestSignInit_ex(md.get(), &pctx, "SHA256", nullptr, nullptr, key_.get(), nullptr) !=
        1) {
      throw std::runtime_error("sign init");
    }
    if (alg == "PS256") {
      EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING);
      EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST);
    }
    size_t size = 0;
    auto* in = reinterpret_cast<const unsigned char*>(input.data());
    EVP_DigestSign(md.get(), nullptr, &size, in, input.size());
    std::string sig(size, '\0');
    EVP_DigestSign(md.get(), reinterpret_cast<unsigned char*>(sig.data()), &size, in, input.size());
    sig.resize(size);
    if (kty_ != "EC") return sig;
    // DER to R || S.
    const auto* p = reinterpret_cast<const unsigned char*>(sig.data());
    ECDSA_SIG* ecdsa = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(sig.size()));
    std::string raw(64, '\0');
    BN_bn2binpad(ECDSA_SIG_get0_r(ecdsa), reinterpret_cast<unsigned char*>(raw.data()), 32);
    BN_bn2binpad(ECDSA_SIG_get0_s(ecdsa), reinterpret_cast<unsigned char*>(raw.data()) + 32, 32);
    ECDSA_SIG_free(ecdsa);
    return raw;
  }

  std::shared_ptr<EVP_PKEY> key_;
  std::string kid_;
  std::string kty_;
};

}  // namespace hookmcp::testing
