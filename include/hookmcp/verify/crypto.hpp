// Hashing, HMAC and encodings over OpenSSL. Pure functions, safe from any thread.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace hookmcp::verify {

enum class Digest { kSha1, kSha256, kSha512 };

// Raw digest bytes; empty if OpenSSL fails.
std::string hmac(Digest digest, std::string_view key, std::string_view data);
std::string sha256(std::string_view data);

std::string hex_encode(std::string_view bytes);               // lowercase
std::optional<std::string> hex_decode(std::string_view hex);  // either case
std::string base64_encode(std::string_view bytes);
std::optional<std::string> base64_decode(
    std::string_view text);  // standard alphabet, padded or not

// Equal length and equal bytes, in time that depends only on the length.
bool constant_time_equal(std::string_view a, std::string_view b);

}  // namespace hookmcp::verify
