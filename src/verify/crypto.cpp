#include "hookmcp/verify/crypto.hpp"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/sha.h>

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

}  // namespace hookmcp::verify
