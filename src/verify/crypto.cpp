#include "hookmcp/verify/crypto.hpp"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include <memory>
#include <vector>

namespace hookmcp::verify {

namespace {

const char* digest_name(Digest digest) {
  switch (digest) {
    case Digest::kSha1:
      return "SHA1";
    case Digest::kSha256:
      return "SHA256";
    case Digest::kSha512:
      return "SHA512";
  }
  return "SHA256";
}

struct MacCtxFree {
  void operator()(EVP_MAC_CTX* ctx) const { EVP_MAC_CTX_free(ctx); }
};
using MacCtx = std::unique_ptr<EVP_MAC_CTX, MacCtxFree>;

// An HMAC context already keyed with one secret. Keying one costs two digest blocks, and
// OpenSSL 3's one-shot HMAC() looks the algorithms up by name, under locks, on every call:
// half of what verifying a 2 KB delivery cost. A copy of a keyed context costs neither.
struct KeyedMac {
  Digest digest;
  std::string key;
  MacCtx ctx;
};

// Per thread, so that no lock is taken: a server verifies with a handful of secrets.
constexpr size_t kMaxKeyedMacs = 16;

MacCtx keyed_copy(Digest digest, std::string_view key) {
  static EVP_MAC* const mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  thread_local std::vector<KeyedMac> keyed;
  for (const auto& k : keyed) {
    if (k.digest == digest && k.key == key) return MacCtx(EVP_MAC_CTX_dup(k.ctx.get()));
  }
  if (mac == nullptr) return nullptr;
  MacCtx ctx(EVP_MAC_CTX_new(mac));
  if (!ctx) return nullptr;
  OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(
                             OSSL_MAC_PARAM_DIGEST, const_cast<char*>(digest_name(digest)), 0),
                         OSSL_PARAM_construct_end()};
  if (EVP_MAC_init(ctx.get(), reinterpret_cast<const unsigned char*>(key.data()), key.size(),
                   params) != 1) {
    return nullptr;
  }
  if (keyed.size() >= kMaxKeyedMacs) keyed.clear();
  keyed.push_back({digest, std::string(key), MacCtx(EVP_MAC_CTX_dup(ctx.get()))});
  return ctx;
}

}  // namespace

std::string hmac(Digest digest, std::string_view key, std::string_view data) {
  MacCtx ctx = keyed_copy(digest, key);
  unsigned char out[EVP_MAX_MD_SIZE];
  size_t len = 0;
  if (!ctx ||
      EVP_MAC_update(ctx.get(), reinterpret_cast<const unsigned char*>(data.data()), data.size()) !=
          1 ||
      EVP_MAC_final(ctx.get(), out, &len, sizeof out) != 1) {
    return {};  // matches no signature
  }
  return std::string(reinterpret_cast<const char*>(out), len);
}

std::string sha256(std::string_view data) {
  unsigned char out[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), out);
  return std::string(reinterpret_cast<const char*>(out), sizeof out);
}

bool constant_time_equal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

struct PublicKey::Key {
  EVP_PKEY* pkey = nullptr;
  ~Key() { EVP_PKEY_free(pkey); }
};

namespace {

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};

Error bad_key(std::string message) {
  return make_error(ErrorCode::kInvalidArgument, std::move(message));
}

}  // namespace

Result<PublicKey> PublicKey::from_pem(std::string_view pem) {
  std::unique_ptr<BIO, BioFree> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return bad_key("out of memory");
  auto key = std::make_shared<Key>();
  if (pem.find("-----BEGIN CERTIFICATE-----") != std::string_view::npos) {
    std::unique_ptr<X509, X509Free> cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
    if (!cert) return bad_key("not a PEM certificate");
    key->pkey = X509_get_pubkey(cert.get());
  } else {
    key->pkey = PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr);
  }
  if (key->pkey == nullptr) return bad_key("not a PEM public key or certificate");
  PublicKey out;
  out.key_ = std::move(key);
  return out;
}

Result<PublicKey> PublicKey::from_der(std::string_view der) {
  const auto* data = reinterpret_cast<const unsigned char*>(der.data());
  auto key = std::make_shared<Key>();
  key->pkey = d2i_PUBKEY(nullptr, &data, static_cast<long>(der.size()));
  if (key->pkey == nullptr ||
      data != reinterpret_cast<const unsigned char*>(der.data()) + der.size()) {
    return bad_key("not a DER SubjectPublicKeyInfo");
  }
  PublicKey out;
  out.key_ = std::move(key);
  return out;
}

bool PublicKey::is_rsa() const { return key_ && EVP_PKEY_is_a(key_->pkey, "RSA") == 1; }

bool PublicKey::is_ec_p256() const {
  if (!key_ || EVP_PKEY_is_a(key_->pkey, "EC") != 1) return false;
  char curve[64] = {};
  size_t len = 0;
  if (EVP_PKEY_get_utf8_string_param(key_->pkey, OSSL_PKEY_PARAM_GROUP_NAME, curve, sizeof curve,
                                     &len) != 1) {
    return false;
  }
  return std::string_view(curve, len) == "prime256v1" || std::string_view(curve, len) == "P-256";
}

