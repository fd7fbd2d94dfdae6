// Which addresses are on the public internet: the ranges of the IANA special-purpose registries
// (RFC 6890 and its updates) that a URL from outside must not reach.
#include <boost/asio/ip/address.hpp>
#include <cstdint>

#include "hookmcp/net/http_client.hpp"

namespace hookmcp::net {

namespace {

struct Range4 {
  uint32_t prefix;
  int bits;
  const char* reason;
};

// IPv4 special-purpose ranges, most specific first where they nest.
constexpr Range4 kRanges4[] = {
    {0x00000000, 8, "unspecified"},     // 0.0.0.0/8 "this network"
    {0x0A000000, 8, "private"},         // 10.0.0.0/8
    {0x64400000, 10, "shared"},         // 100.64.0.0/10 carrier-grade NAT
    {0x7F000000, 8, "loopback"},        // 127.0.0.0/8
    {0xA9FE0000, 16, "link-local"},     // 169.254.0.0/16, cloud metadata at .169.254
    {0xAC100000, 12, "private"},        // 172.16.0.0/12
    {0xC0000000, 24, "reserved"},       // 192.0.0.0/24 IETF protocol assignments
    {0xC0000200, 24, "documentation"},  // 192.0.2.0/24
    {0xC0586300, 24, "reserved"},       // 192.88.99.0/24 6to4 relay
    {0xC0A80000, 16, "private"},        // 192.168.0.0/16
    {0xC6120000, 15, "reserved"},       // 198.18.0.0/15 benchmarking
    {0xC6336400, 24, "documentation"},  // 198.51.100.0/24
    {0xCB007100, 24, "documentation"},  // 203.0.113.0/24
    {0xE0000000, 4, "multicast"},       // 224.0.0.0/4
    {0xF0000000, 4, "reserved"},        // 240.0.0.0/4, broadcast included
};

std::optional<std::string> reason4(uint32_t a) {
  for (const auto& r : kRanges4) {
    uint32_t mask = r.bits == 0 ? 0 : ~uint32_t{0} << (32 - r.bits);
    if ((a & mask) == r.prefix) return r.reason;
  }
  return std::nullopt;
}

std::optional<std::string> reason6(const boost::asio::ip::address_v6& a) {
  if (a.is_v4_mapped()) {
    return reason4(boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, a).to_uint());
  }
  if (a.is_loopback()) return "loopback";
  if (a.is_unspecified()) return "unspecified";
  if (a.is_multicast()) return "multicast";
  auto b = a.to_bytes();
  if ((b[0] & 0xFE) == 0xFC) return "private";                     // fc00::/7 unique local
  if (b[0] == 0xFE && (b[1] & 0xC0) == 0x80) return "link-local";  // fe80::/10
  if (b[0] == 0xFE && (b[1] & 0xC0) == 0xC0) return "private";     // fec0::/10 site-local
  // 64:ff9b::/96 and 64:ff9b:1::/48 translate to IPv4 that may be private; 2001:db8::/32 is for
  // documentation; ::/96 (IPv4-compatible) and 100::/64 (discard) are reserved.
  if (b[0] == 0x00 && b[1] == 0x64 && b[2] == 0xFF && b[3] == 0x9B) return "reserved";
  if (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0D && b[3] == 0xB8) return "documentation";
  if (b[0] == 0x01 && b[1] == 0x00 && b[2] == 0 && b[3] == 0 && b[4] == 0 && b[5] == 0 &&
      b[6] == 0 && b[7] == 0) {
    return "reserved";
  }
  bool compatible = true;
  for (int i = 0; i < 12; ++i) compatible = compatible && b[static_cast<size_t>(i)] == 0;
  if (compatible) return "reserved";
  return std::nullopt;
}

}  // namespace

std::optional<std::string> non_public_reason(std::string_view address) {
  boost::system::error_code ec;
  auto a = boost::asio::ip::make_address(std::string(address), ec);
  if (ec) return "not an address";
  if (a.is_v4()) return reason4(a.to_v4().to_uint());
  return reason6(a.to_v6());
}

}  // namespace hookmcp::net
