#include "hookmcp/core/text.hpp"

#include <gtest/gtest.h>

#include <initializer_list>
#include <string>
#include <utility>

#include "hookmcp/core/event.hpp"
#include "hookmcp/core/time.hpp"

namespace hookmcp {
namespace {

// RFC 3629 and the Unicode standard's table 3-7: the forms a lenient check lets through are
// the ones a strict one must refuse.
TEST(Utf8, AcceptsWellFormedText) {
  for (const char* text : {"", "plain ascii", "caf\xC3\xA9", "\xE2\x82\xAC 5", "\xED\x9F\xBF",
                           "\xEE\x80\x80", "\xF0\x9F\x98\x80", "\xF4\x8F\xBF\xBF"}) {
    EXPECT_TRUE(valid_utf8(text)) << text;
  }
}

TEST(Utf8, RefusesSurrogatesOverlongFormsAndCutSequences) {
  const std::pair<const char*, const char*> cases[] = {
      {"\xED\xA0\x80", "an encoded high surrogate (U+D800)"},
      {"\xED\xBF\xBF", "an encoded low surrogate (U+DFFF)"},
      {"\xE0\x80\x80", "a 3-byte overlong NUL"},
      {"\xE0\x9F\xBF", "a 3-byte overlong U+07FF"},
      {"\xF0\x80\x80\x80", "a 4-byte overlong NUL"},
      {"\xF0\x8F\xBF\xBF", "a 4-byte overlong U+FFFF"},
      {"\xC0\xAF", "a 2-byte overlong slash"},
      {"\xC1\xBF", "a 2-byte overlong DEL"},
      {"\xF4\x90\x80\x80", "past U+10FFFF"},
      {"\xF5\x80\x80\x80", "a lead byte past F4"},
      {"\xFF", "FF"},
      {"\xE2\x82", "a sequence cut short"},
      {"\x80", "a continuation byte alone"},
      {"ok\xC3", "a lead byte at the end"},
  };
  for (const auto& [bytes, what] : cases) EXPECT_FALSE(valid_utf8(bytes)) << what;
}

TEST(Clip, KeepsShortTextAndCutsLongTextOnCodePoints) {
  EXPECT_EQ(clip("short", 10), "short");
  EXPECT_EQ(clip("exactly10!", 10), "exactly10!");
  EXPECT_EQ(clip("eleven char", 10), "eleven ch…");
  // Four two-byte letters cut to three columns: two letters and the ellipsis, never half a one.
  EXPECT_EQ(clip("\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9", 3), "\xC3\xA9\xC3\xA9…");
  EXPECT_TRUE(valid_utf8(clip("\xF0\x9F\x98\x80\xF0\x9F\x98\x80", 1)));
  EXPECT_EQ(utf8_length("caf\xC3\xA9"), 4u);
}

TEST(Hex, RoundTripAndRejects) {
  EXPECT_EQ(hex_encode(std::string("\x00\xff\xab", 3)), "00ffab");
  EXPECT_EQ(hex_decode("00fFaB").value(), std::string("\x00\xff\xab", 3));
  EXPECT_FALSE(hex_decode("abc"));
  EXPECT_FALSE(hex_decode("zz"));
}

TEST(Base64, Rfc4648Vectors) {
  const std::pair<const char*, const char*> vectors[] = {{"", ""},
                                                         {"f", "Zg=="},
                                                         {"fo", "Zm8="},
                                                         {"foo", "Zm9v"},
                                                         {"foob", "Zm9vYg=="},
                                                         {"fooba", "Zm9vYmE="},
                                                         {"foobar", "Zm9vYmFy"}};
  for (const auto& [plain, encoded] : vectors) {
    EXPECT_EQ(base64_encode(plain), encoded);
    EXPECT_EQ(base64_decode(encoded).value(), plain);
  }
  EXPECT_EQ(base64_decode("Zm9vYg").value(), "foob");  // unpadded
  EXPECT_FALSE(base64_decode("Zm9v!"));
  EXPECT_FALSE(base64_decode("Z"));
  EXPECT_EQ(base64_encode(std::string("\xff\xfe\x00", 3)), "//4A");
}

TEST(Rfc3339, ParsesFractionsOffsetsAndDates) {
  auto utc = MissingOffset::kRefuse;
  EXPECT_EQ(parse_rfc3339_ms("2026-11-29T07:06:40.123Z", utc), 1'795'936'000'123);
  EXPECT_EQ(parse_rfc3339_ms("2026-11-29t07:06:40z", utc), 1'795'936'000'000);
  EXPECT_EQ(parse_rfc3339_ms("2026-11-29 08:06:40+01:00", utc), 1'795'936'000'000);
  EXPECT_EQ(parse_rfc3339_ms("2026-11-29T06:06:40.5-01:00", utc), 1'795'936'000'500);
  EXPECT_EQ(parse_rfc3339_ms("1970-01-01", utc), 0);
  EXPECT_EQ(parse_rfc3339_ms("1969-12-31T23:59:59.999Z", utc), -1);
  for (const char* bad : {"yesterday", "2026-13-01T00:00:00Z", "2026-11-29T24:00:00Z",
                          "2026-11-29T07:06Z", "2026-11-29T07:06:40.Z", "2026-11-29T07:06:40Zx",
                          "2026-11-29T07:06:40+0100", "2026-11-29T07:06:40+01:00 ", ""}) {
    EXPECT_FALSE(parse_rfc3339_ms(bad, MissingOffset::kUtc)) << bad;
  }
}

// The terminal reads a time without an offset as UTC; a tool argument must say its zone.
TEST(Rfc3339, MissingOffsetIsUtcOnlyWhenTheCallerSaysSo) {
  EXPECT_EQ(parse_rfc3339_ms("2026-01-01T00:00:00", MissingOffset::kUtc),
            parse_rfc3339_ms("2026-01-01T00:00:00Z", MissingOffset::kRefuse));
  EXPECT_FALSE(parse_rfc3339_ms("2026-01-01T00:00:00", MissingOffset::kRefuse));
}

TEST(SourceName, AllowsTheRuleAndRefusesPathSegmentsThatResolveAway) {
  EXPECT_TRUE(valid_source_name("github"));
  EXPECT_TRUE(valid_source_name("my.app_1-prod"));
  EXPECT_TRUE(valid_source_name(std::string(64, 'a')));
  const std::string bad_names[] = {"",           ".", "..", "a/b", "sp ace", std::string(65, 'a'),
                                   "caf\xC3\xA9"};
  for (const auto& bad : bad_names) {
    EXPECT_FALSE(valid_source_name(bad)) << bad;
  }
}

TEST(Printable, KeepsALineOneLineAndClips) {
  EXPECT_EQ(printable("push", 10), "push");
  EXPECT_EQ(printable("a\nb\r\x1b[2J", 20), "a?b??[2J");
  EXPECT_EQ(printable("caf\xc3\xa9", 10), "caf\xc3\xa9");  // UTF-8 stays
  EXPECT_EQ(printable("caf\xe9\x7f", 10), "caf??");        // not UTF-8: every high byte
  EXPECT_EQ(printable("abcdef", 4), "abc\xe2\x80\xa6");    // clipped with "…"
}

}  // namespace
}  // namespace hookmcp
