#include "hookmcp/core/random.hpp"

#include <gtest/gtest.h>

namespace hookmcp {
namespace {

bool failing_source(unsigned char*, std::size_t) { return false; }

TEST(RandomHex, TwoCharactersPerByteAndNeverTheSame) {
  auto a = random_hex(16);
  auto b = random_hex(16);
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(a->size(), 32u);
  EXPECT_EQ(a->find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_NE(*a, *b);
  EXPECT_EQ(random_hex(0).value(), "");
}

TEST(RandomHex, AFailingSourceIsAnErrorNotAValue) {
  set_random_source_for_testing(&failing_source);
  auto r = random_hex(16);
  set_random_source_for_testing(nullptr);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
  EXPECT_TRUE(random_hex(16).ok());
}

}  // namespace
}  // namespace hookmcp
