#include "hookmcp/core/json.hpp"

#include <gtest/gtest.h>

#include <string>

namespace hookmcp {
namespace {

std::string nested(size_t levels) {
  return std::string(levels, '[') + "1" + std::string(levels, ']');
}

TEST(JsonDepth, CountsArraysAndObjectsOutsideStrings) {
  EXPECT_FALSE(json_deeper_than("1", 0));
  EXPECT_TRUE(json_deeper_than("[1]", 0));
  EXPECT_FALSE(json_deeper_than(R"({"a":[{"b":1}]})", 3));
  EXPECT_TRUE(json_deeper_than(R"({"a":[{"b":1}]})", 2));
  // Brackets inside strings, escaped quotes included, do not count.
  EXPECT_FALSE(json_deeper_than(R"({"a":"[[[[[\"[[[["})", 1));
  // Siblings do not add up: depth is nesting, not count.
  EXPECT_FALSE(json_deeper_than("[[],[],[],[]]", 2));
}

TEST(ParseJson, RefusesWhatNestsPastTheLimitBeforeBuildingIt) {
  auto ok = parse_json(nested(kMaxJsonDepth));
  ASSERT_TRUE(ok.ok());
  EXPECT_FALSE(ok.too_deep);

  auto deep = parse_json(nested(100000));
  EXPECT_FALSE(deep.ok());
  EXPECT_TRUE(deep.too_deep);

  auto invalid = parse_json("[1,");
  EXPECT_FALSE(invalid.ok());
  EXPECT_FALSE(invalid.too_deep);
}

TEST(ParseJson, KeepsKeyOrderWhenAskedFor) {
  auto doc = parse_json<nlohmann::ordered_json>(R"({"z":1,"a":2})");
  ASSERT_TRUE(doc.ok());
  EXPECT_EQ(doc.value.dump(), R"({"z":1,"a":2})");
}

}  // namespace
}  // namespace hookmcp
