// Hashing, HMAC and constant-time comparison over OpenSSL (hex and base64: core/text.hpp). Pure
// functions, safe from any thread.
#pragma once

#include <string>
#include <string_view>

namespace hookmcp::verify {

enum class Digest { kSha1, kSha256, kSha512 };

// Raw digest bytes; empty if OpenSSL fails.
std::string hmac(Digest digest, std::string_view key, std::string_view data);
std::string sha256(std::string_view data);

// Equal length and equal bytes, in time that depends only on the length.
bool constant_time_equal(std::string_view a, std::string_view b);

}  // namespace hookmcp::verify
