#include "hookmcp/auth/jwt.hpp"

#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>

#include <array>

#include "hookmcp/core/headers.hpp"
#include "hookmcp/core/text.hpp"

namespace hookmcp::auth {

using nlohmann::json;

namespace {

// Nobody signs an access token with more than a few kilobytes of claims; a bigger one is refused
// before anything is decoded.
constexpr size_t kMaxTokenBytes = size_t{16} * 1024;

constexpr std::array<std::string_view, 3> kAlgorithms = {"RS256", "PS256", "ES256"};

bool supported(std::string_view alg) {
  for (auto a : kAlgorithms) {
    if (a == alg) return true;
  }
  return false;
}

Error invalid(std::string message) {
  return make_error(ErrorCode::kInvalidArgument, std::move(message));
}

struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct CtxFree {
  void operator()(EVP_PKEY_CTX* c) const { EVP_PKEY_CTX_free(c); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
struct BldFree {
  void operator()(OSSL_PARAM_BLD* b) const { OSSL_PARAM_BLD_free(b); }
};
struct ParamFree {
  void operator()(OSSL_PARAM* p) const { OSSL_PARAM_free(p); }
};
struct BnFree {
  void operator()(BIGNUM* b) const { BN_free(b); }
};
struct SigFree {
  void operator()(ECDSA_SIG* s) const { ECDSA_SIG_free(s); }
};
using Bn = std::unique_ptr<BIGNUM, BnFree>;

Bn to_bn(std::string_view bytes) {
  return Bn(BN_bin2bn(reinterpret_cast<const unsigned char*>(bytes.data()),
                      static_cast<int>(bytes.size()), nullptr));
}

// A string member, or "" when absent or not a string (json::value would throw).
std::string text_of(const json& object, const char* name) {
  auto it = object.find(name);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// A required base64url member of a JWK, decoded.
Result<std::string> member(const json& jwk, const char* name) {
  auto it = jwk.find(name);
  if (it == jwk.end() || !it->is_string()) return invalid(std::string("no \"") + name + "\"");
  auto bytes = base64url_decode(it->get<std::string>());
  if (!bytes || bytes->empty()) return invalid(std::string("\"") + name + "\" is not base64url");
  return *bytes;
}

EVP_PKEY* from_params(const char* type, OSSL_PARAM* params) {
  std::unique_ptr<EVP_PKEY_CTX, CtxFree> ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
  EVP_PKEY* key = nullptr;
  if (!ctx || EVP_PKEY_fromdata_init(ctx.get()) <= 0 ||
      EVP_PKEY_fromdata(ctx.get(), &key, EVP_PKEY_PUBLIC_KEY, params) <= 0) {
    return nullptr;
  }
  return key;
}

Result<EVP_PKEY*> rsa_key(const json& jwk) {
  auto n = member(jwk, "n");
  if (!n) return n.error();
  auto e = member(jwk, "e");
  if (!e) return e.error();
  // A leading zero byte is not part of the modulus' size.
  size_t bits = n->size() * 8;
  for (unsigned char c : *n) {
    if (c != 0) break;
    bits -= 8;
  }
  if (bits < 2048) return invalid("RSA key of " + std::to_string(bits) + " bits (2048 needed)");
  Bn bn_n = to_bn(*n);
  Bn bn_e = to_bn(*e);
  std::unique_ptr<OSSL_PARAM_BLD, BldFree> bld(OSSL_PARAM_BLD_new());
  if (!bn_n || !bn_e || !bld ||
      !OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, bn_n.get()) ||
      !OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, bn_e.get())) {
    return invalid("RSA key could not be built");
  }
  std::unique_ptr<OSSL_PARAM, ParamFree> params(OSSL_PARAM_BLD_to_param(bld.get()));
  EVP_PKEY* key = params ? from_params("RSA", params.get()) : nullptr;
  if (key == nullptr) return invalid("RSA key could not be built");
  return key;
}

Result<EVP_PKEY*> ec_key(const json& jwk) {
  if (text_of(jwk, "crv") != "P-256") return invalid("EC key not on curve P-256");
  auto x = member(jwk, "x");
  if (!x) return x.error();
  auto y = member(jwk, "y");
  if (!y) return y.error();
  if (x->size() != 32 || y->size() != 32) return invalid("P-256 coordinates must be 32 bytes");
  std::string point = "\x04" + *x + *y;  // uncompressed (SEC 1 2.3.3)
  std::unique_ptr<OSSL_PARAM_BLD, BldFree> bld(OSSL_PARAM_BLD_new());
  if (!bld ||
      !OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) ||
      !OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(),
                                        point.size())) {
    return invalid("EC key could not be built");
  }
  std::unique_ptr<OSSL_PARAM, ParamFree> params(OSSL_PARAM_BLD_to_param(bld.get()));
  // EVP_PKEY_fromdata checks that the point is on the curve.
  EVP_PKEY* key = params ? from_params("EC", params.get()) : nullptr;
  if (key == nullptr) return invalid("EC key is not a point on P-256");
  return key;
}

// JWS ES256 signatures are R || S, 32 bytes each (RFC 7518 3.4); OpenSSL wants DER.
std::string ecdsa_der(std::string_view raw) {
  if (raw.size() != 64) return std::string();
  std::unique_ptr<ECDSA_SIG, SigFree> sig(ECDSA_SIG_new());
  Bn r = to_bn(raw.substr(0, 32));
  Bn s = to_bn(raw.substr(32));
  if (!sig || !r || !s || ECDSA_SIG_set0(sig.get(), r.get(), s.get()) != 1) return std::string();
  (void)r.release();  // owned by sig now
  (void)s.release();
  int size = i2d_ECDSA_SIG(sig.get(), nullptr);
  if (size <= 0) return std::string();
  std::string der(static_cast<size_t>(size), '\0');
  auto* out = reinterpret_cast<unsigned char*>(der.data());
  if (i2d_ECDSA_SIG(sig.get(), &out) != size) return std::string();
  return der;
}

Result<json> json_part(std::string_view part, const char* what) {
  auto bytes = base64url_decode(part);
  if (!bytes) return invalid(std::string(what) + " is not base64url");
  auto parsed = parse_json(*bytes, 16);
  if (!parsed.ok() || !parsed.value.is_object()) {
    return invalid(std::string(what) + " is not a JSON object");
  }
  return std::move(parsed.value);
}

}  // namespace

