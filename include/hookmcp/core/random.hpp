// Unguessable random values, from one checked source: the kernel's CSPRNG (getrandom(2)).
// Thread-safe.
#pragma once

#include <cstddef>
#include <string>

#include "hookmcp/core/result.hpp"

namespace hookmcp {

// `bytes` random bytes as lowercase hex (2 * bytes characters). kUnavailable when the source
// fails: never a value made of whatever the buffer held, since callers hand these out as
// capabilities (session ids) and nonces.
Result<std::string> random_hex(std::size_t bytes);

// Testing hook: where random_hex draws its bytes from. A source fills `out` with `n` bytes and
// returns true, or returns false when it cannot. nullptr restores the kernel's. Tests use it to
// make the source fail; production code never sets it.
using RandomSource = bool (*)(unsigned char* out, std::size_t n);
void set_random_source_for_testing(RandomSource source);

}  // namespace hookmcp
