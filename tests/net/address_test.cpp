// Which addresses a URL from outside may reach, and the client refusing the others.
#include <gtest/gtest.h>

#include "hookmcp/net/http_client.hpp"

namespace hookmcp::net {
namespace {

TEST(NonPublicReason, NamesEachSpecialRangeAndPassesPublicAddresses) {
  struct Case {
    const char* address;
    const char* reason;  // null: public
  };
  const Case cases[] = {
      {"127.0.0.1", "loopback"},
      {"127.255.0.9", "loopback"},
      {"10.1.2.3", "private"},
      {"172.16.0.1", "private"},
      {"172.31.255.255", "private"},
      {"192.168.1.1", "private"},
      {"169.254.169.254", "link-local"},
      {"100.64.0.1", "shared"},
      {"0.0.0.0", "unspecified"},
      {"224.0.0.1", "multicast"},
      {"255.255.255.255", "reserved"},
      {"198.18.0.1", "reserved"},
      {"192.0.2.1", "documentation"},
      {"::1", "loopback"},
      {"::", "unspecified"},
      {"fe80::1", "link-local"},
      {"fd00::1", "private"},
      {"::ffff:127.0.0.1", "loopback"},
      {"::ffff:10.0.0.1", "private"},
      {"64:ff9b::a00:1", "reserved"},
      {"2001:db8::1", "documentation"},
      {"ff02::1", "multicast"},
      {"not-an-ip", "not an address"},
      {"8.8.8.8", nullptr},
      {"172.32.0.1", nullptr},
      {"1.1.1.1", nullptr},
      {"2606:4700::1111", nullptr},
      {"::ffff:8.8.8.8", nullptr},
  };
  for (const auto& c : cases) {
    auto reason = non_public_reason(c.address);
    if (c.reason == nullptr) {
      EXPECT_FALSE(reason) << c.address << ": " << *reason;
    } else {
      ASSERT_TRUE(reason) << c.address;
      EXPECT_EQ(*reason, c.reason) << c.address;
    }
  }
}

TEST(HttpRequest, ARefusedAddressIsNeverConnectedTo) {
  ClientRequest r;
  r.url = "http://127.0.0.1:9/never";  // nothing would answer: the refusal comes first
  r.vet_address = [](const std::string& address) { return non_public_reason(address); };
  Failure failure = Failure::kNone;
  auto response = http_request(r, &failure);
  ASSERT_FALSE(response);
  EXPECT_EQ(failure, Failure::kRefusedAddress);
  EXPECT_NE(response.error().message.find("127.0.0.1 (loopback)"), std::string::npos)
      << response.error().message;
}

TEST(HttpRequest, AClosedPortIsAConnectFailure) {
  ClientRequest r;
  r.url = "http://127.0.0.1:9/closed";
  r.timeout = std::chrono::milliseconds(2000);
  Failure failure = Failure::kNone;
  EXPECT_FALSE(http_request(r, &failure));
  EXPECT_EQ(failure, Failure::kConnect);
}

}  // namespace
}  // namespace hookmcp::net