struct PublicKey::Key {
  std::unique_ptr<EVP_PKEY, PkeyFree> pkey;
};

Result<Jws> parse_jws(std::string_view token) {
  if (token.size() > kMaxTokenBytes) return invalid("token is larger than 16 KiB");
  size_t first = token.find('.');
  size_t second = first == std::string_view::npos ? first : token.find('.', first + 1);
  if (second == std::string_view::npos || token.find('.', second + 1) != std::string_view::npos) {
    return invalid("not a JWT (three dot-separated parts)");
  }
  Jws jws;
  auto header = json_part(token.substr(0, first), "JWT header");
  if (!header) return header.error();
  jws.header = std::move(*header);
  auto alg = jws.header.find("alg");
  if (alg == jws.header.end() || !alg->is_string()) return invalid("JWT header has no alg");
  jws.alg = alg->get<std::string>();
  if (!supported(jws.alg)) {
    return invalid("JWT algorithm \"" + printable(jws.alg, 20) +
                   "\" is not accepted (RS256, PS256 or ES256)");
  }
  if (jws.header.contains("crit")) return invalid("JWT header has crit extensions");
  if (auto kid = jws.header.find("kid"); kid != jws.header.end()) {
    if (!kid->is_string()) return invalid("JWT kid is not a string");
    jws.kid = kid->get<std::string>();
  }
  auto claims = json_part(token.substr(first + 1, second - first - 1), "JWT payload");
  if (!claims) return claims.error();
  jws.claims = std::move(*claims);
  auto signature = base64url_decode(token.substr(second + 1));
  if (!signature || signature->empty()) return invalid("JWT signature is not base64url");
  jws.signature = std::move(*signature);
  jws.signing_input = std::string(token.substr(0, second));
  return jws;
}

