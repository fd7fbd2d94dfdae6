#include "hookmcp/core/random.hpp"

#include <sys/random.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <vector>

namespace hookmcp {

namespace {

// The kernel's CSPRNG, the source OpenSSL seeds itself from, without pulling a crypto library
// into core. Short reads and EINTR are retried; any other failure is reported.
bool kernel_random(unsigned char* out, std::size_t n) {
  while (n > 0) {
    ssize_t got = ::getrandom(out, n, 0);
    if (got < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    out += got;
    n -= static_cast<std::size_t>(got);
  }
  return true;
}

std::atomic<RandomSource> g_source{nullptr};

}  // namespace

Result<std::string> random_hex(std::size_t bytes) {
  std::vector<unsigned char> raw(bytes);
  RandomSource source = g_source.load();
  errno = 0;
  bool ok = source ? source(raw.data(), raw.size()) : kernel_random(raw.data(), raw.size());
  if (!ok) {
    int err = errno;
    return make_error(
        ErrorCode::kUnavailable,
        std::string("no random bytes: ") + (err ? std::strerror(err) : "the source failed"));
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes * 2);
  for (unsigned char b : raw) {
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 0xf]);
  }
  return out;
}

void set_random_source_for_testing(RandomSource source) { g_source.store(source); }

}  // namespace hookmcp