std::string PublicKey::describe() const {
  if (!key_) return "no key";
  if (is_ec_p256()) return "EC P-256";
  std::string type =
      EVP_PKEY_get0_type_name(key_->pkey) ? EVP_PKEY_get0_type_name(key_->pkey) : "?";
  return type + " " + std::to_string(EVP_PKEY_get_bits(key_->pkey));
}

bool PublicKey::verify(Digest digest, std::string_view message, std::string_view signature) const {
  if (!key_) return false;
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  if (!ctx) return false;
  if (EVP_DigestVerifyInit_ex(ctx.get(), nullptr, digest_name(digest), nullptr, nullptr, key_->pkey,
                              nullptr) != 1) {
    return false;
  }
  return EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()),
                          signature.size(), reinterpret_cast<const unsigned char*>(message.data()),
                          message.size()) == 1;
}

namespace {

std::string bio_text(BIO* bio) {
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  return len > 0 ? std::string(data, static_cast<size_t>(len)) : std::string();
}

Error ssl_failed(const char* what) {
  return make_error(ErrorCode::kUnavailable, std::string("OpenSSL could not ") + what);
}

}  // namespace

PublicKey::Key* PrivateKey::raw() const { return const_cast<PublicKey::Key*>(key_.get()); }

Result<PrivateKey> PrivateKey::generate(std::string_view kind) {
  auto key = std::make_shared<PublicKey::Key>();
  if (kind == "ec-p256") {
    key->pkey = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
  } else if (kind == "rsa-2048") {
    key->pkey = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(2048));
  } else {
    return make_error(ErrorCode::kInvalidArgument, "no key kind \"" + std::string(kind) + "\"");
  }
  if (key->pkey == nullptr) return ssl_failed("generate a key");
  PrivateKey out;
  out.key_ = std::move(key);
  return out;
}

Result<PrivateKey> PrivateKey::from_pem(std::string_view pem) {
  std::unique_ptr<BIO, BioFree> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return ssl_failed("allocate");
  auto key = std::make_shared<PublicKey::Key>();
  key->pkey = PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr);
  if (key->pkey == nullptr) return bad_key("not a PEM private key");
  PrivateKey out;
  out.key_ = std::move(key);
  return out;
}

std::string PrivateKey::pem() const {
  std::unique_ptr<BIO, BioFree> bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PKCS8PrivateKey(bio.get(), raw()->pkey, nullptr, nullptr, 0, nullptr,
                                            nullptr) != 1) {
    return std::string();
  }
  return bio_text(bio.get());
}

std::string PrivateKey::public_der() const {
  unsigned char* der = nullptr;
  int len = i2d_PUBKEY(raw()->pkey, &der);
  if (len <= 0) return std::string();
  std::string out(reinterpret_cast<char*>(der), static_cast<size_t>(len));
  OPENSSL_free(der);
  return out;
}

PublicKey PrivateKey::public_key() const {
  PublicKey out;
  out.key_ = key_;  // verifying with a private key uses its public half
  return out;
}

Result<std::pair<std::string, std::string>> PrivateKey::rsa_numbers() const {
  BIGNUM* n = nullptr;
  BIGNUM* e = nullptr;
  if (EVP_PKEY_get_bn_param(raw()->pkey, OSSL_PKEY_PARAM_RSA_N, &n) != 1 ||
      EVP_PKEY_get_bn_param(raw()->pkey, OSSL_PKEY_PARAM_RSA_E, &e) != 1) {
    BN_free(n);
    return bad_key("not an RSA key");
  }
  auto bytes = [](const BIGNUM* bn) {
    std::string out(static_cast<size_t>(BN_num_bytes(bn)), '\0');
    BN_bn2bin(bn, reinterpret_cast<unsigned char*>(out.data()));
    return out;
  };
  std::pair<std::string, std::string> out{bytes(n), bytes(e)};
  BN_free(n);
  BN_free(e);
  return out;
}

Result<std::string> PrivateKey::sign(Digest digest, std::string_view message) const {
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestSignInit_ex(ctx.get(), nullptr, digest_name(digest), nullptr, nullptr,
                                    raw()->pkey, nullptr) != 1) {
    return ssl_failed("start signing");
  }
  const auto* data = reinterpret_cast<const unsigned char*>(message.data());
  size_t len = 0;
  if (EVP_DigestSign(ctx.get(), nullptr, &len, data, message.size()) != 1) {
    return ssl_failed("sign");
  }
  std::string out(len, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(out.data()), &len, data,
                     message.size()) != 1) {
    return ssl_failed("sign");
  }
  out.resize(len);
  return out;
}

Result<std::string> PrivateKey::self_signed_certificate(const std::string& common_name,
                                                        int days) const {
  std::unique_ptr<X509, X509Free> cert(X509_new());
  if (!cert) return ssl_failed("allocate a certificate");
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), 0);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), static_cast<long>(days) * 24 * 3600);
  X509_set_pubkey(cert.get(), raw()->pkey);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(common_name.c_str()), -1, -1,
                             0);
  X509_set_issuer_name(cert.get(), name);
  if (X509_sign(cert.get(), raw()->pkey, EVP_sha256()) == 0)
    return ssl_failed("sign a certificate");
  std::unique_ptr<BIO, BioFree> bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509(bio.get(), cert.get()) != 1) return ssl_failed("write PEM");
  return bio_text(bio.get());
}

}  // namespace hookmcp::verify