Result<PublicKey> PublicKey::from_jwk(const json& jwk) {
  if (!jwk.is_object()) return invalid("not a JSON object");
  PublicKey out;
  out.kid_ = text_of(jwk, "kid");
  out.kty_ = text_of(jwk, "kty");
  out.alg_ = text_of(jwk, "alg");
  if (jwk.contains("use") && jwk["use"] != "sig") return invalid("\"use\" is not \"sig\"");
  if (!out.alg_.empty() && !supported(out.alg_)) {
    return invalid("alg " + printable(out.alg_, 20) + " is not accepted");
  }
  Result<EVP_PKEY*> key =
      out.kty_ == "RSA" ? rsa_key(jwk)
      : out.kty_ == "EC"
          ? ec_key(jwk)
          : Result<EVP_PKEY*>(invalid("kty \"" + printable(out.kty_, 20) + "\" is not RSA or EC"));
  if (!key) return key.error();
  auto owned = std::make_shared<Key>();
  owned->pkey.reset(*key);
  out.key_ = std::move(owned);
  return out;
}

bool PublicKey::suits(std::string_view alg) const {
  if (!alg_.empty() && alg_ != alg) return false;
  if (alg == "ES256") return kty_ == "EC";
  return kty_ == "RSA" && (alg == "RS256" || alg == "PS256");
}

bool PublicKey::verify(std::string_view alg, std::string_view input,
                       std::string_view signature) const {
  if (!key_ || !suits(alg)) return false;
  std::string der;
  if (alg == "ES256") {
    der = ecdsa_der(signature);
    if (der.empty()) return false;
    signature = der;
  }
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> md(EVP_MD_CTX_new());
  EVP_PKEY_CTX* pctx = nullptr;  // owned by md
  if (!md || EVP_DigestVerifyInit_ex(md.get(), &pctx, "SHA256", nullptr, nullptr, key_->pkey.get(),
                                     nullptr) != 1) {
    return false;
  }
  if (alg == "PS256" && (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
                         EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) != 1)) {
    return false;
  }
  return EVP_DigestVerify(md.get(), reinterpret_cast<const unsigned char*>(signature.data()),
                          signature.size(), reinterpret_cast<const unsigned char*>(input.data()),
                          input.size()) == 1;
}

Result<KeySet> KeySet::from_jwks(const json& jwks) {
  if (!jwks.is_object() || !jwks.contains("keys") || !jwks["keys"].is_array()) {
    return invalid("JWKS has no \"keys\" array");
  }
  KeySet out;
  for (const auto& jwk : jwks["keys"]) {
    auto key = PublicKey::from_jwk(jwk);
    if (key) {
      out.keys.push_back(std::move(*key));
    } else {
      std::string kid = jwk.is_object() ? text_of(jwk, "kid") : "(not an object)";
      if (kid.empty()) kid = "(no kid)";
      out.skipped.push_back(printable(kid, 64) + ": " + key.error().message);
    }
  }
  return out;
}

std::vector<const PublicKey*> KeySet::candidates(std::string_view kid, std::string_view alg) const {
  std::vector<const PublicKey*> out;
  for (const auto& key : keys) {
    if (!key.suits(alg)) continue;
    if (kid.empty() || key.kid() == kid) out.push_back(&key);
  }
  return out;
}

std::optional<std::string_view> bearer_token(std::optional<std::string_view> authorization) {
  constexpr std::string_view kBearer = "Bearer ";
  if (!authorization || authorization->size() <= kBearer.size() ||
      !iequals(authorization->substr(0, kBearer.size()), kBearer)) {
    return std::nullopt;
  }
  return authorization->substr(kBearer.size());
}

std::optional<int64_t> date_ms(const nlohmann::json& claims, const char* name) {
  auto it = claims.find(name);
  if (it == claims.end() || !it->is_number()) return std::nullopt;
  double seconds = it->get<double>();
  if (!(seconds > -1e12 && seconds < 1e12)) return std::nullopt;
  return static_cast<int64_t>(seconds * 1000);
}

}  // namespace hookmcp::auth
