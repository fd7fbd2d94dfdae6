// Hashing, HMAC and constant-time comparison over OpenSSL (hex and base64: core/text.hpp). Pure
// functions, safe from any thread.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "hookmcp/core/result.hpp"

namespace hookmcp::verify {

enum class Digest { kSha1, kSha256, kSha512 };

// Raw digest bytes; empty if OpenSSL fails.
std::string hmac(Digest digest, std::string_view key, std::string_view data);
std::string sha256(std::string_view data);

// Equal length and equal bytes, in time that depends only on the length.
bool constant_time_equal(std::string_view a, std::string_view b);

// A public key that a sender signs against (SendGrid's ECDSA key, the RSA key of Amazon SNS's
// signing certificate). Immutable once made; safe to share between threads.
class PublicKey {
 public:
  // From PEM: a PUBLIC KEY or a CERTIFICATE (its subject's key). kInvalidArgument otherwise.
  static Result<PublicKey> from_pem(std::string_view pem);
  // From DER bytes of a SubjectPublicKeyInfo (what SendGrid shows, base64-encoded).
  static Result<PublicKey> from_der(std::string_view der);

  // "EC P-256", "RSA 2048", ...
  std::string describe() const;
  bool is_ec_p256() const;
  bool is_rsa() const;
  // The signature (ECDSA: DER-encoded; RSA: PKCS #1 v1.5) over `message` with `digest`.
  bool verify(Digest digest, std::string_view message, std::string_view signature) const;

 private:
  friend class PrivateKey;
  struct Key;
  std::shared_ptr<const Key> key_;
};

// The signing side, for `hookmcp send` and tests: a key pair a sender would hold.
class PrivateKey {
 public:
  // "ec-p256" or "rsa-2048"; kUnavailable when OpenSSL fails.
  static Result<PrivateKey> generate(std::string_view kind);
  // A PEM private key (PKCS #8, or traditional RSA or EC).
  static Result<PrivateKey> from_pem(std::string_view pem);

  std::string pem() const;         // PKCS #8
  std::string public_der() const;  // SubjectPublicKeyInfo
  PublicKey public_key() const;
  bool is_rsa() const { return public_key().is_rsa(); }
  bool is_ec_p256() const { return public_key().is_ec_p256(); }
  // RSA: the modulus and exponent, big-endian bytes (for a JWK's n and e).
  Result<std::pair<std::string, std::string>> rsa_numbers() const;
  // ECDSA: DER; RSA: PKCS #1 v1.5.
  Result<std::string> sign(Digest digest, std::string_view message) const;
  // A self-signed X.509 certificate for the key, PEM, valid for `days` from now.
  Result<std::string> self_signed_certificate(const std::string& common_name, int days) const;

 private:
  PublicKey::Key* raw() const;
  std::shared_ptr<const PublicKey::Key> key_;
};

}  // namespace hookmcp::verify
